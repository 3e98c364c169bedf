//! The driver: one view of the tenant per day the rules need, every line evaluated on the day
//! it is measured, and the day-by-day counts of the lines that need more than one day.

use super::{Evaluator, expected};
use crate::{DayCount, EvalError, Evaluation, History, LineResult};
use chrono::{Months, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};
use tally_diagnostics::{Code, Diagnostic, Names};
use tally_ir::{Billing, Line, Measure, Program, Prorate};
use tally_snapshot::{Period, Snapshot, Tenant};

/// Every runtime error found, each in its file.
type Errors<T> = std::result::Result<T, Vec<EvalError>>;

/// Evaluates every line of the program for the period. All lines are evaluated even when one
/// fails, so that every runtime error is reported at once.
pub fn evaluate(
    program: &Program,
    snapshot: &Snapshot,
    period: &Period,
) -> std::result::Result<Evaluation, Vec<EvalError>> {
    let Some(tenant) = snapshot.tenant(&program.customer.tenant) else {
        return Err(vec![missing_tenant(program, snapshot)]);
    };
    let previous = previous_period(period);
    let changes = tenant.change_dates();
    // One view of the tenant per day the rules need, and one evaluator (with its own cache of
    // definitions) per view.
    let views: BTreeMap<NaiveDate, Tenant> = days_needed(program, period, &previous, &changes)
        .into_iter()
        .map(|day| (day, tenant.at(day)))
        .collect();
    let mut days = Days {
        evaluators: views
            .iter()
            .map(|(day, view)| (*day, Evaluator::new(program, view, period, snapshot, *day)))
            .collect(),
        period,
        previous: &previous,
        changes: &changes,
    };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for line in &program.lines {
        match days.line(line) {
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

/// The day whose data a line's quantity, price and minimum are read from.
fn measured_on(line: &Line, period: &Period) -> NaiveDate {
    match (line.prorate == Prorate::Daily, line.billing, line.measure) {
        (true, Billing::Advance, _) => period.start,
        (true, Billing::Arrears, _) => period.end,
        (false, _, Measure::Start) => period.start,
        (false, _, Measure::End | Measure::Max) => period.end,
    }
}

/// The evaluators of every day the rules need.
struct Days<'p> {
    evaluators: BTreeMap<NaiveDate, Evaluator<'p>>,
    period: &'p Period,
    previous: &'p Period,
    changes: &'p BTreeSet<NaiveDate>,
}

impl<'p> Days<'p> {
    /// One line on the day it is measured, with its history when it needs one.
    fn line(&mut self, line: &Line) -> Errors<LineResult> {
        let main = measured_on(line, self.period);
        let mut result = self.on(main, line)?.line(line).map_err(|e| vec![*e])?;
        result.measured_on = main;
        if line.needs_history() {
            let history = self.history(line)?;
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
    fn history(&mut self, line: &Line) -> Errors<History> {
        let (from, to) = if line.prorate == Prorate::Daily && line.billing == Billing::Advance {
            (self.previous.start, self.previous.end)
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
