//! A small pretty-printing document algebra in the manner of Wadler's "prettier printer" (as
//! Gleam's and Prettier's formatters use): the layout says where a line *may* break, and the
//! printer breaks the outermost group that does not fit the width first. Two additions for
//! Tally's layout: a break may print *outdented* from the current indentation (so `and` and `or`
//! can hang to the left of their operands, like a SQL river), and a trailing comment is kept
//! apart from the code of its line, so comments in consecutive lines can be aligned afterwards.

use std::borrow::Cow;

/// A document: text and the places where it may break.
#[derive(Debug, Clone)]
pub(crate) enum Doc {
    /// Text without line breaks.
    Text(Cow<'static, str>),
    Concat(Vec<Doc>),
    /// Printed on one line if it fits, else with its breaks as line breaks. `forced` when it
    /// holds a hard break or a trailing comment, which cannot be printed flat.
    Group {
        doc: Box<Doc>,
        forced: bool,
    },
    /// Breaks inside are indented `n` columns further.
    Nest(usize, Box<Doc>),
    /// Breaks inside are indented to the column where this starts.
    Align(Box<Doc>),
    /// `flat` when its group is flat, else a line break indented `outdent` columns less than
    /// the current indentation.
    Break {
        flat: &'static str,
        outdent: usize,
    },
    /// Always a line break (indented `outdent` columns less than the current indentation).
    Hard {
        outdent: usize,
    },
    /// Printed only when its group is broken (a trailing comma).
    IfBroken(Box<Doc>),
    /// A comment at the end of the current line. Nothing else is printed on that line after it:
    /// text that follows starts a new line.
    Trailing(String),
}

pub(crate) fn text(s: impl Into<Cow<'static, str>>) -> Doc {
    Doc::Text(s.into())
}

pub(crate) fn concat(docs: impl IntoIterator<Item = Doc>) -> Doc {
    Doc::Concat(docs.into_iter().collect())
}

pub(crate) fn group(doc: Doc) -> Doc {
    let forced = doc.forces_break();
    Doc::Group {
        doc: Box::new(doc),
        forced,
    }
}

pub(crate) fn nest(n: usize, doc: Doc) -> Doc {
    Doc::Nest(n, Box::new(doc))
}

pub(crate) fn align(doc: Doc) -> Doc {
    Doc::Align(Box::new(doc))
}

/// A space, or a line break.
pub(crate) fn line() -> Doc {
    Doc::Break {
        flat: " ",
        outdent: 0,
    }
}

/// Nothing, or a line break.
pub(crate) fn soft_line() -> Doc {
    Doc::Break {
        flat: "",
        outdent: 0,
    }
}

pub(crate) fn hard_line() -> Doc {
    Doc::Hard { outdent: 0 }
}

pub(crate) fn if_broken(doc: Doc) -> Doc {
    Doc::IfBroken(Box::new(doc))
}

pub(crate) fn trailing(comment: &str) -> Doc {
    Doc::Trailing(comment.to_string())
}

impl Doc {
    /// Whether this cannot be printed on one line.
    fn forces_break(&self) -> bool {
        match self {
            Doc::Hard { .. } | Doc::Trailing(_) => true,
            Doc::Group { forced, .. } => *forced,
            Doc::Concat(docs) => docs.iter().any(Doc::forces_break),
            Doc::Nest(_, doc) | Doc::Align(doc) => doc.forces_break(),
            Doc::Text(_) | Doc::Break { .. } | Doc::IfBroken(_) => false,
        }
    }
}

/// One printed line: its indentation, its code and its trailing comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Line {
    indent: usize,
    code: String,
    comment: Option<String>,
}

