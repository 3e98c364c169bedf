//! Operators. The checker has proved which operands each operator gets; anything else is an
//! internal error, never a guess.

use super::{Ctx, Evaluator, InModule, Outcome, Result, expected, unexpected};
use crate::trace::Step;
use crate::value::{Value, kind, num};
use std::borrow::Cow;
use std::cmp::Ordering;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{BinaryOp, TExpr, UnaryOp};
use tally_money::{Money, MoneyError};

impl Evaluator<'_> {
    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        left: &TExpr,
        right: &TExpr,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let (l, mut steps) = self.eval(left, ctx)?;
        // `and` and `or` do not evaluate their right side when the left one decides.
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let decided = op == BinaryOp::Or;
            if truth(&l, left.span).in_module(ctx)? == decided {
                return Ok((Value::Bool(decided), steps));
            }
        }
        let (r, right_steps) = self.eval(right, ctx)?;
        steps.extend(right_steps);
        let value = binary(op, l, r, expr.span, right.span).in_module(ctx)?;
        if matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div
        ) {
            return self.traced(expr, ctx, value, steps);
        }
        Ok((value, steps))
    }

    pub(super) fn unary(
        &mut self,
        op: UnaryOp,
        operand: &TExpr,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let (value, steps) = self.eval(operand, ctx)?;
        Ok((unary(op, value, expr.span).in_module(ctx)?, steps))
    }
}

/// `l op r` for evaluated operands (`and` and `or` once the left side did not decide).
/// `span` is the whole operation, `right_span` its right side, where a zero divisor is shown.
pub(super) fn binary(
    op: BinaryOp,
    l: Value,
    r: Value,
    span: Span,
    right_span: Span,
) -> Outcome<Value> {
    use BinaryOp::*;
    let ordered = |test: fn(Ordering) -> bool| Ok(Value::Bool(test(ordering(&l, &r, span)?)));
    match op {
        Add | Sub | Mul | Div => arithmetic(op, l, r, span, right_span),
        Eq => Ok(Value::Bool(same(&l, &r, span)?)),
        Ne => Ok(Value::Bool(!same(&l, &r, span)?)),
        Lt => ordered(Ordering::is_lt),
        Le => ordered(Ordering::is_le),
        Gt => ordered(Ordering::is_gt),
        Ge => ordered(Ordering::is_ge),
        In => {
            let Value::List(items) = &r else {
                return Err(unexpected("a list on the right of `in`", &r, span));
            };
            for item in items {
                if same(&l, item, span)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        And | Or => Ok(Value::Bool(truth(&r, span)?)),
    }
}

fn arithmetic(op: BinaryOp, l: Value, r: Value, span: Span, right_span: Span) -> Outcome<Value> {
    use BinaryOp::*;
    use Value::{Money as M, Num as N};
    let overflow = || {
        Diagnostic::error(
            Code::Overflow,
            "the result is too large for exact arithmetic",
            span,
        )
    };
    let money = |e: MoneyError| money_error(e, span);
    Ok(match (op, l, r) {
        (Div, N(_) | M(_), N(b)) if b.is_zero() => return Err(division_by_zero(right_span)),
        (Div, M(_), M(b)) if b.amount().is_zero() => return Err(division_by_zero(right_span)),
        (Add, N(a), N(b)) => num(a.checked_add(b).ok_or_else(overflow)?),
        (Sub, N(a), N(b)) => num(a.checked_sub(b).ok_or_else(overflow)?),
        (Mul, N(a), N(b)) => num(a.checked_mul(b).ok_or_else(overflow)?),
        (Div, N(a), N(b)) => num(a.checked_div(b).ok_or_else(overflow)?),
        (Add, M(a), M(b)) => M(a.checked_add(b).map_err(money)?),
        (Sub, M(a), M(b)) => M(a.checked_sub(b).map_err(money)?),
        (Mul, M(m), N(n)) | (Mul, N(n), M(m)) => M(m.checked_mul(n).map_err(money)?),
        (Div, M(m), N(n)) => M(m.checked_div(n).map_err(money)?),
        (Div, M(a), M(b)) if a.currency() == b.currency() => {
            num(a.amount().checked_div(b.amount()).ok_or_else(overflow)?)
        }
        (op, l, r) => {
            return Err(expected(
                format!(
                    "numbers or money of one currency on both sides of `{}`, found {} and {}",
                    op.symbol(),
                    kind(&l),
                    kind(&r)
                ),
                span,
            ));
        }
    })
}

fn division_by_zero(divisor: Span) -> Diagnostic {
    Diagnostic::error(Code::DivisionByZero, "division by zero", divisor)
        .with_label_message("this is 0")
        .with_help("guard the divisor, e.g. `max(count(staff), 1)`")
}

/// Money arithmetic's errors: overflow is real; money of two currencies is the checker's to
/// prevent.
fn money_error(e: MoneyError, span: Span) -> Diagnostic {
    match e {
        MoneyError::DivisionByZero => Diagnostic::error(Code::DivisionByZero, e.to_string(), span),
        MoneyError::Overflow => Diagnostic::error(Code::Overflow, e.to_string(), span),
        other => expected(format!("money of one currency: {other}"), span),
    }
}

pub(super) fn unary(op: UnaryOp, value: Value, span: Span) -> Outcome<Value> {
    match (op, value) {
        (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnaryOp::Neg, Value::Num(n)) => Ok(num(-n)),
        (UnaryOp::Neg, Value::Money(m)) => Ok(Value::Money(Money::new(-m.amount(), m.currency()))),
        (UnaryOp::Not, other) => Err(unexpected("true or false after `not`", &other, span)),
        (UnaryOp::Neg, other) => Err(unexpected("a number or money after `-`", &other, span)),
    }
}

/// A condition's value.
pub(super) fn truth(value: &Value, span: Span) -> Outcome<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(unexpected("true or false", other, span)),
    }
}

