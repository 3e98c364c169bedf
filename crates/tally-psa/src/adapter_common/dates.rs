//! Days on the wire: the PSAs' dates are `date-time`s (RFC 3339), Tally's are whole days.

use chrono::NaiveDate;

/// A day as a `date-time`: midnight, UTC.
pub(crate) fn date_time(day: NaiveDate) -> String {
    format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
}

/// The day a PSA's `date-time` (or plain date) falls on; `None` when there is none.
pub(crate) fn day(text: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text?.get(..10)?, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_date_times() {
        let first = NaiveDate::from_ymd_opt(2026, 10, 1);
        assert_eq!(day(Some("2026-10-01T00:00:00Z")), first);
        assert_eq!(day(Some("2026-10-01")), first);
        assert_eq!(day(Some("2026-10")), None);
        assert_eq!(day(None), None);
        assert_eq!(
            first.map(date_time).as_deref(),
            Some("2026-10-01T00:00:00Z")
        );
    }
}
