//! Where things are in a source file: byte spans, and their lines and columns as people
//! (characters) and editors (UTF-16 code units, the Language Server Protocol's default) count them.

use serde::{Deserialize, Serialize};

/// A byte range in one source file. Spans take part in equality on purpose: the salsa database
/// compares query results, and a result whose spans moved must not be treated as unchanged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start >= self.end
    }

    pub fn contains(self, offset: usize) -> bool {
        self.range().contains(&offset)
    }

    /// The source text under the span, or "" if the span does not fit the text.
    pub fn text(self, source: &str) -> &str {
        source.get(self.range()).unwrap_or("")
    }
}

/// How columns are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnUnit {
    /// Unicode scalar values: what people count, and what Tally prints.
    Char,
    /// UTF-16 code units: the Language Server Protocol's default position encoding.
    Utf16,
    /// Bytes of UTF-8.
    Byte,
}

/// A 0-based line and column, the column counted in some [`ColumnUnit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// Maps byte offsets to lines and columns and back. Built once per source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { line_starts }
    }

    /// The 0-based line holding `offset`.
    fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// 1-based (line, column) of a byte offset, the column in characters: what people read.
    pub fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let position = self.position(source, offset, ColumnUnit::Char);
        (position.line as usize + 1, position.column as usize + 1)
    }

    /// The 0-based position of a byte offset. An offset inside a character counts as that
    /// character's start; one past the end of the text as the end.
    pub fn position(&self, source: &str, offset: usize, unit: ColumnUnit) -> Position {
        let offset = offset.min(source.len());
        let line = self.line_of(offset);
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let prefix = source.get(start..offset).unwrap_or_else(|| {
            // Not on a character boundary: count up to the character the offset falls in.
            let mut end = offset;
            while end > start && !source.is_char_boundary(end) {
                end -= 1;
            }
            source.get(start..end).unwrap_or("")
        });
        let column = match unit {
            ColumnUnit::Char => prefix.chars().count(),
            ColumnUnit::Utf16 => prefix.chars().map(char::len_utf16).sum(),
            ColumnUnit::Byte => prefix.len(),
        };
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// The byte offset of a 0-based position. A column past the end of its line is the line's
    /// end; a column inside a character (half a UTF-16 surrogate pair) is that character's start;
    /// a line past the last is the end of the text.
    pub fn offset(&self, source: &str, position: Position, unit: ColumnUnit) -> usize {
        let Some(&start) = self.line_starts.get(position.line as usize) else {
            return source.len();
        };
        let end = self
            .line_starts
            .get(position.line as usize + 1)
            .map_or(source.len(), |next| next.saturating_sub(1));
        let line = source.get(start..end).unwrap_or("");
        let mut counted = 0usize;
        for (byte, c) in line.char_indices() {
            let width = match unit {
                ColumnUnit::Char => 1,
                ColumnUnit::Utf16 => c.len_utf16(),
                ColumnUnit::Byte => c.len_utf8(),
            };
            if counted + width > position.column as usize {
                return start + byte;
            }
            counted += width;
        }
        start + line.len()
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_number(&self, offset: usize) -> usize {
        self.line_of(offset)
    }

    /// Byte offset where 0-based line `line` starts, if the text has it.
    pub fn start_of_line(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line).copied()
    }

    /// How many lines the text has (a text ending in a newline has an empty last line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset where the line holding `offset` starts.
    pub fn line_start(&self, offset: usize) -> usize {
        self.line_starts
            .get(self.line_of(offset))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let src = "ab\ncdé\nf";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(src, 0), (1, 1));
        assert_eq!(index.line_col(src, 3), (2, 1));
        assert_eq!(index.line_col(src, 8), (3, 1));
        assert_eq!(index.line_col(src, 7), (2, 4));
        assert_eq!(index.line_start(5), 3);
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs_twice() {
        // `💷` is one character, four UTF-8 bytes and two UTF-16 code units.
        let src = "let a = \"💷\" + x\nb";
        let index = LineIndex::new(src);
        let x = src.find('x').unwrap_or_default();
        assert_eq!(index.position(src, x, ColumnUnit::Char).column, 14);
        assert_eq!(index.position(src, x, ColumnUnit::Utf16).column, 15);
        assert_eq!(index.position(src, x, ColumnUnit::Byte).column, 17);
        for unit in [ColumnUnit::Char, ColumnUnit::Utf16, ColumnUnit::Byte] {
            let position = index.position(src, x, unit);
            assert_eq!(index.offset(src, position, unit), x, "{unit:?}");
        }
    }

    #[test]
    fn positions_outside_the_text_are_clamped() {
        let src = "ab\ncd";
        let index = LineIndex::new(src);
        let past_line = Position {
            line: 0,
            column: 99,
        };
        assert_eq!(index.offset(src, past_line, ColumnUnit::Utf16), 2);
        let past_text = Position { line: 9, column: 0 };
        assert_eq!(index.offset(src, past_text, ColumnUnit::Utf16), src.len());
        assert_eq!(
            index.position(src, 999, ColumnUnit::Char),
            Position { line: 1, column: 2 }
        );
        // Inside a multi-byte character: its start.
        let src = "é";
        assert_eq!(
            LineIndex::new(src).position(src, 1, ColumnUnit::Utf16),
            Position { line: 0, column: 0 }
        );
    }
}