/// How two numbers, two amounts of one currency or two dates compare.
pub(super) fn ordering(a: &Value, b: &Value, span: Span) -> Outcome<Ordering> {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => Ok(x.cmp(y)),
        (Value::Money(x), Value::Money(y)) if x.currency() == y.currency() => {
            Ok(x.amount().cmp(&y.amount()))
        }
        (Value::Date(x), Value::Date(y)) => Ok(x.cmp(y)),
        _ => Err(expected(
            format!(
                "two numbers, two amounts of one currency or two dates to compare, found {} and {}",
                kind(a),
                kind(b)
            ),
            span,
        )),
    }
}

/// Text equality as rules mean it (see [`same`]), without allocating for ASCII text (directory
/// data nearly always is: a filter compares a million departments).
pub(super) fn same_text(x: &str, y: &str) -> bool {
    // `text_key` must stay the key of this equality: change both together.
    let (x, y) = (x.trim(), y.trim());
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        x.to_lowercase() == y.to_lowercase()
    }
}

/// The form of a text that [`same_text`] compares: two texts are the same exactly when their
/// keys are equal, so texts can be grouped by key.
pub(super) fn text_key(x: &str) -> Cow<'_, str> {
    let x = x.trim();
    if !x.is_ascii() {
        Cow::Owned(x.to_lowercase())
    } else if x.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(x.to_ascii_lowercase())
    } else {
        Cow::Borrowed(x)
    }
}

