//! `tally`: check billing rules, plan invoice lines from a snapshot, explain any line, import
//! Microsoft's exports, reconcile a plan with Microsoft's charges. The only crate that knows
//! the terminal: argument parsing, file reading and writing, miette rendering, exit codes.
//! One file per command under `command/`; the work itself is in `tally-driver` and below.

mod command;
mod exit;
mod load;
mod output;
pub mod render;

use clap::{Parser, Subcommand};
use exit::Failure;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tally",
    version,
    about = "Billing rules as code for managed service providers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check rule files; report every problem.
    Check(command::check::CheckArgs),
    /// Evaluate rules against a snapshot and print the invoice lines.
    Plan(command::plan::PlanArgs),
    /// Build a snapshot from Microsoft Graph, Partner Center and other vendors' exports.
    Import(command::import::ImportArgs),
    /// Compare what Microsoft charges (reconciliation and usage files) with what a plan bills.
    Reconcile(command::reconcile::ReconcileArgs),
    /// Show how one line's quantity and amount were computed.
    Explain(command::explain::ExplainArgs),
    /// Rewrite rule files in the canonical layout, keeping comments (`--check`: list, for CI).
    Fmt(command::fmt::FmtArgs),
    /// Run the language server over stdin and stdout, for editors.
    Lsp(command::lsp::LspArgs),
    /// Compare two plans: new, removed and changed lines, totals per customer.
    Diff(command::diff::DiffArgs),
    /// Run the rule tests: golden plans and expectations for each case folder.
    Test(command::test::TestArgs),
    /// Send a plan to the customers' PSAs: show the changes, or apply them with `--apply`.
    Push(command::push::PushArgs),
}

/// Rule files nest only as deep as the language's limits allow; the extra stack is a margin
/// for the stages that recurse over expressions, not a substitute for those limits.
const STACK_BYTES: usize = 64 * 1024 * 1024;

/// Runs `tally` with the process's arguments. Exit codes, for every command: 0 success; 1 the
/// inputs have problems (diagnostics, runtime errors, malformed data, thresholds crossed);
/// 2 usage or I/O (bad arguments, a file that cannot be read or written).
pub fn main() -> ExitCode {
    // A bug in Tally must still read as an error report, not a Rust backtrace hint.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in tally: {info}");
        eprintln!(
            "This is a bug in Tally, not in your rules: please report it with the command you ran."
        );
    }));
    write_errors_instead_of_signals();
    let cli = Cli::parse();
    let worker = std::thread::Builder::new()
        .name("tally".into())
        .stack_size(STACK_BYTES)
        .spawn(move || run(cli));
    let result = match worker.map(|handle| handle.join()) {
        Ok(Ok(result)) => result,
        // The panic hook has already said what happened.
        Ok(Err(_)) => return ExitCode::from(101),
        Err(e) => Err(Failure::Usage(format!("cannot start: {e}"))),
    };
    exit::code(result)
}

/// Runs `tally ARGS` on this thread (no worker thread, no panic hook) and returns its exit code,
/// for fuzz targets and tests that check what a whole command leaves behind. Paths are taken
/// as the binary takes them; what it prints goes where the binary's would.
pub fn run_in_process<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let arguments =
        std::iter::once(std::ffi::OsString::from("tally")).chain(args.into_iter().map(Into::into));
    match Cli::try_parse_from(arguments) {
        Ok(cli) => exit::number(run(cli)),
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

/// A write past the file size limit (`ulimit -f`) raises SIGXFSZ, whose default action kills
/// the process, leaving its temporary file behind and saying nothing. With a handler installed
/// the write fails with "File too large" instead: the temporary file is removed, the target
/// is untouched, and the error says why (exit 2).
fn write_errors_instead_of_signals() {
    #[cfg(unix)]
    {
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Without the handler the process would still leave the target intact; only the
        // message and the clean-up depend on it, so a failure to install it is not fatal.
        let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, seen);
    }
}

/// What `tally check PATHS` reports for people, and whether any of it is an error, computed
/// in-process (for tests that snapshot it). Paths are relative to the current directory, as on
/// the command line.
pub fn check_report(paths: &[std::path::PathBuf]) -> Result<(bool, String), String> {
    let loaded = load::load(tally_db::Database::default(), paths).map_err(|f| format!("{f:?}"))?;
    let problems = tally_driver::diagnostics(&loaded.db, &loaded.roots);
    let errors = problems.iter().any(|p| p.diagnostic.is_error());
    Ok((errors, render::human_report(&loaded.db, &problems)))
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Check(args) => command::check::run(args),
        Command::Plan(args) => command::plan::run(args),
        Command::Import(args) => command::import::run(args),
        Command::Reconcile(args) => command::reconcile::run(args),
        Command::Explain(args) => command::explain::run(args),
        Command::Fmt(args) => command::fmt::run(args),
        Command::Lsp(args) => command::lsp::run(args),
        Command::Diff(args) => command::diff::run(args),
        Command::Test(args) => command::test::run(args),
        Command::Push(args) => command::push::run(args),
    }
}
