//! Tally diagnostics as LSP diagnostics: code, severity, range, the help appended to the
//! message, secondary labels as related information (in this file or, for a label with a
//! `file`, in the module it names).

use crate::convert::Lines;
use crate::world::World;
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString,
    PublishDiagnosticsParams, Uri,
};
use std::str::FromStr;
use tally_diagnostics::{Code, Diagnostic, Severity};

pub(crate) fn to_lsp(
    world: &World,
    key: &str,
    lines: &Lines<'_>,
    d: &Diagnostic,
) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .filter_map(|label| {
            let file = label.file.as_deref().unwrap_or(key);
            let uri = Uri::from_str(&world.uri_of_key(file)?).ok()?;
            let range = if file == key {
                lines.range(label.span)
            } else {
                let text = world.file(file)?.text(&world.db).clone();
                Lines::new(&text).range(label.span)
            };
            Some(DiagnosticRelatedInformation {
                location: Location { uri, range },
                message: if label.message.is_empty() {
                    "see here".into()
                } else {
                    label.message.clone()
                },
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: lines.range(d.primary_span()),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some("tally".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: (d.code == Code::UnusedDefinition).then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: None,
    }
}

/// The diagnostics of every open document whose diagnostics changed since they were last
/// published: an edit to a module reaches the open files that use it.
pub(crate) fn changed(world: &mut World) -> Vec<PublishDiagnosticsParams> {
    let mut out = Vec::new();
    let keys: Vec<String> = world.open.keys().cloned().collect();
    for key in keys {
        let Some(file) = world.file(&key) else {
            continue;
        };
        let current = tally_db::diagnostics(&world.db, file).clone();
        if world.published.get(&key) == Some(&current) {
            continue;
        }
        let text = file.text(&world.db).clone();
        let lines = Lines::new(&text);
        let diagnostics = current
            .iter()
            .map(|d| to_lsp(world, &key, &lines, d))
            .collect();
        let (Some(uri), Some(open)) = (
            world.uri_of_key(&key).and_then(|u| Uri::from_str(&u).ok()),
            world.open.get(&key),
        ) else {
            continue;
        };
        out.push(PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: Some(open.version),
        });
        world.published.insert(key, current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_diagnostics::Span;

    #[test]
    fn a_label_in_another_file_points_into_that_file() {
        let root = std::path::PathBuf::from("/work/rules");
        let mut world = World::new(root, crate::Options::default());
        world
            .db
            .set_file("shared/msp.tally", "use std.m365\n\nlet staff = 1\n".into());
        let text = "let staff = 2\n";
        let lines = Lines::new(text);
        let d = Diagnostic::error(
            Code::DuplicateDefinition,
            "`staff` is already defined by `shared/msp.tally`",
            Span::new(4, 9),
        )
        .with_secondary_in("shared/msp.tally", Span::new(18, 23), "defined here")
        .with_secondary(Span::new(0, 3), "")
        .with_help("choose another name");
        let lsp = to_lsp(&world, "customers/c.tally", &lines, &d);
        assert_eq!(
            lsp.message,
            "`staff` is already defined by `shared/msp.tally`\nhelp: choose another name"
        );
        let related = lsp.related_information.unwrap_or_default();
        assert_eq!(related.len(), 2);
        assert_eq!(
            related[0].location.uri.as_str(),
            "file:///work/rules/shared/msp.tally"
        );
        let r = related[0].location.range;
        assert_eq!(
            (r.start.line, r.start.character, r.end.line, r.end.character),
            (2, 4, 2, 9)
        );
        assert_eq!(related[0].message, "defined here");
        assert_eq!(
            related[1].location.uri.as_str(),
            "file:///work/rules/customers/c.tally"
        );
        assert_eq!(related[1].message, "see here");
    }
}
