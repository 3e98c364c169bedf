//! Prorated lines. An advance line bills the period at its count on the first day, and trues up
//! the previous period's changes by day on separate lines; an arrears line bills each stretch of
//! the period at the count it had. Days are counted with both ends included, over the cycle's
//! days (Microsoft's rule: the days of the calendar month the cycle starts in), and each charge
//! is rounded with the line's named strategy.

use crate::model::{PlanLine, Proration};
use chrono::NaiveDate;
use tally_billing::{CycleLength, Cycles, cycle_days, inclusive_days, prorate, term_end};
use tally_eval::{DayCount, History};
use tally_ir::Line;
use tally_ir::Trueup;
use tally_money::Money;
use tally_snapshot::{Period, SubscribedSku, Term};

/// A line's unit price over days, rounded: each entry holds from its day until the next; before
/// the first entry (or with none), the price the line was measured with.
pub(crate) struct Prices {
    pub schedule: Vec<(NaiveDate, Money)>,
    pub measured: Money,
}

impl Prices {
    /// `from..=to` cut where the price changes: (first day, last day, unit price) of each piece.
    fn pieces(&self, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate, Money)> {
        let price_on = |day: NaiveDate| {
            self.schedule
                .iter()
                .rev()
                .find(|(start, _)| *start <= day)
                .map_or(self.measured, |(_, price)| *price)
        };
        let mut pieces = vec![(from, to, price_on(from))];
        for (start, price) in &self.schedule {
            if *start <= from || *start > to {
                continue;
            }
            let Some(last) = pieces.last_mut() else { break };
            if last.2 == *price {
                continue;
            }
            last.1 = start.pred_opt().unwrap_or(*start);
            pieces.push((*start, to, *price));
        }
        pieces
    }
}

/// One prorated charge: `quantity` units for the days `from..=to` of a cycle of `cycle` days.
struct Charge<'a> {
    quantity: i64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    cycle: i64,
    /// Appended to the base line's id.
    suffix: String,
    /// "refund " or "charge " for Microsoft-style true-ups, "" otherwise.
    what: &'a str,
}

/// One prorated charge as an invoice line derived from `base`.
fn charge(
    rule: &Line,
    base: &PlanLine,
    unit_price: Money,
    charge: Charge<'_>,
) -> Result<(PlanLine, Money), String> {
    let Charge {
        quantity,
        from,
        to,
        cycle,
        suffix,
        what,
    } = charge;
    let days = inclusive_days(from, to);
    let strategy = rule.rounding.proration();
    let prorated =
        prorate(unit_price, quantity, days, cycle, strategy).map_err(|e| e.to_string())?;
    let mut line = base.clone();
    line.id = format!("{}/{suffix}", base.id);
    line.quantity = quantity;
    line.unit_price = Some(unit_price.to_minor_unit());
    line.amount = Some(prorated.amount.to_minor_unit());
    let stretch = format!("{from} to {to}, prorated {days}/{cycle} days");
    line.description = match what {
        "" if suffix_is_trueup(&line.id) => {
            format!("{}: {quantity:+} × {stretch}", rule.description)
        }
        "" => format!("{}: {stretch}", rule.description),
        word => format!("{}: {word}{} × {stretch}", rule.description, quantity.abs()),
    };
    line.period = crate::model::PlanPeriod {
        start: from,
        end: to,
    };
    line.proration = Some(Proration {
        from,
        to,
        days,
        cycle_days: cycle,
        rounding: strategy,
        effective_unit_price: prorated.effective_unit_price.normalize(),
    });
    Ok((line, prorated.amount))
}

/// NCE lets seats be reduced only within 7 days (168 hours) of the term starting or renewing,
/// or of the seats being added. Without a known term start nothing can be judged, so the
/// reduction stands.
fn reduction_allowed_on(
    day: NaiveDate,
    subscriptions: &[SubscribedSku],
    before: &[DayCount],
) -> bool {
    let within = |from: NaiveDate| tally_billing::reduction_allowed_on(from, day);
    let added_recently = before
        .windows(2)
        .any(|w| matches!(w, [a, b] if b.billed > a.billed && within(b.from)));
    if added_recently {
        return true;
    }
    let terms: Vec<(NaiveDate, Term)> = subscriptions
        .iter()
        .filter_map(|s| s.term_start.map(|start| (start, s.term)))
        .collect();
    if terms.is_empty() || terms.len() < subscriptions.len() {
        return true;
    }
    terms.iter().any(|(start, length)| {
        // The start of the term (or renewal) in force on the day.
        let mut term = *start;
        while let Some(end) = term_end(term, *length) {
            if end >= day {
                break;
            }
            match end.succ_opt() {
                Some(next) => term = next,
                None => break,
            }
        }
        within(term)
    })
}

fn suffix_is_trueup(id: &str) -> bool {
    id.contains("/trueup/")
}

