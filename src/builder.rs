//! Generation from a build script, the way tonic-build and prost-build users generate code:
//! [`configure`] returns a [`Builder`], and [`Builder::compile_protos`] compiles .proto files
//! in-process (as standalone mode does, so no protoc is needed) and writes what the plugin
//! writes into `OUT_DIR`.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     protoc_gen_rs_svc::configure()
//!         .build_client(false)
//!         .parameter("json_omit_defaults")
//!         .compile_protos(&["proto/acme/shop/v1/shop.proto"], &["proto"])?;
//!     Ok(())
//! }
//! ```
//!
//! The crate then includes the include file, which nests every package as modules
//! (`acme::shop::v1`); OpenAPI documents sit beside it under the proto file's directory:
//!
//! ```ignore
//! include!(concat!(env!("OUT_DIR"), "/mod.rs"));
//!
//! pub const SHOP_OPENAPI: &str =
//!     include_str!(concat!(env!("OUT_DIR"), "/acme/shop/v1/shop.openapi.yaml"));
//! ```
//!
//! Paths are taken as given: cargo runs a build script in its package's directory, so
//! `proto/...` is relative to the package's `Cargo.toml`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{decode, run, standalone, Diagnostic, Error, GeneratedFile, Params};

/// A [`Builder`] with the plugin's defaults: servers, clients, HTTP routes, OpenAPI documents
/// and the include file `mod.rs`, written to `OUT_DIR`.
pub fn configure() -> Builder {
    Builder {
        parameters: Vec::new(),
        out_dir: None,
        // As tonic-build decides: under cargo, a build script wants the lines; a tool calling
        // the library elsewhere does not.
        emit_rerun_if_changed: std::env::var_os("CARGO").is_some(),
        emit_warnings: true,
    }
}

/// `configure().compile_protos(&[proto], &[<its directory>])`, as `tonic_prost_build`'s
/// function of the same name: the file's directory is the include path.
pub fn compile_protos(proto: impl AsRef<Path>) -> Result<(), BuildError> {
    let proto = proto.as_ref();
    let dir = proto
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    configure().compile_protos(&[proto], &[dir])
}

/// Plugin parameters, output directory and cargo output of a build-script run. Every setter
/// adds a plugin parameter (README, "Parameters"); a later setting of one parameter wins over
/// an earlier one. Parameters are checked, all together, when [`compile_protos`] runs, before
/// any file is read.
///
/// [`compile_protos`]: Builder::compile_protos
#[derive(Debug, Clone)]
pub struct Builder {
    /// `key` or `key=value` items, unescaped, in order.
    parameters: Vec<String>,
    out_dir: Option<PathBuf>,
    emit_rerun_if_changed: bool,
    emit_warnings: bool,
}

/// What [`Builder::generate`] produced, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The files, named relative to the output directory.
    pub files: Vec<GeneratedFile>,
    /// Problems that did not stop generation.
    pub warnings: Vec<Diagnostic>,
    /// Every .proto file read from disk, imports included, sorted. The bundled
    /// `google/api`, `google/rpc` and well-known-type protos are not on disk and not listed.
    pub inputs: Vec<PathBuf>,
}

