//! `not`, unary `-` and the binary operators: what each combines, and what it gives. The table
//! is in `docs/language.md` (Operators); mixing money with plain numbers is refused with help
//! that keeps the bill what was meant (see [`super::money_help`]).

use super::Scope;
use super::money_help::{MoneyAndNumber, money_and_number};
use crate::Checker;
use tally_diagnostics::{Code, Diagnostic};
use tally_ir::{BinaryOp, CurrencyRef, TExpr, TExprKind, Type, UnaryOp};
use tally_syntax::ast::{self, Expr};

type Refusal = Box<Diagnostic>;

/// Both sides of a binary operator, typed and as written.
pub(super) struct Operands<'e> {
    pub op: BinaryOp,
    pub left: &'e TExpr,
    pub right: &'e TExpr,
    pub written: [&'e Expr; 2],
    /// The customer's currency, when the file has a header.
    pub currency: Option<tally_money::Currency>,
}

impl Checker<'_> {
    pub(super) fn unary(
        &mut self,
        op: ast::UnaryOp,
        operand: &Expr,
        scope: Scope,
        span: tally_diagnostics::Span,
    ) -> TExpr {
        let op = unary_op(op);
        let operand = self.expr(operand, scope);
        let operand = self.numeric(operand);
        let ty = match (op, &operand.ty) {
            (_, Type::Error) => Type::Error,
            (UnaryOp::Not, Type::Bool) => Type::Bool,
            (UnaryOp::Neg, t @ (Type::Int | Type::Decimal | Type::Percent | Type::Money(_))) => {
                t.clone()
            }
            (op, t) => {
                let what = if op == UnaryOp::Not { "`not`" } else { "`-`" };
                self.report(Diagnostic::error(
                    Code::TypeMismatch,
                    format!("{what} cannot apply to {}", t.describe()),
                    operand.span,
                ));
                Type::Error
            }
        };
        TExpr {
            kind: TExprKind::Unary(op, Box::new(operand)),
            ty,
            span,
        }
    }

    pub(super) fn binary(
        &mut self,
        op: ast::BinaryOp,
        left_written: &Expr,
        right_written: &Expr,
        scope: Scope,
        span: tally_diagnostics::Span,
    ) -> TExpr {
        let op = binary_op(op);
        let left = self.expr(left_written, scope);
        let right = self.expr(right_written, scope);
        let (left, right) = if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::In) {
            (left, right)
        } else {
            (self.numeric(left), self.numeric(right))
        };
        let ty = if left.ty.is_error() || right.ty.is_error() {
            Type::Error
        } else {
            let operands = Operands {
                op,
                left: &left,
                right: &right,
                written: [left_written, right_written],
                currency: self.customer_currency,
            };
            match binary_type(&operands) {
                Ok(ty) => ty,
                Err(d) => {
                    self.report(*d);
                    Type::Error
                }
            }
        };
        TExpr {
            kind: TExprKind::Binary(op, Box::new(left), Box::new(right)),
            ty,
            span,
        }
    }
}

/// The type of `left op right`, or why they do not combine.
pub(super) fn binary_type(operands: &Operands<'_>) -> Result<Type, Refusal> {
    use BinaryOp::*;
    match operands.op {
        Add | Sub => add_or_subtract(operands),
        Mul => multiply(operands),
        Div => divide(operands),
        Eq | Ne | Lt | Le | Gt | Ge => compare(operands),
        In => membership(operands),
        And | Or => logic(operands),
    }
}

fn add_or_subtract(operands: &Operands<'_>) -> Result<Type, Refusal> {
    let (l, r) = (&operands.left.ty, &operands.right.ty);
    match (l, r) {
        (a, b) if a.is_numeric() && b.is_numeric() => Ok(numeric_result(a, b)),
        (Type::Money(a), Type::Money(b)) if a == b => Ok(Type::Money(*a)),
        (Type::Money(a), Type::Money(b)) => Err(currency_clash(operands, a, b)),
        (Type::Money(_), n) | (n, Type::Money(_)) if n.is_numeric() => {
            let verb = verb(operands.op);
            let d = mismatch(operands, format!("cannot {verb} a plain number and money"));
            let money_left = matches!(l, Type::Money(_));
            Err(Box::new(money_and_number(
                *d,
                &MoneyAndNumber::new(operands, money_left),
            )))
        }
        _ => Err(mismatch(
            operands,
            format!(
                "cannot {} {} and {}",
                verb(operands.op),
                l.describe(),
                r.describe()
            ),
        )),
    }
}

fn multiply(operands: &Operands<'_>) -> Result<Type, Refusal> {
    let (l, r) = (&operands.left.ty, &operands.right.ty);
    match (l, r) {
        (a, b) if a.is_numeric() && b.is_numeric() => Ok(numeric_result(a, b)),
        (Type::Money(c), n) | (n, Type::Money(c)) if n.is_numeric() => Ok(Type::Money(*c)),
        (Type::Money(_), Type::Money(_)) => Err(Box::new(
            mismatch(operands, "cannot multiply money by money".into())
                .with_help("multiply money by a number or a percentage"),
        )),
        _ => Err(mismatch(
            operands,
            format!("cannot multiply {} by {}", l.describe(), r.describe()),
        )),
    }
}

