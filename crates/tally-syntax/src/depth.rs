//! How deep an expression may nest. Parsing, checking and evaluating all recurse over the
//! expression tree, so a generated or corrupted file with thousands of brackets or a chain of
//! thousands of operators would exhaust the stack and abort the process. Instead, anything
//! deeper than [`MAX_NESTING`] is an error (T0003) located at the place it gets too deep:
//!
//! - brackets (`(` and `[`) are counted over the text before pest sees an item, because pest
//!   recurses once per bracket;
//! - the tree built from an item is measured while it is built (a chain of 5,000 `+` is flat
//!   text but a tree 5,000 deep), and building stops at the limit.
//!
//! The checker applies the same limit to expressions with the definitions they use counted in
//! place, so every later stage recurses at most [`MAX_NESTING`] levels.

use crate::parser::starts_item;
use tally_diagnostics::{Code, Diagnostic, Span};

/// The deepest an expression may nest: brackets inside brackets, operators applied to the
/// results of operators, fields of fields. Real rules stay below 20.
pub const MAX_NESTING: usize = 256;

/// The opening brackets that nest deeper than [`MAX_NESTING`]: the first one of each item that
/// does, in order. Strings and comments are skipped; the count starts again at each line that
/// begins an item (`customer`, `use`, `let`, `name qty =`), where no bracket can be open.
pub(crate) fn deep_brackets(source: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut reported = false;
    let mut in_string = false;
    let mut line_start = true;
    let mut chars = source.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if line_start {
            line_start = false;
            let text = source.get(at..).unwrap_or("");
            if starts_item(text.trim_start_matches([' ', '\t'])) {
                depth = 0;
                reported = false;
                in_string = false;
            }
        }
        match c {
            '\n' => {
                line_start = true;
                in_string = false;
            }
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek().map(|p| p.1) == Some('/') => {
                while chars.peek().is_some_and(|p| p.1 != '\n') {
                    chars.next();
                }
            }
            '(' | '[' if !in_string => {
                depth += 1;
                if depth > MAX_NESTING && !reported {
                    reported = true;
                    found.push(at);
                }
            }
            ')' | ']' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    found
}

/// The error for brackets nested too deep, at the first bracket past the limit.
pub(crate) fn too_many_brackets(at: usize) -> Diagnostic {
    Diagnostic::error(
        Code::NestingTooDeep,
        format!("brackets nested more than {MAX_NESTING} deep"),
        Span::new(at, at + 1),
    )
    .with_label_message(format!("bracket {} inside the others", MAX_NESTING + 1))
    .with_help(split_help())
}

/// The error for an expression tree deeper than the limit, at the part that went past it.
pub(crate) fn nested_too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::NestingTooDeep,
        format!("expression nested more than {MAX_NESTING} levels deep"),
        span,
    )
    .with_label_message(format!("level {}", MAX_NESTING + 1))
    .with_help(split_help())
}

/// pest's own guard: the parser ran short of stack (only on threads with a small stack).
pub(crate) fn parser_out_of_stack(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::NestingTooDeep,
        "expression nested too deeply to read",
        span,
    )
    .with_help(split_help())
}

