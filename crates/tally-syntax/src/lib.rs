//! Tally's syntax: the grammar (`grammar/tally.pest`), an owned AST whose nodes carry spans,
//! and a parser that recovers at the next top-level item so that every syntax error in a file
//! is reported in one run. Errors are `tally_diagnostics::Diagnostic` values. Expressions nest at
//! most [`MAX_NESTING`] deep (T0003), so no input exhausts the stack. [`parse_with_trivia`]
//! also returns the comments, blank lines and brackets the tree leaves out (for the formatter).

pub mod ast;
mod depth;
mod hints;
mod lower;
mod parser;
mod print;
mod shift;
pub mod trivia;
mod words;

pub use depth::MAX_NESTING;
pub use parser::{Parsed, parse, parse_with_trivia, piece_starts};
pub use print::Precedence;
pub use words::{CLAUSE_WORDS, KEYWORDS};
