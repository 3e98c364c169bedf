//! Azure plan daily rated usage: the reconciliation CSV (55 columns) or the API's
//! `DailyRatedUsageLineItem` JSON (pages or JSON Lines).
//!
//! A month of usage for a large customer runs to millions of rows, so the CSV (and JSON Lines)
//! is read as a stream, one record at a time, and rows are added into aggregates as they come:
//! memory grows with the number of distinct aggregates, not rows. Repeated text (customer,
//! subscription, meter, tags...) is stored once and keys are small integers, and a `Tags`
//! value is parsed once per distinct text.
//!
//! Rows are aggregated by customer, Azure subscription (`EntitlementId`; the file's
//! `SubscriptionId` is the Azure *plan*), resource group, meter category, meter name, tags,
//! billing currency and day ([`UsageGranularity::Day`], the default, matching the snapshot's
//! "one row per meter per day") or billing period ([`UsageGranularity::Period`]). The meter
//! name is part of the key because quantities of different meters (hours, GB) cannot be added.
//! Resource groups are compared ignoring case, as Azure does (Microsoft's own files spell one
//! group `TESTRG` and `TestRG`); the first spelling seen is kept. Tags are compared as sets, so
//! key order does not matter.
//!
//! `cost` is `BillingPreTaxTotal` (after partner-earned credit, before tax, unrounded) summed
//! exactly in `BillingCurrency`; `quantity` is `Quantity` summed.

use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::io::BufRead;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;
use tally_money::{Currency, Money};
use tally_snapshot::{Period, UsageRow};

use crate::csvfile::CsvFile;
use crate::detect::{FileKind, detect, wrong_kind};
use crate::error::{ImportError, Warning};
use crate::json;
use crate::source::{SNIFF_BYTES, Source};
use crate::table::{JsonCells, Row, columns, require_columns, sniff_delimiter};
use crate::values;

columns! {
    pub(crate) enum Col {
        CustomerId = "CustomerId",
        CustomerDomainName = "CustomerDomainName",
        UsageDate = "UsageDate",
        MeterCategory = "MeterCategory",
        MeterName = "MeterName",
        ResourceGroup = "ResourceGroup",
        EntitlementId = "EntitlementId",
        Quantity = "Quantity",
        BillingPreTaxTotal = "BillingPreTaxTotal",
        BillingCurrency = "BillingCurrency",
        Tags = "Tags",
    }
}

const REQUIRED: [Col; 8] = [
    Col::UsageDate,
    Col::MeterCategory,
    Col::MeterName,
    Col::ResourceGroup,
    Col::EntitlementId,
    Col::Quantity,
    Col::BillingPreTaxTotal,
    Col::BillingCurrency,
];

/// How finely usage rows are aggregated in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageGranularity {
    /// One row per day (`UsageDate`).
    #[default]
    Day,
    /// One row per billing period, dated the period's first day (or, without a period, the
    /// first day of the usage's calendar month).
    Period,
}

/// Which parts of a usage row keep rows apart when they are added up. Rows that differ only
/// in parts not kept fall into one aggregate, whose dropped parts read as empty (and whose
/// quantity, when not kept, as 0). An import keeps everything; `tally plan --usage` keeps only
/// what the rules read. Customer, currency and date (see [`UsageGranularity`]) are always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageKeep {
    pub subscription: bool,
    pub resource_group: bool,
    pub meter_category: bool,
    pub meter_name: bool,
    pub tags: bool,
    pub quantity: bool,
}

impl UsageKeep {
    pub const ALL: UsageKeep = UsageKeep {
        subscription: true,
        resource_group: true,
        meter_category: true,
        meter_name: true,
        tags: true,
        quantity: true,
    };
}

