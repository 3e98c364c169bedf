//! The driver: one view of the tenant per day the rules need, every line evaluated on the day
//! it is measured, and the day-by-day counts of the lines that need more than one day.

use super::{Evaluator, expected};
use crate::{DayCount, EvalError, Evaluation, History, LineCycles, LineResult};
use chrono::{Months, NaiveDate};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use tally_billing::{CycleLength, Cycles};
use tally_diagnostics::{Code, Diagnostic, Names};
use tally_ir::{Billing, Cadence, Line, Measure, Program, Prorate, Term};
use tally_snapshot::{BillingPlan, Period, Snapshot, SubscribedSku, Tenant};

/// Every runtime error found, each in its file.
type Errors<T> = std::result::Result<T, Vec<EvalError>>;

/// Evaluates every line of the program for the period. All lines are evaluated even when one
/// fails, so that every runtime error is reported at once. Filters record how many records each
/// condition excluded; [`evaluate_explained`] also records who.
pub fn evaluate(
    program: &Program,
    snapshot: &Snapshot,
    period: &Period,
) -> std::result::Result<Evaluation, Vec<EvalError>> {
    evaluate_with(program, snapshot, period, Detail::Steps)
}

/// [`evaluate`], with the names of the records each filter excluded, for an explanation.
pub fn evaluate_explained(
    program: &Program,
    snapshot: &Snapshot,
    period: &Period,
) -> std::result::Result<Evaluation, Vec<EvalError>> {
    evaluate_with(program, snapshot, period, Detail::Names)
}

/// How much of its working an evaluation keeps. The values, and so every amount, are the same
/// at every level; only the explanation differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Values only: what a plan's amounts need.
    Amounts,
    /// Each clause's steps, rule text and value (a plan's provenance `drivers`); filters count
    /// whom each condition excluded.
    #[default]
    Steps,
    /// Steps, and the names of whom each filter excluded (`explain`).
    Names,
}

