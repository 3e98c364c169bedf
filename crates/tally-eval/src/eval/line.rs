//! One rule line: its quantity or amount, the price in force, its minimum, bundle and tier
//! prices, included units and split weights, each read by its own function and in that order
//! (the order of the explanation's steps and of the conversions recorded).

use super::quantity::{money, whole};
use super::{Ctx, Evaluator, InModule, Result};
use crate::trace::Step;
use crate::value::Value;
use crate::{Conversion, LineResult, Role};
use chrono::NaiveDate;
use tally_diagnostics::{Code, Diagnostic};
use tally_ir::{DatedPrice, Line, LineKind, TExpr};
use tally_money::Money;
use tally_snapshot::SubscribedSku;

type Steps = Vec<(Role, Step)>;

/// (units up to, inclusive; `None` = above) and the unit price of each tier.
type TierPrices = Vec<(Option<u64>, Money)>;

impl Evaluator<'_> {
    pub(super) fn line(&mut self, line: &Line) -> Result<LineResult> {
        let ctx = self.clause_ctx(&line.module);
        let mut result = LineResult {
            cycles: None,
            warnings: Vec::new(),
            measured_on: self.period.start,
            history: None,
            included: None,
            tiers: None,
            conversions: Vec::new(),
            bundle: Vec::new(),
            subscriptions: Vec::new(),
            sku_ids: line.resells.sku_ids.clone(),
            azure: line.resells.azure,
            name: line.name.clone(),
            quantity: None,
            minimum: None,
            unit_price: None,
            prices: Vec::new(),
            amount: None,
            split: None,
            steps: Vec::new(),
        };
        let mut steps = Vec::new();
        let value = self.clause(&line.value, ctx, role(line), &mut steps)?;
        match line.kind {
            LineKind::Qty => {
                let quantity = whole(&value, line.value.span, "quantity", &line.name);
                result.quantity = Some(quantity.in_module(ctx)?);
            }
            LineKind::Amount => {
                result.amount = Some(self.money(value, &line.value, ctx, "the amount")?);
            }
        }
        result.unit_price = self.price(line, ctx, &mut steps)?;
        result.minimum = self.minimum(line, ctx, &mut steps)?;
        result.bundle = self.bundle(line, ctx, &mut steps)?;
        result.tiers = self.tiers(line, ctx, &mut steps)?;
        result.included = self.included(line, ctx)?;
        result.split = self.line_split(line)?;
        result.subscriptions = self.quantity_subscriptions(line);
        result.steps = steps;
        result.conversions = std::mem::take(&mut *self.conversions.borrow_mut());
        Ok(result)
    }

    /// The unit price in force on this evaluator's day, without a step, and the conversions
    /// it took (they belong to the line whose prorated charges use the price).
    pub(super) fn price_on_day(&mut self, line: &Line) -> Result<(Option<Money>, Vec<Conversion>)> {
        let ctx = self.clause_ctx(&line.module).untraced();
        let before = self.conversions.borrow().len();
        let price = self.price(line, ctx, &mut Vec::new());
        let made = self.conversions.borrow_mut().split_off(before);
        Ok((price?, made))
    }

    /// How the line's split users fall into groups on this evaluator's day.
    pub(super) fn line_split(&mut self, line: &Line) -> Result<Option<crate::SplitWeights>> {
        let ctx = self.clause_ctx(&line.module);
        line.split
            .as_ref()
            .map(|split| self.split_weights(split, ctx))
            .transpose()
    }

    /// The counted quantity of a `qty` line on this evaluator's day, and what is billed after
    /// its minimum and included units.
    pub(super) fn counts(&mut self, line: &Line) -> Result<(u64, u64)> {
        // Conversions made here belong to no line: the line measured on this day records its
        // own, and the history's counts are not priced.
        let before = self.conversions.borrow().len();
        let counts = self.billed_counts(line);
        self.conversions.borrow_mut().truncate(before);
        counts
    }

    fn billed_counts(&mut self, line: &Line) -> Result<(u64, u64)> {
        let ctx = self.clause_ctx(&line.module).untraced();
        let counted = self.whole_clause(&line.value, ctx, "quantity", line)?;
        let minimum = match &line.minimum {
            Some(minimum) => self.whole_clause(minimum, ctx, "minimum", line)?,
            None => 0,
        };
        let included = match &line.included {
            Some(included) => self.whole_clause(included, ctx, "included quantity", line)?,
            None => 0,
        };
        Ok((counted, counted.max(minimum).saturating_sub(included)))
    }

    /// Evaluates a clause and records its step under `role`.
    fn clause(
        &mut self,
        expr: &TExpr,
        ctx: Ctx<'_>,
        role: Role,
        steps: &mut Steps,
    ) -> Result<Value> {
        let (value, children) = self.eval(expr, ctx)?;
        if ctx.trace {
            steps.push((role, self.root_step(expr, ctx, &value, children)?));
        }
        Ok(value)
    }

    /// A clause that counts units, evaluated without a step.
    fn whole_clause(&mut self, expr: &TExpr, ctx: Ctx<'_>, what: &str, line: &Line) -> Result<u64> {
        let (value, _) = self.eval(expr, ctx)?;
        whole(&value, expr.span, what, &line.name).in_module(ctx)
    }

    fn money(&self, value: Value, expr: &TExpr, ctx: Ctx<'_>, what: &str) -> Result<Money> {
        money(value, expr.span, self.currency, what).in_module(ctx)
    }

    /// The unit price in force on this evaluator's day, if the line has one.
    fn price(&mut self, line: &Line, ctx: Ctx<'_>, steps: &mut Steps) -> Result<Option<Money>> {
        let (price, dated) = price_in_force(line, self.date);
        let Some(price) = price else {
            if line.dated_prices.is_empty() {
                return Ok(None);
            }
            return Err(Diagnostic::error(
                Code::MissingData,
                format!("no price of `{}` is in force on {}", line.name, self.date),
                line.span,
            )
            .with_help("add a plain `price` for the days no `from ... price` covers"))
            .in_module(ctx);
        };
        let (value, children) = self.eval(price, ctx)?;
        if ctx.trace {
            let mut step = self.root_step(price, ctx, &value, children)?;
            if let Some(dated) = dated {
                step.notes.push(match dated.until {
                    Some(until) => format!("the price from {} until {until}", dated.from),
                    None => format!("the price from {}", dated.from),
                });
            }
            steps.push((Role::Price, step));
        }
        self.money(value, price, ctx, "the price").map(Some)
    }

    fn minimum(&mut self, line: &Line, ctx: Ctx<'_>, steps: &mut Steps) -> Result<Option<u64>> {
        let Some(minimum) = &line.minimum else {
            return Ok(None);
        };
        let value = self.clause(minimum, ctx, Role::Minimum, steps)?;
        whole(&value, minimum.span, "minimum", &line.name)
            .in_module(ctx)
            .map(Some)
    }

    /// (product, unit price) of each product of a bundle line.
    fn bundle(
        &mut self,
        line: &Line,
        ctx: Ctx<'_>,
        steps: &mut Steps,
    ) -> Result<Vec<(String, Money)>> {
        let mut prices = Vec::with_capacity(line.bundle.len());
        for (product, price) in &line.bundle {
            let value = self.clause(price, ctx, Role::Price, steps)?;
            prices.push((
                product.clone(),
                self.money(value, price, ctx, "a bundle price")?,
            ));
        }
        Ok(prices)
    }

    /// (up to, unit price) of each tier of a tiered line.
    fn tiers(
        &mut self,
        line: &Line,
        ctx: Ctx<'_>,
        steps: &mut Steps,
    ) -> Result<Option<TierPrices>> {
        let Some(tiers) = &line.tiers else {
            return Ok(None);
        };
        let mut prices = Vec::with_capacity(tiers.tiers.len());
        for (up_to, price) in &tiers.tiers {
            let value = self.clause(price, ctx, Role::Price, steps)?;
            prices.push((*up_to, self.money(value, price, ctx, "a tier price")?));
        }
        Ok(Some(prices))
    }

    /// Units included at no charge; their evaluation is not part of the explanation.
    fn included(&mut self, line: &Line, ctx: Ctx<'_>) -> Result<Option<u64>> {
        let Some(included) = &line.included else {
            return Ok(None);
        };
        self.whole_clause(included, ctx, "included quantity", line)
            .map(Some)
    }

    /// The tenant's subscriptions whose seats drive the line's quantity.
    fn quantity_subscriptions(&self, line: &Line) -> Vec<SubscribedSku> {
        self.tenant
            .subscribed_skus
            .iter()
            .filter(|s| {
                line.quantity_skus
                    .iter()
                    .any(|select| select.selects(&s.sku_id, s.term, s.term_start))
            })
            .cloned()
            .collect()
    }
}

