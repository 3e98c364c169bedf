//! Go to definition, find references and rename, for definitions (across the files that use
//! their module), lines and `use` targets.

use crate::analysis::{self, Target};
use crate::convert::Lines;
use crate::world::{World, is_std};
use lsp_server::ErrorCode;
use lsp_types::{
    GotoDefinitionParams, GotoDefinitionResponse, Location, PrepareRenameResponse, ReferenceParams,
    RenameParams, TextDocumentPositionParams, TextEdit, Uri, WorkspaceEdit,
};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use tally_db::{Db, SourceFile};
use tally_diagnostics::Span;
use tally_syntax::ast::Item;

type Reply<T> = Result<T, (ErrorCode, String)>;

/// Names that are not the language's keywords but still may not be a definition's name.
const RESERVED_NAMES: [&str; 4] = ["m365", "azure", "period", "std"];

fn target(
    world: &World,
    position: &TextDocumentPositionParams,
) -> Option<(SourceFile, Target, Span)> {
    let (file, offset, _) = crate::hover::locate(
        world,
        position.text_document.uri.as_str(),
        position.position,
    )?;
    let (target, span) = analysis::target_at(&world.db, file, offset)?;
    Some((file, target, span))
}

fn location(world: &World, file: SourceFile, span: Span) -> Option<Location> {
    let key = file.key(&world.db);
    let uri = Uri::from_str(&world.uri_of_key(key)?).ok()?;
    let text = file.text(&world.db);
    Some(Location {
        uri,
        range: Lines::new(text).range(span),
    })
}

pub(crate) fn definition(
    world: &mut World,
    params: GotoDefinitionParams,
) -> Reply<Option<GotoDefinitionResponse>> {
    let Some((file, target, _)) = target(world, &params.text_document_position_params) else {
        return Ok(None);
    };
    let found = match target {
        Target::Let(id) => {
            analysis::let_declaration(&world.db, &id).and_then(|(f, span)| location(world, f, span))
        }
        Target::Line { name, .. } => analysis::line_declaration(&world.db, file, &name)
            .and_then(|span| location(world, file, span)),
        Target::Module(key) => world
            .file(&key)
            .and_then(|f| location(world, f, Span::new(0, 0))),
    };
    Ok(found.map(GotoDefinitionResponse::Scalar))
}

pub(crate) fn references(
    world: &mut World,
    params: ReferenceParams,
) -> Reply<Option<Vec<Location>>> {
    let Some((file, target, _)) = target(world, &params.text_document_position) else {
        return Ok(None);
    };
    let include_declaration = params.context.include_declaration;
    let found: Vec<Location> = match target {
        Target::Let(id) => {
            let declaration = analysis::let_declaration(&world.db, &id);
            analysis::let_references(&world.db, &id)
                .into_iter()
                .filter(|r| include_declaration || Some(*r) != declaration)
                .filter_map(|(f, span)| location(world, f, span))
                .collect()
        }
        Target::Line { name, .. } => {
            // Lines are named only where they are declared.
            if include_declaration {
                analysis::line_declaration(&world.db, file, &name)
                    .and_then(|span| location(world, file, span))
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            }
        }
        Target::Module(key) => {
            // Every `use` of the module.
            let mut out = Vec::new();
            for f in world.db.workspace().files(&world.db).values() {
                for (used, span) in tally_db::uses(&world.db, *f) {
                    if *used == key
                        && let Some(l) = location(world, *f, *span)
                    {
                        out.push(l);
                    }
                }
            }
            out
        }
    };
    Ok(Some(found))
}

pub(crate) fn prepare_rename(
    world: &mut World,
    params: TextDocumentPositionParams,
) -> Reply<Option<PrepareRenameResponse>> {
    let Some((file, target, span)) = target(world, &params) else {
        return Err((
            ErrorCode::RequestFailed,
            "nothing to rename here: put the cursor on a definition's or a line's name".into(),
        ));
    };
    renamable(&target)?;
    let text = file.text(&world.db);
    Ok(Some(PrepareRenameResponse::RangeWithPlaceholder {
        range: Lines::new(text).range(span),
        placeholder: span.text(text).to_string(),
    }))
}

