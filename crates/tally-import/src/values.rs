//! Parsing single values as Microsoft's exports write them. Each parser returns the message
//! for an error ("expected ..., found ..."); the caller adds file, line and column.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tally_money::Currency;
use tally_snapshot::{BillingPlan, Term};

/// A point in time as an export gives it: a day, and the time of day when the export has one.
///
/// CSV files carry only the day (`M/D/YYYY`); the API gives ISO-8601 date-times. `date` is the
/// day as written (an offset such as `-08:00` does not move it), `time` is the time of day in
/// UTC when an offset or `Z` is given, as written otherwise. Used to order events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
}

impl Stamp {
    pub fn day(date: NaiveDate) -> Stamp {
        Stamp { date, time: None }
    }
}

fn found(text: &str) -> String {
    format!("{text:?}")
}

/// An exact decimal: `12.30`, `-9.408`, `1E-05` (Excel writes small numbers so). Thousands
/// separators are refused rather than guessed: `1,209` is 1209 in en-US and 1.209 in de-DE.
pub(crate) fn decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.contains(',') {
        return Err(format!(
            "expected a number, found {} (write it without thousands separators, with `.` \
             as the decimal point)",
            found(text)
        ));
    }
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        Decimal::from_str_exact(t)
    };
    parsed.map_err(|_| {
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        if digits > 28
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            format!(
                "expected a number of at most 28 digits, found {} (it cannot be held exactly)",
                found(text)
            )
        } else {
            format!("expected a number, found {}", found(text))
        }
    })
}

/// A whole number of seats or units, zero or more: `25`, `"25"`, `25.0`.
pub(crate) fn whole(text: &str) -> Result<u32, String> {
    let wrong = || format!("expected a whole number, found {}", found(text));
    let value = decimal(text).map_err(|_| wrong())?;
    if !value.fract().is_zero() || value.is_sign_negative() && !value.is_zero() {
        return Err(wrong());
    }
    value.to_u32().ok_or_else(|| {
        format!(
            "expected a whole number up to {}, found {}",
            u32::MAX,
            found(text)
        )
    })
}

/// A non-negative integer count for the counts file: digits only (no sign, no decimals).
pub(crate) fn count(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected a whole number zero or more, found {}",
            found(text)
        ));
    }
    t.parse::<u64>().map_err(|_| {
        format!(
            "expected a whole number up to {}, found {}",
            u64::MAX,
            found(text)
        )
    })
}

/// A strict ISO date `YYYY-MM-DD`, as the counts file requires.
pub(crate) fn iso_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    let shape_ok = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!("expected a date YYYY-MM-DD, found {}", found(text)));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| format!("no such day: {}", found(text)))
}

/// A date or date-time as the exports write them:
///
/// - `M/D/YYYY` (Partner Center CSV, en-US), optionally followed by a time;
/// - ISO-8601 `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.f]` with or without `Z` or an offset;
/// - `June 18, 2021` (Microsoft's documentation tables).
pub(crate) fn stamp(text: &str) -> Result<Stamp, String> {
    let t = text.trim();
    let wrong = || {
        format!(
            "expected a date (M/D/YYYY or YYYY-MM-DD, optionally with a time), found {}",
            found(text)
        )
    };
    if t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') {
        return iso_stamp(t).ok_or_else(wrong);
    }
    if t.contains('/') {
        return slash_stamp(t).ok_or_else(wrong);
    }
    NaiveDate::parse_from_str(t, "%B %d, %Y")
        .map(Stamp::day)
        .map_err(|_| wrong())
}

fn iso_stamp(t: &str) -> Option<Stamp> {
    let (date_part, rest) = (t.get(..10)?, t.get(10..)?);
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok()?;
    let rest = rest.trim_start_matches(['T', 't', ' ']);
    if rest.is_empty() {
        return Some(Stamp::day(date));
    }
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(&format!("{date_part}T{rest}")) {
        return Some(Stamp {
            date,
            time: Some(with_offset.naive_utc().time()),
        });
    }
    let naive =
        NaiveDateTime::parse_from_str(&format!("{date_part}T{rest}"), "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| {
                NaiveDateTime::parse_from_str(&format!("{date_part}T{rest}"), "%Y-%m-%dT%H:%M")
            })
            .ok()?;
    Some(Stamp {
        date,
        time: Some(naive.time()),
    })
}

