//! From evaluated lines to invoice lines. This is where the billing arithmetic happens:
//! the minimum, rounding to the currency's minor unit with the line's named rounding, and exact
//! allocation of split lines (largest remainder, so parts always sum to the whole).

use crate::model::*;
use crate::proration;
use tally_diagnostics::LineIndex;
use tally_eval::{Evaluation, History, LineResult, Role, Step};
use tally_ir::{Billing, Line, Measure, Program, Prorate};
use tally_money::{Money, allocate_money, allocate_units};
use tally_snapshot::Period;

/// A failure to turn an evaluation into invoice lines: only arithmetic overflow can cause it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub line: String,
    /// The rule line, in the customer's file.
    pub span: tally_diagnostics::Span,
    /// `Overflow` for arithmetic beyond exact decimals, `Internal` for a broken promise (two
    /// invoice lines with one id).
    pub code: tally_diagnostics::Code,
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line `{}`: {}", self.line, self.message)
    }
}

impl std::error::Error for PlanError {}

pub fn assemble_customer(
    program: &Program,
    evaluation: &Evaluation,
    period: &Period,
    rules_path: &str,
) -> Result<CustomerPlan, PlanError> {
    let currency = program.customer.currency;
    let source = program
        .sources
        .get(&program.customer.module)
        .map(|s| s.as_ref())
        .unwrap_or("");
    let customer = Customer {
        program,
        evaluation,
        period,
        rules_path,
        source,
        index: LineIndex::new(source),
        id_root: line_id_root(&program.customer.tenant),
    };
    let mut lines = Vec::new();
    let mut total = Money::zero(currency);
    for (rule, result) in program.lines.iter().zip(&evaluation.lines) {
        for (line, amount) in customer.invoice_lines(rule, result)? {
            if let Some(amount) = amount {
                total = total
                    .checked_add(amount)
                    .map_err(|e| plan_error(rule, e.to_string()))?;
            }
            lines.push(line);
        }
    }
    unique_ids(program, &lines)?;
    Ok(CustomerPlan {
        customer: program.customer.name.clone(),
        tenant: program.customer.tenant.clone(),
        currency,
        psa: program.customer.psa.as_ref().map(|p| PsaTarget {
            kind: p.kind,
            company: p.company.clone(),
            agreement: p.agreement.clone(),
        }),
        rules: rules_path.to_string(),
        period: plan_period(period),
        lines,
        total: total.to_minor_unit(),
    })
}

fn plan_error(rule: &Line, message: String) -> PlanError {
    PlanError {
        line: rule.name.clone(),
        span: rule.span,
        code: tally_diagnostics::Code::Overflow,
        message,
    }
}

/// Ids are what PSA adapters key lines on: two lines with one id would make one of them vanish.
fn unique_ids(program: &Program, lines: &[PlanLine]) -> Result<(), PlanError> {
    let mut seen = std::collections::BTreeSet::new();
    for line in lines {
        if !seen.insert(line.id.as_str()) {
            let rule = program.lines.iter().find(|r| r.name == line.line);
            return Err(PlanError {
                line: line.line.clone(),
                span: rule.map(|r| r.span).unwrap_or_default(),
                code: tally_diagnostics::Code::Internal,
                message: format!("two invoice lines have the id `{}`", line.id),
            });
        }
    }
    Ok(())
}

fn plan_period(period: &Period) -> PlanPeriod {
    PlanPeriod {
        start: period.start,
        end: period.end,
    }
}

/// What every line of one customer shares.
struct Customer<'a> {
    program: &'a Program,
    evaluation: &'a Evaluation,
    period: &'a Period,
    rules_path: &'a str,
    source: &'a str,
    index: LineIndex,
    id_root: String,
}

/// The units a line bills, after its minimum (or its peak, for `measure max`) and included
/// units.
struct Billed {
    quantity: u64,
    /// The count after the minimum, before included units.
    after_minimum: u64,
    minimum: Option<MinimumApplied>,
    included: Option<u64>,
}

