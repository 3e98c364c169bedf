//! Quick fixes: every suggestion a diagnostic carries (`Diagnostic::suggestions`, e.g. "replace
//! with `department`") becomes a code action whose edit replaces the suggestion's span.

use crate::convert::Lines;
use crate::world::World;
use lsp_server::ErrorCode;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    TextEdit, WorkspaceEdit,
};
use std::collections::HashMap;

type Reply<T> = Result<T, (ErrorCode, String)>;

// `lsp_types::Uri` hashes its text; the lint cannot see that.
#[allow(clippy::mutable_key_type)]
pub(crate) fn code_actions(
    world: &mut World,
    params: CodeActionParams,
) -> Reply<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let Some(key) = world.key_of_uri(uri.as_str()) else {
        return Ok(None);
    };
    let Some(file) = world.file(&key) else {
        return Ok(None);
    };
    if let Some(only) = &params.context.only
        && !only
            .iter()
            .any(|k| k.as_str().starts_with(CodeActionKind::QUICKFIX.as_str()))
    {
        return Ok(Some(Vec::new()));
    }
    let text = file.text(&world.db).clone();
    let lines = Lines::new(&text);
    let wanted_start = lines.offset(params.range.start);
    let wanted_end = lines.offset(params.range.end);
    let mut out = Vec::new();
    for diagnostic in tally_db::diagnostics(&world.db, file) {
        let span = diagnostic.primary_span();
        // The diagnostic touches the range asked about (a cursor inside or at either end).
        if (span.end as usize) < wanted_start || (span.start as usize) > wanted_end {
            continue;
        }
        let lsp_diagnostic = crate::diagnostics::to_lsp(world, &key, &lines, diagnostic);
        let single = diagnostic.suggestions.len() == 1;
        for suggestion in &diagnostic.suggestions {
            let edit = TextEdit {
                range: lines.range(suggestion.span),
                new_text: suggestion.replacement.clone(),
            };
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: suggestion.message.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diagnostic.clone()]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                    document_changes: None,
                    change_annotations: None,
                }),
                command: None,
                is_preferred: Some(single),
                disabled: None,
                data: None,
            }));
        }
    }
    Ok(Some(out))
}
