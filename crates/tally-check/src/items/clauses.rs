//! A line's clauses, one function each: what the clause takes, and on which kind of line.

use crate::expr::Scope;
use crate::{Checker, SplitDecl};
use std::collections::BTreeMap;
use tally_diagnostics::{Code, Diagnostic, Names, Span};
use tally_ir::{DatedPrice, TExpr};
use tally_syntax::ast::{self, Expr, ExprKind, Ident, StringLit};

impl Checker<'_> {
    /// `price EXPR`: money in the customer's currency; a quantity line's only.
    pub(super) fn price(
        &mut self,
        line: &ast::Line,
        clause: &ast::Clause,
        e: &Expr,
    ) -> Option<TExpr> {
        if line.kind == ast::LineKind::Amount {
            self.report(
                Diagnostic::error(Code::BadClause, "an `amount` line has no price", clause.keyword)
                    .with_help("the amount is the price; for quantity times price write `name qty = ... price ...`"),
            );
            return None;
        }
        let price = self.expr(e, Scope::default());
        Some(self.money(price, "a price"))
    }

    /// `minimum EXPR`: a whole number of units; a quantity line's only.
    pub(super) fn minimum(
        &mut self,
        line: &ast::Line,
        clause: &ast::Clause,
        e: &Expr,
    ) -> Option<TExpr> {
        if line.kind == ast::LineKind::Amount {
            let code = self.customer_currency.map_or("GBP", |c| c.code());
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "`minimum` applies to quantities",
                    clause.keyword,
                )
                .with_help(format!("for a minimum charge write it in the amount, e.g. `azure amount = max(sum(azure.usage.cost), 50.00 {code})`")),
            );
            return None;
        }
        let minimum = self.expr(e, Scope::default());
        Some(self.quantity(minimum))
    }

    /// `included EXPR`: the units billed at no charge, a whole number.
    pub(super) fn included(
        &mut self,
        line: &ast::Line,
        clause: &ast::Clause,
        e: &Expr,
    ) -> Option<TExpr> {
        self.quantity_only(line, clause, "included");
        let included = self.expr(e, Scope::default());
        Some(self.quantity(included))
    }

    /// `bundle { "product": price, ... }`: each product once, each price money.
    pub(super) fn bundle(
        &mut self,
        line: &ast::Line,
        clause: &ast::Clause,
        items: &[(StringLit, Expr)],
    ) -> Vec<(String, TExpr)> {
        self.quantity_only(line, clause, "bundle");
        let mut bundle = Vec::new();
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for (product, price) in items {
            if let Some(first) = seen.get(product.value.as_str()) {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        format!("`{}` is in the bundle twice", product.value),
                        product.span,
                    )
                    .with_secondary(*first, "first here"),
                );
                continue;
            }
            seen.insert(product.value.as_str(), product.span);
            let price = self.expr(price, Scope::default());
            let price = self.money(price, "a bundle price");
            if let Some(product) = self.non_empty(product, "product") {
                bundle.push((product, price));
            }
        }
        bundle
    }

    /// `from DATE [until DATE] price EXPR`: one entry of the line's price schedule (the
    /// schedule as a whole is checked with the other clauses, in `schedule`).
    pub(super) fn dated_price(
        &mut self,
        line: &ast::Line,
        clause: &ast::Clause,
        from: &Expr,
        until: Option<&Expr>,
        price: &Expr,
    ) -> Option<DatedPrice> {
        self.quantity_only(line, clause, "from ... price");
        let date = |e: &Expr| match &e.kind {
            ExprKind::Date(d) => Some(*d),
            _ => None,
        };
        let price = self.expr(price, Scope::default());
        let price = self.money(price, "a price");
        Some(DatedPrice {
            from: date(from)?,
            until: until.and_then(date),
            price,
            span: clause.span,
        })
    }

    /// `split by KEY [otherwise "BUCKET"]`; without `otherwise`, a warning names the bucket.
    pub(super) fn split_clause(
        &mut self,
        key: &Ident,
        otherwise: Option<&StringLit>,
        value: &TExpr,
    ) -> Option<SplitDecl> {
        let split = self.split(key, otherwise, value);
        if split.is_some() && otherwise.is_none() {
            // The data decides whether every user has a department; the rule should say where
            // those who do not will go.
            self.report(
                Diagnostic::warning(
                    Code::BadSplit,
                    format!(
                        "users with no {} are billed under `(no {})`",
                        key.name, key.name
                    ),
                    key.span,
                )
                .with_help(format!(
                    "name the bucket, e.g. `split by {} otherwise \"Unassigned\"`",
                    key.name
                )),
            );
        }
        split
    }

    /// Reports a clause that only a quantity line can have, on an `amount` line.
    pub(super) fn quantity_only(&mut self, line: &ast::Line, clause: &ast::Clause, keyword: &str) {
        if line.kind == ast::LineKind::Amount {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    format!("`{keyword}` applies to quantities"),
                    clause.keyword,
                )
                .with_help("an `amount` line bills the period's amount as it is"),
            );
        }
    }

    /// A clause's text (`product "..."`), which may not be empty.
    pub(super) fn non_empty(&mut self, s: &StringLit, what: &str) -> Option<String> {
        if s.value.trim().is_empty() {
            self.report(Diagnostic::error(
                Code::BadClause,
                format!("the {what} is empty"),
                s.span,
            ));
            None
        } else {
            Some(s.value.clone())
        }
    }

    /// One of a clause's words, e.g. `advance` for `billing`.
    pub(super) fn word<T: Copy>(
        &mut self,
        word: &Ident,
        what: &str,
        choices: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        if let Some(value) = choices.iter().find(|c| name(**c) == word.name) {
            return Some(*value);
        }
        let names = Names::new(&word.name, choices.iter().map(|c| name(*c)))
            .listed_as("write")
            .as_alternatives();
        self.report(
            Diagnostic::error(
                Code::BadClause,
                format!("unknown {what} `{}`", word.name),
                word.span,
            )
            .with_name_help(word.span, &names),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, customer_source, fix, messages, only};
    use tally_diagnostics::{Code, Severity};

    #[test]
    fn quantity_clauses_on_an_amount_line_are_refused() {
        let checked = customer(
            "a amount = 10.00 price 1.00 minimum 2 included 1 tiers graduated { above: 1.00 } bundle { \"X\": 1.00 } prorate daily\n",
        );
        let found: Vec<String> = messages(&checked).into_iter().map(|(_, m)| m).collect();
        for refusal in [
            "an `amount` line has no price",
            "`minimum` applies to quantities",
            "`included` applies to quantities",
            "`tiers` applies to quantities",
            "`bundle` applies to quantities",
            "`prorate` applies to quantities",
        ] {
            assert!(found.iter().any(|f| f == refusal), "{refusal}: {found:?}");
        }
    }

    #[test]
    fn a_clause_is_given_once_except_dated_prices() {
        let checked = customer(
            "a qty = 1 price 1.00 price 2.00 from 2026-01-01 price 1.00 from 2026-02-01 price 2.00\n",
        );
        assert_eq!(
            messages(&checked),
            [(Code::BadClause, "`price` is given twice".into())]
        );
        assert_eq!(checked.lines[0].dated_prices.len(), 2);
    }

    #[test]
    fn clause_words_suggest_the_nearest_choice() {
        let rules = "a qty = 1 price 1.00 billing monthly rounding half_upp\n";
        let checked = customer(rules);
        let source = customer_source(rules);
        assert_eq!(
            messages(&checked),
            [
                (Code::BadClause, "unknown billing `monthly`".into()),
                (Code::BadClause, "unknown rounding `half_upp`".into()),
            ]
        );
        assert_eq!(
            checked.diagnostics[0].help.as_deref(),
            Some("write `advance` or `arrears`")
        );
        assert!(checked.diagnostics[0].suggestions.is_empty());
        assert_eq!(
            fix(&source, &checked.diagnostics[1].suggestions[0]),
            ("half_upp", "half_up")
        );
    }

    #[test]
    fn a_split_without_otherwise_names_the_bucket() {
        let checked = customer("a qty = count(m365.users) price 1.00 split by department\n");
        let d = only(&checked);
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(
            d.message,
            "users with no department are billed under `(no department)`"
        );
        let checked = customer("a qty = 1 price 1.00 product \" \"\n");
        assert_eq!(only(&checked).message, "the product is empty");
    }
}
