//! How deep definitions and expressions may nest (T0003). The parser bounds each expression as
//! written ([`MAX_NESTING`]); evaluation also follows definitions into their bodies, so here
//! every expression is measured with the definitions it uses counted in place, and chains of
//! definitions are bounded ([`MAX_DEFINITION_DEPTH`]). With both, every later stage (which
//! recurses over expressions and into definitions) recurses at most [`MAX_NESTING`] levels.

use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{TExpr, TExprKind};

pub use tally_syntax::MAX_NESTING;

/// The longest chain of definitions built on one another (`let b = a + 1`, `let c = b + 1`,
/// ...), across modules too. Real rules stay below 10.
pub const MAX_DEFINITION_DEPTH: usize = 64;

/// How deep one definition builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LetDepth {
    /// 1 for a definition that uses no other, else one more than the deepest one it uses.
    pub definitions: usize,
    /// The depth of its typed expression with the definitions it uses counted in place: how
    /// deep evaluating it recurses.
    pub nesting: usize,
}

/// An expression measured for the limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Measure {
    /// The longest chain among the definitions it uses (0 if it uses none), and where it uses
    /// the definition that starts it.
    pub definitions: usize,
    pub deepest_definition: Option<(Span, String)>,
    /// Its depth with the definitions it uses counted in place, and where it uses the
    /// definition that makes it deepest (if one does).
    pub nesting: usize,
    pub deepest_nesting: Option<(Span, String, usize)>,
    /// It uses a definition already reported as too deep.
    pub builds_on_too_deep: bool,
}

impl Checker<'_> {
    /// Measures a typed expression, following the definitions it uses through their recorded
    /// depths (definitions being checked, or in a cycle, count as nothing: they are reported).
    /// Iterative: the expression may be deep.
    pub(crate) fn measure(&self, expr: &TExpr) -> Measure {
        let mut measure = Measure::default();
        let mut pending = vec![(expr, 1usize)];
        while let Some((node, level)) = pending.pop() {
            measure.nesting = measure.nesting.max(level);
            if let TExprKind::Let(id) = &node.kind {
                let local = id.module == self.module;
                let depth = if local {
                    self.let_depths.get(&id.name).copied()
                } else {
                    self.imported.get(&id.name).map(|i| i.depth)
                };
                measure.builds_on_too_deep |= local && self.too_deep.contains(&id.name);
                let Some(depth) = depth else { continue };
                if depth.definitions > measure.definitions {
                    measure.definitions = depth.definitions;
                    measure.deepest_definition = Some((node.span, id.name.clone()));
                }
                // The body is evaluated below the use.
                let through = level + depth.nesting;
                if through > measure.nesting {
                    measure.nesting = through;
                    measure.deepest_nesting = Some((node.span, id.name.clone(), depth.nesting));
                }
            }
            pending.extend(node.children().map(|c| (c, level + 1)));
        }
        measure
    }

    /// Reports an expression (a line's value, price, ...) that nests too deep with the
    /// definitions it uses; `false` if it did.
    pub(crate) fn within_nesting(&mut self, measure: &Measure, span: Span) -> bool {
        if measure.builds_on_too_deep || measure.nesting <= MAX_NESTING {
            return true;
        }
        let d = match &measure.deepest_nesting {
            Some((at, name, levels)) => {
                nested_too_deep(*at).with_label_message(format!("`{name}` is {levels} levels deep"))
            }
            // Deep as written, and one level more for the conversion of a number to money.
            None => Diagnostic::error(
                Code::NestingTooDeep,
                format!("expression nested more than {MAX_NESTING} levels deep"),
                span,
            )
            .with_help(split_help()),
        };
        self.report(d);
        false
    }
}

fn split_help() -> String {
    "split the expression into `let` definitions, or add many terms with `sum([...])`".to_string()
}

/// A definition that builds on a chain of [`MAX_DEFINITION_DEPTH`] definitions, at its use of
/// the one that starts the chain.
pub(crate) fn definitions_too_deep(at: Span, label: String) -> Diagnostic {
    Diagnostic::error(
        Code::NestingTooDeep,
        format!("definitions build on one another more than {MAX_DEFINITION_DEPTH} deep"),
        at,
    )
    .with_label_message(label)
    .with_help(format!(
        "a chain of definitions may be at most {MAX_DEFINITION_DEPTH} long: write some of them in place"
    ))
}

