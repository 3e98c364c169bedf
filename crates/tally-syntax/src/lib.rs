//! Tally's syntax: the grammar (`grammar/tally.pest`), an owned AST whose nodes carry spans,
//! and a parser that recovers at the next top-level item so that every syntax error in a file
//! is reported in one run. Also home of [`Diagnostic`], the plain-data error type every later
//! stage returns.

pub mod ast;
pub mod diagnostic;
mod lower;
mod parser;
mod span;

pub use diagnostic::{Code, Diagnostic, Label, Severity};
pub use parser::{Parsed, parse};
pub use span::{LineIndex, Span};