fn billed(rule: &Line, result: &LineResult) -> Billed {
    let peak = result
        .history
        .as_ref()
        .filter(|_| rule.measure == Measure::Max && rule.prorate == Prorate::None)
        .and_then(History::peak);
    let counted = peak.map_or(result.quantity.unwrap_or(1), |p| p.counted);
    let minimum = result
        .minimum
        .filter(|m| *m > counted && result.quantity.is_some())
        .map(|minimum| MinimumApplied { minimum, counted });
    let included = result
        .included
        .filter(|i| *i > 0 && result.quantity.is_some());
    let after_minimum = minimum.as_ref().map_or(counted, |m| m.minimum);
    let quantity = peak.map_or_else(
        || after_minimum.saturating_sub(included.unwrap_or(0)),
        |p| p.billed,
    );
    Billed {
        quantity,
        after_minimum,
        minimum,
        included,
    }
}

type Parts = Vec<(PlanLine, Option<Money>)>;

/// A line's billed quantity and its rounded price and amount.
#[derive(Clone, Copy)]
struct Priced {
    quantity: u64,
    /// Units the included clause took off, which a tier table prices as its first units.
    included: u64,
    unit_price: Option<Money>,
    amount: Option<Money>,
}

/// A line with a cadence bills its cycle when one starts in the period (the line's period is
/// then the cycle) and otherwise only its true-ups; data warnings go on the first line.
fn on_cycles(result: &LineResult, lines: Parts) -> Parts {
    let mut lines = lines;
    if let Some(cycles) = &result.cycles {
        match cycles.billed {
            Some((start, end)) => {
                for (line, _) in lines.iter_mut().filter(|(l, _)| l.proration.is_none()) {
                    line.period = PlanPeriod { start, end };
                    // The invoice says what the charge covers: a year is not a month.
                    line.description = format!("{}: {start} to {end}", line.description);
                }
            }
            None => lines.retain(|(line, _)| line.proration.is_some()),
        }
    }
    if let Some((first, _)) = lines.first_mut() {
        first
            .provenance
            .flags
            .extend(result.warnings.iter().cloned());
    }
    lines
}