/// Why a build-script run wrote nothing.
///
/// `Debug` prints the same text as `Display`, so `fn main() -> Result<(), Box<dyn Error>>` and
/// `.unwrap()` in a build script show the located messages as they are.
#[derive(thiserror::Error)]
pub enum BuildError {
    /// A plugin parameter is unknown or malformed (one line per problem).
    #[error("{0}")]
    Parameter(#[from] crate::params::ParamError),
    /// A .proto file failed to compile: `file:line:col: message` and the source line.
    #[error("{0}")]
    Compile(#[from] standalone::CompileError),
    /// Mistakes in the .proto files found by the plugin, each `file:line:col: element:
    /// message`, all of them.
    #[error("{} error(s):\n{}", .0.len(), .0.join("\n"))]
    Generate(Vec<String>),
    /// Neither [`Builder::out_dir`] nor `OUT_DIR` says where to write.
    #[error("no output directory: OUT_DIR is not set (cargo sets it for build scripts); call out_dir(...) outside a build script")]
    NoOutDir,
    /// A generated file could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// For build scripts written against tonic-build's `std::io::Result<()>`.
impl From<BuildError> for std::io::Error {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::Write { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        }
    }
}

impl Builder {
    /// Generate gRPC servers (default `true`; `false` is the `no_server` parameter).
    pub fn build_server(self, enable: bool) -> Self {
        self.flag("no_server", !enable)
    }

    /// Generate gRPC clients and dial helpers (default `true`; `false` is `no_client`).
    pub fn build_client(self, enable: bool) -> Self {
        self.flag("no_client", !enable)
    }

    /// Server trait methods get default bodies answering UNIMPLEMENTED (default `false`).
    pub fn generate_default_stubs(self, enable: bool) -> Self {
        self.flag("generate_default_stubs", enable)
    }

    /// Methods without an http rule get `POST /<package>.<Service>/<Method>` (default `false`).
    pub fn generate_unbound_methods(self, enable: bool) -> Self {
        self.flag("generate_unbound_methods", enable)
    }

    /// Write OpenAPI documents (default `true`; `false` is `no_openapi`).
    pub fn openapi(self, enable: bool) -> Self {
        self.flag("no_openapi", !enable)
    }

    /// Embed the descriptor set as `FILE_DESCRIPTOR_SET` in the include file, for gRPC server
    /// reflection (default `false`).
    pub fn file_descriptor_set(self, enable: bool) -> Self {
        self.flag("file_descriptor_set", enable)
    }

    /// Generate `google.protobuf` types instead of using `prost-types` (default `false`).
    pub fn compile_well_known_types(self, enable: bool) -> Self {
        self.flag("compile_well_known_types", enable)
    }

    /// The include file's name (default `mod.rs`).
    pub fn include_file(self, name: impl AsRef<str>) -> Self {
        self.pair("include_file", name.as_ref())
    }

    /// Use an existing Rust type or module for a proto one: `.google.protobuf`,
    /// `::pbjson_types`.
    pub fn extern_path(self, proto_path: impl AsRef<str>, rust_path: impl AsRef<str>) -> Self {
        self.triple("extern_path", proto_path.as_ref(), rust_path.as_ref())
    }

    /// prost-build's `type_attribute`: an attribute on matching messages and enums.
    pub fn type_attribute(self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.triple("type_attribute", path.as_ref(), attribute.as_ref())
    }

    /// prost-build's `message_attribute`.
    pub fn message_attribute(self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.triple("message_attribute", path.as_ref(), attribute.as_ref())
    }

    /// prost-build's `enum_attribute`.
    pub fn enum_attribute(self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.triple("enum_attribute", path.as_ref(), attribute.as_ref())
    }

    /// prost-build's `field_attribute`.
    pub fn field_attribute(self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.triple("field_attribute", path.as_ref(), attribute.as_ref())
    }

    /// prost-build's `btree_map`: map fields under `path` as `BTreeMap`.
    pub fn btree_map(self, path: impl AsRef<str>) -> Self {
        self.pair("btree_map", path.as_ref())
    }

    /// prost-build's `bytes`: bytes fields under `path` as `bytes::Bytes`.
    pub fn bytes(self, path: impl AsRef<str>) -> Self {
        self.pair("bytes", path.as_ref())
    }

    /// prost-build's `boxed`.
    pub fn boxed(self, path: impl AsRef<str>) -> Self {
        self.pair("boxed", path.as_ref())
    }

    /// prost-build's `disable_comments`, for each path.
    pub fn disable_comments<I, S>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        paths
            .into_iter()
            .fold(self, |b, p| b.pair("disable_comments", p.as_ref()))
    }

    /// prost-build's `skip_debug`, for each path.
    pub fn skip_debug<I, S>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        paths
            .into_iter()
            .fold(self, |b, p| b.pair("skip_debug", p.as_ref()))
    }

    /// Any plugin parameter, one per call, as `key` or `key=value` (README, "Parameters"):
    /// `parameter("json_omit_defaults")`, `parameter("openapi_format=json")`. The value is taken
    /// literally; a comma in it needs no escaping here.
    pub fn parameter(mut self, parameter: impl AsRef<str>) -> Self {
        self.parameters.push(parameter.as_ref().to_owned());
        self
    }

    /// Where to write (default: `OUT_DIR`, read when [`compile_protos`] runs).
    ///
    /// [`compile_protos`]: Builder::compile_protos
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Print `cargo:rerun-if-changed=<path>` for every .proto file read, imports from include
    /// paths included (default: when run by cargo).
    pub fn emit_rerun_if_changed(mut self, enable: bool) -> Self {
        self.emit_rerun_if_changed = enable;
        self
    }