/// [`evaluate`] keeping as much of its working as `detail` says.
pub fn evaluate_with(
    program: &Program,
    snapshot: &Snapshot,
    period: &Period,
    detail: Detail,
) -> std::result::Result<Evaluation, Vec<EvalError>> {
    let Some(tenant) = snapshot.tenant(&program.customer.tenant) else {
        return Err(vec![missing_tenant(program, snapshot)]);
    };
    let previous = previous_period(period);
    let changes = tenant.change_dates();
    // Each line's cycles, for the lines with a cadence (a problem is that line's error).
    let cycles: Vec<Result<Option<LineCycles>, Box<EvalError>>> = program
        .lines
        .iter()
        .map(|line| line_cycles(line, tenant, period))
        .collect();
    // One view of the tenant per day the rules need, and one evaluator (with its own cache of
    // definitions) per view.
    let mut needed = days_needed(program, period, &previous, &changes);
    for (line, cycles) in program.lines.iter().zip(&cycles) {
        if let Ok(Some(cycles)) = cycles {
            needed.extend(cycles.billed.map(|(start, _)| start));
            if line.prorate == Prorate::Daily {
                needed.insert(history_start(&previous, Some(*cycles)));
            }
        }
    }
    // The tenant is the same on every day between two change dates, so the days of one stretch
    // share one view; a tenant with no dated changes is its own view, and no user is copied.
    let stretch = |day: &NaiveDate| changes.range(..=*day).count();
    let mut views: BTreeMap<usize, Cow<'_, Tenant>> = BTreeMap::new();
    for day in &needed {
        views.entry(stretch(day)).or_insert_with(|| {
            if changes.is_empty() {
                Cow::Borrowed(tenant)
            } else {
                Cow::Owned(tenant.at(*day))
            }
        });
    }
    let mut days = Days {
        evaluators: needed
            .iter()
            .filter_map(|day| {
                let view = views.get(&stretch(day))?;
                let evaluator = Evaluator::new(program, view, period, snapshot, *day, detail);
                Some((*day, evaluator))
            })
            .collect(),
        period,
        previous: &previous,
        changes: &changes,
    };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (line, cycles) in program.lines.iter().zip(cycles) {
        let result = cycles
            .map_err(|e| vec![*e])
            .and_then(|cycles| days.line(line, cycles));
        match result {
            Ok(result) => lines.push(result),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(Evaluation { lines, previous })
    } else {
        Err(errors)
    }
}

/// The period before `period`: one month earlier, ending the day before it starts.
pub fn previous_period(period: &Period) -> Period {
    let end = period.start.pred_opt().unwrap_or(period.start);
    let start = period
        .start
        .checked_sub_months(Months::new(1))
        .unwrap_or(end);
    Period { start, end }
}

fn missing_tenant(program: &Program, snapshot: &Snapshot) -> EvalError {
    let names = Names::new(&program.customer.tenant, snapshot.tenant_names())
        .listed_as("the snapshot has")
        .when_none("the snapshot has no tenants");
    let span = program.customer.tenant_span;
    let diagnostic = Diagnostic::error(
        Code::MissingTenant,
        format!(
            "tenant `{}` is not in the snapshot",
            program.customer.tenant
        ),
        span,
    )
    .with_label_message("no such tenant in the snapshot")
    .with_name_help(span, &names);
    EvalError {
        module: program.customer.module.clone(),
        diagnostic,
    }
}

/// The period's first and last days; with lines that need history, also the previous period's
/// start and every change from then to the period's end.
fn days_needed(
    program: &Program,
    period: &Period,
    previous: &Period,
    changes: &BTreeSet<NaiveDate>,
) -> BTreeSet<NaiveDate> {
    let mut days: BTreeSet<NaiveDate> = [period.start, period.end].into_iter().collect();
    if program.lines.iter().any(Line::needs_history) {
        days.insert(previous.start);
        days.extend(changes.range(previous.start..=period.end));
    }
    for line in program.lines.iter().filter(|l| l.prorate == Prorate::Daily) {
        days.extend(line.price_changes(previous.start, period.end));
    }
    days
}

/// Where a prorated advance line's history starts: the previous period's first day, whose
/// count the previous plan billed. A line with its own cycles billed that count only if a cycle
/// started that day; otherwise a change on that day is still to be trued up, so the history
/// starts the day before.
fn history_start(previous: &Period, cycles: Option<LineCycles>) -> NaiveDate {
    let Some(cycles) = cycles else {
        return previous.start;
    };
    let cycle_starts_that_day = cycles
        .cycles
        .containing(previous.start)
        .is_some_and(|(start, _)| start == previous.start);
    if cycle_starts_that_day {
        previous.start
    } else {
        previous.start.pred_opt().unwrap_or(previous.start)
    }
}

/// The cycles of a line with a cadence: their length (the subscription's term for `every
/// term`) and their anchor (the rule's `starting` date, else the subscription's term start).
/// `None` for a line that follows the customer's billing periods.
fn line_cycles(
    line: &Line,
    tenant: &Tenant,
    period: &Period,
) -> Result<Option<LineCycles>, Box<EvalError>> {
    if !line.has_cycles() {
        return Ok(None);
    }
    let fail = |message: String, help: &str| {
        Box::new(EvalError {
            module: line.module.clone(),
            diagnostic: Diagnostic::error(Code::MissingData, message, line.span).with_help(help),
        })
    };
    let subscriptions: Vec<&SubscribedSku> = tenant
        .subscribed_skus
        .iter()
        .filter(|s| {
            line.seat_skus
                .iter()
                .any(|select| select.selects(&s.sku_id, s.term, s.term_start))
        })
        .collect();
    let needs_subscription = line.cadence == Cadence::Term || line.starting.is_none();
    let one = |what: &str, same: bool| -> Result<(), Box<EvalError>> {
        if !needs_subscription || same {
            return Ok(());
        }
        Err(fail(
            format!(
                "`{}` follows its subscription's {what}, but the line reads {} subscriptions with different ones",
                line.name,
                subscriptions.len()
            ),
            "bill each subscription on its own line: `m365.sku(\"SPB\", \"annual\")` selects a term, `m365.sku(\"SPB\", \"annual\", 2026-02-11)` the subscription whose first term started that day",
        ))
    };
    let first = subscriptions.first();
    if needs_subscription && first.is_none() {
        return Err(fail(
            format!(
                "`{}` bills every {}, but tenant `{}` has no subscription it reads",
                line.name,
                line.cadence.name(),
                tenant.tenant
            ),
            "check the SKU, or give the cycle a date: `every year starting 2026-02-11`",
        ));
    }
    one(
        "term",
        subscriptions
            .iter()
            .all(|s| Some(s.term) == first.map(|f| f.term)),
    )?;
    one(
        "term start",
        subscriptions
            .iter()
            .all(|s| s.term_start == first.and_then(|f| f.term_start)),
    )?;
    let length = match line.cadence {
        Cadence::Month => CycleLength::Month,
        Cadence::Quarter => CycleLength::Quarter,
        Cadence::Year => CycleLength::Year,
        Cadence::Term => CycleLength::of_term(first.map_or(Term::Annual, |s| s.term)),
    };
    let anchor = match line.starting.or_else(|| first.and_then(|s| s.term_start)) {
        Some(anchor) => anchor,
        None => {
            return Err(fail(
                format!(
                    "`{}` bills on its subscription's anniversary, but the snapshot gives no `term_start` for `{}`",
                    line.name,
                    first.map_or("it", |s| s.part_number.as_str())
                ),
                "add the subscription's term start to the snapshot, or give the cycle a date: `every year starting 2026-02-11`",
            ));
        }
    };
    let cycles = Cycles { anchor, length };
    Ok(Some(LineCycles {
        cycles,
        billed: cycles.starting_within(period.start, period.end),
    }))
}

/// The day whose data a line's quantity, price and minimum are read from.
fn measured_on(line: &Line, period: &Period) -> NaiveDate {
    match (line.prorate == Prorate::Daily, line.billing, line.measure) {
        (true, Billing::Advance, _) => period.start,
        (true, Billing::Arrears, _) => period.end,
        (false, _, Measure::Start) => period.start,
        (false, _, Measure::End | Measure::Max) => period.end,
    }
}

/// An upfront subscription (paid for its whole term at once) resold on a line billed every
/// month: the customer would pay the term's price every month.
fn upfront_billed_monthly<'s>(
    line: &Line,
    mut resold: impl Iterator<Item = &'s SubscribedSku>,
) -> Option<String> {
    let upfront =
        resold.find(|s| s.billing_plan == BillingPlan::Upfront && s.term != Term::Monthly)?;
    Some(format!(
        "`{}` bills {} every month, but Microsoft bills its {} term upfront, once a term: bill the line `every term`",
        line.name, upfront.part_number, upfront.term
    ))
}

