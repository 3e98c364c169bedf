//! The Tally language server: `tally lsp` speaks the Language Server Protocol over stdio. The
//! only crate that knows LSP; everything it shows comes from `tally-db` (diagnostics, typed
//! trees, the files a `use` reaches) and `tally-driver` (live values from `explain`).
//!
//! Shape, after rust-analyzer's: `lsp-server` gives the message types and a synchronous
//! [`Connection`]; one thread owns the salsa [`tally_db::Database`] and handles messages in
//! order. Before handling, it takes every message already waiting, so a burst of keystrokes is
//! applied at once and diagnostics are computed once per burst, and a request cancelled while it
//! waited is answered as cancelled without being run.
//!
//! - [`transport`]: framing over any reader and writer, with malformed messages answered;
//! - `server`: the message loop, initialisation, shutdown, panics caught per handler;
//! - `world`: the open documents, the files read from disk, the settings;
//! - `diagnostics`, `hover`, `completion`, `navigation` (definition, references, rename),
//!   `actions` (quick fixes), `symbols` (document symbols, semantic tokens), `format`.

mod actions;
mod analysis;
mod completion;
mod convert;
mod diagnostics;
mod format;
mod hover;
mod live;
mod navigation;
mod server;
mod symbols;
mod toml;
pub mod transport;
mod uri;
mod world;

pub use lsp_server::Connection;
pub use server::serve;

/// Formats a rule file's text: the seam for `tally-fmt` (`tally_fmt::format`), which the
/// language server offers as document formatting when one is given.
pub type Formatter = fn(&str) -> Result<String, String>;

/// How the server runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Log what the server does to standard error.
    pub log: bool,
    /// Document formatting; `None` until a formatter is wired in.
    pub formatter: Option<Formatter>,
}

/// Serves `input` and `output` until the client says `exit` or the input ends. `Ok(true)`
/// when the client asked for `shutdown` first (exit code 0), `Ok(false)` otherwise (exit code 1).
pub fn serve_io<R, W>(input: R, output: W, options: Options) -> std::io::Result<bool>
where
    R: std::io::BufRead + Send + 'static,
    W: std::io::Write + Send + 'static,
{
    let (connection, threads) = transport::connect(input, output)?;
    let clean = serve(connection, options);
    threads.join()?;
    Ok(clean)
}

/// `tally lsp`: serves stdin and stdout.
pub fn run_stdio(options: Options) -> std::io::Result<bool> {
    serve_io(
        std::io::BufReader::new(std::io::stdin()),
        std::io::stdout(),
        options,
    )
}
