//! Columns by name, and one record (a CSV row or a JSON line item) read through them.
//!
//! Microsoft spells the same column several ways (`MpnId`/`MPNID`, `ReferenceId`/`ReferenceID`,
//! the CSV's `Total` is the API's `totalForCustomer`), so each importer declares its columns
//! once, with aliases, and a header or JSON key matches a column when the two agree ignoring
//! case and everything but letters and digits (`Charge Start Date` = `ChargeStartDate` =
//! `chargeStartDate`). CSV rows and JSON items then go through the same typed getters, which
//! turn a bad value into an error naming file, line and column.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_money::Currency;

use crate::error::{ImportError, Warning, code_list};
use crate::values::{self, Stamp};

/// One column an importer reads: its canonical (CSV) name and other accepted spellings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

/// An enum of an importer's columns, each variant's index into its `FIELDS`.
pub(crate) trait Column: Copy {
    const FIELDS: &'static [Field];
    fn index(self) -> usize;
}

/// Declares an enum of columns and their `Field` table in one list, so the two cannot drift:
/// `Total = "Total" | "totalForCustomer",`.
macro_rules! columns {
    ($vis:vis enum $name:ident { $($variant:ident = $canon:literal $(| $alias:literal)*,)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($variant,)* }
        impl crate::table::Column for $name {
            const FIELDS: &'static [crate::table::Field] = &[
                $(crate::table::Field { name: $canon, aliases: &[$($alias),*] },)*
            ];
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}
pub(crate) use columns;

/// The matching key of a header: lower case, letters and digits only (this also drops a
/// UTF-8 byte order mark stuck to the first header).
pub(crate) fn normalize(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Which field a header names, if any.
fn field_for<C: Column>(header: &str) -> Option<usize> {
    let key = normalize(header);
    if key.is_empty() {
        return None;
    }
    C::FIELDS
        .iter()
        .position(|f| normalize(f.name) == key || f.aliases.iter().any(|a| normalize(a) == key))
}

/// Where each field is in a CSV file's rows, and how the file spells it.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    index: Vec<Option<usize>>,
    names: Vec<String>,
    pub header_len: usize,
}

impl Columns {
    /// Match a header row. The first column matching a field wins; extra columns are ignored.
    pub fn from_headers<'h, C: Column>(headers: impl Iterator<Item = &'h str>) -> Columns {
        let mut index = vec![None; C::FIELDS.len()];
        let mut names: Vec<String> = C::FIELDS.iter().map(|f| f.name.to_string()).collect();
        let mut header_len = 0;
        for (i, header) in headers.enumerate() {
            header_len = i + 1;
            if let Some(f) = field_for::<C>(header)
                && let Some(slot) = index.get_mut(f)
                && slot.is_none()
            {
                *slot = Some(i);
                if let Some(name) = names.get_mut(f) {
                    *name = header.trim().trim_start_matches('\u{feff}').to_string();
                }
            }
        }
        Columns {
            index,
            names,
            header_len,
        }
    }

    pub fn has<C: Column>(&self, c: C) -> bool {
        matches!(self.index.get(c.index()), Some(Some(_)))
    }

    /// The canonical names of `required` columns the header lacks.
    pub fn missing<C: Column>(&self, required: &[C]) -> Vec<&'static str> {
        required
            .iter()
            .filter(|c| !self.has(**c))
            .filter_map(|c| C::FIELDS.get(c.index()).map(|f| f.name))
            .collect()
    }

    /// A row of a CSV file read with these columns.
    pub fn row<'a>(
        &'a self,
        file: &'a str,
        record: &'a csv::StringRecord,
        at: crate::csvfile::At,
    ) -> Row<'a> {
        Row {
            file,
            line: at.line,
            record: at.number,
            cells: Cells::Csv {
                record,
                index: &self.index,
            },
            names: &self.names,
        }
    }
}

/// The cells of a JSON line item, laid out like [`Columns`] so the same getters apply.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonCells {
    values: Vec<Option<String>>,
    names: Vec<String>,
}

impl JsonCells {
    /// Pick the item's fields by key; `fields` are the item's keys with their values as text
    /// (strings unquoted, numbers exactly as written, arrays and objects as JSON).
    pub fn new<C: Column>(fields: impl Iterator<Item = (String, Option<String>)>) -> JsonCells {
        let mut values = vec![None; C::FIELDS.len()];
        let mut names: Vec<String> = C::FIELDS.iter().map(|f| f.name.to_string()).collect();
        let mut seen = vec![false; C::FIELDS.len()];
        for (key, value) in fields {
            if let Some(f) = field_for::<C>(&key)
                && let (Some(slot), Some(seen)) = (values.get_mut(f), seen.get_mut(f))
                && !*seen
            {
                *seen = true;
                *slot = value;
                if let Some(name) = names.get_mut(f) {
                    *name = key;
                }
            }
        }
        JsonCells { values, names }
    }

