fn main() -> std::process::ExitCode {
    protoc_gen_rs_svc::cli::main()
}
