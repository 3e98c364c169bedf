//! Tally's byte spans and LSP's positions (UTF-16 code units, the protocol's default encoding).

use lsp_types::{Position, Range};
use tally_diagnostics::{ColumnUnit, LineIndex, Span};

pub(crate) fn position(text: &str, index: &LineIndex, offset: usize) -> Position {
    let p = index.position(text, offset, ColumnUnit::Utf16);
    Position {
        line: p.line,
        character: p.column,
    }
}

pub(crate) fn range(text: &str, index: &LineIndex, span: Span) -> Range {
    Range {
        start: position(text, index, span.start as usize),
        end: position(text, index, span.end as usize),
    }
}

pub(crate) fn offset(text: &str, index: &LineIndex, position: Position) -> usize {
    index.offset(
        text,
        tally_diagnostics::Position {
            line: position.line,
            column: position.character,
        },
        ColumnUnit::Utf16,
    )
}

/// A text with its line index, for converting many spans.
pub(crate) struct Lines<'a> {
    pub text: &'a str,
    pub index: LineIndex,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            index: LineIndex::new(text),
        }
    }

    pub fn range(&self, span: Span) -> Range {
        range(self.text, &self.index, span)
    }

    pub fn offset(&self, position: Position) -> usize {
        offset(self.text, &self.index, position)
    }

    pub fn position(&self, offset: usize) -> Position {
        position(self.text, &self.index, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_utf16_code_units() {
        let text = "let a = \"💷\" + x\n";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap_or_default();
        let p = lines.position(x);
        assert_eq!((p.line, p.character), (0, 15));
        assert_eq!(lines.offset(p), x);
    }
}
