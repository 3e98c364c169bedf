//! Diagnostics for people (miette, with the source underlined) and for machines (JSON).
//!
//! Rendering is linear in the number of diagnostics: each file is indexed once and miette reads
//! only the lines around a label. A line too long to show (minified or generated text) is cited
//! by line and column instead of drawn, and past [`RENDERED_IN_FULL`] diagnostics in one file
//! the rest are listed one per line.

use crate::exit::Failure;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use tally_db::Database;
use tally_diagnostics::{Diagnostic, LineIndex, Severity};
use tally_driver::FileDiagnostic;

/// Diagnostics per file drawn with their source; the rest are listed one per line.
pub const RENDERED_IN_FULL: usize = 100;

/// A line longer than this (in bytes) is cited, not drawn.
const LONGEST_DRAWN_LINE: usize = 1_000;

/// One file's text, indexed once for every diagnostic in it.
#[derive(Debug, Clone)]
pub struct Source {
    name: String,
    text: Arc<str>,
    index: Arc<LineIndex>,
}

impl Source {
    pub fn new(name: &str, text: &str) -> Source {
        Source {
            name: name.to_string(),
            index: Arc::new(LineIndex::new(text)),
            text: Arc::from(text),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        self.index.line_col(&self.text, offset)
    }

    /// The byte length of the line holding `offset`.
    fn line_len(&self, offset: usize) -> usize {
        let line = self.index.line_number(offset);
        let start = self.index.start_of_line(line).unwrap_or(0);
        let end = self
            .index
            .start_of_line(line + 1)
            .unwrap_or(self.text.len());
        end.saturating_sub(start)
    }
}

impl SourceCode for Source {
    /// Only the lines around the span, found through the index: reading a span never scans the
    /// file from its start.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.text.as_bytes();
        let start = span.offset();
        let end = start + span.len();
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first_line = self.index.line_number(start);
        let last_line = self.index.line_number(end.saturating_sub(1).max(start));
        let window_line = first_line.saturating_sub(before);
        let window_start = self.index.start_of_line(window_line).unwrap_or(0);
        let window_end = self
            .index
            .start_of_line(last_line + after + 1)
            .unwrap_or(text.len());
        let column = if before == 0 {
            self.line_col(start).1 - 1
        } else {
            0
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            text.get(window_start..window_end).unwrap_or_default(),
            SourceSpan::from((window_start, window_end - window_start)),
            window_line,
            column,
            (last_line + after + 1).min(self.index.line_count()),
        )))
    }
}

/// A diagnostic with its file, in the shape miette renders.
#[derive(Debug)]
struct Report {
    diagnostic: Diagnostic,
    source: Source,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        // Labels in other files are listed under the report (see `human`).
        let here = self.diagnostic.labels.iter().filter(|l| l.file.is_none());
        let labels = here.enumerate().map(|(i, label)| {
            let span = SourceSpan::from((label.span.start as usize, label.span.len()));
            let text = (!label.message.is_empty()).then(|| label.message.clone());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        });
        Some(Box::new(labels))
    }
}

/// Whether stderr gets colour: a terminal, and `NO_COLOR` unset (https://no-color.org).
pub(crate) fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Renders one diagnostic with its source, the way people read it.
pub fn human(source: &Source, diagnostic: &Diagnostic) -> String {
    let drawable = diagnostic
        .labels
        .iter()
        .filter(|l| l.file.is_none())
        .all(|l| source.line_len(l.span.start as usize) <= LONGEST_DRAWN_LINE);
    let mut out = if drawable {
        graphical(source, diagnostic)
    } else {
        brief(source, diagnostic)
    };
    for label in &diagnostic.labels {
        if let Some(other) = &label.file {
            out.push_str(&format!(
                "  = note: {other}, bytes {}..{}: {}\n",
                label.span.start, label.span.end, label.message
            ));
        }
    }
    out
}

fn graphical(source: &Source, diagnostic: &Diagnostic) -> String {
    let theme = if colour() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let report = Report {
        diagnostic: diagnostic.clone(),
        source: source.clone(),
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        return brief(source, diagnostic);
    }
    out
}