impl Customer<'_> {
    /// The invoice lines one rule line becomes, each with the amount it adds to the total.
    fn invoice_lines(&self, rule: &Line, result: &LineResult) -> Result<Parts, PlanError> {
        let error = |message: String| plan_error(rule, message);
        let billed = billed(rule, result);
        let quantity = billed.quantity;
        let billed_included = billed.after_minimum.saturating_sub(quantity);
        let unit_price = rounded_unit_price(rule, result);
        let amount = match (rounded_amount(rule, result), unit_price) {
            (Some(amount), _) => Some(amount),
            (None, Some(price)) => Some(
                price
                    .checked_mul(quantity.into())
                    .map_err(|e| error(e.to_string()))?,
            ),
            (None, None) => None,
        };
        let base = self.base_line(rule, result, billed, unit_price, amount)?;
        let priced = Priced {
            quantity,
            included: billed_included,
            unit_price,
            amount,
        };
        let lines = self.lines_of(rule, result, base, priced)?;
        Ok(on_cycles(result, lines))
    }

    /// The lines of a rule line by how it is priced: bundle, tiers, split, prorated, or one.
    fn lines_of(
        &self,
        rule: &Line,
        result: &LineResult,
        base: PlanLine,
        priced: Priced,
    ) -> Result<Parts, PlanError> {
        let error = |message: String| plan_error(rule, message);
        let Priced {
            quantity,
            included: billed_included,
            unit_price,
            amount,
        } = priced;
        match (&result.split, &result.history, unit_price) {
            (None, _, _) if !result.bundle.is_empty() => {
                bundle_lines(rule, result, &base, quantity).map_err(error)
            }
            (None, _, _) if result.tiers.is_some() => match (&rule.tiers, &result.tiers) {
                (Some(decl), Some(prices)) => {
                    // Tiers price every unit counted; the included ones are the first.
                    let included = billed_included;
                    crate::tiered::tier_lines(
                        rule,
                        &base,
                        quantity + included,
                        included,
                        prices,
                        decl.mode,
                    )
                    .map_err(error)
                }
                _ => Ok(vec![(base, amount)]),
            },
            (Some(split), Some(history), Some(price)) if rule.prorate == Prorate::Daily => {
                // Prorate the whole line, then share each charge out exactly.
                let mut parts = Vec::new();
                let lines = self
                    .prorated_lines(rule, result, base, amount, history, price)
                    .map_err(error)?;
                for (index, (line, charge)) in lines.into_iter().enumerate() {
                    let shared = match (index, rule.billing, charge) {
                        (0, Billing::Advance, _) => {
                            let q = billed_quantity(&line).map_err(error)?;
                            split_line(rule, result, line, q, unit_price, charge, split)
                        }
                        (_, _, Some(charge)) => split_charge(rule, line, charge, split),
                        (_, _, None) => Ok(vec![(line, None)]),
                    };
                    parts.extend(shared.map_err(error)?);
                }
                Ok(parts)
            }
            (Some(split), _, _) => {
                split_line(rule, result, base, quantity, unit_price, amount, split).map_err(error)
            }
            (None, Some(history), Some(price)) if rule.prorate == Prorate::Daily => self
                .prorated_lines(rule, result, base, amount, history, price)
                .map_err(error),
            _ => Ok(vec![(base, amount)]),
        }
    }

    /// The line as billed before it is split into parts (groups, tiers, products, stretches).
    fn base_line(
        &self,
        rule: &Line,
        result: &LineResult,
        billed: Billed,
        unit_price: Option<Money>,
        amount: Option<Money>,
    ) -> Result<PlanLine, PlanError> {
        let quantity =
            i64::try_from(billed.quantity).map_err(|e| plan_error(rule, e.to_string()))?;
        // An `amount` line's unit price is its amount: one unit.
        let shown_price = unit_price.or(amount.filter(|_| result.amount.is_some()));
        let customer = &self.program.customer;
        Ok(PlanLine {
            id: format!("{}/{}", self.id_root, rule.name),
            line: rule.name.clone(),
            product: rule.product.clone(),
            description: rule.description.clone(),
            quantity,
            unit_price: shown_price.map(|p| p.to_minor_unit()),
            amount: amount.map(|a| a.to_minor_unit()),
            currency: customer.currency,
            period: plan_period(self.period),
            billing: rule.billing,
            term: rule.term,
            agreement: rule
                .agreement
                .clone()
                .or_else(|| customer.psa.as_ref().map(|p| p.agreement.clone())),
            split: None,
            microsoft: (!result.sku_ids.is_empty() || result.azure).then(|| MicrosoftLink {
                sku_ids: result.sku_ids.clone(),
                azure: result.azure,
            }),
            proration: None,
            provenance: self.provenance(rule, result, billed),
        })
    }

    fn provenance(&self, rule: &Line, result: &LineResult, billed: Billed) -> Provenance {
        let (line, column) = self.index.line_col(self.source, rule.span.start as usize);
        Provenance {
            file: self.rules_path.to_string(),
            line,
            column,
            span: [rule.span.start, rule.span.end],
            rounding: rule.rounding,
            minimum: billed.minimum,
            conversions: result
                .conversions
                .iter()
                .map(|c| ConversionUsed {
                    from: c.from,
                    to: c.to,
                    rate: c.rate.normalize(),
                    date: c.date,
                })
                .collect(),
            included: billed.included,
            measured_on: result.measured_on,
            daily: result
                .history
                .iter()
                .flat_map(|h| &h.points)
                .map(|p| DailyCount {
                    from: p.from,
                    counted: p.counted,
                    billed: p.billed,
                })
                .collect(),
            flags: Vec::new(),
            drivers: drivers(result),
        }
    }

    /// An advance line bills the period and trues up last period's changes; an arrears line
    /// bills each stretch of the period at its count.
    fn prorated_lines(
        &self,
        rule: &Line,
        result: &LineResult,
        base: PlanLine,
        amount: Option<Money>,
        history: &tally_eval::History,
        price: Money,
    ) -> Result<Parts, String> {
        let prices = proration::Prices {
            schedule: rounded_prices(rule, result),
            measured: price,
        };
        if rule.billing == Billing::Arrears {
            let stretches = proration::segments(rule, &base, &prices, history, self.period)?;
            return Ok(stretches.into_iter().map(|(l, a)| (l, Some(a))).collect());
        }
        let mut flags = Vec::new();
        let trueups = proration::trueups(
            rule,
            &base,
            &prices,
            history,
            match &result.cycles {
                Some(cycles) => proration::TrueupCycle::Cycles(&cycles.cycles),
                None => proration::TrueupCycle::Period(&self.evaluation.previous),
            },
            &result.subscriptions,
            &mut flags,
        )?;
        let mut first = base;
        first.provenance.flags.extend(flags);
        let mut all = vec![(first, amount)];
        all.extend(trueups.into_iter().map(|(l, a)| (l, Some(a))));
        Ok(all)
    }
}

