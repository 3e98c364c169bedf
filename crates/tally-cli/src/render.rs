//! Diagnostics for people (miette, with the source underlined) and for machines (JSON, GitHub
//! workflow commands, SARIF 2.1.0).
//!
//! Rendering is linear in the number of diagnostics: each file is indexed once and miette reads
//! only the lines around a label. A line too long to show (minified or generated text) is cited
//! by line and column instead of drawn, and past [`RENDERED_IN_FULL`] diagnostics in one file
//! the rest are listed one per line.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use tally_db::Database;
use tally_diagnostics::{Code, Diagnostic, LineIndex, Severity};
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

/// Each code's short title, as `docs/errors.md` heads its section (a test keeps them equal).
pub fn code_title(code: Code) -> &'static str {
    match code {
        Code::Syntax => "syntax error",
        Code::BadLiteral => "bad literal",
        Code::NestingTooDeep => "nesting too deep",
        Code::UnknownName => "unknown name",
        Code::UnknownField => "unknown field",
        Code::UnknownFunction => "unknown function",
        Code::UnknownSku => "unknown SKU",
        Code::UnknownModule => "unknown module",
        Code::TypeMismatch => "type mismatch",
        Code::CurrencyMismatch => "currency mismatch",
        Code::NonIntegerQuantity => "quantity not whole",
        Code::WrongArity => "wrong number of arguments",
        Code::DuplicateLine => "duplicate line",
        Code::DuplicateDefinition => "duplicate definition",
        Code::CyclicDefinition => "circular definition",
        Code::BadSplit => "bad split",
        Code::BadCustomer => "bad customer header",
        Code::BadClause => "bad clause",
        Code::UnknownCurrency => "unknown currency",
        Code::UnusedDefinition => "unused definition",
        Code::DivisionByZero => "division by zero",
        Code::NegativeQuantity => "negative quantity",
        Code::MissingTenant => "tenant not in snapshot",
        Code::MissingData => "missing data",
        Code::Overflow => "number too large",
        Code::RulesHaveErrors => "rules have errors",
        Code::Internal => "internal error",
    }
}

