//! Errors and warnings: plain values that name the file, the place in it and what was wrong.

use std::fmt;

/// Why an import failed. Every error names the file; a problem in one record also names where
/// it is (line for CSV and JSON, record number, column or field) and what was expected.
///
/// Displayed as `recon.csv:17: column `Quantity`: expected a whole number, found "1O"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The file as given by the caller (its path, or the name of an in-memory source).
    pub file: String,
    /// Line in the file, counted from 1; in a CSV file the header is line 1. For a record
    /// spanning several lines (a JSON object, a quoted CSV field with a line break), the line
    /// it starts on.
    pub line: Option<u64>,
    /// Record number, counted from 1: the data row in a CSV file (header not counted), the
    /// item in a JSON collection (across pages).
    pub record: Option<u64>,
    /// The column (CSV header, or JSON field name) as spelled in the file.
    pub column: Option<String>,
    pub message: String,
}

impl ImportError {
    /// A problem with a file as a whole.
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> ImportError {
        ImportError {
            file: file.into(),
            line: None,
            record: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_line(mut self, line: Option<u64>) -> ImportError {
        self.line = line;
        self
    }

    pub(crate) fn at_record(mut self, record: Option<u64>) -> ImportError {
        self.record = record;
        self
    }

    pub(crate) fn in_column(mut self, column: impl Into<String>) -> ImportError {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.file, self.line, self.record)?;
        if let Some(column) = &self.column {
            write!(f, ": column `{column}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}

/// Something the import accepted but the user should know about: a default that was applied
/// (lenient mode), data that was left out, or a doubt about the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: Option<u64>,
    pub record: Option<u64>,
    pub message: String,
}

impl Warning {
    pub(crate) fn file(file: impl Into<String>, message: impl Into<String>) -> Warning {
        Warning {
            file: file.into(),
            line: None,
            record: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(
        file: impl Into<String>,
        line: Option<u64>,
        record: Option<u64>,
        message: impl Into<String>,
    ) -> Warning {
        Warning {
            file: file.into(),
            line,
            record,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.file, self.line, self.record)?;
        write!(f, ": {}", self.message)
    }
}

/// Names as a list for a message, each in backticks: `` `a`, `b` ``.
pub(crate) fn code_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `file:line`, or `file: record N` when only the record is known (a JSON item whose line
/// could not be found), or just `file`.
fn write_place(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: Option<u64>,
    record: Option<u64>,
) -> fmt::Result {
    f.write_str(file)?;
    match (line, record) {
        (Some(line), _) => write!(f, ":{line}"),
        (None, Some(record)) => write!(f, ": record {record}"),
        (None, None) => Ok(()),
    }
}
