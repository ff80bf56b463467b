//! The command line: plugin mode (no arguments; protoc and buf call us this way) and the
//! standalone `generate` command.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{decode, encode_response, response, run, standalone, Error};

/// A protoc/buf plugin that turns a protobuf API into what a Rust service needs, per package:
/// prost messages with exact proto3 JSON (serde), tonic servers and clients, dial helpers for
/// google.api.default_host, HTTP/JSON routes (axum) transcoded in-process from google.api.http
/// rules, and an OpenAPI 3.1 document per proto file (3.2 with openapi_version=3.2). Every
/// rule is checked first: errors and warnings name file:line:col, the element and the fix.
/// Parameters (k=v, comma-separated) are listed in the README; docs/reference.md says how the
/// generated code behaves.
///
/// The generated code needs these Cargo features of the rs-svc runtime: `json` for messages,
/// `http` for the routes (no_http leaves them out), `dial` for the dial helpers (no_dial, or
/// no_client, leaves them out); tonic's servers and clients need only tonic.
///
/// Plugin mode (no arguments) reads a CodeGeneratorRequest on stdin and writes a
/// CodeGeneratorResponse on stdout:
///
///   protoc --plugin=protoc-gen-rs-svc --rs-svc_out=OUT --rs-svc_opt=k=v -I DIR FILE.proto
///
/// Standalone mode compiles .proto files itself (google/api annotations bundled; the bundled
/// well-known types win over -I for google/protobuf/*):
///
///   protoc-gen-rs-svc generate -I DIR FILE.proto -o OUT
#[derive(Parser, Debug)]
#[command(name = "protoc-gen-rs-svc", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile .proto files in-process and write the generated files to a directory.
    Generate {
        /// Directory to search for imports (repeatable; default: the current directory). The
        /// google/api annotation protos and the well-known types are always available. For
        /// `google/protobuf/*` the bundled well-known types win over these directories, so a
        /// googleapis checkout whose descriptor.proto uses newer syntax works as an include.
        #[arg(short = 'I', long = "include", value_name = "DIR")]
        includes: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "out", value_name = "DIR")]
        out: PathBuf,
        /// A plugin parameter, as `--rs-svc_opt` takes it (repeatable).
        #[arg(long = "opt", value_name = "K=V")]
        opts: Vec<String>,
        /// The .proto files to generate code for.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => plugin(),
        Some(Command::Generate {
            includes,
            out,
            opts,
            files,
        }) => generate(&includes, &files, &opts.join(","), &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("protoc-gen-rs-svc: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_warnings(warnings: &[crate::Diagnostic]) {
    for w in warnings {
        eprintln!("protoc-gen-rs-svc: warning: {w}");
    }
}

fn plugin() -> anyhow::Result<()> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        anyhow::bail!(
            "expected a CodeGeneratorRequest on stdin; run through protoc or buf, \
             or see `protoc-gen-rs-svc --help` for standalone use"
        );
    }
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes).context("reading stdin")?;
    // Malformed stdin is not a response to write: protoc would not be the reader. A request
    // whose files cannot be read is answered with the error.
    let result = match decode(&bytes) {
        Ok(request) => run(&request),
        Err(e) if !e.is_malformed() => Err(Error::from(e)),
        Err(e) => return Err(e.into()),
    };
    if let Ok(output) = &result {
        print_warnings(&output.warnings);
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&encode_response(&response(result)))
        .context("writing stdout")?;
    stdout.flush().context("writing stdout")?;
    Ok(())
}

fn generate(
    includes: &[PathBuf],
    files: &[PathBuf],
    parameter: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    // Like protoc: without -I, the current directory is the include path.
    let current = [PathBuf::from(".")];
    let includes = if includes.is_empty() {
        &current[..]
    } else {
        includes
    };
    // protox is one more library that could panic on an input: that is an error too.
    let what = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let bytes = crate::guard::catch(&format!("{what}: compiling (protox)"), || {
        standalone::request(includes, files, parameter)
    })
    .map_err(anyhow::Error::msg)??;
    let request = decode(&bytes)?;
    let output = match run(&request) {
        Ok(output) => output,
        Err(Error::Invalid(errors)) => {
            anyhow::bail!("{} error(s):\n{}", errors.len(), errors.join("\n"))
        }
        Err(e) => return Err(e.into()),
    };
    print_warnings(&output.warnings);
    for file in &output.files {
        let path = out.join(&file.name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &file.content)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
