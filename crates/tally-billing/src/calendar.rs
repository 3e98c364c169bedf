//! Dates: Microsoft NCE terms and charge cycles, and MSP billing periods.
//!
//! Microsoft's documented tables (`tests/oracles/doc-tables/nce_05..08`) are
//! the reference. Month arithmetic clamps to the month end (January 31 plus
//! one month is February 28), and a term or cycle ends the day before the
//! next one starts.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// Days from `start` to `end` with both ends counted (Microsoft's "billing
/// days" and the PSA convention); 0 when `end` is before `start`.
pub fn inclusive_days(start: NaiveDate, end: NaiveDate) -> i64 {
    if end < start {
        0
    } else {
        (end - start).num_days() + 1
    }
}

/// An NCE commitment term: the one `Term` of the workspace (snapshot subscriptions, rule
/// lines and `m365.sku("X", "annual")` all use it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    Monthly,
    Annual,
    Triennial,
}

impl Term {
    pub const ALL: [Term; 3] = [Term::Monthly, Term::Annual, Term::Triennial];

    pub fn months(self) -> u32 {
        match self {
            Term::Monthly => 1,
            Term::Annual => 12,
            Term::Triennial => 36,
        }
    }

    /// The name in rules and JSON: `monthly`, `annual` or `triennial`.
    pub fn name(self) -> &'static str {
        match self {
            Term::Monthly => "monthly",
            Term::Annual => "annual",
            Term::Triennial => "triennial",
        }
    }

    /// Inverse of [`Term::name`]; exact match.
    pub fn from_name(name: &str) -> Option<Term> {
        Term::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Length of a billing (charge) cycle: the billing plan, not the term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CycleLength {
    Month,
    /// Three months: an MSP's quarterly service.
    Quarter,
    Year,
    /// A triennial commitment billed for its whole term.
    ThreeYears,
}

impl CycleLength {
    pub fn months(self) -> u32 {
        match self {
            CycleLength::Month => 1,
            CycleLength::Quarter => 3,
            CycleLength::Year => 12,
            CycleLength::ThreeYears => 36,
        }
    }

    /// The cycle a commitment term is billed in when it is paid for the whole term.
    pub fn of_term(term: Term) -> CycleLength {
        match term {
            Term::Monthly => CycleLength::Month,
            Term::Annual => CycleLength::Year,
            Term::Triennial => CycleLength::ThreeYears,
        }
    }
}

/// A line's billing cycles: from `anchor`, each `length` long, clamped to month ends as NCE
/// terms are (a cycle from January 31 is followed by one from February 28).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cycles {
    pub anchor: NaiveDate,
    pub length: CycleLength,
}

impl Cycles {
    /// The cycle holding `day`, as (first day, last day); `None` before the anchor.
    pub fn containing(&self, day: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        cycle_containing(self.anchor, self.length, day)
    }

    /// The cycle that starts within `from..=to`, if one does.
    pub fn starting_within(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Option<(NaiveDate, NaiveDate)> {
        self.containing(to).filter(|(start, _)| *start >= from)
    }

    /// The divisor of a prorated charge in the cycle starting on `start` ([`cycle_days`]).
    pub fn days(&self, start: NaiveDate) -> i64 {
        cycle_days(start, self.length)
    }
}

/// Where later monthly cycles of a term fall when the term starts late in a
/// month. Microsoft's own tables disagree (see [`cycle_containing_anchored`]),
/// so this is a named choice; [`MonthAnchor::DayOfMonth`] is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthAnchor {
    /// Cycle `k` starts `k` months after the term start, clamped to the month
    /// end: a term from January 30 has cycles from February 28, March 30,
    /// April 30. Matches the monthly-term tables (nce_05, nce_07), the
    /// last-day table (nce_06) and every term end date.
    #[default]
    DayOfMonth,
    /// For terms starting on the 29th-31st, cycle `k` starts as many days
    /// before its month end as the term start was before its own: a term
    /// from January 30 (one day before the end) has cycles from February 27,
    /// March 30, April 29. Reproduces nce_08 (annual term, monthly plan,
    /// bought on the day before the last). Starts on the 1st-28th behave as
    /// `DayOfMonth`.
    FromMonthEnd,
}

