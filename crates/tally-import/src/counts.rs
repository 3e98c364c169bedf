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
use crate::detect::FileKind;
use crate::error::ImportError;
use crate::source::Source;
use crate::table::{columns, require_columns};
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
    let text = source.read_text_as(FileKind::CountsCsv, "a counts file")?;
    let mut csv = CsvFile::from_text::<Col>(&file, &text)?;
    require_columns(
        &file,
        &csv.columns,
        &[Col::CustomerOrTenant, Col::Counter, Col::Value, Col::AsOf],
        "a counts file needs the header `customer_or_tenant,counter,value,as_of`",
    )?;
    let mut rows = Vec::new();
    csv.for_each_row(|row| {
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
        Ok(())
    })?;
    Ok(rows)
}
