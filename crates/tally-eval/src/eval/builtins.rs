//! Built-in functions, applied to evaluated arguments. The checker has proved each function's
//! arity and argument types; anything else is an internal error, never a default.

use super::ops::ordering;
use super::{Outcome, expected, unexpected};
use crate::value::{Value, kind, num};
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{Builtin, CurrencyRef, TExpr, Type};
use tally_money::{Currency, Money, MoneyError, Rounding};

/// `builtin(args)`. `expr` is the call (its type says what `sum` adds up); `currency` is the
/// customer's, for sums of money in it.
pub(super) fn call(
    builtin: Builtin,
    args: Vec<Value>,
    expr: &TExpr,
    currency: Currency,
) -> Outcome<Value> {
    let span = expr.span;
    match builtin {
        Builtin::Max => extreme(args, span, std::cmp::Ordering::is_gt),
        Builtin::Min => extreme(args, span, std::cmp::Ordering::is_lt),
        Builtin::Count => {
            let [list] = exactly(args, span)?;
            match list {
                Value::List(items) => Ok(Value::Num(Decimal::from(items.len()))),
                other => Err(unexpected("a list to count", &other, span)),
            }
        }
        Builtin::Sum => {
            let [list] = exactly(args, span)?;
            sum(list, &expr.ty, currency, span)
        }
        Builtin::Round => round(args, span),
        Builtin::Ceil => {
            let [value] = exactly(args, span)?;
            Ok(num(number(&value, span)?.ceil()))
        }
        Builtin::Floor => {
            let [value] = exactly(args, span)?;
            Ok(num(number(&value, span)?.floor()))
        }
        Builtin::Abs => match exactly(args, span)? {
            [Value::Money(m)] => Ok(Value::Money(Money::new(m.amount().abs(), m.currency()))),
            [Value::Num(n)] => Ok(num(n.abs())),
            [other] => Err(unexpected("a number or money", &other, span)),
        },
        Builtin::MonthsBetween => dates(args, span, whole_months),
        Builtin::DaysBetween => dates(args, span, tally_billing::inclusive_days),
        Builtin::StartsWith => texts(args, span, |text, part| text.starts_with(part)),
        Builtin::EndsWith => texts(args, span, |text, part| text.ends_with(part)),
        Builtin::Contains => texts(args, span, |text, part| text.contains(part)),
    }
}

/// The `N` arguments of a call.
fn exactly<const N: usize>(args: Vec<Value>, span: Span) -> Outcome<[Value; N]> {
    let found = args.len();
    <[Value; N]>::try_from(args)
        .map_err(|_| expected(format!("{N} argument(s), found {found}"), span))
}

fn number(value: &Value, span: Span) -> Outcome<Decimal> {
    match value {
        Value::Num(n) => Ok(*n),
        other => Err(unexpected("a number", other, span)),
    }
}

/// `max` or `min`: the first argument that no later one beats (`better` of the later one
/// compared with the best so far). All numbers, or all money of one currency.
fn extreme(args: Vec<Value>, span: Span, better: fn(std::cmp::Ordering) -> bool) -> Outcome<Value> {
    let mut args = args.into_iter();
    let Some(mut best) = args.next() else {
        return Err(expected("at least one argument", span));
    };
    if !matches!(best, Value::Num(_) | Value::Money(_)) {
        return Err(unexpected("numbers or money", &best, span));
    }
    for candidate in args {
        if better(ordering(&candidate, &best, span)?) {
            best = candidate;
        }
    }
    Ok(match best {
        Value::Num(n) => num(n),
        other => other,
    })
}

/// `sum(list)`: money in the call's currency, or a number.
fn sum(list: Value, ty: &Type, currency: Currency, span: Span) -> Outcome<Value> {
    let Value::List(items) = list else {
        return Err(unexpected("a list to add up", &list, span));
    };
    let overflow = || {
        Diagnostic::error(
            Code::Overflow,
            "the sum is too large for exact arithmetic",
            span,
        )
    };
    match ty {
        Type::Money(currency_ref) => {
            let currency = match currency_ref {
                CurrencyRef::Fixed(c) => *c,
                CurrencyRef::Customer => currency,
            };
            let mut total = Money::zero(currency);
            for item in items {
                let Value::Money(m) = item else {
                    return Err(unexpected("money to add up", &item, span));
                };
                total = total.checked_add(m).map_err(|e| match e {
                    MoneyError::Overflow => overflow(),
                    other => expected(format!("money in {currency}: {other}"), span),
                })?;
            }
            Ok(Value::Money(total))
        }
        ty if ty.is_numeric() => {
            let mut total = Decimal::ZERO;
            for item in items {
                total = total
                    .checked_add(number(&item, span)?)
                    .ok_or_else(overflow)?;
            }
            Ok(num(total))
        }
        other => Err(expected(
            format!("a sum of numbers or money, found {}", other.describe()),
            span,
        )),
    }
}