/// One invoice line per product of a bundle, each at its own rounded price.
fn bundle_lines(
    rule: &Line,
    result: &LineResult,
    base: &PlanLine,
    quantity: u64,
) -> Result<Parts, String> {
    let mut parts = Vec::new();
    for (product, price) in &result.bundle {
        let price = price.round(rule.rounding.money());
        let amount = price
            .checked_mul(quantity.into())
            .map_err(|e| e.to_string())?;
        let mut line = base.clone();
        line.id = format!("{}/{product}", base.id);
        line.product = product.clone();
        line.description = format!("{}: {product}", rule.description);
        line.unit_price = Some(price.to_minor_unit());
        line.amount = Some(amount.to_minor_unit());
        parts.push((line, Some(amount)));
    }
    Ok(parts)
}

/// The unit price a line bills: the evaluated price rounded to the currency's minor unit with
/// the line's named rounding. With [`rounded_amount`], the one place prices are rounded.
pub fn rounded_unit_price(rule: &Line, result: &LineResult) -> Option<Money> {
    result.unit_price.map(|p| p.round(rule.rounding.money()))
}

/// The unit prices of a prorated line with dated prices, day by day, each rounded as
/// [`rounded_unit_price`] rounds.
pub fn rounded_prices(rule: &Line, result: &LineResult) -> Vec<(chrono::NaiveDate, Money)> {
    result
        .prices
        .iter()
        .map(|(day, price)| (*day, price.round(rule.rounding.money())))
        .collect()
}

/// The amount an `amount` line bills, rounded with the line's named rounding.
pub fn rounded_amount(rule: &Line, result: &LineResult) -> Option<Money> {
    result.amount.map(|a| a.round(rule.rounding.money()))
}