impl Line {
    fn width(&self) -> usize {
        if self.code.is_empty() {
            0
        } else {
            self.indent + self.code.chars().count()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Broken,
}

/// Prints `doc` within `width` columns where it can, and aligns the trailing comments of
/// consecutive lines `gap` columns after the longest code among them.
pub(crate) fn render(doc: &Doc, width: usize, gap: usize) -> String {
    let lines = Printer::new(width).print(doc);
    let mut out = String::new();
    let mut run_start = 0;
    while run_start < lines.len() {
        // A run: consecutive lines with code and a trailing comment.
        let in_run = |l: &Line| l.comment.is_some() && !l.code.is_empty();
        let run_end = lines
            .iter()
            .skip(run_start)
            .position(|l| !in_run(l))
            .map_or(lines.len(), |n| run_start + n)
            .max(run_start + 1);
        let run = lines.get(run_start..run_end).unwrap_or_default();
        let column = run.iter().map(Line::width).max().unwrap_or(0) + gap;
        for line in run {
            let mut text = String::new();
            if !line.code.is_empty() {
                text.push_str(&" ".repeat(line.indent));
                text.push_str(&line.code);
            }
            if let Some(comment) = &line.comment {
                if line.code.is_empty() {
                    text.push_str(&" ".repeat(line.indent));
                } else {
                    text.push_str(&" ".repeat(column.saturating_sub(line.width())));
                }
                text.push_str(comment);
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        run_start = run_end;
    }
    out
}

struct Printer {
    width: usize,
    done: Vec<Line>,
    current: Line,
}

impl Printer {
    fn new(width: usize) -> Printer {
        Printer {
            width,
            done: Vec::new(),
            current: Line::default(),
        }
    }

    fn column(&self) -> usize {
        if self.current.code.is_empty() {
            self.current.indent
        } else {
            self.current.width()
        }
    }

    fn newline(&mut self, indent: usize) {
        let next = Line {
            indent,
            ..Line::default()
        };
        self.done.push(std::mem::replace(&mut self.current, next));
    }

    fn text(&mut self, s: &str, indent: usize) {
        if s.is_empty() {
            return;
        }
        // Code never follows a comment on its line.
        if self.current.comment.is_some() {
            self.newline(indent);
        }
        self.current.code.push_str(s);
    }

    fn print(mut self, doc: &Doc) -> Vec<Line> {
        let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Broken, doc)];
        while let Some((indent, mode, doc)) = stack.pop() {
            match doc {
                Doc::Text(s) => self.text(s, indent),
                Doc::Concat(docs) => {
                    stack.extend(docs.iter().rev().map(|d| (indent, mode, d)));
                }
                Doc::Nest(n, inner) => stack.push((indent + n, mode, inner)),
                Doc::Align(inner) => {
                    let column = self.column();
                    stack.push((column, mode, inner));
                }
                Doc::Group { doc: inner, forced } => {
                    let flat = !*forced
                        && (mode == Mode::Flat
                            || fits(inner, &stack, self.width.saturating_sub(self.column())));
                    let mode = if flat { Mode::Flat } else { Mode::Broken };
                    stack.push((indent, mode, inner));
                }
                Doc::Break { flat, outdent } => match mode {
                    Mode::Flat => self.text(flat, indent),
                    Mode::Broken => self.newline(indent.saturating_sub(*outdent)),
                },
                Doc::Hard { outdent } => self.newline(indent.saturating_sub(*outdent)),
                Doc::IfBroken(inner) => {
                    if mode == Mode::Broken {
                        stack.push((indent, mode, inner));
                    }
                }
                Doc::Trailing(comment) => {
                    if self.current.comment.is_some() {
                        self.newline(indent);
                    }
                    self.current.comment = Some(comment.clone());
                }
            }
        }
        self.done.push(self.current);
        self.done
    }
}

/// Whether `doc`, printed flat, and what follows it up to the next line break, fit in `width`
/// columns.
fn fits(doc: &Doc, rest: &[(usize, Mode, &Doc)], width: usize) -> bool {
    let mut left = width as isize;
    let mut todo: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    let mut rest = rest.iter().rev();
    loop {
        let Some((mode, doc)) = todo.pop().or_else(|| rest.next().map(|&(_, m, d)| (m, d))) else {
            return true;
        };
        match doc {
            Doc::Text(s) => left -= s.chars().count() as isize,
            Doc::Concat(docs) => todo.extend(docs.iter().rev().map(|d| (mode, d))),
            Doc::Nest(_, inner) | Doc::Align(inner) => todo.push((mode, inner)),
            Doc::Group { doc, forced } => {
                let mode = if *forced { Mode::Broken } else { mode };
                todo.push((mode, doc));
            }
            Doc::Break { flat, .. } => match mode {
                Mode::Flat => left -= flat.len() as isize,
                Mode::Broken => return true,
            },
            Doc::Hard { .. } => return true,
            Doc::IfBroken(inner) => {
                if mode == Mode::Broken {
                    todo.push((mode, inner));
                }
            }
            Doc::Trailing(_) => {}
        }
        if left < 0 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &[&str]) -> Doc {
        let mut inner = vec![soft_line()];
        for (n, arg) in args.iter().enumerate() {
            if n > 0 {
                inner.push(text(","));
                inner.push(line());
            }
            inner.push(text(arg.to_string()));
        }
        inner.push(if_broken(text(",")));
        group(concat([
            text("f("),
            nest(2, concat(inner)),
            soft_line(),
            text(")"),
        ]))
    }

    #[test]
    fn a_group_breaks_only_when_it_does_not_fit() {
        let doc = call(&["aaaa", "bbbb"]);
        assert_eq!(render(&doc, 80, 3), "f(aaaa, bbbb)\n");
        assert_eq!(render(&doc, 10, 3), "f(\n  aaaa,\n  bbbb,\n)\n");
    }

    #[test]
    fn outdented_breaks_hang_to_the_left() {
        let doc = concat([
            text("let x = "),
            group(align(concat([
                text("a"),
                Doc::Break {
                    flat: " ",
                    outdent: 3,
                },
                text("or b"),
            ]))),
        ]);
        assert_eq!(render(&doc, 10, 3), "let x = a\n     or b\n");
    }

    #[test]
    fn trailing_comments_force_a_break_and_align() {
        let doc = concat([
            group(concat([text("a"), trailing("// one"), line(), text("bbb")])),
            trailing("// two"),
            hard_line(),
            text("c"),
        ]);
        assert_eq!(render(&doc, 80, 3), "a     // one\nbbb   // two\nc\n");
    }

    #[test]
    fn code_after_a_comment_starts_a_new_line() {
        let doc = concat([text("a"), trailing("// c"), text(")")]);
        assert_eq!(render(&doc, 80, 3), "a   // c\n)\n");
    }
}