fn role(line: &Line) -> Role {
    match line.kind {
        LineKind::Qty => Role::Quantity,
        LineKind::Amount => Role::Amount,
    }
}

/// The price in force on `date`. A price with an `until` covers its days and overrides the
/// schedule; otherwise the latest `from` on or before the day applies (each lasts until the next
/// one); otherwise the plain `price`. The checker has ruled out ambiguous overlaps.
fn price_in_force(line: &Line, date: NaiveDate) -> (Option<&TExpr>, Option<&DatedPrice>) {
    let dated = &line.dated_prices;
    let bounded = dated
        .iter()
        .find(|d| d.until.is_some_and(|until| d.from <= date && date <= until));
    let scheduled = || {
        dated
            .iter()
            .rev()
            .find(|d| d.until.is_none() && d.from <= date)
    };
    match bounded.or_else(scheduled) {
        Some(d) => (Some(&d.price), Some(d)),
        None => (line.price.as_ref(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Fixture, gbp_money};
    use super::*;
    use tally_diagnostics::Code;

    #[test]
    fn a_quantity_whose_ceiling_is_negative_zero_is_zero_units() {
        // 4 users: (4 - 10) / 10 is -0.6, whose ceiling is a negative zero.
        let fixture = Fixture::with_rules(
            "extra qty = max(ceil((count(m365.users) - 10) / 10), 0) price 5.00\n\
             bare qty = ceil((count(m365.users) - 10) / 10) price 5.00\n\
             floor qty = floor(0 - 0.0) price 5.00",
        );
        let evaluation = fixture.evaluate().unwrap();
        let quantities: Vec<_> = evaluation.lines.iter().map(|l| l.quantity).collect();
        assert_eq!(quantities, [Some(0), Some(0), Some(0)]);
        let (_, step) = &evaluation.lines[1].steps[0];
        assert_eq!(step.value, "0");
    }

    #[test]
    fn clauses_are_read_in_order() {
        let fixture = Fixture::with_rules(
            "support qty = m365.users where enabled price 25.00 minimum 10 included 2\n\
             rmm qty = counter(\"rmm.devices\") tiers graduated { 2: 5.00, above: 4.00 }\n\
             suite qty = 2 bundle { \"A\": 1.00, \"B\": 2.50 }",
        );
        let evaluation = fixture.evaluate().unwrap();
        let support = &evaluation.lines[0];
        assert_eq!(
            (support.quantity, support.minimum, support.included),
            (Some(3), Some(10), Some(2))
        );
        assert_eq!(support.unit_price, Some(gbp_money("25.00")));
        let roles: Vec<Role> = support.steps.iter().map(|(role, _)| *role).collect();
        assert_eq!(roles, [Role::Quantity, Role::Price, Role::Minimum]);
        let rmm = &evaluation.lines[1];
        let tiers = vec![(Some(2), gbp_money("5.00")), (None, gbp_money("4.00"))];
        assert_eq!(rmm.tiers, Some(tiers));
        let suite = &evaluation.lines[2];
        let bundle = [("A", "1.00"), ("B", "2.50")].map(|(p, m)| (p.to_string(), gbp_money(m)));
        assert_eq!(suite.bundle, bundle);
    }

    #[test]
    fn amount_lines_are_money() {
        let fixture = Fixture::with_rules("azure amount = sum(azure.usage.cost) * 115%");
        let azure = fixture.line(0);
        assert_eq!(azure.amount, Some(gbp_money("19.55")));
        assert!(azure.azure);
        assert_eq!(azure.steps[0].0, Role::Amount);
    }

    #[test]
    fn the_price_in_force_is_the_dated_one() {
        let fixture = Fixture::with_rules(
            "seat qty = 1 price 20.00\n  from 2026-07-01 price 27.00\n  from 2026-10-15 until 2026-10-20 price 1.00",
        );
        let line = &fixture.program.lines[0];
        let price = |day: &str| {
            let (price, _) = price_in_force(line, day.parse().unwrap());
            fixture
                .program
                .text(&line.module, price.unwrap().span)
                .to_string()
        };
        assert_eq!(price("2026-06-30"), "20.00");
        assert_eq!(price("2026-10-01"), "27.00");
        assert_eq!(price("2026-10-20"), "1.00");
        assert_eq!(price("2026-10-21"), "27.00");
        let seat = fixture.line(0);
        assert_eq!(seat.unit_price, Some(gbp_money("27.00")));
        let (_, step) = &seat.steps[1];
        assert_eq!(step.notes, ["the price from 2026-07-01"]);
    }

    #[test]
    fn no_price_in_force_is_missing_data() {
        let fixture = Fixture::with_rules("seat qty = 1\n  from 2026-11-01 price 27.00");
        let errors = fixture.evaluate().unwrap_err();
        let codes: Vec<Code> = errors.iter().map(|e| e.diagnostic.code).collect();
        assert_eq!(codes, [Code::MissingData]);
    }

    #[test]
    fn every_line_using_a_definition_records_its_conversion() {
        let fixture = Fixture::with_rules(
            "let basic_cost = m365.sku(\"O365_BUSINESS_ESSENTIALS\").cost\n\
             basic qty = 1 price basic_cost\n\
             marked_up qty = 1 price basic_cost * 120%",
        );
        let evaluation = fixture.evaluate().unwrap();
        let prices: Vec<_> = evaluation.lines.iter().map(|l| l.unit_price).collect();
        assert_eq!(prices, [Some(gbp_money("4.80")), Some(gbp_money("5.76"))]);
        for line in &evaluation.lines {
            assert_eq!(line.conversions.len(), 1, "{}", line.name);
        }
    }

    #[test]
    fn history_counts_record_no_conversion_for_another_line() {
        // `costly` is counted day by day from the period's start, the day `flat` is measured.
        let fixture = Fixture::with_rules(
            "costly qty = count(m365.skus where cost > 5.00 GBP) price 1.00 billing arrears prorate daily\n\
             flat qty = 1 price 1.00",
        );
        let evaluation = fixture.evaluate().unwrap();
        let costly = &evaluation.lines[0];
        assert_eq!(costly.quantity, Some(1));
        assert_eq!(costly.conversions.len(), 1);
        assert!(costly.history.is_some());
        assert_eq!(evaluation.lines[1].conversions, []);
    }

    #[test]
    fn a_split_weighs_the_line_users_by_their_key() {
        let fixture = Fixture::with_rules(
            "support qty = m365.users where enabled price 1.00 split by department otherwise \"Shared\"",
        );
        let split = fixture.line(0).split.unwrap();
        let groups = [("Sales", 1), ("Support", 1), ("Shared", 1)].map(|(g, n)| (g.to_string(), n));
        assert_eq!(split.groups, groups);
        assert_eq!(split.key, "department");
    }

    #[test]
    fn quantity_subscriptions_follow_the_skus_the_quantity_reads() {
        let fixture = Fixture::with_rules(
            "premium qty = m365.sku(\"SPB\").purchased price 1.00\n\
             monthly qty = m365.sku(\"SPB\", \"monthly\").purchased price 1.00",
        );
        let evaluation = fixture.evaluate().unwrap();
        let premium = &evaluation.lines[0];
        assert_eq!(premium.quantity, Some(5));
        assert_eq!(premium.subscriptions.len(), 1);
        let monthly = &evaluation.lines[1];
        assert_eq!(monthly.quantity, Some(0));
        assert!(monthly.subscriptions.is_empty());
    }
}