/// One invoice line per group. Quantities are allocated by largest remainder over the groups'
/// user counts; each part is priced at the line's rounded unit price, so the parts' amounts sum
/// exactly to the unsplit amount. An `amount` line allocates its cents the same way.
fn split_line(
    rule: &Line,
    result: &LineResult,
    base: PlanLine,
    quantity: u64,
    unit_price: Option<Money>,
    amount: Option<Money>,
    split: &tally_eval::SplitWeights,
) -> Result<Vec<(PlanLine, Option<Money>)>, String> {
    let weights = split_weights(split);
    let describe_groups = split
        .groups
        .iter()
        .map(|(name, users)| format!("{name} {users}"))
        .collect::<Vec<_>>()
        .join(", ");
    let parts: Vec<(u64, Option<Money>)> = if result.amount.is_some() {
        let Some(amount) = amount else {
            return Ok(vec![(base, None)]);
        };
        allocate_money(amount, &weights)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|a| (1, Some(a)))
            .collect()
    } else {
        allocate_units(quantity, &weights)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|q| {
                let part_amount = unit_price.and_then(|p| p.checked_mul(q.into()).ok());
                (q, part_amount)
            })
            .collect()
    };
    let allocation = parts
        .iter()
        .map(|(q, a)| match (result.amount.is_some(), a) {
            (true, Some(a)) => a.to_minor_unit_string(),
            _ => q.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let mut out = Vec::new();
    for ((group, users), (part_quantity, part_amount)) in split.groups.iter().zip(parts) {
        let is_amount_line = result.amount.is_some();
        if (!is_amount_line && part_quantity == 0)
            || (is_amount_line && part_amount.is_some_and(|a| a.amount().is_zero()))
        {
            continue;
        }
        let mut line = base.clone();
        line.id = format!("{}/{}={}", base.id, split.key, group);
        line.quantity = i64::try_from(part_quantity).map_err(|e| e.to_string())?;
        line.description = format!("{}: {group}", rule.description);
        line.amount = part_amount.map(|a| a.to_minor_unit());
        if is_amount_line {
            line.unit_price = line.amount;
        }
        line.split = Some(SplitPart {
            key: split.key.to_string(),
            value: group.clone(),
            users: *users,
        });
        line.provenance.drivers.push(format!(
            "split by {}: users {describe_groups}; allocated {allocation} (largest remainder)",
            split.key
        ));
        out.push((line, part_amount));
    }
    Ok(out)
}

fn billed_quantity(line: &PlanLine) -> Result<u64, String> {
    u64::try_from(line.quantity).map_err(|e| e.to_string())
}

/// The split users' weights; with nobody to count (a minimum alone), everything goes to the
/// last bucket.
fn split_weights(split: &tally_eval::SplitWeights) -> Vec<u64> {
    let mut weights: Vec<u64> = split.groups.iter().map(|(_, w)| *w).collect();
    if weights.iter().all(|w| *w == 0)
        && let Some(last) = weights.last_mut()
    {
        *last = 1;
    }
    weights
}

/// One prorated charge shared out by group: its units by largest remainder over the users, its
/// amount in proportion to those units, so both add up exactly to the charge.
fn split_charge(
    rule: &Line,
    line: PlanLine,
    charge: Money,
    split: &tally_eval::SplitWeights,
) -> Result<Parts, String> {
    let units = allocate_units(line.quantity.unsigned_abs(), &split_weights(split))
        .map_err(|e| e.to_string())?;
    let amounts = allocate_money(charge, &units).map_err(|e| e.to_string())?;
    let sign = line.quantity.signum();
    let prefix = format!("{}: ", rule.description);
    let rest = line
        .description
        .strip_prefix(&prefix)
        .unwrap_or(&line.description)
        .to_string();
    let mut out = Vec::new();
    for (((group, users), part_units), part_amount) in split.groups.iter().zip(units).zip(amounts) {
        if part_units == 0 {
            continue;
        }
        let mut part = line.clone();
        part.id = format!("{}/{}={}", line.id, split.key, group);
        part.quantity = sign * i64::try_from(part_units).map_err(|e| e.to_string())?;
        part.description = format!("{}: {group}: {rest}", rule.description);
        part.amount = Some(part_amount.to_minor_unit());
        part.split = Some(SplitPart {
            key: split.key.to_string(),
            value: group.clone(),
            users: *users,
        });
        out.push((part, Some(part_amount)));
    }
    Ok(out)
}

/// The driver values of a line, outermost first: "`count(staff)` = 27", with filter summaries.
pub fn drivers(result: &LineResult) -> Vec<String> {
    let mut out = Vec::new();
    for (role, step) in &result.steps {
        if *role == Role::Price || *role == Role::Split {
            // The price shows in the line itself; its derivation is in `tally explain`.
            continue;
        }
        step.walk(&mut |s: &Step, _| {
            // A bare literal (`minimum 10`) is already in the line; it drives nothing.
            if s.children.is_empty()
                && s.filter.is_none()
                && s.notes.is_empty()
                && s.text.trim() == s.value
            {
                return;
            }
            out.push(describe_step(s));
        });
    }
    out
}

fn describe_step(step: &Step) -> String {
    let text = one_line(&step.text);
    let mut line = format!("{text} = {}", step.value);
    if let Some(filter) = &step.filter {
        line.push_str(&format!(" ({})", filter.summary(noun(&step.value))));
    }
    for note in &step.notes {
        line.push_str(&format!(" ({note})"));
    }
    line
}

fn noun(value: &str) -> &str {
    value.split_once(' ').map_or("records", |(_, noun)| noun)
}

/// Rule text can span lines; provenance shows it on one.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first part of every line id of a customer: the tenant, lower case. Never the customer's
/// display name, which people rename (`docs/plan.md`).
pub fn line_id_root(tenant: &str) -> String {
    tenant.trim().to_lowercase()
}

/// `Northwind Traders Ltd.` → `northwind-traders-ltd`: the root of version 1 line ids, kept to
/// read old plans.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_stable_ascii_ids() {
        assert_eq!(
            super::slug("Northwind Traders Ltd."),
            "northwind-traders-ltd"
        );
        assert_eq!(super::slug("  A&B  "), "a-b");
    }

    #[test]
    fn line_ids_start_at_the_tenant_whatever_its_case() {
        assert_eq!(
            super::line_id_root(" Northwind.onmicrosoft.com "),
            "northwind.onmicrosoft.com"
        );
    }
}