fn divide(operands: &Operands<'_>) -> Result<Type, Refusal> {
    let (l, r) = (&operands.left.ty, &operands.right.ty);
    match (l, r) {
        (a, b) if a.is_numeric() && b.is_numeric() => Ok(Type::Decimal),
        (Type::Money(c), n) if n.is_numeric() => Ok(Type::Money(*c)),
        (Type::Money(a), Type::Money(b)) if a == b => Ok(Type::Decimal),
        (Type::Money(a), Type::Money(b)) => Err(currency_clash(operands, a, b)),
        _ => Err(mismatch(
            operands,
            format!("cannot divide {} by {}", l.describe(), r.describe()),
        )),
    }
}

/// `==`, `!=` on any two values of one kind; `<`, `<=`, `>`, `>=` on numbers, money and dates.
fn compare(operands: &Operands<'_>) -> Result<Type, Refusal> {
    let ordered = matches!(
        operands.op,
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
    );
    let (l, r) = (&operands.left.ty, &operands.right.ty);
    match (l, r) {
        (a, b) if a.is_numeric() && b.is_numeric() => Ok(Type::Bool),
        (Type::Money(a), Type::Money(b)) if a == b => Ok(Type::Bool),
        (Type::Money(a), Type::Money(b)) => Err(currency_clash(operands, a, b)),
        (Type::Date, Type::Date) => Ok(Type::Bool),
        (Type::Text, Type::Text) | (Type::Bool, Type::Bool) if !ordered => Ok(Type::Bool),
        _ => Err(mismatch(
            operands,
            format!("cannot compare {} with {}", l.describe(), r.describe()),
        )),
    }
}

/// `value in [a, b]`
fn membership(operands: &Operands<'_>) -> Result<Type, Refusal> {
    let (l, r) = (&operands.left.ty, &operands.right.ty);
    match r {
        Type::List(inner) if **inner == *l || inner.is_error() => Ok(Type::Bool),
        _ => Err(Box::new(
            mismatch(
                operands,
                format!(
                    "`in` looks for {} in a list of the same, but the right side is {}",
                    l.describe(),
                    r.describe()
                ),
            )
            .with_help("write `department in [\"Sales\", \"Support\"]`"),
        )),
    }
}

/// `and`, `or`
fn logic(operands: &Operands<'_>) -> Result<Type, Refusal> {
    let (l, r) = (&operands.left.ty, &operands.right.ty);
    match (l, r) {
        (Type::Bool, Type::Bool) => Ok(Type::Bool),
        _ => Err(mismatch(
            operands,
            format!(
                "`{}` joins true/false conditions, not {} and {}",
                operands.op.symbol(),
                l.describe(),
                r.describe()
            ),
        )),
    }
}

/// Whole numbers stay whole, percentages stay percentages; anything else mixed is a decimal.
fn numeric_result(a: &Type, b: &Type) -> Type {
    match (a, b) {
        (Type::Int, Type::Int) => Type::Int,
        (Type::Percent, Type::Percent) => Type::Percent,
        _ => Type::Decimal,
    }
}

fn verb(op: BinaryOp) -> &'static str {
    if op == BinaryOp::Add {
        "add"
    } else {
        "subtract"
    }
}

/// Two operands that do not combine, each labelled with its type.
fn mismatch(operands: &Operands<'_>, message: String) -> Refusal {
    let (left, right) = (operands.left, operands.right);
    Box::new(
        Diagnostic::error(Code::TypeMismatch, message, right.span)
            .with_label_message(format!("this is {}", right.ty.describe()))
            .with_secondary(left.span, format!("this is {}", left.ty.describe())),
    )
}

/// Money in two currencies. A rule's own amounts are in the customer's currency; exchange rates
/// apply only to costs in the snapshot.
fn currency_clash(operands: &Operands<'_>, a: &CurrencyRef, b: &CurrencyRef) -> Refusal {
    let (left, right) = (operands.left, operands.right);
    let customer = match operands.currency {
        Some(c) => format!("{}, the customer's currency", c.code()),
        None => "the customer's currency".to_string(),
    };
    Box::new(
        Diagnostic::error(
            Code::CurrencyMismatch,
            format!("cannot combine money in {a} with money in {b}"),
            right.span,
        )
        .with_label_message(format!("this is in {b}"))
        .with_secondary(left.span, format!("this is in {a}"))
        .with_help(format!(
            "write both amounts in {customer}: exchange rates apply only to snapshot costs"
        )),
    )
}

fn unary_op(op: ast::UnaryOp) -> UnaryOp {
    match op {
        ast::UnaryOp::Neg => UnaryOp::Neg,
        ast::UnaryOp::Not => UnaryOp::Not,
    }
}