/// The evaluators of every day the rules need.
struct Days<'p> {
    evaluators: BTreeMap<NaiveDate, Evaluator<'p>>,
    period: &'p Period,
    previous: &'p Period,
    changes: &'p BTreeSet<NaiveDate>,
}

impl<'p> Days<'p> {
    /// One line on the day it is measured (a cycle's first day, for a line with a cadence),
    /// with its history when it needs one.
    fn line(&mut self, line: &Line, cycles: Option<LineCycles>) -> Errors<LineResult> {
        let main = cycles
            .and_then(|c| c.billed)
            .map_or_else(|| measured_on(line, self.period), |(start, _)| start);
        let mut result = self.on(main, line)?.line(line).map_err(|e| vec![*e])?;
        result.measured_on = main;
        result.cycles = cycles;
        if cycles.is_none() {
            let resold = result.subscriptions.iter().filter(|s| {
                line.seat_skus
                    .iter()
                    .any(|select| select.guid.eq_ignore_ascii_case(s.sku_id.trim()))
            });
            result.warnings.extend(upfront_billed_monthly(line, resold));
        }
        if line.needs_history() {
            let history = self.history(line, cycles)?;
            // `measure max` bills the peak: a split follows the users of the peak day.
            if line.measure == Measure::Max
                && line.prorate == Prorate::None
                && let Some(peak) = history.peak()
                && peak.from != main
                && line.split.is_some()
            {
                result.split = self
                    .on(peak.from, line)?
                    .line_split(line)
                    .map_err(|e| vec![*e])?;
            }
            if line.prorate == Prorate::Daily && !line.dated_prices.is_empty() {
                result.prices = self.prices(line, &history, &mut result.conversions)?;
            }
            result.history = Some(history);
        }
        Ok(result)
    }