impl Default for UsageKeep {
    fn default() -> UsageKeep {
        UsageKeep::ALL
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct UsageOptions {
    pub granularity: UsageGranularity,
    pub keep: UsageKeep,
    /// Rows outside the period are kept, with one warning per file counting them.
    pub period: Option<Period>,
    /// Called with the number of rows read so far, every 10,000 rows (for a progress display;
    /// the importer itself never writes to the terminal).
    pub progress: Option<fn(u64)>,
}

/// One aggregate, with the customer it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerUsage {
    pub customer_id: Option<String>,
    pub customer_domain: Option<String>,
    pub row: UsageRow,
    /// How many file rows were added into it.
    pub source_rows: u64,
    pub file: String,
    /// Line of the first row added into it.
    pub first_line: Option<u64>,
}

/// The result of reading one usage file.
#[derive(Debug, Clone, Default)]
pub struct UsageImport {
    /// Sorted by customer, then date, subscription, resource group, meter, tags.
    pub rows: Vec<CustomerUsage>,
    /// Data rows read.
    pub rows_read: u64,
    pub warnings: Vec<Warning>,
}

/// Read one usage file (CSV, JSON pages or JSON Lines), streaming where the format allows.
pub fn read_usage(source: &Source, options: &UsageOptions) -> Result<UsageImport, ImportError> {
    let file = source.name();
    let mut input = source.open()?;
    let head = input
        .fill_buf()
        .map_err(|e| ImportError::file(&file, format!("cannot read: {e}")))?;
    let head = head.get(..SNIFF_BYTES.min(head.len())).unwrap_or(head);
    let kind = detect(source.path(), head);
    let json = matches!(kind, FileKind::UsageJson | FileKind::OtherJson);
    let json_lines = json && looks_like_json_lines(head);
    let delimiter = sniff_delimiter(head);
    let mut agg = Aggregator::new(file.clone(), *options);
    match kind {
        FileKind::UsageCsv | FileKind::Unknown => agg.read_csv(input, delimiter)?,
        _ if json_lines => agg.read_json_lines(input)?,
        _ if json => {
            drop(input);
            let text = source.read_text()?;
            let collection = json::collection(&file, &text)?;
            if collection.next_link.is_some() {
                agg.warnings.push(Warning::file(
                    &file,
                    "the last page links to a next page: later pages are not in this file",
                ));
            }
            for item in &collection.items {
                let cells = JsonCells::new::<Col>(json::fields(&file, item)?.into_iter());
                agg.add(&cells.row(&file, item.line, item.record))?;
            }
        }
        other => return Err(wrong_kind(&file, &other, "an Azure daily rated usage file")),
    }
    Ok(agg.finish())
}

/// One complete JSON object on the first line: JSON Lines rather than a pretty-printed page.
fn looks_like_json_lines(head: &[u8]) -> bool {
    let head = head
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(head);
    let Some(first) = head.split(|&b| b == b'\n').next() else {
        return false;
    };
    let first = String::from_utf8_lossy(first);
    let first = first.trim();
    first.starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(first).is_ok()
        && !first.contains("\"items\"")
        && !first.contains("\"value\"")
}

/// The id of the empty text, interned first.
const EMPTY: u32 = 0;

/// Strings stored once; rows refer to them by number.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        self.values.get(id as usize).map_or("", String::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    customer: Option<u32>,
    domain: Option<u32>,
    entitlement: u32,
    resource_group: u32,
    category: u32,
    meter: u32,
    tags: u32,
    currency: Currency,
    date: NaiveDate,
}

struct Sum {
    quantity: Decimal,
    cost: Decimal,
    rows: u64,
    first_line: Option<u64>,
}

struct Aggregator {
    file: String,
    options: UsageOptions,
    strings: Interner,
    /// Resource group text → the id of its lower-case form.
    group_key: HashMap<u32, u32>,
    /// Lower-case resource group → first spelling seen.
    group_shown: HashMap<u32, u32>,
    /// `Tags` text → index into `tag_sets`.
    tags_of: HashMap<u32, u32>,
    tag_sets: Vec<BTreeMap<String, String>>,
    tag_index: HashMap<BTreeMap<String, String>, u32>,
    currencies: HashMap<u32, Currency>,
    dates: HashMap<u32, NaiveDate>,
    sums: HashMap<Key, Sum>,
    rows_read: u64,
    outside_period: u64,
    warnings: Vec<Warning>,
}