/// Equality as rules mean it: text ignores case and surrounding spaces, because directory data
/// spells departments and addresses inconsistently ("Sales", "sales "). Numbers are equal by
/// value whatever their scale (`1.0 == 1.00`).
pub(super) fn same(a: &Value, b: &Value, span: Span) -> Outcome<bool> {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => Ok(same_text(x, y)),
        (Value::Money(x), Value::Money(y)) if x.currency() == y.currency() => {
            Ok(x.amount() == y.amount())
        }
        (Value::List(xs), Value::List(ys)) => {
            if xs.len() != ys.len() {
                return Ok(false);
            }
            for (x, y) in xs.iter().zip(ys) {
                if !same(x, y, span)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        (Value::Num(_), Value::Num(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Date(_), Value::Date(_))
        | (Value::User(_), Value::User(_))
        | (Value::Sku { .. }, Value::Sku { .. })
        | (Value::Usage(_), Value::Usage(_))
        | (Value::Period, Value::Period) => Ok(a == b),
        _ => Err(expected(
            format!(
                "two values of one kind to compare, found {} and {}",
                kind(a),
                kind(b)
            ),
            span,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{gbp, gbp_money, usd};
    use super::*;
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn n(s: &str) -> Value {
        Value::Num(d(s))
    }

    fn m(s: &str) -> Value {
        Value::Money(gbp_money(s))
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn at(start: u32) -> Span {
        Span {
            start,
            end: start + 1,
        }
    }

    fn apply(op: BinaryOp, l: Value, r: Value) -> Outcome<Value> {
        binary(op, l, r, at(0), at(10))
    }

    fn code(outcome: Outcome<Value>) -> Option<Code> {
        outcome.err().map(|d| d.code)
    }

    #[test]
    fn money_plus_money() {
        let sum = apply(BinaryOp::Add, m("18.10"), m("1.905"));
        assert_eq!(sum, Ok(m("20.005")));
        let difference = apply(BinaryOp::Sub, m("1.00"), m("3.50"));
        assert_eq!(difference, Ok(m("-2.50")));
    }

    #[test]
    fn money_times_a_percentage_either_way_round() {
        // `120%` is the number 1.2.
        assert_eq!(apply(BinaryOp::Mul, m("16.50"), n("1.2")), Ok(m("19.8")));
        assert_eq!(apply(BinaryOp::Mul, n("1.2"), m("16.50")), Ok(m("19.8")));
        assert_eq!(apply(BinaryOp::Div, m("10.00"), n("4")), Ok(m("2.5")));
        assert_eq!(apply(BinaryOp::Div, m("10.00"), m("4.00")), Ok(n("2.5")));
    }

    #[test]
    fn division_by_zero_points_at_the_divisor() {
        for (l, r) in [
            (n("1"), n("0")),
            (n("1"), n("0.00")),
            (m("1.00"), n("0")),
            (m("1.00"), m("0.00")),
        ] {
            let e = apply(BinaryOp::Div, l, r).err();
            assert_eq!(e.as_ref().map(|d| d.code), Some(Code::DivisionByZero));
            assert_eq!(e.map(|d| d.primary_span()), Some(at(10)));
        }
    }

    #[test]
    fn overflow_is_t0505() {
        let max = Value::Num(Decimal::MAX);
        assert_eq!(
            code(apply(BinaryOp::Add, max.clone(), n("1"))),
            Some(Code::Overflow)
        );
        assert_eq!(
            code(apply(BinaryOp::Mul, max.clone(), n("2"))),
            Some(Code::Overflow)
        );
        assert_eq!(
            code(apply(BinaryOp::Sub, Value::Num(Decimal::MIN), n("1"))),
            Some(Code::Overflow)
        );
        let most = Value::Money(Money::new(Decimal::MAX, gbp()));
        assert_eq!(
            code(apply(BinaryOp::Add, most.clone(), m("1.00"))),
            Some(Code::Overflow)
        );
        assert_eq!(
            code(apply(BinaryOp::Mul, most, n("10"))),
            Some(Code::Overflow)
        );
    }

    #[test]
    fn arithmetic_never_gives_negative_zero() {
        let Ok(Value::Num(zero)) = apply(BinaryOp::Mul, n("0"), n("-1")) else {
            panic!("not a number");
        };
        assert!(!zero.is_sign_negative());
        let Ok(Value::Num(zero)) = unary(UnaryOp::Neg, n("0.00"), at(0)) else {
            panic!("not a number");
        };
        assert!(!zero.is_sign_negative());
    }

    #[test]
    fn text_equality_ignores_case_and_surrounding_spaces() {
        assert_eq!(
            apply(BinaryOp::Eq, text("Sales"), text(" sales ")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            apply(BinaryOp::Ne, text("SALES"), text("sales")),
            Ok(Value::Bool(false))
        );
        // Inner spaces still count.
        assert_eq!(
            apply(BinaryOp::Eq, text("Sales Ops"), text("SalesOps")),
            Ok(Value::Bool(false))
        );
        let departments = Value::List(vec![text("Support"), text("Sales")]);
        assert_eq!(
            apply(BinaryOp::In, text("sales  "), departments.clone()),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            apply(BinaryOp::In, text("Kitchen"), departments),
            Ok(Value::Bool(false))
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(
            apply(BinaryOp::Eq, n("1.0"), n("1.00")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            apply(BinaryOp::Lt, m("1.00"), m("1.01")),
            Ok(Value::Bool(true))
        );
        assert_eq!(apply(BinaryOp::Ge, n("2"), n("2.0")), Ok(Value::Bool(true)));
        assert_eq!(
            apply(BinaryOp::Gt, n("2"), n("2.0")),
            Ok(Value::Bool(false))
        );
    }

    #[test]
    fn mismatched_operands_are_internal_errors() {
        let usd = Value::Money(Money::new(Decimal::ONE, usd()));
        let cases = [
            (BinaryOp::Add, text("a"), n("1")),
            (BinaryOp::Add, n("1"), m("1.00")),
            (BinaryOp::Add, m("1.00"), usd.clone()),
            (BinaryOp::Div, m("1.00"), usd.clone()),
            (BinaryOp::Mul, m("1.00"), m("1.00")),
            (BinaryOp::Eq, text("1"), n("1")),
            (BinaryOp::Eq, m("1.00"), usd),
            (BinaryOp::Lt, text("a"), text("b")),
            (BinaryOp::Lt, n("1"), m("1.00")),
            (BinaryOp::In, n("1"), n("1")),
            (BinaryOp::In, n("1"), Value::List(vec![text("1")])),
            (BinaryOp::And, Value::Bool(true), n("1")),
        ];
        for (op, l, r) in cases {
            let described = format!("{l:?} {} {r:?}", op.symbol());
            let e = apply(op, l, r).err();
            assert_eq!(
                e.as_ref().map(|d| d.code),
                Some(Code::Internal),
                "{described}"
            );
            assert_eq!(e.map(|d| d.primary_span()), Some(at(0)), "{described}");
        }
        assert_eq!(
            code(unary(UnaryOp::Neg, text("1"), at(0))),
            Some(Code::Internal)
        );
        assert_eq!(
            code(unary(UnaryOp::Not, n("1"), at(0))),
            Some(Code::Internal)
        );
    }

    #[test]
    fn text_equality_without_allocation_agrees_with_lowercasing_both() {
        let samples = [
            "Sales",
            " sales ",
            "SALES",
            "Sälës",
            "SÄLËS",
            "ΣΑΣ",
            "σας",
            "",
            "  ",
            "Sales Ops",
            "salesops",
            "İstanbul",
            "i\u{307}stanbul",
            "straße",
            "STRASSE",
            "\u{a0}Sales",
        ];
        for a in samples {
            for b in samples {
                let lowered = a.trim().to_lowercase() == b.trim().to_lowercase();
                assert_eq!(same_text(a, b), lowered, "{a:?} {b:?}");
            }
        }
    }
}