/// True-up lines for the changes of the previous period. The previous plan billed the count on
/// its first day; each later change is billed from its day to the period's end, as the
/// difference (`trueup delta`) or as a refund of the old count and a charge of the new one
/// (`trueup replace`, Microsoft's way).
/// What a true-up is billed over: the customer's previous billing period, or the line's own
/// cycles (`every ...`).
pub(crate) enum TrueupCycle<'a> {
    Period(&'a Period),
    Cycles(&'a Cycles),
}

impl TrueupCycle<'_> {
    /// A change on `day` is billed to the end of its cycle, over the cycle's days: the
    /// customer's billing period (Microsoft's monthly rule: the days of the month it starts
    /// in), or the line's own cycle (a year's 365 or 366 days, a quarter's, a term's). `None`
    /// before the first cycle, and on a cycle's first day, whose count the cycle's own charge
    /// already billed.
    fn of(&self, day: NaiveDate) -> Option<(NaiveDate, i64)> {
        match self {
            TrueupCycle::Cycles(cycles) => cycles
                .containing(day)
                .filter(|(start, _)| *start != day)
                .map(|(start, end)| (end, cycles.days(start))),
            TrueupCycle::Period(previous) => {
                Some((previous.end, cycle_days(previous.start, CycleLength::Month)))
            }
        }
    }
}

pub(crate) fn trueups(
    rule: &Line,
    base: &PlanLine,
    prices: &Prices,
    history: &History,
    cycle: TrueupCycle<'_>,
    subscriptions: &[SubscribedSku],
    flags: &mut Vec<String>,
) -> Result<Vec<(PlanLine, Money)>, String> {
    let mut out = Vec::new();
    for (index, pair) in history.points.windows(2).enumerate() {
        let [before, after] = pair else { continue };
        let old = i64::try_from(before.billed).map_err(|e| e.to_string())?;
        let new = i64::try_from(after.billed).map_err(|e| e.to_string())?;
        let day = after.from;
        if new < old
            && !reduction_allowed_on(
                day,
                subscriptions,
                history.points.get(..=index).unwrap_or(&[]),
            )
        {
            flags.push(format!(
                "{} seats fewer on {day} is outside Microsoft's 7-day window after the term started or renewed: Microsoft keeps billing them, so the reduction is not credited",
                old - new
            ));
            continue;
        }
        // Before the first cycle there is nothing to true up.
        let Some((to, cycle)) = cycle.of(day) else {
            continue;
        };
        let at = |quantity: i64, suffix: String, what: &'static str| Charge {
            quantity,
            from: day,
            to,
            cycle,
            suffix,
            what,
        };
        let charges = match rule.trueup {
            Trueup::Delta => vec![at(new - old, format!("trueup/{day}"), "")],
            Trueup::Replace => [
                (old != 0).then(|| at(-old, format!("trueup/{day}/refund"), "refund ")),
                (new != 0).then(|| at(new, format!("trueup/{day}/charge"), "charge ")),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        for c in charges {
            out.extend(priced_charges(rule, base, prices, c)?);
        }
    }
    Ok(out)
}

/// A charge over days at more than one price becomes one charge per price; the first keeps the
/// charge's id, each later one adds its first day.
fn priced_charges(
    rule: &Line,
    base: &PlanLine,
    prices: &Prices,
    whole: Charge<'_>,
) -> Result<Vec<(PlanLine, Money)>, String> {
    let mut out = Vec::new();
    for (index, (from, to, price)) in prices.pieces(whole.from, whole.to).into_iter().enumerate() {
        let suffix = if index == 0 {
            whole.suffix.clone()
        } else {
            format!("{}/{from}", whole.suffix)
        };
        let piece = Charge {
            from,
            to,
            suffix,
            ..whole
        };
        out.push(charge(rule, base, price, piece)?);
    }
    Ok(out)
}

/// An arrears line billed stretch by stretch at the count each stretch had.
pub(crate) fn segments(
    rule: &Line,
    base: &PlanLine,
    prices: &Prices,
    history: &History,
    period: &Period,
) -> Result<Vec<(PlanLine, Money)>, String> {
    let cycle = cycle_days(period.start, CycleLength::Month);
    let mut out = Vec::new();
    for (from, to, billed) in history.segments() {
        let quantity = i64::try_from(billed).map_err(|e| e.to_string())?;
        if quantity == 0 {
            continue;
        }
        // A stretch at one count but two prices is two stretches, each named by its first day.
        for (from, to, price) in prices.pieces(from, to) {
            let c = Charge {
                quantity,
                from,
                to,
                cycle,
                suffix: from.to_string(),
                what: "",
            };
            out.push(charge(rule, base, price, c)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Prices;
    use chrono::NaiveDate;
    use tally_money::{Currency, Decimal, Money};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap_or_default()
    }

    fn gbp(pence: i64) -> Money {
        Money::new(
            Decimal::new(pence, 2),
            Currency::from_code("GBP").unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn a_stretch_is_cut_where_the_price_changes() {
        let prices = Prices {
            schedule: vec![(day(1), gbp(310)), (day(17), gbp(620))],
            measured: gbp(620),
        };
        assert_eq!(
            prices.pieces(day(1), day(31)),
            [(day(1), day(16), gbp(310)), (day(17), day(31), gbp(620))]
        );
        // Entirely after the change: one piece at the later price.
        assert_eq!(
            prices.pieces(day(20), day(31)),
            [(day(20), day(31), gbp(620))]
        );
    }

    #[test]
    fn without_a_schedule_every_day_has_the_measured_price() {
        let prices = Prices {
            schedule: Vec::new(),
            measured: gbp(500),
        };
        assert_eq!(prices.pieces(day(3), day(9)), [(day(3), day(9), gbp(500))]);
    }
}