    pub fn row<'a>(&'a self, file: &'a str, line: Option<u64>, record: u64) -> Row<'a> {
        Row {
            file,
            line,
            record,
            cells: Cells::Json(&self.values),
            names: &self.names,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Cells<'a> {
    Csv {
        record: &'a csv::StringRecord,
        index: &'a [Option<usize>],
    },
    Json(&'a [Option<String>]),
}

/// One record, read field by field with errors that say where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub file: &'a str,
    pub line: Option<u64>,
    pub record: u64,
    cells: Cells<'a>,
    names: &'a [String],
}

impl<'a> Row<'a> {
    /// The text of a field, trimmed; `None` when the column is absent or the cell empty.
    pub fn text<C: Column>(&self, c: C) -> Option<&'a str> {
        let raw = match self.cells {
            Cells::Csv { record, index } => index
                .get(c.index())
                .copied()
                .flatten()
                .and_then(|i| record.get(i)),
            Cells::Json(values) => values.get(c.index()).and_then(|v| v.as_deref()),
        };
        raw.map(str::trim).filter(|t| !t.is_empty())
    }

    pub fn name<C: Column>(&self, c: C) -> &'a str {
        self.names.get(c.index()).map_or("?", String::as_str)
    }

    pub fn error<C: Column>(&self, c: C, message: impl Into<String>) -> ImportError {
        ImportError::file(self.file, message)
            .at_line(self.line)
            .at_record(Some(self.record))
            .in_column(self.name(c))
    }

    /// An error about the record as a whole.
    pub fn record_error(&self, message: impl Into<String>) -> ImportError {
        ImportError::file(self.file, message)
            .at_line(self.line)
            .at_record(Some(self.record))
    }

    pub fn warning(&self, message: impl Into<String>) -> Warning {
        Warning::at(self.file, self.line, Some(self.record), message)
    }

    pub fn required<C: Column>(&self, c: C) -> Result<&'a str, ImportError> {
        self.text(c)
            .ok_or_else(|| self.error(c, "expected a value, found an empty cell"))
    }

    fn parsed<C: Column, T>(
        &self,
        c: C,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ImportError> {
        self.text(c)
            .map(|t| parse(t).map_err(|m| self.error(c, m)))
            .transpose()
    }

    fn required_parsed<C: Column, T>(
        &self,
        c: C,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ImportError> {
        parse(self.required(c)?).map_err(|m| self.error(c, m))
    }

    pub fn decimal<C: Column>(&self, c: C) -> Result<Option<Decimal>, ImportError> {
        self.parsed(c, values::decimal)
    }

    pub fn required_decimal<C: Column>(&self, c: C) -> Result<Decimal, ImportError> {
        self.required_parsed(c, values::decimal)
    }

    pub fn required_whole<C: Column>(&self, c: C) -> Result<u32, ImportError> {
        self.required_parsed(c, values::whole)
    }

    pub fn stamp<C: Column>(&self, c: C) -> Result<Option<Stamp>, ImportError> {
        self.parsed(c, values::stamp)
    }

    pub fn date<C: Column>(&self, c: C) -> Result<Option<NaiveDate>, ImportError> {
        Ok(self.stamp(c)?.map(|s| s.date))
    }

    pub fn required_stamp<C: Column>(&self, c: C) -> Result<Stamp, ImportError> {
        self.required_parsed(c, values::stamp)
    }

    pub fn required_currency<C: Column>(&self, c: C) -> Result<Currency, ImportError> {
        self.required_parsed(c, values::currency)
    }
}

/// Check that a CSV header has the columns an importer needs, with a message that shows
/// what the file has when it does not.
pub(crate) fn require_columns<C: Column>(
    file: &str,
    columns: &Columns,
    required: &[C],
    what: &str,
) -> Result<(), ImportError> {
    let missing = columns.missing(required);
    if missing.is_empty() {
        return Ok(());
    }
    let list = code_list(&missing);
    let plural = if missing.len() == 1 { "" } else { "s" };
    Err(ImportError::file(
        file,
        format!("{what}: the header has no column{plural} {list}"),
    )
    .at_line(Some(1)))
}

/// Pick the CSV delimiter from the header line: a comma normally, but a file re-saved by a
/// European Excel uses `;`, and some tools write tabs.
pub(crate) fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let [comma, semicolon, tab] = counts;
    if semicolon > comma && semicolon >= tab {
        b';'
    } else if tab > comma && tab > semicolon {
        b'\t'
    } else {
        b','
    }
}
