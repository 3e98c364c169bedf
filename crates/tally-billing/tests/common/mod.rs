//! Shared helpers for the oracle tests: reading the copied Microsoft
//! worked examples under `tests/oracles/`.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use tally_money::{Currency, Decimal, Money};

pub fn oracle_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracles")
        .join(relative)
}

/// One CSV row, fields looked up by header with runs of whitespace
/// collapsed (the doc tables have headers like `Charge End  Date`).
pub struct Row {
    pub line: usize,
    /// Fields in the record; more than the header has when an unquoted
    /// comma split a field (the file is kept verbatim, so this is checked
    /// rather than fixed). Fields before the split are still right.
    pub len: usize,
    fields: HashMap<String, String>,
}

impl Row {
    pub fn get(&self, header: &str) -> &str {
        match self.fields.get(header) {
            Some(v) => v,
            None => panic!("line {}: no column `{header}`", self.line),
        }
    }

    pub fn dec(&self, header: &str) -> Decimal {
        let raw = self.get(header).replace(',', "");
        Decimal::from_str(&raw)
            .unwrap_or_else(|e| panic!("line {}: `{header}` = `{raw}`: {e}", self.line))
    }

    pub fn int(&self, header: &str) -> i64 {
        self.get(header)
            .parse()
            .unwrap_or_else(|e| panic!("line {}: `{header}`: {e}", self.line))
    }

    pub fn date(&self, header: &str) -> NaiveDate {
        parse_doc_date(self.get(header))
    }
}

/// Reads a CSV; every record must have at least as many fields as the
/// header (see [`Row::len`] for records with more).
pub fn read_rows(relative: &str) -> Vec<Row> {
    let path = oracle_path(relative);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            let record = record.unwrap();
            Row {
                line: i + 2,
                len: record.len(),
                fields: headers
                    .iter()
                    .cloned()
                    .zip(record.iter().map(str::to_string))
                    .collect(),
            }
        })
        .inspect(|row| assert!(row.len >= headers.len(), "line {}: short record", row.line))
        .collect()
}

/// Dates as the docs print them: `January 31, 2021`, `1/13/2018`,
/// `06/01/2021`, or ISO `2021-06-18`.
pub fn parse_doc_date(s: &str) -> NaiveDate {
    let s = s.trim();
    ["%B %d, %Y", "%m/%d/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .unwrap_or_else(|| panic!("unparseable date `{s}`"))
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn usd(amount: Decimal) -> Money {
    Money::new(amount, Currency::from_code("USD").unwrap())
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