/// `round(x)`: money to its minor unit, a number to a whole one; `round(x, places)`: to that
/// many decimal places. Half up.
fn round(args: Vec<Value>, span: Span) -> Outcome<Value> {
    let (value, places) = match <[Value; 2]>::try_from(args) {
        Ok([value, places]) => (value, Some(decimal_places(&places, span)?)),
        Err(args) => {
            let [value] = exactly(args, span)?;
            (value, None)
        }
    };
    match (value, places) {
        (Value::Money(m), None) => Ok(Value::Money(m.round(Rounding::HalfUp))),
        (Value::Money(m), Some(p)) => Ok(Value::Money(m.round_dp(p, Rounding::HalfUp))),
        (Value::Num(n), p) => Ok(num(Rounding::HalfUp.apply(n, p.unwrap_or(0)))),
        (other, _) => Err(unexpected("a number or money to round", &other, span)),
    }
}

/// The checker only accepts a literal whole number from 0 to 28.
fn decimal_places(value: &Value, span: Span) -> Outcome<u32> {
    let places = match value {
        Value::Num(p) if p.fract().is_zero() => p.to_u32().filter(|p| *p <= 28),
        _ => None,
    };
    places.ok_or_else(|| unexpected("a number of decimal places from 0 to 28", value, span))
}

/// `months_between` or `days_between` of two dates.
fn dates(args: Vec<Value>, span: Span, between: fn(NaiveDate, NaiveDate) -> i64) -> Outcome<Value> {
    match exactly(args, span)? {
        [Value::Date(from), Value::Date(to)] => Ok(Value::Num(Decimal::from(between(from, to)))),
        [from, to] => Err(expected(
            format!("two dates, found {} and {}", kind(&from), kind(&to)),
            span,
        )),
    }
}

/// `starts_with`, `ends_with` or `contains`, ignoring case.
fn texts(args: Vec<Value>, span: Span, test: fn(&str, &str) -> bool) -> Outcome<Value> {
    match exactly(args, span)? {
        [Value::Text(text), Value::Text(part)] => Ok(Value::Bool(test(
            &text.to_lowercase(),
            &part.to_lowercase(),
        ))),
        [text, part] => Err(expected(
            format!("two texts, found {} and {}", kind(&text), kind(&part)),
            span,
        )),
    }
}