/// A workflow command's message (GitHub's `escapeData`): `%`, carriage return and line feed.
pub fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (GitHub's `escapeProperty`): the message's escapes, and
/// `:` and `,`, which end a property.
pub fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Diagnostics as GitHub Actions workflow commands, one line each:
/// `::error file=F,line=L,col=C,endLine=L,endColumn=C,title=T0102::message`. GitHub shows them
/// as annotations on the pull request's files. Columns count characters, 1-based; the end is
/// the character after the span, as in `--format json`.
pub fn github_report(db: &Database, problems: &[FileDiagnostic]) -> String {
    let mut out = String::new();
    for (source, diagnostics) in by_file(db, problems) {
        for diagnostic in diagnostics {
            let span = diagnostic.primary_span();
            let (line, column) = source.line_col(span.start as usize);
            let (end_line, end_column) = source.line_col(span.end as usize);
            let mut message = diagnostic.message.clone();
            if let Some(help) = &diagnostic.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            out.push_str(&format!(
                "::{} file={},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}\n",
                match diagnostic.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                github_property(&source.name),
                github_property(diagnostic.code.as_str()),
                github_data(&message)
            ));
        }
    }
    out
}

/// The URI reference of a file key in SARIF: the path with `/`, characters that a URI may not
/// hold percent-encoded (UTF-8 bytes).
fn uri_reference(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `PascalCase` of a title: `unknown field` → `UnknownField`.
fn rule_name(title: &str) -> String {
    title
        .split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Where the official SARIF 2.1.0 schema (OASIS, errata 01) lives.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Diagnostics as a SARIF 2.1.0 log: one run of `tally`, a rule for every code, a result per
/// diagnostic with its region (lines and columns in Unicode code points, 1-based, the end
/// exclusive) and its other labels as related locations. For GitHub code scanning and other
/// SARIF viewers.
pub fn sarif_report(db: &Database, problems: &[FileDiagnostic]) -> serde_json::Value {
    use serde_json::json;
    let rules: Vec<serde_json::Value> = Code::ALL
        .iter()
        .map(|code| {
            let title = code_title(*code);
            let level = if *code == Code::UnusedDefinition {
                "warning"
            } else {
                "error"
            };
            json!({
                "id": code.as_str(),
                "name": rule_name(title),
                "shortDescription": { "text": title },
                "fullDescription": {
                    "text": format!("{} {title}: see the section {} in docs/errors.md.", code.as_str(), code.as_str())
                },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    let mut sources: Vec<Source> = Vec::new();
    let mut source_of = |name: &str| -> Source {
        if let Some(found) = sources.iter().find(|s| s.name == name) {
            return found.clone();
        }
        let text = db
            .file(name)
            .map(|f| f.text(db).clone())
            .unwrap_or_default();
        let source = Source::new(name, &text);
        sources.push(source.clone());
        source
    };
    let region = |source: &Source, start: u32, end: u32| {
        let (start_line, start_column) = source.line_col(start as usize);
        let (end_line, end_column) = source.line_col(end as usize);
        json!({
            "startLine": start_line,
            "startColumn": start_column,
            "endLine": end_line,
            "endColumn": end_column,
            "byteOffset": start,
            "byteLength": end.saturating_sub(start),
        })
    };
    let mut results = Vec::new();
    for problem in problems {
        let diagnostic = &problem.diagnostic;
        let source = source_of(&problem.file);
        let span = diagnostic.primary_span();
        let mut text = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            text.push_str("\nhelp: ");
            text.push_str(help);
        }
        let related: Vec<serde_json::Value> = diagnostic
            .labels
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, label)| {
                let file = label.file.clone().unwrap_or_else(|| problem.file.clone());
                let other = source_of(&file);
                let message = if label.message.is_empty() {
                    "related".to_string()
                } else {
                    label.message.clone()
                };
                json!({
                    "id": i,
                    "message": { "text": message },
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_reference(&file) },
                        "region": region(&other, label.span.start, label.span.end),
                    }
                })
            })
            .collect();
        let index = Code::ALL
            .iter()
            .position(|c| *c == diagnostic.code)
            .unwrap_or(0);
        let mut result = json!({
            "ruleId": diagnostic.code.as_str(),
            "ruleIndex": index,
            "level": match diagnostic.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            "message": { "text": text },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri_reference(&problem.file) },
                    "region": region(&source, span.start, span.end),
                }
            }],
        });
        if !related.is_empty()
            && let Some(object) = result.as_object_mut()
        {
            object.insert("relatedLocations".into(), serde_json::Value::Array(related));
        }
        results.push(result);
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "tally",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// Diagnostics as JSON, the text `tally check --format json` prints.
pub fn json_report(
    db: &Database,
    problems: &[FileDiagnostic],
) -> Result<String, serde_json::Error> {
    let machine: Vec<JsonDiagnostic> = by_file(db, problems)
        .into_iter()
        .flat_map(|(source, diagnostics)| {
            diagnostics
                .into_iter()
                .map(move |d| json(&source, d))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(format!("{}\n", serde_json::to_string_pretty(&machine)?))
}

/// One line per diagnostic, `file:line:col: CODE severity: message`, for summaries (the HTML
/// report's warnings, `tally test`'s outcomes).
pub fn one_line(db: &Database, problem: &FileDiagnostic) -> (String, String) {
    let text = db
        .file(&problem.file)
        .map(|f| f.text(db).clone())
        .unwrap_or_default();
    let source = Source::new(&problem.file, &text);
    let (line, column) = source.line_col(problem.diagnostic.primary_span().start as usize);
    (
        format!("{}:{line}:{column}", problem.file),
        problem.diagnostic.message.clone(),
    )
}