fn renamable(target: &Target) -> Reply<()> {
    match target {
        Target::Let(id) if is_std(&id.module.0) => Err((
            ErrorCode::RequestFailed,
            format!(
                "`{}` is defined by the standard library `{}`",
                id.name, id.module.0
            ),
        )),
        Target::Module(_) => Err((
            ErrorCode::RequestFailed,
            "a module is renamed by renaming its file".into(),
        )),
        _ => Ok(()),
    }
}

// `lsp_types::Uri` hashes its text; the lint cannot see that.
#[allow(clippy::mutable_key_type)]
pub(crate) fn rename(world: &mut World, params: RenameParams) -> Reply<Option<WorkspaceEdit>> {
    let Some((file, target, _)) = target(world, &params.text_document_position) else {
        return Ok(None);
    };
    renamable(&target)?;
    let new_name = params.new_name;
    valid_name(&new_name)?;
    let spans: Vec<(SourceFile, Span)> = match &target {
        Target::Let(id) => {
            clashes(world, &new_name, id)?;
            analysis::let_references(&world.db, id)
        }
        Target::Line { name, .. } => {
            if analysis::line_declaration(&world.db, file, &new_name).is_some() {
                return Err((
                    ErrorCode::RequestFailed,
                    format!("this file already has a line `{new_name}`"),
                ));
            }
            analysis::line_declaration(&world.db, file, name)
                .map(|span| vec![(file, span)])
                .unwrap_or_default()
        }
        Target::Module(_) => Vec::new(),
    };
    let mut changes: BTreeMap<String, Vec<TextEdit>> = BTreeMap::new();
    for (f, span) in spans {
        let Some(location) = location(world, f, span) else {
            continue;
        };
        changes
            .entry(location.uri.as_str().to_string())
            .or_default()
            .push(TextEdit {
                range: location.range,
                new_text: new_name.clone(),
            });
    }
    let changes: HashMap<Uri, Vec<TextEdit>> = changes
        .into_iter()
        .filter_map(|(uri, edits)| Uri::from_str(&uri).ok().map(|u| (u, edits)))
        .collect();
    Ok(Some(WorkspaceEdit {
        changes: Some(changes),
        document_changes: None,
        change_annotations: None,
    }))
}

fn valid_name(name: &str) -> Reply<()> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !name.chars().all(analysis::is_name_char) {
        return Err((
            ErrorCode::InvalidParams,
            format!(
                "`{name}` is not a name: letters, digits and `_`, starting with a letter or `_`"
            ),
        ));
    }
    if tally_syntax::KEYWORDS.contains(&name) || RESERVED_NAMES.contains(&name) {
        return Err((
            ErrorCode::InvalidParams,
            format!("`{name}` is a reserved word"),
        ));
    }
    Ok(())
}

/// A new name that a file seeing the definition already defines or imports would change what
/// that file means.
fn clashes(world: &World, new_name: &str, id: &tally_ir::LetId) -> Reply<()> {
    for f in world.db.workspace().files(&world.db).values() {
        let key = f.key(&world.db);
        let sees = *key == id.module.0
            || tally_db::uses(&world.db, *f)
                .iter()
                .any(|(k, _)| *k == id.module.0);
        if !sees {
            continue;
        }
        let defines = tally_db::parse(&world.db, *f)
            .file
            .items
            .iter()
            .any(|i| matches!(i, Item::Let(l) if l.name.name == new_name));
        let imports = tally_db::uses(&world.db, *f).iter().any(|(k, _)| {
            world.file(k).is_some_and(|m| {
                tally_db::check(&world.db, m)
                    .interface
                    .lets
                    .contains_key(new_name)
            })
        });
        if defines || imports {
            return Err((
                ErrorCode::RequestFailed,
                format!("`{key}` already sees a definition named `{new_name}`"),
            ));
        }
    }
    Ok(())
}
