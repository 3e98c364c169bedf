//! Field formats that need clearer errors than the defaults: dates and quoted decimals.

/// `YYYY-MM-DD` dates, with an error that names the text and the expected form.
pub(crate) mod date {
    use std::fmt;

    use chrono::NaiveDate;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) const FORMAT: &str = "%Y-%m-%d";

    pub(crate) fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&date.format(FORMAT))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        d.deserialize_str(DateVisitor)
    }

    struct DateVisitor;

    impl Visitor<'_> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a date string in the form YYYY-MM-DD")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<NaiveDate, E> {
            // Exactly YYYY-MM-DD: chrono alone would also take "2026-1-5".
            let shape_ok = v.len() == 10
                && v.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    _ => b.is_ascii_digit(),
                });
            let parsed = if shape_ok {
                NaiveDate::parse_from_str(v, FORMAT).map_err(|e| e.to_string())
            } else {
                Err("expected YYYY-MM-DD".to_string())
            };
            parsed.map_err(|why| {
                let why = if shape_ok && why == "input is out of range" {
                    "no such day".to_string()
                } else {
                    why
                };
                E::custom(format_args!("invalid date `{v}`: {why}"))
            })
        }
    }
}

/// A decimal written as a JSON string (`"24"`, `"0.5"`); a bare number is rejected with a
/// message saying to quote it, so no value ever passes through a binary float.
pub(crate) mod quoted_decimal {
    use std::fmt;

    use rust_decimal::Decimal;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_str(QuotedVisitor)
    }

    struct QuotedVisitor;

    impl Visitor<'_> for QuotedVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a decimal as a quoted string, e.g. \"24\" or \"0.5\" \
                 (quote it: JSON numbers can lose precision)",
            )
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str_exact(v).map_err(|_| E::custom(format_args!("invalid decimal `{v}`")))
        }
    }
}

/// An optional `YYYY-MM-DD` date, with the same errors as [`date`].
pub(crate) mod opt_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        date: &Option<NaiveDate>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => super::date::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::date")] NaiveDate);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(date)| date))
    }
}
