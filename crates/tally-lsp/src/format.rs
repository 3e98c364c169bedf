//! Document formatting through the [`crate::Formatter`] seam: the server offers formatting only
//! when `tally lsp` was given a formatter (`tally lsp` passes `tally-fmt`'s `format`), and
//! answers with one edit replacing the whole text when the formatted text differs.

use crate::convert::Lines;
use crate::world::World;
use lsp_server::ErrorCode;
use lsp_types::{DocumentFormattingParams, Range, TextEdit};
use tally_diagnostics::Span;

type Reply<T> = Result<T, (ErrorCode, String)>;

pub(crate) fn formatting(
    world: &mut World,
    params: DocumentFormattingParams,
) -> Reply<Option<Vec<TextEdit>>> {
    let Some(formatter) = world.formatter else {
        return Err((
            ErrorCode::MethodNotFound,
            "this tally has no formatter".into(),
        ));
    };
    let Some(file) = world
        .key_of_uri(params.text_document.uri.as_str())
        .and_then(|k| world.file(&k))
    else {
        return Ok(None);
    };
    let text = file.text(&world.db).clone();
    let formatted = formatter(&text).map_err(|why| {
        (
            ErrorCode::RequestFailed,
            format!("the file cannot be formatted: {why}"),
        )
    })?;
    if formatted == text {
        return Ok(Some(Vec::new()));
    }
    let lines = Lines::new(&text);
    let whole: Range = lines.range(Span::new(0, text.len()));
    Ok(Some(vec![TextEdit {
        range: whole,
        new_text: formatted,
    }]))
}
