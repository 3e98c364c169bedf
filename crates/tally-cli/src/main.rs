//! The `tally` binary; everything is in the library so tests can drive it in-process.

fn main() -> std::process::ExitCode {
    tally_cli::main()
}