impl MonthAnchor {
    pub const ALL: [MonthAnchor; 2] = [MonthAnchor::DayOfMonth, MonthAnchor::FromMonthEnd];

    /// The snake_case name used in rule files.
    pub fn name(self) -> &'static str {
        match self {
            MonthAnchor::DayOfMonth => "day_of_month",
            MonthAnchor::FromMonthEnd => "from_month_end",
        }
    }

    /// Inverse of [`MonthAnchor::name`]; exact match.
    pub fn from_name(s: &str) -> Option<MonthAnchor> {
        MonthAnchor::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// The last day of a term of `length` starting on `start`: one term later,
/// clamped to the month end, minus one day (2021-01-31 + one month ->
/// 2021-02-28 -> ends 2021-02-27, so it renews on the 28th). `None` only
/// beyond chrono's date range.
pub fn term_end(start: NaiveDate, length: Term) -> Option<NaiveDate> {
    start
        .checked_add_months(Months::new(length.months()))?
        .pred_opt()
}

/// The charge cycle of a term starting `term_start` that contains `date`, as
/// `(cycle_start, cycle_end)`, using the default [`MonthAnchor::DayOfMonth`].
/// `None` if `date` is before `term_start`.
///
/// Cycles repeat from `term_start` without end; pass the current term's
/// start (a renewed monthly term restarts from its renewal date, which is
/// how 2021-01-31 drifts to 2021-02-28 and then 2021-03-28 in nce_05).
pub fn cycle_containing(
    term_start: NaiveDate,
    plan: CycleLength,
    date: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    cycle_containing_anchored(term_start, plan, date, MonthAnchor::DayOfMonth)
}

/// [`cycle_containing`] with an explicit [`MonthAnchor`].
///
/// The anchor only matters for terms starting on the 29th-31st. Microsoft's
/// nce_06 table (bought on January 31) fits both anchors; nce_08 (bought on
/// January 30) fits only [`MonthAnchor::FromMonthEnd`], while the monthly
/// term bought the same day (nce_07) ends on February 27 as `DayOfMonth`
/// says. Yearly cycles come out the same under both anchors.
pub fn cycle_containing_anchored(
    term_start: NaiveDate,
    plan: CycleLength,
    date: NaiveDate,
    anchor: MonthAnchor,
) -> Option<(NaiveDate, NaiveDate)> {
    if date < term_start {
        return None;
    }
    let step = plan.months();
    // Cycle k starts in calendar month (term start month + k * step) under
    // either anchor, so counting months gives k exactly or one too many
    // (when `date` falls before that month's anchor day).
    let months_apart =
        (date.year() - term_start.year()) * 12 + date.month() as i32 - term_start.month() as i32;
    let mut k = u32::try_from(months_apart).ok()? / step;
    let mut start = nth_cycle_start(term_start, k.checked_mul(step)?, anchor)?;
    while start > date {
        k = k.checked_sub(1)?;
        start = nth_cycle_start(term_start, k.checked_mul(step)?, anchor)?;
    }
    let next = nth_cycle_start(term_start, k.checked_add(1)?.checked_mul(step)?, anchor)?;
    Some((start, next.pred_opt()?))
}

/// Start of the cycle `months` months after `term_start`.
fn nth_cycle_start(term_start: NaiveDate, months: u32, anchor: MonthAnchor) -> Option<NaiveDate> {
    match anchor {
        MonthAnchor::FromMonthEnd if term_start.day() > 28 => {
            let offset = days_in_month(term_start).checked_sub(term_start.day())?;
            let target = term_start
                .with_day(1)?
                .checked_add_months(Months::new(months))?;
            let target_last = target.with_day(days_in_month(target))?;
            target_last.checked_sub_days(Days::new(u64::from(offset)))
        }
        _ => term_start.checked_add_months(Months::new(months)),
    }
}

/// Microsoft's "cycle days", the divisor of a prorated charge: for a monthly
/// cycle, the number of days of the calendar month the cycle starts in
/// (28..=31), not the cycle's own length (the cycle 2021-01-31..2021-02-27 is
/// 28 days long but has 31 cycle days); for a yearly cycle 366 if the year
/// from `cycle_start` contains a February 29, else 365; for a quarter or a
/// three-year term, its own days.
///
/// Edge case, kept as the rule states: a yearly cycle starting on February
/// 29 contains that day, so it has 366 cycle days although it is 365 days
/// long (2024-02-29..2025-02-27).
pub fn cycle_days(cycle_start: NaiveDate, plan: CycleLength) -> i64 {
    match plan {
        CycleLength::Month => i64::from(days_in_month(cycle_start)),
        // Quarters and three-year terms have no rule of Microsoft's: their own days.
        CycleLength::Quarter | CycleLength::ThreeYears => cycle_start
            .checked_add_months(Months::new(plan.months()))
            .and_then(|next| next.pred_opt())
            .map_or(0, |end| inclusive_days(cycle_start, end)),
        CycleLength::Year => {
            let year = cycle_start.year();
            // A start in January/February reaches this year's February 29;
            // a later start reaches next year's.
            let contains_feb_29 = if cycle_start.month() <= 2 {
                is_leap(year)
            } else {
                is_leap(year + 1)
            };
            if contains_feb_29 { 366 } else { 365 }
        }
    }
}

/// The calendar-month billing period containing `date` that starts on day
/// `billing_day` (1..=28, so every month has it): billing day 15 gives
/// 2026-10-15..2026-11-14 for any date in that span. `None` for a billing
/// day outside 1..=28.
pub fn billing_period(date: NaiveDate, billing_day: u32) -> Option<(NaiveDate, NaiveDate)> {
    if !(1..=28).contains(&billing_day) {
        return None;
    }
    let this_month = date.with_day(billing_day)?;
    let start = if date.day() >= billing_day {
        this_month
    } else {
        this_month.checked_sub_months(Months::new(1))?
    };
    let end = start.checked_add_months(Months::new(1))?.pred_opt()?;
    Some((start, end))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in the calendar month of `date`, by table rather than by date
/// arithmetic so it cannot fail at the edge of chrono's range.
fn days_in_month(date: NaiveDate) -> u32 {
    match date.month() {
        2 if is_leap(date.year()) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn cycle_containing_steps_back_before_the_anchor_day() {
        let start = d(2021, 6, 18);
        let c = cycle_containing(start, CycleLength::Month, d(2021, 8, 2)).unwrap();
        assert_eq!(c, (d(2021, 7, 18), d(2021, 8, 17)));
        assert_eq!(
            cycle_containing(start, CycleLength::Month, d(2021, 6, 17)),
            None
        );
    }

    #[test]
    fn yearly_cycle_days_count_feb_29() {
        assert_eq!(cycle_days(d(2021, 6, 18), CycleLength::Year), 365);
        assert_eq!(cycle_days(d(2023, 3, 1), CycleLength::Year), 366);
        assert_eq!(cycle_days(d(2024, 2, 29), CycleLength::Year), 366);
        assert_eq!(cycle_days(d(2024, 3, 1), CycleLength::Year), 365);
    }

    #[test]
    fn quarters_and_three_year_terms_count_their_own_days() {
        assert_eq!(cycle_days(d(2026, 1, 1), CycleLength::Quarter), 90);
        assert_eq!(cycle_days(d(2026, 2, 11), CycleLength::Quarter), 89);
        assert_eq!(cycle_days(d(2026, 7, 1), CycleLength::Quarter), 92);
        assert_eq!(cycle_days(d(2026, 2, 11), CycleLength::ThreeYears), 1096);
        let q = cycle_containing(d(2026, 2, 11), CycleLength::Quarter, d(2026, 6, 1));
        assert_eq!(q, Some((d(2026, 5, 11), d(2026, 8, 10))));
    }
}
