//! Diagnostics for people (miette, with the source underlined) and for machines (JSON).

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use std::io::IsTerminal;
use tally_diagnostics::{Diagnostic, LineIndex, Severity};

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
        let labels = self.diagnostic.labels.iter().enumerate().map(|(i, label)| {
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
pub(crate) fn human(file: &str, source: &str, diagnostic: &Diagnostic) -> String {
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
    out
}

#[derive(Serialize)]
pub(crate) struct JsonDiagnostic {
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

pub(crate) fn json(file: &str, source: &str, diagnostic: &Diagnostic) -> JsonDiagnostic {
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
