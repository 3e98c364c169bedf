//! Numbers in PSA answers, read exactly. JSON numbers are read from their text (serde_json's
//! `RawValue`), never through `f64`: `32.5` is the decimal 32.5, and `0.1` is 0.1.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A number as the PSA wrote it, or as a JSON string holding a number; `null` is `None`.
pub fn parse_number(raw: &RawValue) -> Result<Option<Decimal>, String> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let parsed = if inner.contains(['e', 'E']) {
        Decimal::from_scientific(inner).ok()
    } else {
        Decimal::from_str_exact(inner).ok()
    };
    parsed
        .map(|d| Some(d.normalize()))
        .ok_or_else(|| format!("`{}` is not a number", crate::error::excerpt(text, 40)))
}

/// `#[serde(with = "exact::opt")]`: an optional exact decimal from a JSON number.
pub mod opt {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
        match raw {
            None => Ok(None),
            Some(raw) => parse_number(&raw).map_err(serde::de::Error::custom),
        }
    }

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => number(*d).serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// A decimal written as a JSON number with exactly its digits (`32.50`, never `32.499999`).
pub fn number(value: Decimal) -> Box<RawValue> {
    let text = value.normalize().to_string();
    RawValue::from_string(text.clone()).unwrap_or_else(|_| {
        // A decimal's text is always a valid JSON number; fall back to a string otherwise.
        RawValue::from_string(format!("\"{text}\"")).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    #[test]
    fn numbers_are_read_from_their_text() {
        assert_eq!(parse_number(&raw("0.1")).unwrap(), Some(Decimal::new(1, 1)));
        assert_eq!(
            parse_number(&raw("32.50")).unwrap(),
            Some(Decimal::new(325, 1))
        );
        assert_eq!(
            parse_number(&raw("\"4.25\"")).unwrap(),
            Some(Decimal::new(425, 2))
        );
        assert_eq!(
            parse_number(&raw("1e2")).unwrap(),
            Some(Decimal::new(100, 0))
        );
        assert_eq!(parse_number(&raw("null")).unwrap(), None);
        assert!(parse_number(&raw("\"abc\"")).is_err());
        assert!(parse_number(&raw("true")).is_err());
    }

    #[test]
    fn numbers_are_written_with_their_digits() {
        assert_eq!(number(Decimal::new(3250, 2)).get(), "32.5");
        assert_eq!(number(Decimal::new(-7, 0)).get(), "-7");
    }
}