/// The checker's own guard: an expression checked together with the definitions it uses (in a
/// cycle, or checked on demand) went past [`MAX_NESTING`].
pub(crate) fn nested_too_deep(at: Span) -> Diagnostic {
    let message = format!(
        "expression nested more than {MAX_NESTING} levels deep, counting the definitions it uses"
    );
    Diagnostic::error(Code::NestingTooDeep, message, at)
        .with_label_message(format!("level {}", MAX_NESTING + 1))
        .with_help(format!(
            "Tally evaluates at most {MAX_NESTING} levels, counting the definitions used: simplify the expression or the definitions it uses"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{customer, messages, module, only, using};
    use crate::{Interface, Type};

    /// `let a0 = 1`, then `let aN = a(N-1) + 1` up to `a(n-1)`.
    fn chain(n: usize) -> String {
        let mut source = "let a0 = 1\n".to_string();
        for i in 1..n {
            source.push_str(&format!("let a{i} = a{} + 1\n", i - 1));
        }
        source
    }

    #[test]
    fn a_chain_of_definitions_may_be_64_long() {
        let checked = module(&chain(MAX_DEFINITION_DEPTH));
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let checked = module(&chain(MAX_DEFINITION_DEPTH + 1));
        let d = only(&checked);
        assert_eq!(d.code, Code::NestingTooDeep);
        assert_eq!(
            d.message,
            "definitions build on one another more than 64 deep"
        );
        assert_eq!(d.labels[0].message, "`a63` is already 64 definitions deep");
        let source = chain(MAX_DEFINITION_DEPTH + 1);
        assert_eq!(d.primary_span().text(&source), "a63");
    }

    #[test]
    fn a_long_chain_is_reported_once_and_does_not_exhaust_the_stack() {
        let checked = customer(&format!("{}x qty = a2999 price 1.00\n", chain(3_000)));
        assert_eq!(
            messages(&checked),
            [(
                Code::NestingTooDeep,
                "definitions build on one another more than 64 deep".into()
            )]
        );
    }

    #[test]
    fn a_long_cycle_does_not_exhaust_the_stack() {
        let mut source = String::new();
        for i in 0..3_000 {
            source.push_str(&format!("let c{i} = c{} + 1\n", (i + 1) % 3_000));
        }
        let checked = module(&source);
        assert!(checked.has_errors());
        let codes: Vec<Code> = checked.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&Code::NestingTooDeep), "{codes:?}");
    }

    #[test]
    fn chains_continue_through_modules() {
        let mut interface = Interface::default();
        interface.lets.insert("deep".into(), Type::Int);
        let depth = LetDepth {
            definitions: MAX_DEFINITION_DEPTH,
            nesting: 10,
        };
        interface.depths.insert("deep".into(), depth);
        let checked = using("use shared\nlet mine = deep + 1\n", interface);
        assert_eq!(
            messages(&checked),
            [(
                Code::NestingTooDeep,
                "definitions build on one another more than 64 deep".into()
            )]
        );
        assert_eq!(
            checked.interface.depths.get("mine"),
            Some(&LetDepth {
                definitions: MAX_DEFINITION_DEPTH + 1,
                nesting: 12,
            })
        );
    }

    /// `let name = <used> + 1 + 1 ...` with `terms` ones: `used` at the bottom of the chain.
    fn deep_let(name: &str, used: &str, terms: usize) -> String {
        format!("let {name} = {used}{}\n", " + 1".repeat(terms))
    }

    #[test]
    fn expressions_are_measured_with_the_definitions_they_use() {
        // `a` is 201 levels deep; `b` uses it 56 levels down: 257 with `a` in place.
        let source = format!(
            "let z = 1\n{}{}",
            deep_let("a", "z", 200),
            deep_let("b", "a", 55)
        );
        let checked = module(&source);
        let d = only(&checked);
        assert_eq!(
            d.message,
            "expression nested more than 256 levels deep, counting the definitions it uses"
        );
        assert_eq!(d.labels[0].message, "`a` is 202 levels deep");
        assert_eq!(d.primary_span().text(&source), "a");
        let fits = format!(
            "let z = 1\n{}{}",
            deep_let("a", "z", 200),
            deep_let("b", "a", 53)
        );
        assert!(module(&fits).diagnostics.is_empty());
    }

    #[test]
    fn a_line_is_measured_as_evaluated() {
        // 256 levels as written, one more to make the number money.
        let price = vec!["1.00"; MAX_NESTING].join(" + ");
        let checked = customer(&format!("x qty = 1 price {price}\n"));
        assert_eq!(
            only(&checked).message,
            "expression nested more than 256 levels deep"
        );
        let price = vec!["1.00"; MAX_NESTING - 1].join(" + ");
        assert!(
            customer(&format!("x qty = 1 price {price}\n"))
                .diagnostics
                .is_empty()
        );
    }
}
