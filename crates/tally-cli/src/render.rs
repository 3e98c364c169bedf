//! Diagnostics for people (miette, with the source underlined) and for machines (JSON).

use crate::exit::Failure;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use tally_db::Database;
use tally_diagnostics::{Diagnostic, LineIndex, Severity};
use tally_driver::FileDiagnostic;

/// A diagnostic with its file, in the shape miette renders.
#[derive(Debug)]
struct Report {
    diagnostic: Diagnostic,
    source: NamedSource<String>,
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
pub fn human(file: &str, source: &str, diagnostic: &Diagnostic) -> String {
    let theme = if colour() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let report = Report {
        diagnostic: diagnostic.clone(),
        source: NamedSource::new(file, source.to_string()),
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail in practice; keep the message regardless.
        out = format!("{file}: {}\n", diagnostic.message);
    }
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

/// The text of a file the database holds, for rendering its diagnostics.
fn source(db: &Database, file: &str) -> String {
    db.file(file)
        .map(|f| f.text(db).clone())
        .unwrap_or_default()
}

/// Prints diagnostics for people on standard error.
pub fn print_human(db: &Database, problems: &[FileDiagnostic]) {
    let mut stderr = std::io::stderr().lock();
    for problem in problems {
        let text = source(db, &problem.file);
        let _ = write!(
            stderr,
            "{}",
            human(&problem.file, &text, &problem.diagnostic)
        );
    }
}

/// Prints diagnostics as one JSON array on standard output.
pub(crate) fn print_json(db: &Database, problems: &[FileDiagnostic]) -> Result<(), Failure> {
    let machine: Vec<JsonDiagnostic> = problems
        .iter()
        .map(|p| json(&p.file, &source(db, &p.file), &p.diagnostic))
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

pub fn json(file: &str, source: &str, diagnostic: &Diagnostic) -> JsonDiagnostic {
    let index = LineIndex::new(source);
    let span = diagnostic.primary_span();
    let (line, column) = index.line_col(source, span.start as usize);
    let (end_line, end_column) = index.line_col(source, span.end as usize);
    JsonDiagnostic {
        file: file.to_string(),
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
                let (line, column) = index.line_col(source, l.span.start as usize);
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
