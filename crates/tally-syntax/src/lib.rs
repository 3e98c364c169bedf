//! Tally's syntax: the grammar (`grammar/tally.pest`), an owned AST whose nodes carry spans,
//! and a parser that recovers at the next top-level item so that every syntax error in a file
//! is reported in one run. Errors are `tally_diagnostics::Diagnostic` values.

pub mod ast;
mod lower;
mod parser;

pub use parser::{Parsed, parse};
