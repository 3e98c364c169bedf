//! Counts from other vendors' tools (backup seats, RMM agents, ...):
//!
//! ```text
//! customer_or_tenant,counter,value,as_of
//! northwind.onmicrosoft.com,backup.protected_users,27,2026-10-31
//! ```
//!
//! The header is required (matched ignoring case); `value` is a whole number zero or more;
//! `as_of` is an ISO date. `customer_or_tenant` is looked up in the mapping, and taken as the
//! tenant name when it is not there.

use chrono::NaiveDate;

use crate::csvfile::CsvFile;
use crate::detect::{FileKind, wrong_kind};
use crate::error::ImportError;
use crate::source::Source;
use crate::table::{columns, require_columns, sniff_delimiter};
use crate::values;

columns! {
    enum Col {
        CustomerOrTenant = "customer_or_tenant" | "tenant" | "customer",
        Counter = "counter" | "name",
        Value = "value",
        AsOf = "as_of" | "date",
    }
}

/// One count as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    pub customer_or_tenant: String,
    pub counter: String,
    pub value: u64,
    pub as_of: NaiveDate,
    pub file: String,
    pub line: u64,
}

/// Read a counts CSV.
pub fn read_counts(source: &Source) -> Result<Vec<CountRow>, ImportError> {
    let file = source.name();
    match source.kind()? {
        FileKind::CountsCsv | FileKind::Unknown => {}
        other => return Err(wrong_kind(&file, &other, "a counts file")),
    }
    let text = source.read_text()?;
    let mut csv = CsvFile::open::<Col>(&file, text.as_bytes(), sniff_delimiter(text.as_bytes()))?;
    require_columns(
        &file,
        &csv.columns,
        &[Col::CustomerOrTenant, Col::Counter, Col::Value, Col::AsOf],
        "a counts file needs the header `customer_or_tenant,counter,value,as_of`",
    )?;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while let Some(at) = csv.next(&mut record)? {
        let row = csv.columns.row(&file, &record, at);
        let value = row.required(Col::Value)?;
        let as_of = row.required(Col::AsOf)?;
        rows.push(CountRow {
            customer_or_tenant: row.required(Col::CustomerOrTenant)?.to_string(),
            counter: row.required(Col::Counter)?.to_string(),
            value: values::count(value).map_err(|m| row.error(Col::Value, m))?,
            as_of: values::iso_date(as_of).map_err(|m| row.error(Col::AsOf, m))?,
            file: file.clone(),
            line: row.line.unwrap_or(0),
        });
    }
    Ok(rows)
}