fn binary_op(op: ast::BinaryOp) -> BinaryOp {
    match op {
        ast::BinaryOp::Add => BinaryOp::Add,
        ast::BinaryOp::Sub => BinaryOp::Sub,
        ast::BinaryOp::Mul => BinaryOp::Mul,
        ast::BinaryOp::Div => BinaryOp::Div,
        ast::BinaryOp::Eq => BinaryOp::Eq,
        ast::BinaryOp::Ne => BinaryOp::Ne,
        ast::BinaryOp::Lt => BinaryOp::Lt,
        ast::BinaryOp::Le => BinaryOp::Le,
        ast::BinaryOp::Gt => BinaryOp::Gt,
        ast::BinaryOp::Ge => BinaryOp::Ge,
        ast::BinaryOp::In => BinaryOp::In,
        ast::BinaryOp::And => BinaryOp::And,
        ast::BinaryOp::Or => BinaryOp::Or,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, messages, module, only};
    use tally_diagnostics::Code;
    use tally_ir::{CurrencyRef, Type};

    /// The type of `let x = <expr>` in a module, where `cost` is money in the customer's
    /// currency, `when` a date and `name` text.
    fn type_of(expr: &str) -> Type {
        let checked = module(&format!(
            "let cost = m365.sku(\"SPB\").cost\nlet when = period.start\nlet name = \"x\"\nlet x = {expr}\n"
        ));
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        checked
            .interface
            .lets
            .get("x")
            .cloned()
            .unwrap_or(Type::Error)
    }

    #[test]
    fn arithmetic_keeps_whole_numbers_and_percentages_and_money() {
        let money = Type::Money(CurrencyRef::Customer);
        for (expr, ty) in [
            ("1 + 2", Type::Int),
            ("1 - 2.5", Type::Decimal),
            ("10% + 5%", Type::Percent),
            ("10% * 2", Type::Decimal),
            ("10 / 2", Type::Decimal),
            ("cost * 112%", money.clone()),
            ("2 * cost", money.clone()),
            ("cost / 4", money.clone()),
            ("cost + cost", money.clone()),
            ("cost / cost", Type::Decimal),
            ("-cost", money),
            ("count(m365.users) + 1", Type::Int),
        ] {
            assert_eq!(type_of(expr), ty, "{expr}");
        }
    }

    #[test]
    fn comparisons_and_conditions_are_true_or_false() {
        for expr in [
            "1 < 2.5",
            "cost >= cost",
            "when == when",
            "name != \"y\"",
            "name in [\"a\", \"b\"]",
            "true and not false",
            "1 == 1 or false",
        ] {
            assert_eq!(type_of(expr), Type::Bool, "{expr}");
        }
    }

    #[test]
    fn operands_that_do_not_combine_are_labelled_with_their_types() {
        let checked = module(
            "let x = \"a\" + 1\nlet y = cost * cost\nlet cost = m365.sku(\"SPB\").cost\nlet z = \"a\" < \"b\"\nlet w = 1 and true\nlet v = 1 in [\"a\"]\n",
        );
        assert_eq!(
            messages(&checked),
            [
                (Code::TypeMismatch, "cannot add text and a whole number".into()),
                (Code::TypeMismatch, "cannot multiply money by money".into()),
                (Code::TypeMismatch, "cannot compare text with text".into()),
                (
                    Code::TypeMismatch,
                    "`and` joins true/false conditions, not a whole number and a true/false value".into()
                ),
                (
                    Code::TypeMismatch,
                    "`in` looks for a whole number in a list of the same, but the right side is a list of text".into()
                ),
            ]
        );
        let first = &checked.diagnostics[0];
        assert_eq!(first.labels[0].message, "this is a whole number");
        assert_eq!(first.labels[1].message, "this is text");
    }

    #[test]
    fn currencies_do_not_mix_and_the_help_names_the_customers() {
        let checked = customer("let x = m365.sku(\"SPB\").cost + 2.00 USD\n");
        let d = only(&checked);
        assert_eq!(d.code, Code::CurrencyMismatch);
        assert_eq!(d.message, "cannot combine money in GBP with money in USD");
        assert_eq!(
            d.help.as_deref(),
            Some(
                "write both amounts in GBP, the customer's currency: exchange rates apply only to snapshot costs"
            )
        );
        let checked = module("let x = 2.00 EUR < 2.00 USD\n");
        assert_eq!(
            only(&checked).help.as_deref(),
            Some(
                "write both amounts in the customer's currency: exchange rates apply only to snapshot costs"
            )
        );
    }

    #[test]
    fn an_error_in_an_operand_is_not_reported_again() {
        let checked = module("let x = nothing + 1 * \"a\"\n");
        assert_eq!(
            messages(&checked),
            [
                (Code::UnknownName, "unknown name `nothing`".into()),
                (
                    Code::TypeMismatch,
                    "cannot multiply a whole number by text".into()
                ),
            ]
        );
    }
}