impl Aggregator {
    fn new(file: String, options: UsageOptions) -> Aggregator {
        let mut agg = Aggregator {
            file,
            options,
            strings: Interner::default(),
            group_key: HashMap::default(),
            group_shown: HashMap::default(),
            tags_of: HashMap::default(),
            tag_sets: Vec::new(),
            tag_index: HashMap::default(),
            currencies: HashMap::default(),
            dates: HashMap::default(),
            sums: HashMap::default(),
            rows_read: 0,
            outside_period: 0,
            warnings: Vec::new(),
        };
        // String 0 is the empty text (a part not kept); tag set 0 is "no tags".
        agg.strings.id("");
        agg.tag_sets.push(BTreeMap::new());
        agg.tag_index.insert(BTreeMap::new(), 0);
        agg
    }

    fn read_csv<R: std::io::Read>(&mut self, input: R, delimiter: u8) -> Result<(), ImportError> {
        let file = self.file.clone();
        let mut csv = CsvFile::open::<Col>(&file, input, delimiter)?;
        require_columns(
            &file,
            &csv.columns,
            &REQUIRED,
            "not an Azure daily rated usage file",
        )?;
        csv.for_each_row(|row| self.add(&row))
    }

    fn read_json_lines<R: BufRead>(&mut self, mut input: R) -> Result<(), ImportError> {
        let file = self.file.clone();
        let mut text = String::new();
        let mut line_number = 0u64;
        let mut record = 0u64;
        loop {
            text.clear();
            let n = input.read_line(&mut text).map_err(|e| {
                ImportError::file(&file, format!("cannot read: {e}")).at_line(Some(line_number + 1))
            })?;
            if n == 0 {
                break;
            }
            line_number += 1;
            let line = text.trim().trim_start_matches('\u{feff}');
            if line.is_empty() {
                continue;
            }
            record += 1;
            let raw: &serde_json::value::RawValue = serde_json::from_str(line).map_err(|e| {
                ImportError::file(&file, format!("not valid JSON: {e}"))
                    .at_line(Some(line_number))
                    .at_record(Some(record))
            })?;
            let item = json::Item {
                line: Some(line_number),
                record,
                raw,
            };
            let cells = JsonCells::new::<Col>(json::fields(&file, &item)?.into_iter());
            self.add(&cells.row(&file, Some(line_number), record))?;
        }
        Ok(())
    }

    /// Add one file row into its aggregate. Cells are read in a fixed order, so that a row
    /// with several bad cells always names the same one.
    fn add(&mut self, row: &Row<'_>) -> Result<(), ImportError> {
        self.count_row();
        let date = self.date(row)?;
        if let Some(p) = self.options.period
            && !p.contains(date)
        {
            self.outside_period += 1;
        }
        let quantity = if self.options.keep.quantity {
            row.required_decimal(Col::Quantity)?
        } else {
            row.required(Col::Quantity)?;
            Decimal::ZERO
        };
        let cost = row.required_decimal(Col::BillingPreTaxTotal)?;
        let key = self.key(row, date)?;
        let sum = self.sums.entry(key).or_insert(Sum {
            quantity: Decimal::ZERO,
            cost: Decimal::ZERO,
            rows: 0,
            first_line: row.line,
        });
        let overflow = |c| row.error(c, "the running total overflows");
        sum.quantity = sum
            .quantity
            .checked_add(quantity)
            .ok_or_else(|| overflow(Col::Quantity))?;
        sum.cost = sum
            .cost
            .checked_add(cost)
            .ok_or_else(|| overflow(Col::BillingPreTaxTotal))?;
        sum.rows += 1;
        Ok(())
    }

    /// Count a row read, telling the progress callback every 10,000 rows.
    fn count_row(&mut self) {
        self.rows_read += 1;
        if self.rows_read.is_multiple_of(10_000)
            && let Some(progress) = self.options.progress
        {
            progress(self.rows_read);
        }
    }

