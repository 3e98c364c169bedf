//! Expressions written back as Tally text, for help that shows the user's own expression
//! rewritten (`bp.cost + 15%` → `bp.cost * 115%`). Parentheses are added where the grammar needs
//! them, so the text always parses back to the same tree; the user's own spacing and redundant
//! parentheses are not kept.

use crate::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use std::fmt;

/// How tightly an expression binds, loosest first (the grammar's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precedence {
    Where,
    Or,
    And,
    Not,
    Compare,
    Add,
    Multiply,
    Negate,
    Postfix,
}

impl Expr {
    /// How tightly this expression binds: `a + b` binds looser than `*`, a name binds tightest.
    pub fn precedence(&self) -> Precedence {
        match &self.kind {
            ExprKind::Where { .. } => Precedence::Where,
            ExprKind::Unary {
                op: UnaryOp::Not, ..
            } => Precedence::Not,
            ExprKind::Unary {
                op: UnaryOp::Neg, ..
            } => Precedence::Negate,
            ExprKind::Binary { op, .. } => op.precedence(),
            _ => Precedence::Postfix,
        }
    }
}

impl BinaryOp {
    pub fn precedence(self) -> Precedence {
        match self {
            BinaryOp::Or => Precedence::Or,
            BinaryOp::And => Precedence::And,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In => Precedence::Compare,
            BinaryOp::Add | BinaryOp::Sub => Precedence::Add,
            BinaryOp::Mul | BinaryOp::Div => Precedence::Multiply,
        }
    }
}

/// `expr`, in parentheses when it binds looser than `at_least`.
struct Operand<'e> {
    expr: &'e Expr,
    at_least: Precedence,
}

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expr.precedence() < self.at_least {
            write!(f, "({})", self.expr)
        } else {
            write!(f, "{}", self.expr)
        }
    }
}

fn operand(expr: &Expr, at_least: Precedence) -> Operand<'_> {
    Operand { expr, at_least }
}

fn comma_separated(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Precedence as P;
        match &self.kind {
            ExprKind::Int(n) => write!(f, "{n}"),
            ExprKind::Decimal(d) => write!(f, "{d}"),
            ExprKind::Money { amount, currency } => write!(f, "{amount} {}", currency.name),
            ExprKind::Percent(p) => write!(
                f,
                "{}%",
                (p * rust_decimal::Decimal::ONE_HUNDRED).normalize()
            ),
            ExprKind::Text(t) => write!(f, "{t:?}"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            ExprKind::List(items) => {
                f.write_str("[")?;
                comma_separated(f, items)?;
                f.write_str("]")
            }
            ExprKind::Name(name) => f.write_str(&name.name),
            ExprKind::Field { base, field } => {
                write!(f, "{}.{}", operand(base, P::Postfix), field.name)
            }
            ExprKind::Call {
                receiver,
                name,
                args,
            } => {
                if let Some(receiver) = receiver {
                    write!(f, "{}.", operand(receiver, P::Postfix))?;
                }
                write!(f, "{}(", name.name)?;
                comma_separated(f, args)?;
                f.write_str(")")
            }
            ExprKind::Unary { op, operand: inner } => match op {
                UnaryOp::Neg => write!(f, "-{}", operand(inner, P::Negate)),
                UnaryOp::Not => write!(f, "not {}", operand(inner, P::Not)),
            },
            ExprKind::Binary { op, left, right } => {
                let level = op.precedence();
                // Left-associative, and at most one comparison: the right side binds tighter.
                let (left_at, right_at) = if level == P::Compare {
                    (P::Add, P::Add)
                } else {
                    (level, next(level))
                };
                write!(
                    f,
                    "{} {} {}",
                    operand(left, left_at),
                    op.symbol(),
                    operand(right, right_at)
                )
            }
            ExprKind::Where {
                collection,
                predicate,
            } => write!(
                f,
                "{} where {}",
                operand(collection, P::Where),
                operand(predicate, P::Or)
            ),
            ExprKind::Error => f.write_str("..."),
        }
    }
}

/// The level just tighter than `level`.
fn next(level: Precedence) -> Precedence {
    use Precedence as P;
    match level {
        P::Where => P::Or,
        P::Or => P::And,
        P::And => P::Not,
        P::Not => P::Compare,
        P::Compare => P::Add,
        P::Add => P::Multiply,
        P::Multiply => P::Negate,
        P::Negate | P::Postfix => P::Postfix,
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{Expr, Item};

    /// The value of `let x = <text>`.
    fn expr(text: &str) -> Expr {
        let parsed = crate::parse(&format!("let x = {text}"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        match parsed.file.items.into_iter().next() {
            Some(Item::Let(l)) => l.value,
            other => unreachable!("not a let: {other:?}"),
        }
    }

    #[test]
    fn expressions_print_as_written() {
        for text in [
            "bp.cost * 112%",
            "m365.sku(\"SPB\").cost",
            "max(count(staff), 10)",
            "25.00 GBP",
            "2.5%",
            "-x",
            "not enabled and licensed",
            "department in [\"Sales\", \"Ops\"]",
            "m365.users where enabled and department == \"Sales\"",
            "(a + b) * 2",
            "a - (b - c)",
            "a - b - c",
            "(m365.users where enabled).upn",
            "period.start",
            "2026-02-01",
        ] {
            assert_eq!(expr(text).to_string(), text);
        }
    }

    #[test]
    fn redundant_parentheses_are_dropped() {
        assert_eq!(expr("(a) + ((b * c))").to_string(), "a + b * c");
    }
}
