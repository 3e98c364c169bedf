//! Which days a plan covers: the month asked for (or the snapshot's own period), and within it
//! each customer's billing period, which starts on the customer's billing day.

use crate::Failure;
use chrono::{Datelike, NaiveDate};
use tally_snapshot::{Period, Snapshot};

/// `2026-10` → 1 to 31 October 2026.
pub fn month(text: &str) -> Result<Period, Failure> {
    let bad = || {
        Failure::Refusal(format!(
            "`{text}` is not a month: write YYYY-MM, e.g. 2026-10"
        ))
    };
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u32 = month.parse().map_err(|_| bad())?;
    let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .ok_or_else(bad)?;
    Ok(Period { start, end })
}

/// The period to plan: the month asked for (it must be the snapshot's month, when the snapshot
/// has a period), else the snapshot's own. `snapshot_name` names the snapshot in refusals.
pub fn plan_period(
    snapshot: &Snapshot,
    requested: Option<Period>,
    snapshot_name: &str,
) -> Result<Period, Failure> {
    match (requested, snapshot.period) {
        (Some(asked), Some(has))
            if (asked.start.year(), asked.start.month())
                != (has.start.year(), has.start.month()) =>
        {
            Err(Failure::Refusal(format!(
                "the snapshot `{snapshot_name}` is for {} to {}, not {}-{:02}",
                has.start,
                has.end,
                asked.start.year(),
                asked.start.month()
            )))
        }
        (Some(asked), Some(has)) if asked.start.day() == 1 => Ok(has),
        (Some(asked), _) => Ok(asked),
        (None, Some(has)) => Ok(has),
        (None, None) => Err(Failure::Refusal(format!(
            "the snapshot `{snapshot_name}` has no period: give one with `--period YYYY-MM`"
        ))),
    }
}

/// A customer's billing period in the month `period` starts in: from its billing day to the
/// day before that day a month later (billing day 1: the calendar month). A period that already
/// starts on the billing day is taken as it is (a snapshot may give it exactly). `None` for a
/// billing day outside 1..=28, which the checker rejects.
pub fn customer_period(period: &Period, billing_day: u32) -> Option<Period> {
    if period.start.day() == billing_day {
        return Some(*period);
    }
    let first = period.start.with_day(billing_day)?;
    let (start, end) = tally_billing::billing_period(first, billing_day)?;
    Some(Period { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn months_run_from_the_first_to_the_last_day() {
        assert_eq!(
            month("2024-02").ok(),
            Some(Period {
                start: d(2024, 2, 1),
                end: d(2024, 2, 29)
            })
        );
        assert!(month("2024-13").is_err());
        assert!(month("October").is_err());
    }

    #[test]
    fn a_billing_day_starts_the_period_in_the_month_asked() {
        let october = Period {
            start: d(2026, 10, 1),
            end: d(2026, 10, 31),
        };
        let period = customer_period(&october, 15);
        assert_eq!(
            period,
            Some(Period {
                start: d(2026, 10, 15),
                end: d(2026, 11, 14)
            })
        );
        assert_eq!(customer_period(&october, 1), Some(october));
        assert!(customer_period(&october, 31).is_none());
    }
}