    fn date(&mut self, row: &Row<'_>) -> Result<NaiveDate, ImportError> {
        let text = row.required(Col::UsageDate)?;
        parse_once(&mut self.strings, &mut self.dates, text, |t| {
            values::stamp(t)
                .map(|s| s.date)
                .map_err(|m| row.error(Col::UsageDate, m))
        })
    }

    /// The aggregate a row dated `date` adds into.
    fn key(&mut self, row: &Row<'_>, date: NaiveDate) -> Result<Key, ImportError> {
        let currency = self.currency(row)?;
        let customer = row.text(Col::CustomerId).map(|t| self.strings.id(t));
        let domain = row
            .text(Col::CustomerDomainName)
            .map(|t| self.strings.id(t));
        let keep = self.options.keep;
        let entitlement = self.part(row, Col::EntitlementId, keep.subscription)?;
        let resource_group = if keep.resource_group {
            self.resource_group(row)
        } else {
            EMPTY
        };
        let category = self.part(row, Col::MeterCategory, keep.meter_category)?;
        let meter = self.part(row, Col::MeterName, keep.meter_name)?;
        let tags = if keep.tags { self.tags(row)? } else { 0 };
        Ok(Key {
            customer,
            domain,
            entitlement,
            resource_group,
            category,
            meter,
            tags,
            currency,
            date: self.bucket(date),
        })
    }

    /// A required text cell's id when the part is kept, else [`EMPTY`] (the cell must still
    /// be there).
    fn part(&mut self, row: &Row<'_>, col: Col, keep: bool) -> Result<u32, ImportError> {
        let text = row.required(col)?;
        Ok(if keep { self.strings.id(text) } else { EMPTY })
    }

    /// The date a row is aggregated under: its day, or the first day of its period. A row
    /// outside the period goes under the first day of its own month, so it never adds into
    /// the period's usage.
    fn bucket(&self, date: NaiveDate) -> NaiveDate {
        match (self.options.granularity, self.options.period) {
            (UsageGranularity::Day, _) => date,
            (UsageGranularity::Period, Some(p)) if p.contains(date) => p.start,
            (UsageGranularity::Period, _) => date.with_day(1).unwrap_or(date),
        }
    }

    fn currency(&mut self, row: &Row<'_>) -> Result<Currency, ImportError> {
        let text = row.required(Col::BillingCurrency)?;
        parse_once(&mut self.strings, &mut self.currencies, text, |t| {
            values::currency(t).map_err(|m| row.error(Col::BillingCurrency, m))
        })
    }

    /// The resource group's key: its lower-case form, the first spelling seen kept for output.
    fn resource_group(&mut self, row: &Row<'_>) -> u32 {
        let raw = self.strings.id(row.text(Col::ResourceGroup).unwrap_or(""));
        if let Some(&k) = self.group_key.get(&raw) {
            return k;
        }
        let lower = self.strings.get(raw).to_lowercase();
        let k = self.strings.id(&lower);
        self.group_key.insert(raw, k);
        self.group_shown.entry(k).or_insert(raw);
        k
    }

    /// The row's tag set, as an index into `tag_sets`; equal sets share one index.
    fn tags(&mut self, row: &Row<'_>) -> Result<u32, ImportError> {
        let Some(text) = row.text(Col::Tags) else {
            return Ok(0);
        };
        let (tag_sets, tag_index) = (&mut self.tag_sets, &mut self.tag_index);
        parse_once(&mut self.strings, &mut self.tags_of, text, |t| {
            let set = parse_tags(t).map_err(|m| row.error(Col::Tags, m))?;
            let next = u32::try_from(tag_sets.len()).unwrap_or(u32::MAX);
            let index = *tag_index.entry(set.clone()).or_insert(next);
            if index == next {
                tag_sets.push(set);
            }
            Ok(index)
        })
    }