/// `M/D/YYYY`, then optionally ` H:MM[:SS] [AM|PM]` as Excel re-saves it.
fn slash_stamp(t: &str) -> Option<Stamp> {
    let (date_text, time_text) = match t.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim())),
        None => (t, None),
    };
    let mut parts = date_text.split('/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    let time = match time_text {
        None | Some("") => None,
        Some(tt) => Some(
            ["%I:%M:%S %p", "%I:%M %p", "%H:%M:%S", "%H:%M"]
                .iter()
                .find_map(|f| NaiveTime::parse_from_str(tt, f).ok())?,
        ),
    };
    Some(Stamp { date, time })
}

/// An ISO 4217 code; exports are upper case, but case is forgiven here because the code is
/// only read, never compared as text.
pub(crate) fn currency(text: &str) -> Result<Currency, String> {
    let t = text.trim();
    Currency::from_code(&t.to_ascii_uppercase()).map_err(|_| {
        format!(
            "expected an ISO 4217 currency code such as USD, found {}",
            found(text)
        )
    })
}

/// `true`/`false` in any case (Graph JSON gives real booleans; CSV files give text).
pub(crate) fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("expected true or false, found {}", found(text))),
    }
}

/// A commitment term: `monthly`, `annual`, `triennial`, or Partner Center's `P1M`, `P1Y`,
/// `P3Y`.
pub(crate) fn term(text: &str) -> Result<Term, String> {
    match normalize_word(text).as_str() {
        "monthly" | "month" | "p1m" | "1month" => Ok(Term::Monthly),
        "annual" | "yearly" | "year" | "p1y" | "1year" => Ok(Term::Annual),
        "triennial" | "p3y" | "3year" | "3years" => Ok(Term::Triennial),
        _ => Err(format!(
            "expected a term (monthly, annual or triennial), found {}",
            found(text)
        )),
    }
}

/// A billing plan: `monthly` or `upfront`; Partner Center's billing cycles `annual` and
/// `triennial` are paid up front.
pub(crate) fn billing_plan(text: &str) -> Result<BillingPlan, String> {
    match normalize_word(text).as_str() {
        "monthly" | "month" => Ok(BillingPlan::Monthly),
        "upfront" | "prepaid" | "annual" | "yearly" | "triennial" => Ok(BillingPlan::Upfront),
        _ => Err(format!(
            "expected a billing plan (monthly or upfront), found {}",
            found(text)
        )),
    }
}

fn normalize_word(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_in_every_form() {
        let d = NaiveDate::from_ymd_opt(2021, 5, 20).unwrap();
        assert_eq!(stamp("5/20/2021").unwrap(), Stamp::day(d));
        assert_eq!(stamp("05/20/2021").unwrap(), Stamp::day(d));
        assert_eq!(stamp("2021-05-20").unwrap(), Stamp::day(d));
        let s = stamp("2021-05-20T18:30:06.6045692Z").unwrap();
        assert_eq!(s.date, d);
        assert_eq!(s.time.unwrap().format("%H:%M:%S").to_string(), "18:30:06");
        let s = stamp("2019-02-04T09:22:40.1767993-08:00").unwrap();
        assert_eq!(s.date.to_string(), "2019-02-04");
        assert_eq!(s.time.unwrap().format("%H:%M").to_string(), "17:22");
        assert_eq!(
            stamp("2021-05-01T00:00:00").unwrap().date.to_string(),
            "2021-05-01"
        );
        assert_eq!(
            stamp("June 18, 2021").unwrap().date.to_string(),
            "2021-06-18"
        );
        assert_eq!(
            stamp("5/20/2021 6:30:06 PM")
                .unwrap()
                .time
                .unwrap()
                .to_string(),
            "18:30:06"
        );
        assert!(stamp("20/5/2021").is_err());
        assert!(stamp("2021-02-30").is_err());
        assert!(stamp("soon").is_err());
        assert!(stamp("2021-05-2é").is_err());
        assert!(stamp("2021-05-20é").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(
            decimal("0.486031696515249").unwrap().to_string(),
            "0.486031696515249"
        );
        assert_eq!(decimal(" -9.408 ").unwrap().to_string(), "-9.408");
        assert_eq!(decimal("1E-05").unwrap().to_string(), "0.00001");
        assert!(decimal("1,209.6").unwrap_err().contains("thousands"));
        assert_eq!(whole("25").unwrap(), 25);
        assert_eq!(whole("25.0").unwrap(), 25);
        assert_eq!(
            whole("1O").unwrap_err(),
            "expected a whole number, found \"1O\""
        );
        assert!(whole("2.5").is_err());
        assert!(whole("-1").is_err());
        assert_eq!(whole("-0").unwrap(), 0);
        assert!(count("+3").is_err());
        assert_eq!(count("30").unwrap(), 30);
    }
}