/// Whole months from `from` to the day after `to` (11 from 2021-10-20 to 2022-09-19).
fn whole_months(from: NaiveDate, to: NaiveDate) -> i64 {
    let Some(limit) = to.succ_opt() else {
        return 0;
    };
    let mut months = 0;
    while let Some(next) = from.checked_add_months(Months::new(months + 1)) {
        if next > limit {
            break;
        }
        months += 1;
    }
    i64::from(months)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{gbp, gbp_money};
    use super::*;
    use tally_diagnostics::Span;
    use tally_ir::TExprKind;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn n(s: &str) -> Value {
        Value::Num(d(s))
    }

    fn m(s: &str) -> Value {
        Value::Money(gbp_money(s))
    }

    fn date(s: &str) -> Value {
        Value::Date(s.parse().unwrap())
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// `builtin(args)` as a call of type `ty`.
    fn call_typed(builtin: Builtin, args: Vec<Value>, ty: Type) -> Outcome<Value> {
        let expr = TExpr {
            kind: TExprKind::Call(builtin, Vec::new()),
            ty,
            span: Span { start: 3, end: 9 },
        };
        call(builtin, args, &expr, gbp())
    }

    fn apply(builtin: Builtin, args: Vec<Value>) -> Outcome<Value> {
        call_typed(builtin, args, Type::Decimal)
    }

    fn code(outcome: Outcome<Value>) -> Option<Code> {
        outcome.err().map(|d| d.code)
    }

    #[test]
    fn max_and_min_of_money() {
        let args = || vec![m("16.50"), m("18.10"), m("2.00")];
        assert_eq!(apply(Builtin::Max, args()), Ok(m("18.10")));
        assert_eq!(apply(Builtin::Min, args()), Ok(m("2.00")));
    }

    #[test]
    fn max_of_numbers_keeps_the_first_of_equals_and_never_gives_negative_zero() {
        assert_eq!(
            apply(Builtin::Max, vec![n("2"), n("10"), n("3")]),
            Ok(n("10"))
        );
        let Ok(Value::Num(zero)) = apply(Builtin::Max, vec![n("-0"), n("0")]) else {
            panic!("not a number");
        };
        assert!(zero.is_zero() && !zero.is_sign_negative());
    }

    #[test]
    fn round_with_and_without_places() {
        assert_eq!(apply(Builtin::Round, vec![n("2.5")]), Ok(n("3")));
        assert_eq!(
            apply(Builtin::Round, vec![n("2.345"), n("2")]),
            Ok(n("2.35"))
        );
        assert_eq!(apply(Builtin::Round, vec![m("19.805")]), Ok(m("19.81")));
        assert_eq!(
            apply(Builtin::Round, vec![m("19.8049"), n("3")]),
            Ok(m("19.805"))
        );
        let Ok(Value::Num(zero)) = apply(Builtin::Round, vec![n("-0.4")]) else {
            panic!("not a number");
        };
        assert!(!zero.is_sign_negative());
    }

    #[test]
    fn ceil_and_floor() {
        assert_eq!(apply(Builtin::Ceil, vec![n("1.2")]), Ok(n("2")));
        assert_eq!(apply(Builtin::Floor, vec![n("1.8")]), Ok(n("1")));
        // `ceil((4 - 10) / 10)` is `ceil(-0.6)`: zero, not negative zero.
        let Ok(Value::Num(zero)) = apply(Builtin::Ceil, vec![n("-0.6")]) else {
            panic!("not a number");
        };
        assert!(zero.is_zero() && !zero.is_sign_negative());
    }

    #[test]
    fn abs_count_and_sum() {
        assert_eq!(apply(Builtin::Abs, vec![m("-2.50")]), Ok(m("2.50")));
        assert_eq!(apply(Builtin::Abs, vec![n("-3")]), Ok(n("3")));
        let list = Value::List(vec![n("1.5"), n("2")]);
        assert_eq!(apply(Builtin::Count, vec![list.clone()]), Ok(n("2")));
        assert_eq!(apply(Builtin::Sum, vec![list]), Ok(n("3.5")));
        let costs = Value::List(vec![m("1.25"), m("2.50")]);
        let money = Type::Money(CurrencyRef::Customer);
        assert_eq!(
            call_typed(Builtin::Sum, vec![costs], money.clone()),
            Ok(m("3.75"))
        );
        assert_eq!(
            call_typed(Builtin::Sum, vec![Value::List(Vec::new())], money),
            Ok(m("0"))
        );
    }

    #[test]
    fn a_sum_too_large_is_an_overflow() {
        let list = Value::List(vec![Value::Num(Decimal::MAX), n("1")]);
        assert_eq!(code(apply(Builtin::Sum, vec![list])), Some(Code::Overflow));
    }

    #[test]
    fn months_and_days_between() {
        let args = || vec![date("2021-10-20"), date("2022-09-19")];
        assert_eq!(apply(Builtin::MonthsBetween, args()), Ok(n("11")));
        let args = vec![date("2021-10-20"), date("2022-09-18")];
        assert_eq!(apply(Builtin::MonthsBetween, args), Ok(n("10")));
        let october = vec![date("2026-10-01"), date("2026-10-31")];
        assert_eq!(apply(Builtin::DaysBetween, october), Ok(n("31")));
    }

    #[test]
    fn text_tests_ignore_case() {
        let svc = || vec![text("SVC-Backup@contoso.com"), text("svc-")];
        assert_eq!(apply(Builtin::StartsWith, svc()), Ok(Value::Bool(true)));
        assert_eq!(apply(Builtin::EndsWith, svc()), Ok(Value::Bool(false)));
        let domain = vec![text("ana@Contoso.com"), text("@CONTOSO.COM")];
        assert_eq!(apply(Builtin::EndsWith, domain), Ok(Value::Bool(true)));
        let part = vec![text("Backup"), text("CKU")];
        assert_eq!(apply(Builtin::Contains, part), Ok(Value::Bool(true)));
    }

    #[test]
    fn arguments_the_checker_rules_out_are_internal_errors() {
        let cases: Vec<(Builtin, Vec<Value>)> = vec![
            (Builtin::Max, Vec::new()),
            (Builtin::Max, vec![text("a"), text("b")]),
            (Builtin::Max, vec![n("1"), m("1.00")]),
            (Builtin::Count, vec![n("3")]),
            (Builtin::Count, Vec::new()),
            (Builtin::Sum, vec![n("3")]),
            (Builtin::Sum, vec![Value::List(vec![text("3")])]),
            (Builtin::Ceil, vec![m("1.50")]),
            (Builtin::Ceil, vec![n("1"), n("2")]),
            (Builtin::Round, vec![text("1")]),
            (Builtin::Round, vec![n("1.5"), n("-1")]),
            (Builtin::Round, vec![n("1.5"), n("2.5")]),
            (Builtin::Abs, vec![Value::Bool(true)]),
            (Builtin::MonthsBetween, vec![n("1"), date("2026-01-01")]),
            (Builtin::DaysBetween, vec![date("2026-01-01")]),
            (Builtin::StartsWith, vec![text("a"), n("1")]),
        ];
        for (builtin, args) in cases {
            let described = format!("{}({args:?})", builtin.name());
            let e = apply(builtin, args).err();
            assert_eq!(
                e.as_ref().map(|d| d.code),
                Some(Code::Internal),
                "{described}"
            );
            assert_eq!(e.map(|d| d.primary_span()), Some(Span { start: 3, end: 9 }));
        }
        let money_sum = call_typed(
            Builtin::Sum,
            vec![Value::List(vec![n("1")])],
            Type::Money(CurrencyRef::Customer),
        );
        assert_eq!(code(money_sum), Some(Code::Internal));
    }
}