    /// How the line's counts moved: over the previous period for prorated advance lines (whose
    /// changes they true up), over the period otherwise.
    fn history(&mut self, line: &Line, cycles: Option<LineCycles>) -> Errors<History> {
        let (from, to) = if line.prorate == Prorate::Daily && line.billing == Billing::Advance {
            (history_start(self.previous, cycles), self.previous.end)
        } else {
            (self.period.start, self.period.end)
        };
        let changes = self.changes;
        let days = std::iter::once(from)
            .chain(changes.range(from..=to).copied().filter(|day| *day > from));
        let mut points = Vec::new();
        let mut errors = Vec::new();
        for day in days {
            let counts = self
                .on(day, line)
                .and_then(|evaluator| evaluator.counts(line).map_err(|e| vec![*e]));
            match counts {
                Ok((counted, billed)) => points.push(DayCount {
                    from: day,
                    counted,
                    billed,
                }),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Only the days on which the billed count changes matter.
        points.dedup_by(|later, earlier| later.billed == earlier.billed);
        Ok(History { from, to, points })
    }

    /// The unit price from the first day of the history and from each day a dated price starts
    /// or ends: prorated charges are priced day by day.
    fn prices(
        &mut self,
        line: &Line,
        history: &History,
        conversions: &mut Vec<crate::Conversion>,
    ) -> Errors<Vec<(NaiveDate, tally_money::Money)>> {
        let days =
            std::iter::once(history.from).chain(line.price_changes(history.from, history.to));
        let mut prices: Vec<(NaiveDate, tally_money::Money)> = Vec::new();
        for day in days {
            let (price, made) = self
                .on(day, line)?
                .price_on_day(line)
                .map_err(|e| vec![*e])?;
            for conversion in made {
                if !conversions.contains(&conversion) {
                    conversions.push(conversion);
                }
            }
            let Some(price) = price else {
                return Err(vec![EvalError {
                    module: line.module.clone(),
                    diagnostic: expected(format!("a price of `{}` on {day}", line.name), line.span),
                }]);
            };
            if prices.last().is_none_or(|(_, last)| *last != price) {
                prices.push((day, price));
            }
        }
        Ok(prices)
    }

    /// The evaluator of `day`, which [`days_needed`] always includes.
    fn on(&mut self, day: NaiveDate, line: &Line) -> Errors<&mut Evaluator<'p>> {
        self.evaluators.get_mut(&day).ok_or_else(|| {
            vec![EvalError {
                module: line.module.clone(),
                diagnostic: expected(format!("a view of the tenant on {day}"), line.span),
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Fixture;
    use super::*;
    use tally_ir::TExpr;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_previous_period_is_the_month_before() {
        let october = Period {
            start: day("2026-10-01"),
            end: day("2026-10-31"),
        };
        let september = Period {
            start: day("2026-09-01"),
            end: day("2026-09-30"),
        };
        assert_eq!(previous_period(&october), september);
        let from_the_18th = Period {
            start: day("2026-03-18"),
            end: day("2026-04-17"),
        };
        let before = previous_period(&from_the_18th);
        assert_eq!(
            (before.start, before.end),
            (day("2026-02-18"), day("2026-03-17"))
        );
    }

    #[test]
    fn lines_are_measured_on_their_day() {
        let fixture = Fixture::with_rules(
            "a qty = 1 price 1.00\n\
             b qty = 1 price 1.00 billing arrears\n\
             c qty = 1 price 1.00 measure end\n\
             d qty = 1 price 1.00 prorate daily\n\
             e qty = 1 price 1.00 billing arrears prorate daily\n\
             f qty = 1 price 1.00 measure max",
        );
        let evaluation = fixture.evaluate().unwrap();
        let days: Vec<String> = evaluation
            .lines
            .iter()
            .map(|l| l.measured_on.to_string())
            .collect();
        let (start, end) = ("2026-10-01", "2026-10-31");
        assert_eq!(days, [start, end, end, start, end, end]);
        // Prorated advance lines look back over the previous period.
        let histories: Vec<Option<(NaiveDate, NaiveDate)>> = evaluation
            .lines
            .iter()
            .map(|l| l.history.as_ref().map(|h| (h.from, h.to)))
            .collect();
        let october = Some((day(start), day(end)));
        let september = Some((day("2026-09-01"), day("2026-09-30")));
        assert_eq!(histories, [None, None, None, september, october, october]);
    }

    #[test]
    fn a_missing_tenant_suggests_the_closest() {
        let mut fixture = Fixture::new();
        fixture.program.customer.tenant = "contoso.onmicrosoft.co".into();
        let errors = fixture.evaluate().unwrap_err();
        assert_eq!(errors.len(), 1);
        let diagnostic = &errors[0].diagnostic;
        assert_eq!(diagnostic.code, Code::MissingTenant);
        assert_eq!(
            diagnostic.help.as_deref(),
            Some("did you mean `contoso.onmicrosoft.com`?")
        );
    }

    #[test]
    fn every_failing_line_is_reported() {
        let fixture = Fixture::with_rules(
            "a qty = counter(\"backup.users\") price 1.00\n\
             b qty = 1 price 1.00\n\
             c amount = 10.00 / (count(m365.users) - 4)",
        );
        let errors = fixture.evaluate().unwrap_err();
        let codes: Vec<Code> = errors.iter().map(|e| e.diagnostic.code).collect();
        assert_eq!(codes, [Code::MissingData, Code::DivisionByZero]);
    }

    #[test]
    fn an_expression_that_did_not_check_is_an_internal_error_at_its_line() {
        let mut fixture = Fixture::with_rules("a qty = 1 price 1.00");
        let span = fixture.program.lines[0].value.span;
        fixture.program.lines[0].value = TExpr::error(span);
        let errors = fixture.evaluate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].diagnostic.code, Code::Internal);
        assert_eq!(errors[0].diagnostic.primary_span(), span);
        assert_eq!(errors[0].module, fixture.program.customer.module);
    }
}
