//! Trivia: what the syntax tree leaves out but a formatter must keep. Comments, the blank lines
//! between items, and the brackets written around expressions are not part of the program's
//! meaning, so the tree has no place for them; [`parse_with_trivia`](crate::parse_with_trivia)
//! returns them beside it, in a side table keyed by position.

use tally_diagnostics::Span;

/// Everything [`crate::parse`] discards that a formatter puts back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trivia {
    /// Every `//` comment, in the order written.
    pub comments: Vec<Comment>,
    /// The byte offsets at which blank text lines (nothing but spaces and tabs) begin, in order.
    pub blank_lines: Vec<usize>,
    /// The expressions written in brackets, in no particular order. An expression's span is
    /// unique within its file (a node's span strictly contains its children's and is disjoint
    /// from its siblings'), so it identifies the node.
    pub parens: Vec<Parenthesized>,
}

/// One `//` comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comment {
    /// From the `//` to the end of the text line, without the line break (nor a `\r` or
    /// spaces before it).
    pub span: Span,
    /// Only spaces and tabs come before it on its text line.
    pub own_line: bool,
}

impl Comment {
    /// The comment's text, `//` included.
    pub fn text(self, source: &str) -> &str {
        self.span.text(source)
    }
}

/// An expression written in brackets: `(a + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parenthesized {
    /// The expression's node span (as in the tree, without the brackets).
    pub expr: Span,
    /// From the outermost `(` to its `)`: `((x))` is one pair of brackets around `(x)`.
    pub outer: Span,
}

impl Trivia {
    /// Is there a blank text line that begins in `from..to`?
    pub fn blank_line_between(&self, from: usize, to: usize) -> bool {
        let first = self.blank_lines.partition_point(|&b| b < from);
        self.blank_lines.get(first).is_some_and(|&b| b < to)
    }
}

/// The comments and blank lines of `source`. Strings are skipped (`"a // b"` holds no comment);
/// a `//` anywhere else begins a comment, as in the grammar, where comments are allowed between
/// any two tokens and no token contains `//`.
pub(crate) fn scan(source: &str) -> (Vec<Comment>, Vec<usize>) {
    let bytes = source.as_bytes();
    let mut comments = Vec::new();
    let mut blank_lines = Vec::new();
    let mut at = 0;
    // Whether only spaces and tabs have been seen since the start of the current text line.
    let mut line_start = 0;
    let mut blank_so_far = true;
    let mut in_string = false;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\n' => {
                if blank_so_far {
                    blank_lines.push(line_start);
                }
                in_string = false;
                line_start = at + 1;
                blank_so_far = true;
            }
            b' ' | b'\t' | b'\r' => {}
            b'\\' if in_string => {
                blank_so_far = false;
                // The escaped character never ends the string; a line break still ends the line.
                if bytes.get(at + 1).is_some_and(|&b| b != b'\n') {
                    at += 1;
                }
            }
            b'"' => {
                blank_so_far = false;
                in_string = !in_string;
            }
            b'/' if !in_string && bytes.get(at + 1) == Some(&b'/') => {
                let end = source
                    .get(at..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(source.len(), |n| at + n);
                let text = source.get(at..end).unwrap_or("");
                let trimmed = at + text.trim_end().len();
                comments.push(Comment {
                    span: Span::new(at, trimmed),
                    own_line: blank_so_far,
                });
                blank_so_far = false;
                at = end;
                continue;
            }
            _ => blank_so_far = false,
        }
        at += 1;
    }
    if blank_so_far && line_start < source.len() {
        blank_lines.push(line_start);
    }
    (comments, blank_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<(&str, bool)> {
        scan(source)
            .0
            .iter()
            .map(|c| (c.text(source), c.own_line))
            .collect()
    }

    #[test]
    fn comments_are_found_outside_strings() {
        let source = "// a\nlet x = \"// no\" // b \r\n  // c\nlet y = \"\\\"//\" // d";
        assert_eq!(
            texts(source),
            [
                ("// a", true),
                ("// b", false),
                ("// c", true),
                ("// d", false)
            ]
        );
    }

    #[test]
    fn a_string_ends_at_the_line_break() {
        // Unterminated: the next line is code again.
        assert_eq!(texts("let x = \"abc\n// a"), [("// a", true)]);
    }

    #[test]
    fn brackets_are_recorded_around_the_expression_they_hold() {
        let source =
            "let x = ((a + b)) * (c) + max((d), e)\nlet y = (m365.users where enabled).upn";
        let (parsed, trivia) = crate::parse_with_trivia(source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let mut found: Vec<(&str, &str)> = trivia
            .parens
            .iter()
            .map(|p| (p.expr.text(source), p.outer.text(source)))
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                ("a + b", "((a + b))"),
                ("c", "(c)"),
                ("d", "(d)"),
                ("m365.users where enabled", "(m365.users where enabled)"),
            ]
        );
    }

    #[test]
    fn blank_lines_are_found() {
        let source = "let x = 1\n\n  \t\nlet y = 2\n// c\n\n";
        let (_, blank) = scan(source);
        assert_eq!(blank, [10, 11, 30]);
        let trivia = Trivia {
            blank_lines: blank,
            ..Trivia::default()
        };
        assert!(trivia.blank_line_between(9, 16));
        assert!(!trivia.blank_line_between(16, 25));
    }
}
