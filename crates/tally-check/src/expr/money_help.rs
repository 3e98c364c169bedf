//! Help for `money + number` and `money - number`, which Tally refuses (T0201). Following the
//! help must give the bill that was meant: `cost + 15%` means 15% more, which is written
//! `cost * 115%`; writing the 15 as money (`cost + 15.00 GBP`) would add fifteen pounds instead.
//! So a percentage is never suggested as money, and a plain number is written as money in the
//! currency of the other side.

use super::operators::Operands;
use rust_decimal::Decimal;
use tally_diagnostics::Diagnostic;
use tally_ir::{BinaryOp, CurrencyRef, TExpr, TExprKind, Type};
use tally_syntax::Precedence;
use tally_syntax::ast::Expr;

/// Rewritten expressions longer than this are described, not shown.
const SHOWN: usize = 40;

/// A money operand and a plain-number operand of `+` or `-`.
pub(super) struct MoneyAndNumber<'e> {
    op: BinaryOp,
    money_left: bool,
    money: &'e Expr,
    currency: Option<CurrencyRef>,
    number: &'e TExpr,
    number_written: &'e Expr,
}

impl<'e> MoneyAndNumber<'e> {
    pub(super) fn new(operands: &Operands<'e>, money_left: bool) -> MoneyAndNumber<'e> {
        let [left, right] = operands.written;
        let (money, money_typed, number, number_written) = if money_left {
            (left, operands.left, operands.right, right)
        } else {
            (right, operands.right, operands.left, left)
        };
        let currency = match money_typed.ty {
            Type::Money(c) => Some(c),
            _ => None,
        };
        MoneyAndNumber {
            op: operands.op,
            money_left,
            money,
            currency,
            number,
            number_written,
        }
    }
}

/// Adds the help (and, for a plain amount written as a literal, the fix) to the refusal.
pub(super) fn money_and_number(refusal: Diagnostic, operands: &MoneyAndNumber<'_>) -> Diagnostic {
    if operands.number.ty == Type::Percent {
        return refusal.with_help(percentage_help(operands));
    }
    let code = match operands.currency {
        Some(CurrencyRef::Fixed(c)) => Some(c.code()),
        _ => None,
    };
    let amount_literal = match operands.number.kind {
        TExprKind::Int(_) => true,
        TExprKind::Decimal(d) => d.abs() >= Decimal::ONE,
        _ => false,
    };
    match code {
        // `10.00 + 2.00 GBP`: an amount, written as money in the other side's currency.
        Some(code) if amount_literal => amount_fix(refusal, operands, code),
        // `cost + 0.15`, `cost + margin * 2`: an amount, or a fraction of the money?
        _ if operands.number.ty == Type::Decimal => {
            let literal = matches!(operands.number.kind, TExprKind::Decimal(_));
            let amount = match code {
                Some(code) if literal => format!("`{} {code}`", operands.number_written),
                _ => "money".to_string(),
            };
            let help = match rewritten(operands) {
                Some(product) => format!(
                    "if it is an amount, write it as {amount}; if it is a fraction of the money, {}",
                    product.advice()
                ),
                None => format!("write the number as {amount}"),
            };
            refusal.with_help(help)
        }
        _ => refusal.with_help(format!(
            "write the number as money, e.g. `2.00 {}`",
            code.unwrap_or("GBP")
        )),
    }
}

/// `cost + 15%` → `cost * 115%`; `cost - 15%` → `cost * 85%`; `cost + margin` →
/// `cost * (1 + margin)`.
fn percentage_help(operands: &MoneyAndNumber<'_>) -> String {
    let what = match operands.number.kind {
        TExprKind::Percent(p) => percent(p).unwrap_or_else(|| "a percentage".to_string()),
        _ => "a percentage".to_string(),
    };
    let intro = if operands.op == BinaryOp::Add {
        format!("to add {what}")
    } else {
        format!("to take {what} off")
    };
    match rewritten(operands) {
        Some(product) => format!("{intro}, {}", product.advice()),
        // `15% - cost` has no evident meaning; say how percentages and money combine.
        None => format!(
            "a percentage of money is a product: `{} * {}`",
            as_operand(operands.money),
            as_operand(operands.number_written)
        ),
    }
}

/// `money ± share` rewritten as a product.
struct Product {
    /// `cost * 115%`, unless the money is long to write.
    written: Option<String>,
    /// `115%`, `1.15`, `(1 + margin)`.
    factor: String,
}

impl Product {
    fn advice(&self) -> String {
        match &self.written {
            Some(product) => format!("multiply instead: `{product}`"),
            None => format!("multiply the money by `{}` instead", self.factor),
        }
    }
}

/// `cost + 15%` → `cost * 115%`, `cost - 0.15` → `cost * 0.85`, `cost + margin` →
/// `cost * (1 + margin)`; `None` for `share - money`.
fn rewritten(operands: &MoneyAndNumber<'_>) -> Option<Product> {
    let adding = operands.op == BinaryOp::Add;
    if !adding && !operands.money_left {
        return None;
    }
    let sign = if adding {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    // `1 ± n` written out for a literal, unless it is past the decimal range: then, as for a
    // name, `(1 ± n)`.
    let one_plus = |n: Decimal| {
        sign.checked_mul(n)
            .and_then(|x| Decimal::ONE.checked_add(x))
    };
    let factor = match operands.number.kind {
        TExprKind::Percent(p) => one_plus(p).and_then(percent),
        TExprKind::Decimal(d) => one_plus(d).map(|f| f.normalize().to_string()),
        _ => None,
    }
    .unwrap_or_else(|| {
        let share = as_operand(operands.number_written);
        format!("(1 {} {share})", if adding { "+" } else { "-" })
    });
    let money = as_operand(operands.money);
    let written = (money.len() + factor.len() <= SHOWN).then(|| format!("{money} * {factor}"));
    Some(Product { written, factor })
}

/// Writes the number as money: help, and the replacement of the literal as a fix.
fn amount_fix(refusal: Diagnostic, operands: &MoneyAndNumber<'_>, code: &str) -> Diagnostic {
    let number = operands.number_written.to_string();
    let money = format!("{number} {code}");
    refusal
        .with_help(format!("write `{number}` as money: `{money}`"))
        .with_suggestion(
            operands.number.span,
            money.clone(),
            format!("replace with `{money}`"),
        )
}

/// The expression as an operand of `*` (or the right side of `+`), in parentheses if it binds
/// looser than `*`.
fn as_operand(expr: &Expr) -> String {
    if expr.precedence() < Precedence::Multiply {
        format!("({expr})")
    } else {
        expr.to_string()
    }
}

/// `0.15` → `15%`
/// `0.15` as `15%`; `None` past the decimal range.
fn percent(fraction: Decimal) -> Option<String> {
    let hundredths = fraction.checked_mul(Decimal::ONE_HUNDRED)?;
    Some(format!("{}%", hundredths.normalize()))
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, customer_source, fix, module, only};
    use tally_diagnostics::Code;

    /// The help for `let x = <expr>` in a customer file invoiced in GBP, where `cost` is a
    /// SKU's cost (money in GBP).
    fn help(expr: &str) -> String {
        let checked = customer(&format!(
            "let cost = m365.sku(\"SPB\").cost\nlet margin = 12%\nlet x = {expr}\n"
        ));
        let d = only(&checked);
        assert_eq!(d.code, Code::TypeMismatch, "{d:?}");
        assert!(
            d.suggestions.is_empty(),
            "a percentage is never written as money: {d:?}"
        );
        d.help.clone().unwrap_or_default()
    }

    #[test]
    fn a_percentage_added_to_money_is_a_multiplication() {
        assert_eq!(
            help("cost + 15%"),
            "to add 15%, multiply instead: `cost * 115%`"
        );
        assert_eq!(
            help("15% + cost"),
            "to add 15%, multiply instead: `cost * 115%`"
        );
        assert_eq!(
            help("cost - 15%"),
            "to take 15% off, multiply instead: `cost * 85%`"
        );
        assert_eq!(
            help("cost + 2.5%"),
            "to add 2.5%, multiply instead: `cost * 102.5%`"
        );
    }

    #[test]
    fn the_money_side_is_shown_as_written_with_the_brackets_it_needs() {
        assert_eq!(
            help("m365.sku(\"SPB\").cost + 12%"),
            "to add 12%, multiply instead: `m365.sku(\"SPB\").cost * 112%`"
        );
        assert_eq!(
            help("(cost + cost) + 10%"),
            "to add 10%, multiply instead: `(cost + cost) * 110%`"
        );
        assert_eq!(
            help("max(cost, 10.00 GBP, m365.sku(\"SPE_E5\").cost) + 10%"),
            "to add 10%, multiply the money by `110%` instead"
        );
    }

    #[test]
    fn a_percentage_that_is_not_a_literal_is_added_as_a_factor() {
        assert_eq!(
            help("cost + margin"),
            "to add a percentage, multiply instead: `cost * (1 + margin)`"
        );
        assert_eq!(
            help("cost - (margin + 1%)"),
            "to take a percentage off, multiply instead: `cost * (1 - (margin + 1%))`"
        );
    }

    #[test]
    fn money_taken_from_a_percentage_is_explained_not_rewritten() {
        assert_eq!(
            help("15% - cost"),
            "a percentage of money is a product: `cost * 15%`"
        );
    }

    #[test]
    fn a_plain_number_is_written_as_money_in_the_other_sides_currency() {
        let rules = "let x = 10.00 + 2.00 GBP\nlet y = m365.sku(\"SPB\").cost - 2\n";
        let checked = customer(rules);
        let source = customer_source(rules);
        let [x, y] = crate::testing::reported(&checked)[..] else {
            panic!("{:?}", checked.diagnostics)
        };
        assert_eq!(
            x.help.as_deref(),
            Some("write `10.00` as money: `10.00 GBP`")
        );
        assert_eq!(fix(&source, &x.suggestions[0]), ("10.00", "10.00 GBP"));
        assert_eq!(y.help.as_deref(), Some("write `2` as money: `2 GBP`"));
        assert_eq!(fix(&source, &y.suggestions[0]), ("2", "2 GBP"));
    }

    #[test]
    fn a_fraction_may_be_an_amount_or_a_share_so_both_are_said() {
        assert_eq!(
            help("cost - margin * 2"),
            "if it is an amount, write it as money; if it is a fraction of the money, multiply instead: `cost * (1 - margin * 2)`"
        );
        assert_eq!(
            help("cost + 0.15"),
            "if it is an amount, write it as `0.15 GBP`; if it is a fraction of the money, multiply instead: `cost * 1.15`"
        );
    }

    #[test]
    fn a_number_that_is_not_a_literal_gets_the_general_advice() {
        let checked = customer("let x = m365.sku(\"SPB\").cost + count(m365.users)\n");
        let d = only(&checked);
        assert_eq!(
            d.help.as_deref(),
            Some("write the number as money, e.g. `2.00 GBP`")
        );
        assert!(d.suggestions.is_empty());
        // In a module the customer's currency is not known: no code is suggested as a fix.
        let checked = module("let x = m365.sku(\"SPB\").cost + 2\n");
        assert!(only(&checked).suggestions.is_empty());
    }
}