/// One line per diagnostic: `file:line:col: CODE message`, then the help.
fn brief(source: &Source, diagnostic: &Diagnostic) -> String {
    let (line, column) = source.line_col(diagnostic.primary_span().start as usize);
    let mut out = format!(
        "{}:{line}:{column}: {} {}: {}\n",
        source.name,
        diagnostic.code,
        match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        diagnostic.message
    );
    if let Some(help) = &diagnostic.help {
        out.push_str(&format!("  help: {help}\n"));
    }
    out
}

/// The diagnostics of one file, with the text they point into.
fn by_file<'a>(
    db: &Database,
    problems: &'a [FileDiagnostic],
) -> Vec<(Source, Vec<&'a Diagnostic>)> {
    let mut files: Vec<(Source, Vec<&'a Diagnostic>)> = Vec::new();
    for problem in problems {
        match files.iter_mut().find(|(s, _)| s.name == problem.file) {
            Some((_, list)) => list.push(&problem.diagnostic),
            None => {
                let text = db
                    .file(&problem.file)
                    .map(|f| f.text(db).clone())
                    .unwrap_or_default();
                files.push((Source::new(&problem.file, &text), vec![&problem.diagnostic]));
            }
        }
    }
    files
}

/// Prints diagnostics for people on standard error.
pub fn print_human(db: &Database, problems: &[FileDiagnostic]) {
    let _ = write!(std::io::stderr().lock(), "{}", human_report(db, problems));
}

/// Diagnostics for people, as `tally check` prints them.
pub fn human_report(db: &Database, problems: &[FileDiagnostic]) -> String {
    let mut out = String::new();
    for (source, diagnostics) in by_file(db, problems) {
        for (i, diagnostic) in diagnostics.iter().enumerate() {
            if i < RENDERED_IN_FULL {
                out.push_str(&human(&source, diagnostic));
            } else {
                out.push_str(&brief(&source, diagnostic));
            }
        }
        if diagnostics.len() > RENDERED_IN_FULL {
            out.push_str(&format!(
                "{}: {} problems, the first {RENDERED_IN_FULL} shown in full\n",
                source.name,
                diagnostics.len()
            ));
        }
    }
    out
}

/// Prints diagnostics as one JSON array on standard output.
pub(crate) fn print_json(db: &Database, problems: &[FileDiagnostic]) -> Result<(), Failure> {
    let machine: Vec<JsonDiagnostic> = by_file(db, problems)
        .into_iter()
        .flat_map(|(source, diagnostics)| {
            diagnostics
                .into_iter()
                .map(move |d| json(&source, d))
                .collect::<Vec<_>>()
        })
        .collect();
    let text = serde_json::to_string_pretty(&machine).map_err(|e| Failure::Usage(e.to_string()))?;
    crate::output::print(&format!("{text}\n"))
}

#[derive(Serialize)]
pub struct JsonDiagnostic {
    file: String,
    code: &'static str,
    severity: Severity,
    message: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    labels: Vec<JsonLabel>,
    help: Option<String>,
}

#[derive(Serialize)]
struct JsonLabel {
    message: String,
    line: usize,
    column: usize,
    start: u32,
    end: u32,
}

pub fn json(source: &Source, diagnostic: &Diagnostic) -> JsonDiagnostic {
    let span = diagnostic.primary_span();
    let (line, column) = source.line_col(span.start as usize);
    let (end_line, end_column) = source.line_col(span.end as usize);
    JsonDiagnostic {
        file: source.name.clone(),
        code: diagnostic.code.as_str(),
        severity: diagnostic.severity,
        message: diagnostic.message.clone(),
        line,
        column,
        end_line,
        end_column,
        labels: diagnostic
            .labels
            .iter()
            .map(|l| {
                let (line, column) = source.line_col(l.span.start as usize);
                JsonLabel {
                    message: l.message.clone(),
                    line,
                    column,
                    start: l.span.start,
                    end: l.span.end,
                }
            })
            .collect(),
        help: diagnostic.help.clone(),
    }
}