    fn finish(mut self) -> UsageImport {
        if self.outside_period > 0
            && let Some(p) = self.options.period
        {
            self.warnings.push(Warning::file(
                &self.file,
                format!(
                    "{} row(s) are dated outside the period {} to {}; they are kept",
                    self.outside_period, p.start, p.end
                ),
            ));
        }
        // Sort the small integer keys by the text they stand for (no allocation per
        // comparison), then build the output rows in order, freeing the sums as we go.
        let sums = std::mem::take(&mut self.sums);
        let mut sums: Vec<(Key, Sum)> = sums.into_iter().collect();
        let text = |id: Option<u32>| id.map(|i| self.strings.get(i));
        let empty = BTreeMap::new();
        let tags = |t: u32| self.tag_sets.get(t as usize).unwrap_or(&empty);
        let order = |k: &Key| {
            (
                text(k.customer),
                text(k.domain),
                k.date,
                self.strings.get(k.entitlement),
                self.strings.get(k.resource_group),
                self.strings.get(k.category),
                self.strings.get(k.meter),
                tags(k.tags),
                k.currency.code(),
            )
        };
        sums.sort_by(|(a, _), (b, _)| order(a).cmp(&order(b)));
        let owned = |id: u32| self.strings.get(id).to_string();
        let rows = sums
            .into_iter()
            .map(|(k, s)| {
                let shown = self
                    .group_shown
                    .get(&k.resource_group)
                    .copied()
                    .unwrap_or(k.resource_group);
                CustomerUsage {
                    customer_id: k.customer.map(owned),
                    customer_domain: k.domain.map(owned),
                    row: UsageRow {
                        date: k.date,
                        subscription_id: owned(k.entitlement),
                        resource_group: owned(shown),
                        meter_category: owned(k.category),
                        meter_name: owned(k.meter),
                        quantity: s.quantity,
                        cost: Money::new(s.cost, k.currency),
                        tags: tags(k.tags).clone(),
                    },
                    source_rows: s.rows,
                    file: self.file.clone(),
                    first_line: s.first_line,
                }
            })
            .collect();
        UsageImport {
            rows,
            rows_read: self.rows_read,
            warnings: self.warnings,
        }
    }
}

/// A value parsed once per distinct text: `parse` runs the first time `text` is seen, and its
/// result is kept under the text's id.
fn parse_once<T: Copy, E>(
    strings: &mut Interner,
    parsed: &mut HashMap<u32, T>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, E> {
    let id = strings.id(text);
    if let Some(&value) = parsed.get(&id) {
        return Ok(value);
    }
    let value = parse(text)?;
    parsed.insert(id, value);
    Ok(value)
}

/// A `Tags` cell: a JSON object, possibly empty. Azure cost exports have also been seen
/// without the outer braces (`"env": "prod","cc": "12"`), so those are added when missing.
/// Values that are not strings are kept as their JSON text; `null` becomes empty.
pub(crate) fn parse_tags(text: &str) -> Result<BTreeMap<String, String>, String> {
    let t = text.trim();
    if t.is_empty() || t == "{}" {
        return Ok(BTreeMap::new());
    }
    let wrapped;
    let object_text = if t.starts_with('{') {
        t
    } else {
        wrapped = format!("{{{t}}}");
        &wrapped
    };
    let map: serde_json::Map<String, Value> = serde_json::from_str(object_text).map_err(|e| {
        format!("expected tags as a JSON object such as {{\"department\": \"Sales\"}}, found {text:?} ({e})")
    })?;
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_text_is_parsed_once() {
        let mut strings = Interner::default();
        let mut parsed: HashMap<u32, usize> = HashMap::default();
        let mut calls = 0;
        for text in ["2021-07-01", "2021-07-02", "2021-07-01"] {
            let got = parse_once(&mut strings, &mut parsed, text, |t| {
                calls += 1;
                Ok::<_, String>(t.len() + calls)
            });
            assert!(got.is_ok());
        }
        assert_eq!(calls, 2);
        // The first result is kept for the repeated text.
        assert_eq!(parsed.get(&strings.id("2021-07-01")), Some(&11));
        // An error is not kept: the text is parsed again next time.
        let failed = parse_once(&mut strings, &mut parsed, "bad", |_| Err::<usize, _>("no"));
        assert_eq!(failed, Err("no"));
        assert_eq!(parsed.get(&strings.id("bad")), None);
    }
}
