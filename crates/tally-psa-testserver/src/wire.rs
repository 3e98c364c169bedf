//! Days and numbers as the fakes write and read them.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::value::RawValue;

/// A day as a `date-time`: midnight, UTC.
pub(crate) fn date_time(day: NaiveDate) -> String {
    format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
}

/// The day of a `date-time` or a plain date (`2026-10-01T00:00:00Z`, `2026-10-01`).
pub(crate) fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// A JSON number exactly as the decimal holds it (trailing zeros dropped).
pub(crate) fn number(d: Decimal) -> Box<RawValue> {
    RawValue::from_string(d.normalize().to_string()).unwrap_or_default()
}
