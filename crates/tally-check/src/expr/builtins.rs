//! The type of each built-in function's result, from its arguments' types (the table in
//! `docs/language.md`, Functions). Lists of records passed where numbers are wanted count as
//! their length.

use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{Builtin, CurrencyRef, TExpr, TExprKind, Type};
use tally_syntax::ast::Ident;

/// A call being typed: which function, as written, and its typed arguments.
struct Call<'c> {
    name: &'c Ident,
    args: &'c [TExpr],
    span: Span,
}

impl Checker<'_> {
    pub(super) fn builtin_type(
        &mut self,
        builtin: Builtin,
        name: &Ident,
        args: &[TExpr],
        span: Span,
    ) -> Type {
        if args.iter().any(|a| a.ty.is_error()) {
            return Type::Error;
        }
        let call = Call { name, args, span };
        match builtin {
            Builtin::Count => self.count(&call),
            Builtin::Sum => self.sum(&call),
            Builtin::Max | Builtin::Min => self.extreme(&call),
            Builtin::Round => self.round(&call),
            Builtin::Ceil | Builtin::Floor => self.whole(&call),
            Builtin::Abs => self.abs(&call),
            Builtin::MonthsBetween | Builtin::DaysBetween => self.between(&call),
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => self.text_test(&call),
        }
    }

    /// Whether the call has an allowed number of arguments (reported if not).
    fn takes(
        &mut self,
        call: &Call<'_>,
        range: std::ops::RangeInclusive<usize>,
        usage: &str,
    ) -> bool {
        self.arity(call.name, call.args, range, call.span, usage)
    }

    /// "`f` needs X, but this is Y", at the argument.
    fn wrong_argument(&mut self, call: &Call<'_>, arg: &TExpr, wanted: &str) -> Type {
        self.report(Diagnostic::error(
            Code::TypeMismatch,
            format!(
                "`{}` needs {wanted}, but this is {}",
                call.name.name,
                arg.ty.describe()
            ),
            arg.span,
        ));
        Type::Error
    }

    /// `count(list)`: a whole number.
    fn count(&mut self, call: &Call<'_>) -> Type {
        if !self.takes(call, 1..=1, "count(m365.users where enabled)") {
            return Type::Error;
        }
        match call.args {
            [arg] if matches!(arg.ty, Type::List(_)) => Type::Int,
            [arg] => self.wrong_argument(call, arg, "a list"),
            _ => Type::Error,
        }
    }

    /// `sum(list of numbers or money)`: the element type.
    fn sum(&mut self, call: &Call<'_>) -> Type {
        if !self.takes(call, 1..=1, "sum(azure.usage.cost)") {
            return Type::Error;
        }
        let [arg] = call.args else {
            return Type::Error;
        };
        match &arg.ty {
            Type::List(inner) if inner.is_numeric() || matches!(**inner, Type::Money(_)) => {
                (**inner).clone()
            }
            Type::List(inner) if matches!(**inner, Type::Record(_)) => {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`sum` adds numbers or money, but this is {}", arg.ty.describe()),
                        arg.span,
                    )
                    .with_help("sum one field of the records, e.g. `sum(azure.usage.cost)`; to count them use `count(...)`"),
                );
                Type::Error
            }
            _ => self.wrong_argument(call, arg, "a list of numbers or money"),
        }
    }

    /// `max(a, b, ...)`, `min(...)`: numbers (whole if all are), or money in one currency.
    fn extreme(&mut self, call: &Call<'_>) -> Type {
        if !self.takes(call, 2..=usize::MAX, "max(count(staff), 10)") {
            return Type::Error;
        }
        let types: Vec<Type> = call.args.iter().map(counted).collect();
        let first_money = types.iter().find_map(|t| match t {
            Type::Money(c) => Some(*c),
            _ => None,
        });
        if let Some(first) = first_money {
            return self.extreme_of_money(call, &types, first);
        }
        for (arg, ty) in call.args.iter().zip(&types) {
            if !ty.is_numeric() {
                return self.wrong_argument(call, arg, "numbers");
            }
        }
        if types.iter().all(|t| *t == Type::Int) {
            Type::Int
        } else {
            Type::Decimal
        }
    }

    /// `max(...)` of money: every argument money in the first one's currency.
    fn extreme_of_money(&mut self, call: &Call<'_>, types: &[Type], first: CurrencyRef) -> Type {
        for (arg, ty) in call.args.iter().zip(types) {
            match ty {
                Type::Money(c) if *c == first => {}
                Type::Money(c) => {
                    self.report(Diagnostic::error(
                        Code::CurrencyMismatch,
                        format!("cannot compare money in {first} with money in {c}"),
                        arg.span,
                    ));
                    return Type::Error;
                }
                _ => return self.wrong_argument(call, arg, "money like the other arguments"),
            }
        }
        Type::Money(first)
    }

    /// `round(x)`: whole; `round(x, places)`: a decimal; money stays money.
    fn round(&mut self, call: &Call<'_>) -> Type {
        if !self.takes(call, 1..=2, "round(x) or round(x, 2)") {
            return Type::Error;
        }
        let Some(value_arg) = call.args.first() else {
            return Type::Error;
        };
        let value = counted(value_arg);
        if let Some(places) = call.args.get(1) {
            if !matches!(places.kind, TExprKind::Int(0..=28)) {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        "the number of decimal places must be a whole number from 0 to 28",
                        places.span,
                    )
                    .with_help("write e.g. `round(x, 2)`"),
                );
                return Type::Error;
            }
            return match value {
                Type::Money(c) => Type::Money(c),
                t if t.is_numeric() => Type::Decimal,
                _ => self.wrong_argument(call, value_arg, "a number or money"),
            };
        }
        match value {
            Type::Money(c) => Type::Money(c),
            t if t.is_numeric() => Type::Int,
            _ => self.wrong_argument(call, value_arg, "a number or money"),
        }
    }

    /// `ceil(x)`, `floor(x)`: a whole number.
    fn whole(&mut self, call: &Call<'_>) -> Type {
        if !self.takes(call, 1..=1, "ceil(count(staff) / 5)") {
            return Type::Error;
        }
        match call.args {
            [arg] if arg.ty.is_numeric() || arg.ty.is_countable() => Type::Int,
            [arg] => self.wrong_argument(call, arg, "a number"),
            _ => Type::Error,
        }
    }

    /// `abs(x)`: the same kind of number, or money.
    fn abs(&mut self, call: &Call<'_>) -> Type {
        if !self.takes(call, 1..=1, "abs(x)") {
            return Type::Error;
        }
        let [arg] = call.args else {
            return Type::Error;
        };
        match &arg.ty {
            t if t.is_countable() => Type::Int,
            t if t.is_numeric() || matches!(t, Type::Money(_)) => t.clone(),
            _ => self.wrong_argument(call, arg, "a number or money"),
        }
    }

    /// `months_between(a, b)`, `days_between(a, b)`: two dates, a whole number.
    fn between(&mut self, call: &Call<'_>) -> Type {
        let usage = format!("{}(period.start, bp.term_end)", call.name.name);
        if !self.takes(call, 2..=2, &usage) {
            return Type::Error;
        }
        for arg in call.args {
            if arg.ty != Type::Date {
                return self.wrong_argument(call, arg, "dates");
            }
        }
        Type::Int
    }

    /// `starts_with(a, b)`, `ends_with`, `contains`: two texts, true or false.
    fn text_test(&mut self, call: &Call<'_>) -> Type {
        let usage = format!("{}(upn, \"svc-\")", call.name.name);
        if !self.takes(call, 2..=2, &usage) {
            return Type::Error;
        }
        for arg in call.args {
            if arg.ty != Type::Text {
                return self.wrong_argument(call, arg, "text");
            }
        }
        Type::Bool
    }
}

