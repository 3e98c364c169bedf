//! `tally fmt` as a library: one canonical layout for rule files (`docs/fmt.md`).
//!
//! [`format`] parses the text with its trivia (comments, blank lines, brackets), lays the tree
//! out as a document ([`doc`]) with every comment given a place ([`comments`]), prints it within
//! [`WIDTH`] columns, and then checks its own work before answering: the output must parse to
//! the same program (the trees equal once spans are erased), hold the same comments, each in the
//! same item, and format to itself. A text with syntax errors is refused, never guessed at.
//! Pure: no I/O, no printing; the CLI and the language server call it.

mod comments;
mod doc;
mod erase;
mod layout;

pub use erase::erase_spans;

use layout::Layout;
use std::fmt;
use tally_diagnostics::{Diagnostic, LineIndex};
use tally_syntax::ast::File;
use tally_syntax::trivia::Trivia;

/// The width the layout keeps to where it can (a long string or name may still go past it).
pub const WIDTH: usize = 100;

/// Spaces between the longest code of consecutive lines and their aligned trailing comments.
const COMMENT_GAP: usize = 3;

/// Why a text was not formatted. Either way the text is to be left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The text does not parse; formatting it would mean guessing.
    Syntax {
        /// The first syntax error in the text (by position).
        first: Box<Diagnostic>,
        /// 1-based line and column (in characters) of its primary span.
        line: usize,
        column: usize,
        /// How many syntax errors there are in all.
        count: usize,
    },
    /// The formatted text would not mean the same as the original: a bug in the formatter,
    /// caught before any text is changed.
    Unsound(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Syntax {
                first,
                line,
                column,
                count,
            } => {
                write!(f, "line {line}, column {column}: {}", first.message)?;
                if *count > 1 {
                    write!(f, " (and {} more syntax errors)", count - 1)?;
                }
                Ok(())
            }
            FormatError::Unsound(reason) => write!(
                f,
                "internal error: the formatted text {reason}; the file was left as it is (this is a bug in `tally fmt`)"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// The text in the canonical layout. Idempotent: `format(format(x)) == format(x)`. Sound: the
/// result parses to the same program and keeps every comment in its item (checked before
/// returning; a failed check is [`FormatError::Unsound`]).
pub fn format(source: &str) -> Result<String, FormatError> {
    let (parsed, trivia) = tally_syntax::parse_with_trivia(source);
    refuse_errors(source, &parsed)?;
    let formatted = print(source, &parsed.file, &trivia);
    verify_parsed(source, &parsed.file, &trivia, &formatted)?;
    Ok(formatted)
}

/// Whether `source` is already in the canonical layout.
pub fn is_formatted(source: &str) -> Result<bool, FormatError> {
    format(source).map(|formatted| formatted == source)
}

fn print(source: &str, file: &File, trivia: &Trivia) -> String {
    if file.items.is_empty() && trivia.comments.is_empty() {
        return String::new();
    }
    let layout = Layout::new(source, trivia);
    doc::render(&layout.file(file), WIDTH, COMMENT_GAP)
}

fn refuse_errors(source: &str, parsed: &tally_syntax::Parsed) -> Result<(), FormatError> {
    let errors = || parsed.diagnostics.iter().filter(|d| d.is_error());
    let Some(first) = errors().min_by_key(|d| d.primary_span().start) else {
        return Ok(());
    };
    let (line, column) =
        LineIndex::new(source).line_col(source, first.primary_span().start as usize);
    Err(FormatError::Syntax {
        first: Box::new(first.clone()),
        line,
        column,
        count: errors().count(),
    })
}

/// Checks that `after` is a sound formatting of `before`: both parse without errors to the same
/// program (spans aside), every comment of `before` is in `after` in the same item (as many
/// times), and `after` is in the canonical layout of itself.
pub fn verify(before: &str, after: &str) -> Result<(), FormatError> {
    let (old, old_trivia) = tally_syntax::parse_with_trivia(before);
    refuse_errors(before, &old)?;
    verify_parsed(before, &old.file, &old_trivia, after)
}

fn verify_parsed(
    before: &str,
    old: &File,
    old_trivia: &Trivia,
    after: &str,
) -> Result<(), FormatError> {
    let (new, new_trivia) = tally_syntax::parse_with_trivia(after);
    if let Some(error) = new.diagnostics.iter().find(|d| d.is_error()) {
        return Err(FormatError::Unsound(format!(
            "does not parse ({})",
            error.message
        )));
    }
    // Debug output also compares what `==` on decimals does not: `2.50` is not `2.5`.
    let same = format!("{:?}", erase_spans(old)) == format!("{:?}", erase_spans(&new.file));
    if !same {
        return Err(FormatError::Unsound(
            "parses to a different program".to_string(),
        ));
    }
    if comments_by_item(before, old, old_trivia) != comments_by_item(after, &new.file, &new_trivia)
    {
        return Err(FormatError::Unsound(
            "lost a comment or moved one to another item".to_string(),
        ));
    }
    if print(after, &new.file, &new_trivia) != after {
        return Err(FormatError::Unsound(
            "changes when formatted again".to_string(),
        ));
    }
    Ok(())
}

/// Every comment's text with the index of the item it belongs to, sorted: the item it is in, or
/// whose last line it ends; otherwise the next item (`items.len()` after the last one).
pub fn comments_by_item(source: &str, file: &File, trivia: &Trivia) -> Vec<(usize, String)> {
    let layout = Layout::new(source, trivia);
    let extents: Vec<(usize, usize)> = file.items.iter().map(|i| layout.item_extent(i)).collect();
    let mut owned: Vec<(usize, String)> = trivia
        .comments
        .iter()
        .map(|c| {
            let at = c.span.start as usize;
            // Items are in order and do not overlap: the first one that ends after the comment
            // holds it or follows it; the one before may end on the comment's line.
            let next = extents.partition_point(|&(_, end)| end <= at);
            let inside = extents.get(next).is_some_and(|&(start, _)| start <= at);
            let trails = next
                .checked_sub(1)
                .and_then(|p| extents.get(p))
                .is_some_and(|&(_, end)| comments::same_line(source, end, at));
            let owner = if !inside && trails { next - 1 } else { next };
            (owner, c.text(source).to_string())
        })
        .collect();
    owned.sort();
    owned
}