    /// Print warnings (a portable-rules remark, a route that can never be reached, ...) as
    /// `cargo:warning=` lines (default `true`).
    pub fn emit_warnings(mut self, enable: bool) -> Self {
        self.emit_warnings = enable;
        self
    }

    /// Compiles `protos` (paths on disk under one of `includes`, or names relative to one) and
    /// writes the generated files, then prints the cargo lines. On any error nothing is
    /// written. Without include paths the current directory is one, as for protoc.
    ///
    /// As under protoc, code is generated for the files listed, not for their imports: list
    /// every file whose types the crate uses. Edition 2023 files need protoc (README,
    /// "Output").
    ///
    /// `google/api/*.proto`, `google/rpc/{status,error_details}.proto` and the well-known
    /// types are bundled; `includes` win over the bundled `google/api` and `google/rpc`
    /// copies, the bundled well-known types win over `includes` (README, "Standalone").
    pub fn compile_protos<P: AsRef<Path>>(
        &self,
        protos: &[P],
        includes: &[P],
    ) -> Result<(), BuildError> {
        self.compile_to(protos, includes, &mut std::io::stdout().lock())
    }

    /// [`compile_protos`](Builder::compile_protos) without touching the output directory or
    /// printing anything: the files, the warnings and the inputs read.
    pub fn generate<P: AsRef<Path>>(
        &self,
        protos: &[P],
        includes: &[P],
    ) -> Result<Generated, BuildError> {
        let parameter = self.parameter_string();
        // Checked first, so a typo in a parameter is reported alone and no file is read.
        Params::parse(&parameter)?;
        let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_owned()).collect();
        let mut includes: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_owned()).collect();
        if includes.is_empty() {
            includes.push(PathBuf::from("."));
        }
        let what = protos
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        // protox is one more library that could panic on an input: that is an error too.
        let (request, inputs) = crate::guard::catch(&format!("{what}: compiling (protox)"), || {
            standalone::request_and_inputs(&includes, &protos, &parameter)
        })
        .map_err(|panic| BuildError::Generate(vec![panic]))??;
        let request = decode(&request).map_err(|e| BuildError::Generate(vec![e.to_string()]))?;
        let output = run(&request).map_err(|e| match e {
            Error::Invalid(errors) => BuildError::Generate(errors),
            other => BuildError::Generate(vec![other.to_string()]),
        })?;
        Ok(Generated {
            files: output.files,
            warnings: output.warnings,
            inputs,
        })
    }

    /// The whole run, cargo lines written to `cargo`.
    fn compile_to<P: AsRef<Path>>(
        &self,
        protos: &[P],
        includes: &[P],
        cargo: &mut dyn std::io::Write,
    ) -> Result<(), BuildError> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let generated = self.generate(protos, includes)?;
        for file in &generated.files {
            write_if_changed(&out_dir.join(&file.name), &file.content)?;
        }
        let stdout = |e| BuildError::Write {
            path: PathBuf::from("<stdout>"),
            source: e,
        };
        if self.emit_rerun_if_changed {
            for input in &generated.inputs {
                writeln!(cargo, "cargo:rerun-if-changed={}", input.display()).map_err(stdout)?;
            }
        }
        if self.emit_warnings {
            for warning in &generated.warnings {
                // cargo reads one line per directive.
                let text = warning.to_string().replace('\n', " ");
                writeln!(cargo, "cargo:warning=protoc-gen-rs-svc: {text}").map_err(stdout)?;
            }
        }
        Ok(())
    }

    /// The request's `parameter`: the items joined with `,`, escaped as params.rs reads them.
    fn parameter_string(&self) -> String {
        self.parameters
            .iter()
            .map(|p| p.replace('\\', r"\\").replace(',', r"\,"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn flag(self, key: &str, value: bool) -> Self {
        self.pair(key, if value { "true" } else { "false" })
    }

    fn pair(self, key: &str, value: &str) -> Self {
        self.parameter(format!("{key}={value}"))
    }

    fn triple(self, key: &str, path: &str, value: &str) -> Self {
        self.parameter(format!("{key}={path}={value}"))
    }
}

/// Writes `content` unless the file already holds it, so an unchanged output keeps its
/// modification time and cargo does not rebuild what includes it.
fn write_if_changed(path: &Path, content: &str) -> Result<(), BuildError> {
    let err = |source| BuildError::Write {
        path: path.to_owned(),
        source,
    };
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, content).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (name relative to `root`, source) and returns the root.
    fn tree(root: &Path, files: &[(&str, &str)]) {
        for (name, source) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, source).unwrap();
        }
    }

    /// A service in `proto/` importing a message from a second include path, `vendor/`, which
    /// imports a third file; `vendor/` also holds a file nobody imports.
    fn project(root: &Path) {
        tree(
            root,
            &[
                (
                    "proto/shop/v1/shop.proto",
                    r#"syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
import "common/v1/money.proto";
service Shop {
  rpc GetPrice(GetPriceRequest) returns (common.v1.Money) {
    option (google.api.http) = {get: "/v1/{name=items/*}/price"};
  }
}
message GetPriceRequest {
  string name = 1;
  google.protobuf.Timestamp at = 2;
}
"#,
                ),
                (
                    "vendor/common/v1/money.proto",
                    r#"syntax = "proto3";
package common.v1;
import "common/v1/currency.proto";
message Money { Currency currency = 1; int64 units = 2; }
"#,
                ),
                (
                    "vendor/common/v1/currency.proto",
                    "syntax = \"proto3\";\npackage common.v1;\nenum Currency { CURRENCY_UNSPECIFIED = 0; EUR = 1; }\n",
                ),
                (
                    "vendor/common/v1/unused.proto",
                    "syntax = \"proto3\";\npackage common.v1;\nmessage Unused {}\n",
                ),
            ],
        );
    }

    /// Runs `builder` on the project under `root`, writing to `root/out`; the cargo lines.
    fn compile(builder: Builder, root: &Path) -> Result<String, BuildError> {
        let mut cargo = Vec::new();
        builder.out_dir(root.join("out")).compile_to(
            &[root.join("proto/shop/v1/shop.proto")],
            &[root.join("proto"), root.join("vendor")],
            &mut cargo,
        )?;
        Ok(String::from_utf8(cargo).unwrap())
    }

    fn written(root: &Path) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&root.join("out"), &root.join("out"), &mut out);
        out.sort();
        out
    }

    #[test]
    fn rerun_if_changed_names_every_proto_read_and_no_bundled_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        project(root);
        let cargo = compile(configure().emit_rerun_if_changed(true), root).unwrap();
        let expected: String = [
            "proto/shop/v1/shop.proto",
            "vendor/common/v1/currency.proto",
            "vendor/common/v1/money.proto",
        ]
        .iter()
        .map(|name| format!("cargo:rerun-if-changed={}\n", root.join(name).display()))
        .collect();
        assert_eq!(cargo, expected);
        // Imports are compiled, not generated, as under protoc.
        assert_eq!(
            written(root),
            ["mod.rs", "shop.v1.rs", "shop/v1/shop.openapi.yaml"]
        );
    }

    #[test]
    fn rerun_if_changed_can_be_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let cargo = compile(configure().emit_rerun_if_changed(false), dir.path()).unwrap();
        assert_eq!(cargo, "");
    }

    #[test]
    fn errors_in_protos_are_located_and_nothing_is_written() {
        let cases = [
            (
                "a syntax error in an import from an include path",
                "vendor/common/v1/currency.proto",
                "syntax = \"proto3\";\npackage common.v1;\nenum Currency { EUR = 0 }\n",
                "common/v1/currency.proto:3:25: ",
            ),
            (
                "an unknown import",
                "vendor/common/v1/money.proto",
                "syntax = \"proto3\";\npackage common.v1;\nimport \"nope.proto\";\nmessage Money {}\n",
                "common/v1/money.proto:3:1: ",
            ),
            (
                "an http rule naming an unknown field",
                "proto/shop/v1/shop.proto",
                r#"syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
service Shop {
  rpc Get(GetRequest) returns (GetRequest) {
    option (google.api.http) = {get: "/v1/{title}"};
  }
}
message GetRequest { string name = 1; }
"#,
                "1 error(s):\nshop/v1/shop.proto:6:5: shop.v1.Shop.Get: ",
            ),
        ];
        for (what, file, source, starts) in cases {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            project(root);
            tree(root, &[(file, source)]);
            let err = compile(configure(), root).unwrap_err().to_string();
            assert!(err.starts_with(starts), "{what}: {err}");
            assert_eq!(written(root), Vec::<String>::new(), "{what}");
        }
    }

    #[test]
    fn bad_parameters_are_errors_before_any_proto_is_read() {
        let cases = [
            (
                configure().parameter("no_sever"),
                "unknown parameter `no_sever`",
            ),
            (
                configure().parameter("openapi_format=toml"),
                "parameter `openapi_format` takes `yaml` or `json`, not `toml`",
            ),
            (
                configure().extern_path("google.protobuf", "::pbjson_types"),
                "`google.protobuf` is not a fully-qualified proto name",
            ),
            (
                configure().include_file(""),
                "parameter `include_file` needs a value",
            ),
            (
                configure()
                    .file_descriptor_set(true)
                    .parameter("no_include_file"),
                "cannot be combined with `no_include_file`",
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (builder, message) in cases {
            // No project: a parameter error must come before any file is looked for.
            let err = compile(builder, dir.path()).unwrap_err();
            assert!(matches!(err, BuildError::Parameter(_)), "{err}");
            assert!(err.to_string().contains(message), "{err}");
            assert_eq!(written(dir.path()), Vec::<String>::new());
        }
    }

    #[test]
    fn setters_are_plugin_parameters_and_values_keep_their_commas() {
        let builder = configure()
            .build_server(false)
            .build_client(true)
            .openapi(false)
            .include_file("protos.rs")
            .type_attribute(".shop", "#[derive(Eq, Hash)]")
            .parameter(r"openapi_info_version=a\b");
        let params = Params::parse(&builder.parameter_string()).unwrap();
        assert!(params.no_server);
        assert!(!params.no_client);
        assert!(params.no_openapi);
        assert_eq!(params.include_file.as_deref(), Some("protos.rs"));
        assert_eq!(
            params.type_attributes,
            [(".shop".to_owned(), "#[derive(Eq, Hash)]".to_owned())]
        );
        assert_eq!(params.openapi_info_version.as_deref(), Some(r"a\b"));
        // A later setting wins.
        let params =
            Params::parse(&configure().openapi(false).openapi(true).parameter_string()).unwrap();
        assert!(!params.no_openapi);
    }

    #[test]
    fn warnings_are_cargo_warning_lines() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        project(root);
        let shop = root.join("proto/shop/v1/shop.proto");
        let source = std::fs::read_to_string(&shop).unwrap().replace(
            r#"{get: "/v1/{name=items/*}/price"}"#,
            r#"{get: "/v1/{name=items/*}/price" body: "*"}"#,
        );
        std::fs::write(&shop, source).unwrap();
        let cargo = compile(configure().emit_rerun_if_changed(false), root).unwrap();
        assert!(
            cargo.starts_with(
                "cargo:warning=protoc-gen-rs-svc: shop/v1/shop.proto:8:5: shop.v1.Shop.GetPrice: "
            ),
            "{cargo}"
        );
        assert_eq!(cargo.lines().count(), 1, "{cargo}");
        let quiet = compile(
            configure()
                .emit_rerun_if_changed(false)
                .emit_warnings(false),
            root,
        )
        .unwrap();
        assert_eq!(quiet, "");
    }

    #[test]
    fn an_unchanged_file_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        project(root);
        compile(configure(), root).unwrap();
        let rs = root.join("out/shop.v1.rs");
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&rs)
            .unwrap()
            .set_modified(old)
            .unwrap();
        compile(configure(), root).unwrap();
        assert_eq!(std::fs::metadata(&rs).unwrap().modified().unwrap(), old);
    }

    #[test]
    fn without_out_dir_the_output_directory_is_out_dir() {
        // cargo sets OUT_DIR for build scripts, not for this crate's tests.
        if std::env::var_os("OUT_DIR").is_none() {
            let err = configure()
                .compile_protos(&["x.proto"], &["."])
                .unwrap_err();
            assert!(matches!(err, BuildError::NoOutDir), "{err}");
        }
    }

    #[test]
    fn debug_shows_the_message_as_display_does() {
        let err = BuildError::Generate(vec!["a.proto:1:2: a.B: bad".to_owned()]);
        assert_eq!(format!("{err:?}"), err.to_string());
        assert_eq!(err.to_string(), "1 error(s):\na.proto:1:2: a.B: bad");
    }
}
