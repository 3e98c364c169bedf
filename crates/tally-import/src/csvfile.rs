//! Reading a CSV file record by record, with line numbers that are right.
//!
//! The `csv` crate's record positions are off after a blank line, and off by one on every
//! record of a file with Windows (CRLF) line endings, which is how Partner Center exports and
//! Excel saves are written. So the bytes are counted here instead: a reader wrapper notes
//! where the line breaks are, and a record's line is one more than the breaks before its first
//! byte. Only the breaks in the window the CSV reader has read ahead are kept, so this streams.

use std::collections::VecDeque;
use std::io::Read;

use crate::error::ImportError;
use crate::table::{Column, Columns, Row, sniff_delimiter};

/// Passes bytes through, remembering the offsets of `\r` and `\n`.
struct LineTracker<R> {
    inner: R,
    offset: u64,
    breaks: VecDeque<(u64, u8)>,
    /// Line breaks before the last position asked about.
    counted: u64,
    last_cr: Option<u64>,
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        for i in memchr::memchr2_iter(b'\r', b'\n', read) {
            if let Some(&b) = read.get(i) {
                self.breaks.push_back((self.offset + i as u64, b));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R> LineTracker<R> {
    fn consume_front(&mut self) {
        if let Some((at, b)) = self.breaks.pop_front() {
            // `\r\n` is one break, a lone `\r` or `\n` is one too.
            let after_cr = at.checked_sub(1).is_some_and(|p| self.last_cr == Some(p));
            if b == b'\r' {
                self.counted += 1;
                self.last_cr = Some(at);
            } else if !after_cr {
                self.counted += 1;
            }
        }
    }

    /// The line of a record the CSV reader says starts at byte `start`. That byte may be the
    /// end of the previous line or a blank line before the record; those are skipped.
    fn line_at(&mut self, start: u64) -> u64 {
        while self.breaks.front().is_some_and(|&(at, _)| at < start) {
            self.consume_front();
        }
        let mut next = start;
        while self.breaks.front().is_some_and(|&(at, _)| at == next) {
            self.consume_front();
            next += 1;
        }
        self.counted + 1
    }
}

/// Where a record is: its number among data records, and its line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub number: u64,
    pub line: Option<u64>,
}

/// A CSV file being read: delimiter given, header matched to an importer's columns.
pub(crate) struct CsvFile<R: Read> {
    reader: csv::Reader<LineTracker<R>>,
    pub columns: Columns,
    file: String,
    number: u64,
}

impl<R: Read> CsvFile<R> {
    /// Read the header. Rows of any length are accepted by the parser so that a short or long
    /// row is reported by [`CsvFile::next`] with its line rather than as a bare parse error.
    pub fn open<C: Column>(file: &str, input: R, delimiter: u8) -> Result<CsvFile<R>, ImportError> {
        let tracker = LineTracker {
            inner: input,
            offset: 0,
            breaks: VecDeque::new(),
            counted: 0,
            last_cr: None,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(tracker);
        let headers = reader
            .headers()
            .map_err(|e| read_error(file, &e, Some(1)))?
            .clone();
        Ok(CsvFile {
            columns: Columns::from_headers::<C>(headers.iter()),
            reader,
            file: file.to_string(),
            number: 0,
        })
    }

    /// Read the next data record into `record`; `None` at the end.
    pub fn next(&mut self, record: &mut csv::StringRecord) -> Result<Option<At>, ImportError> {
        let more = match self.reader.read_record(record) {
            Ok(more) => more,
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| self.reader.get_mut().line_at(p.byte()));
                return Err(read_error(&self.file, &e, line));
            }
        };
        if !more {
            return Ok(None);
        }
        self.number += 1;
        let line = record
            .position()
            .map(|p| self.reader.get_mut().line_at(p.byte()));
        let at = At {
            number: self.number,
            line,
        };
        self.check_len(record, at)?;
        Ok(Some(at))
    }

    /// Call `f` with every data record, read through the header's columns. One record is
    /// reused for every row: no allocation per row once warmed up.
    pub fn for_each_row(
        &mut self,
        mut f: impl FnMut(Row<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let mut record = csv::StringRecord::new();
        while let Some(at) = self.next(&mut record)? {
            f(self.columns.row(&self.file, &record, at))?;
        }
        Ok(())
    }

    /// Refuse a row whose field count differs from the header's, unless the extra cells are
    /// all empty (a trailing comma): a shifted row would put values under the wrong columns.
    fn check_len(&self, record: &csv::StringRecord, at: At) -> Result<(), ImportError> {
        let n = record.len();
        let expected = self.columns.header_len;
        let extra_empty = n > expected && record.iter().skip(expected).all(|c| c.trim().is_empty());
        if n == expected || extra_empty {
            return Ok(());
        }
        Err(ImportError::file(
            &self.file,
            format!(
                "the row has {n} fields but the header has {expected} (an unquoted comma or \
                 line break in a value?)"
            ),
        )
        .at_line(at.line)
        .at_record(Some(at.number)))
    }
}

impl<'t> CsvFile<&'t [u8]> {
    /// A CSV file already read whole, with the delimiter its header uses.
    pub fn from_text<C: Column>(file: &str, text: &'t str) -> Result<Self, ImportError> {
        CsvFile::open::<C>(file, text.as_bytes(), sniff_delimiter(text.as_bytes()))
    }
}

fn read_error(file: &str, e: &csv::Error, line: Option<u64>) -> ImportError {
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "the row is not UTF-8 text (export the file as UTF-8)".to_string()
        }
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => e.to_string(),
    };
    ImportError::file(file, message).at_line(line)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::table::columns;

    columns! {
        enum Col {
            A = "a",
        }
    }

    fn lines(text: &str) -> Vec<(String, u64)> {
        let mut csv = CsvFile::open::<Col>("f", text.as_bytes(), b',').unwrap();
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while let Some(at) = csv.next(&mut record).unwrap() {
            let row = csv.columns.row("f", &record, at);
            out.push((row.text(Col::A).unwrap().to_string(), at.line.unwrap()));
        }
        out
    }

    #[test]
    fn lines_with_every_line_ending_and_blank_lines() {
        let want = [
            ("x".to_string(), 2),
            ("y".to_string(), 3),
            ("z".to_string(), 5),
        ];
        assert_eq!(lines("a\nx\ny\n\nz\n"), want);
        assert_eq!(lines("a\r\nx\r\ny\r\n\r\nz\r\n"), want);
        assert_eq!(lines("a\rx\ry\r\rz"), want);
        // A quoted line break belongs to its record.
        assert_eq!(
            lines("a\n\"x\nx\"\ny\n"),
            [("x\nx".to_string(), 2), ("y".to_string(), 4)]
        );
    }
}