fn split_help() -> String {
    "split the expression into `let` definitions, or add many terms with `sum([...])`".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_counted_per_item_outside_strings_and_comments() {
        let deep = "(".repeat(MAX_NESTING + 1);
        let source = format!("let a = {deep}\nlet b = \"{deep}\" // {deep}\nlet c = {deep}1");
        let found = deep_brackets(&source);
        let first = "let a = ".len() + MAX_NESTING;
        let second = source.rfind("let c = ").unwrap_or(0) + "let c = ".len() + MAX_NESTING;
        assert_eq!(found, [first, second]);
    }

    /// The codes and the primary spans' texts of what parsing `source` reports.
    fn errors(source: &str) -> Vec<(Code, &str)> {
        crate::parse(source)
            .diagnostics
            .iter()
            .map(|d| (d.code, d.primary_span().text(source)))
            .collect()
    }

    /// A `let` whose value is `n` copies of `unit` joined by `separator`.
    fn chain(n: usize, unit: &str, separator: &str) -> String {
        format!("let x = {}", vec![unit; n].join(separator))
    }

    /// Runs `test` on a thread with a main thread's stack (8 MiB): the CLI parses on its main
    /// thread, test threads have 2 MiB, and pest spends about 10 KiB per bracket in a debug
    /// build (on a smaller stack pest's own guard stops it, with T0003 too).
    fn with_main_stack(test: impl FnOnce() + Send + 'static) {
        let thread = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(test)
            .unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn expressions_at_the_limit_parse() {
        with_main_stack(expressions_at_the_limit_parse_here);
    }

    fn expressions_at_the_limit_parse_here() {
        let brackets = format!(
            "let x = {}1{}",
            "(".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        for source in [
            brackets,
            chain(MAX_NESTING, "1", " + "),
            chain(MAX_NESTING, "enabled", " and "),
            format!("let x = {}1", "-".repeat(MAX_NESTING - 1)),
            format!("let x = {}enabled", "not ".repeat(MAX_NESTING - 1)),
            format!("let x = m365{}", ".users".repeat(MAX_NESTING - 1)),
        ] {
            let parsed = crate::parse(&source);
            assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
            assert_eq!(parsed.file.items.len(), 1);
        }
    }

    #[test]
    fn deeper_expressions_are_refused_where_they_get_too_deep() {
        let plus = chain(MAX_NESTING + 1, "1", " + ");
        assert_eq!(errors(&plus), [(Code::NestingTooDeep, "1")]);
        let and = chain(5_000, "enabled", " and ");
        assert_eq!(errors(&and), [(Code::NestingTooDeep, "enabled")]);
        let neg = format!("let x = {}1", "-".repeat(5_000));
        assert_eq!(errors(&neg), [(Code::NestingTooDeep, "-")]);
        let not = format!("let x = {}enabled", "not ".repeat(5_000));
        assert_eq!(errors(&not), [(Code::NestingTooDeep, "not")]);
        let fields = format!("let x = m365{}", ".users".repeat(5_000));
        assert_eq!(errors(&fields), [(Code::NestingTooDeep, ".users")]);
        let filters = format!("let x = m365.users{}", " where enabled".repeat(5_000));
        assert_eq!(errors(&filters), [(Code::NestingTooDeep, "enabled")]);
    }

    #[test]
    fn deep_brackets_are_refused_before_pest_sees_them() {
        for (open, close) in [("(", ")"), ("[", "]"), ("max(", ")")] {
            let source = format!(
                "let x = {}1{}\nlet y = 2",
                open.repeat(100_000),
                close.repeat(100_000)
            );
            let parsed = crate::parse(&source);
            let found: Vec<(Code, &str)> = parsed
                .diagnostics
                .iter()
                .map(|d| (d.code, d.primary_span().text(&source)))
                .collect();
            let bracket = &open[open.len() - 1..];
            assert_eq!(found, [(Code::NestingTooDeep, bracket)]);
            // The item is dropped, the file is marked incomplete, and parsing goes on.
            assert!(parsed.file.incomplete);
            assert_eq!(parsed.file.items.len(), 1);
        }
    }

    #[test]
    fn a_too_deep_clause_drops_its_whole_line() {
        let source = format!("x qty = 1 price {}\ny qty = 2", chain(5_000, "1", " + "));
        let source = source.replace("let x = ", "");
        let parsed = crate::parse(&source);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(parsed.file.incomplete);
        assert_eq!(parsed.file.items.len(), 1);
    }

    #[test]
    fn brackets_at_the_limit_are_fine() {
        let source = format!(
            "let a = {}1{}",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert!(deep_brackets(&source).is_empty());
    }
}
