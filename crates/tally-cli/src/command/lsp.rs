//! `tally lsp`: the language server, over stdin and stdout. Editors start it (VS Code, Neovim,
//! Helix: `docs/editors.md`); it logs to standard error only when asked.

use crate::exit::Failure;

#[derive(clap::Args)]
pub(crate) struct LspArgs {
    /// Log what the server does to standard error (also: TALLY_LSP_LOG=1).
    #[arg(long)]
    log: bool,
    /// Accepted for editors that pass it; the server always speaks over stdin and stdout.
    #[arg(long, hide = true)]
    stdio: bool,
}

pub(crate) fn run(args: LspArgs) -> Result<(), Failure> {
    let log =
        args.log || std::env::var_os("TALLY_LSP_LOG").is_some_and(|v| !v.is_empty() && v != "0");
    // A panic inside a request is caught and answered; it is reported on stderr only when
    // logging, never as the CLI's "internal error" banner between protocol messages.
    std::panic::set_hook(Box::new(move |info| {
        if log {
            eprintln!("tally-lsp: panic: {info}");
        }
    }));
    let options = tally_lsp::Options {
        log,
        formatter: Some(|text| tally_fmt::format(text).map_err(|e| e.to_string())),
    };
    match tally_lsp::run_stdio(options) {
        Ok(true) => Ok(()),
        // `exit` without `shutdown`, or the client went away: exit code 1, as the protocol says.
        Ok(false) => Err(Failure::Reported),
        Err(e) => Err(Failure::Usage(format!(
            "the language server's stdio failed: {e}"
        ))),
    }
}