/// An argument's type, with a list of records counted as a whole number.
fn counted(arg: &TExpr) -> Type {
    if arg.ty.is_countable() {
        Type::Int
    } else {
        arg.ty.clone()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{messages, module};
    use tally_diagnostics::Code;
    use tally_ir::{CurrencyRef, Type};

    fn type_of(expr: &str) -> Type {
        let checked = module(&format!(
            "let cost = m365.sku(\"SPB\").cost\nlet x = {expr}\n"
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
    fn each_builtin_has_the_type_of_its_result() {
        let money = Type::Money(CurrencyRef::Customer);
        for (expr, ty) in [
            ("count(m365.users)", Type::Int),
            ("sum(azure.usage.cost)", money.clone()),
            ("sum([1, 2])", Type::Int),
            ("max(m365.users, 10)", Type::Int),
            ("min(1, 2.5)", Type::Decimal),
            ("max(cost, cost)", money.clone()),
            ("round(2.5)", Type::Int),
            ("round(2.25, 1)", Type::Decimal),
            ("round(cost, 2)", money.clone()),
            ("ceil(count(m365.users) / 5)", Type::Int),
            ("floor(m365.users)", Type::Int),
            ("abs(-cost)", money),
            ("abs(-2.5)", Type::Decimal),
            ("days_between(period.start, period.end)", Type::Int),
            ("contains(\"abc\", \"b\")", Type::Bool),
        ] {
            assert_eq!(type_of(expr), ty, "{expr}");
        }
    }

    #[test]
    fn wrong_arguments_are_reported_at_the_argument() {
        let checked = module(
            "let a = sum(m365.users)\nlet b = max(1.00 GBP, 2.00 USD)\nlet c = max(1.00 GBP, 2)\nlet d = round(1, 29)\nlet e = starts_with(\"a\", 1)\nlet f = months_between(1, 2)\n",
        );
        assert_eq!(
            messages(&checked),
            [
                (
                    Code::TypeMismatch,
                    "`sum` adds numbers or money, but this is a list of users".into()
                ),
                (
                    Code::CurrencyMismatch,
                    "cannot compare money in GBP with money in USD".into()
                ),
                (
                    Code::TypeMismatch,
                    "`max` needs money like the other arguments, but this is a whole number".into()
                ),
                (
                    Code::TypeMismatch,
                    "the number of decimal places must be a whole number from 0 to 28".into()
                ),
                (
                    Code::TypeMismatch,
                    "`starts_with` needs text, but this is a whole number".into()
                ),
                (
                    Code::TypeMismatch,
                    "`months_between` needs dates, but this is a whole number".into()
                ),
            ]
        );
    }
}
