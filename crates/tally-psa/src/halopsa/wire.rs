//! HaloPSA's JSON as Tally reads and writes it: the list wrappers, clients, items, recurring
//! invoices (`InvoiceHeader`) and their lines (`InvoiceDetail`), and Halo's error bodies.
//! Numbers are read from their text ([`crate::exact`]), never through `f64`.

use crate::adapter_common::dates;
use crate::answer::parse;
use crate::error::excerpt;
use crate::exact;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// One page of a paged list: `{"page_no":1,"page_size":100,"record_count":N,"<records>":[…]}`.
/// The records' key is the entity's plural (`clients`, `invoices`, `items`); `record_count` is
/// the whole list's length, which says whether another page follows.
pub struct Page<T> {
    pub record_count: u64,
    pub records: Vec<T>,
}

/// Reads a page, refusing anything else: an object without `record_count` or without the
/// records' list is the wrong answer (a proxy's JSON, an error object answered 200).
pub fn page<T: DeserializeOwned>(
    status: u16,
    body: &str,
    records: &str,
    expected: &str,
) -> Result<Page<T>, String> {
    let fields: BTreeMap<String, Box<RawValue>> = parse(status, body, expected)?;
    let Some(count) = fields.get("record_count") else {
        return Err(format!(
            "unexpected JSON (status {status}): no `record_count`; expected {expected}"
        ));
    };
    let record_count = exact::parse_number(count)
        .ok()
        .flatten()
        .and_then(|d| u64::try_from(d).ok())
        .ok_or_else(|| {
            format!(
                "unexpected JSON (status {status}): `record_count` is `{}`; expected {expected}",
                excerpt(count.get(), 20)
            )
        })?;
    let Some(list) = fields.get(records) else {
        return Err(format!(
            "unexpected JSON (status {status}): no `{records}` list; expected {expected}"
        ));
    };
    let records = parse(status, list.get(), expected)?;
    Ok(Page {
        record_count,
        records,
    })
}

/// A client (the document's `Area` schema).
#[derive(Deserialize)]
pub struct Client {
    pub id: i64,
    pub name: Option<String>,
    #[serde(default)]
    pub inactive: Option<bool>,
}

/// A catalogue item (`Item`).
#[derive(Deserialize)]
pub struct Item {
    pub id: i64,
    pub name: Option<String>,
    #[serde(default, with = "exact::opt")]
    pub recurringprice: Option<Decimal>,
    #[serde(default, with = "exact::opt")]
    pub baseprice: Option<Decimal>,
}

/// A recurring invoice (`InvoiceHeader`) with its lines (`includelines=true`).
#[derive(Deserialize)]
pub struct Invoice {
    pub id: i64,
    /// The client the invoice bills; an invoice of another client is never read as this one's.
    #[serde(default)]
    pub client_id: Option<i64>,
    /// What the plan calls the agreement.
    pub reference: Option<String>,
    /// A disabled recurring invoice no longer bills: Tally leaves it alone.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// `None` when the answer has no `lines`: that is a bad answer (the request asked for them),
    /// never "no lines", which would have every line created again.
    #[serde(default)]
    pub lines: Option<Vec<Line>>,
}

/// A record of a paged list, by its id (paging de-duplicates on it).
pub trait Record {
    fn id(&self) -> i64;
}

impl Record for Client {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Record for Item {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Record for Invoice {
    fn id(&self) -> i64 {
        self.id
    }
}

/// A recurring invoice line (`InvoiceDetail`).
#[derive(Deserialize)]
pub struct Line {
    pub id: i64,
    #[serde(rename = "_itemid")]
    pub item_id: Option<i64>,
    pub item_code: Option<String>,
    pub item_shortdescription: Option<String>,
    #[serde(default, with = "exact::opt")]
    pub qty_order: Option<Decimal>,
    #[serde(default, with = "exact::opt")]
    pub unit_price: Option<Decimal>,
    pub startdate: Option<String>,
    pub enddate: Option<String>,
    pub item_external_reference: Option<String>,
}

/// The body of a token request's answer (OAuth 2 client credentials).
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub token_type: Option<String>,
    pub expires_in: Option<u64>,
}

/// One line as `POST /RecurringInvoice/updatelines` takes it: a line without `id` is created,
/// one with `id` is updated (only the properties given change).
#[derive(Serialize, Default)]
pub struct LineWrite<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub ihid: i64,
    #[serde(rename = "_itemid", skip_serializing_if = "Option::is_none")]
    pub item_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_shortdescription: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qty_order: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startdate: Option<String>,
    /// `Some(None)` writes `null`: the end date is cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enddate: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_external_reference: Option<String>,
}

/// Halo's dates are `date-time`s; Tally's are whole days.
pub fn date_time(day: NaiveDate) -> String {
    dates::date_time(day)
}

pub fn day(text: &Option<String>) -> Option<NaiveDate> {
    dates::day(text.as_deref())
}

/// What Halo's error body says, in one line: a JSON string, an object with a message
/// (`message`, `Message`, OAuth's `error` and `error_description`), else an excerpt.
pub fn error_detail(body: &str) -> String {
    let value: serde_json::Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(_) => return excerpt(body, 120),
    };
    if let Some(text) = value.as_str() {
        return excerpt(text, 200);
    }
    let mut parts = Vec::new();
    for key in [
        "error",
        "error_description",
        "ClassName",
        "message",
        "Message",
        "title",
        "detail",
    ] {
        if let Some(text) = value.get(key).and_then(serde_json::Value::as_str) {
            parts.push(text.to_string());
        }
    }
    if parts.is_empty() {
        excerpt(body, 120)
    } else {
        excerpt(&parts.join(": "), 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_must_have_their_count_and_their_records() {
        let ok: Page<i64> = page(200, r#"{"record_count":2,"clients":[1,2]}"#, "clients", "x")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((ok.record_count, ok.records), (2, vec![1, 2]));
        let wrong = page::<i64>(200, r#"{"items":[],"count":0}"#, "items", "x").err();
        assert!(wrong.is_some_and(|e| e.contains("record_count")));
        let missing = page::<i64>(200, r#"{"record_count":0}"#, "invoices", "x").err();
        assert!(missing.is_some_and(|e| e.contains("`invoices`")));
    }

    #[test]
    fn error_bodies_in_one_line() {
        assert_eq!(error_detail("\"Invalid item\""), "Invalid item");
        assert_eq!(
            error_detail(r#"{"error":"invalid_client","error_description":"bad secret"}"#),
            "invalid_client: bad secret"
        );
        assert_eq!(error_detail("<html>oops</html>"), "<html>oops</html>");
    }
}
