//! The bottom of Tally's crate graph: where things are in a file ([`Span`], [`LineIndex`]) and
//! what is wrong there ([`Diagnostic`]), as plain values. Every stage returns these; the CLI
//! renders them with miette, the language server turns them into LSP diagnostics and quick
//! fixes. Nothing here knows a terminal, a file system or a protocol.
//!
//! Style (after Cedar's guide): a short lowercase message with the user's text in backticks,
//! labels on the offending text, advice in `help`, and fixes as [`Suggestion`] data.

mod diagnostic;
mod span;
pub mod suggest;

pub use diagnostic::{Code, Diagnostic, Label, Severity, Suggestion};
pub use span::{ColumnUnit, LineIndex, Position, Span};
pub use suggest::{Names, closest, list_and, list_or};
