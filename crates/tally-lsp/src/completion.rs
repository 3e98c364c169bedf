//! Completion, by where the cursor is:
//!
//! - after a `.`: the fields of what is before it (with their types and documentation), found
//!   by checking the file with the `.` and the partial name taken out, so that the expression
//!   being written types like any other;
//! - inside `m365.sku("` or `has_sku("`: Microsoft's part numbers, with product names;
//! - inside `counter("`: the counters of the configured snapshot;
//! - after `use`: the standard modules and the workspace's other rule files;
//! - after a line's expression (on a following, indented text line, or after the expression):
//!   the clause keywords the line does not have yet;
//! - elsewhere in an expression: the names in scope (this file's definitions, the used modules',
//!   the element's fields inside a `where`, `m365`, `azure`, `period`) and the functions.

use crate::analysis::{self, is_name_char};
use crate::convert::Lines;
use crate::world::{World, is_std};
use lsp_server::ErrorCode;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    Documentation, MarkupContent, MarkupKind, TextEdit,
};
use std::collections::BTreeSet;
use tally_db::Db;
use tally_diagnostics::Span;
use tally_ir::{Builtin, Namespace, Record, TExprKind, Type, fields};
use tally_syntax::ast::{ClauseKind, ExprKind, Item, LineKind};

type Reply<T> = Result<T, (ErrorCode, String)>;

/// Stands for the name being typed, so that the text around it parses.
const HOLE: &str = "__tally_hole";

/// The clause keywords, with the lines they suit (`true`: `amount` lines too).
const CLAUSES: [(&str, bool, &str); 17] = [
    ("price", false, "the unit price"),
    ("minimum", false, "bill at least this many units"),
    ("included", false, "units included at no charge"),
    ("bundle", false, "several products at their own prices"),
    ("from", false, "a price in force from a date"),
    ("tiers", false, "tiered prices instead of `price`"),
    (
        "split by",
        true,
        "one invoice line per department, office or city",
    ),
    ("product", true, "the PSA product"),
    ("description", true, "the invoice text"),
    ("agreement", true, "the PSA agreement"),
    ("billing", true, "`advance` or `arrears`"),
    ("term", true, "`monthly`, `annual` or `triennial`"),
    ("rounding", true, "how the price or amount is rounded"),
    ("prorate", false, "`daily` or `none`"),
    ("measure", false, "`start`, `end` or `max`"),
    ("trueup", false, "`delta` or `replace`"),
    (
        "every",
        true,
        "bill every `month`, `quarter`, `year` or `term`, optionally `starting` a date",
    ),
];

const OTHER_FUNCTIONS: [(&str, &str); 3] = [
    (
        "counter",
        "a whole number from another vendor's tool, from the snapshot",
    ),
    (
        "has_sku",
        "inside a `where` on users: whether the user is assigned the SKU",
    ),
    (
        "tag",
        "inside a `where` on usage rows: the row's tag of that name",
    ),
];

pub(crate) fn completion(
    world: &mut World,
    params: CompletionParams,
) -> Reply<Option<CompletionResponse>> {
    let position = params.text_document_position;
    let Some((file, offset, text)) = crate::hover::locate(
        world,
        position.text_document.uri.as_str(),
        position.position,
    ) else {
        return Ok(None);
    };
    let key = file.key(&world.db).clone();
    let lines = Lines::new(&text);
    let items = items(world, &key, &text, &lines, offset);
    Ok(Some(CompletionResponse::Array(items)))
}

fn items(
    world: &World,
    key: &str,
    text: &str,
    lines: &Lines<'_>,
    offset: usize,
) -> Vec<CompletionItem> {
    let line_start = lines.index.line_start(offset);
    let before_on_line = text.get(line_start..offset).unwrap_or("");
    if let Some((quote, call)) = open_string(before_on_line) {
        let start = line_start + quote + 1;
        let replace = lines.range(Span::new(start, offset));
        return match call.as_str() {
            "sku" | "has_sku" => sku_items(replace),
            "counter" => counter_items(world, key, replace),
            "use" => module_items(world, key, replace),
            _ => Vec::new(),
        };
    }
    let word = analysis::word_at(text, offset);
    let word_start = word.start as usize;
    let before_word = text.get(..word_start).unwrap_or("");
    if before_word.ends_with('.') {
        return field_items(world, key, text, word_start - 1, word.end as usize);
    }
    let line_before_word = text.get(line_start..word_start).unwrap_or("");
    if line_before_word.trim_start() == "use" || line_before_word.trim() == "use" {
        return vec![keyword(
            "std.m365",
            CompletionItemKind::MODULE,
            "the standard library's Microsoft 365 definitions",
        )];
    }
    let after_word = text.get(word.end as usize..).unwrap_or("");
    let hole = Span::new(word_start, word_start + HOLE.len());
    // The name being typed, as a hole; if the text around it does not parse (`count(` not yet
    // closed), with the brackets it leaves open closed after it.
    let mut probe = probe(world, key, before_word, after_word, "", hole);
    if probe.2.is_none() {
        let closers = unclosed(before_word);
        if !closers.is_empty() {
            probe = self::probe(world, key, before_word, after_word, &closers, hole);
        }
    }
    let (parsed, checked, found) = probe;
    let mut where_record = None;
    let in_expression = found
        .and_then(|(index, in_where)| parsed.file.items.get(index).map(|item| (item, in_where)));
    if let Some((item, in_where)) = in_expression {
        if in_where {
            for root in analysis::typed_roots(&checked) {
                root.walk(&mut |e| {
                    if let TExprKind::Where(collection, predicate) = &e.kind
                        && predicate.span.contains(hole.start as usize)
                        && let Type::List(inner) = &collection.ty
                        && let Type::Record(r) = **inner
                    {
                        where_record = Some(r);
                    }
                });
            }
        }
        let defining = match item {
            Item::Let(l) => Some(l.name.name.as_str()),
            _ => None,
        };
        return name_items(world, key, &parsed.file, defining, where_record);
    }
    // Not in an expression: after a line's expression (or on an indented text line below a
    // line), the clauses; at the start of a text line, the items.
    let indented = line_before_word.starts_with([' ', '\t']);
    let line = parsed.file.items.iter().rev().find_map(|item| match item {
        Item::Line(l) if (l.span.start as usize) < word_start => Some(l),
        _ => None,
    });
    let last_item_before = parsed
        .file
        .items
        .iter()
        .rev()
        .find(|i| (i.span().start as usize) < word_start);
    if let (Some(line), Some(Item::Line(last))) = (line, last_item_before)
        && std::ptr::eq(line, last)
        && (indented || !line_before_word.trim().is_empty())
    {
        let used: BTreeSet<&str> = line.clauses.iter().map(|c| clause_word(&c.kind)).collect();
        return CLAUSES
            .iter()
            .filter(|(word, amount_ok, _)| {
                (line.kind == LineKind::Qty || *amount_ok)
                    && (!used.contains(word) || *word == "from")
            })
            .map(|(word, _, doc)| keyword(word, CompletionItemKind::KEYWORD, doc))
            .collect();
    }
    if line_before_word.trim().is_empty() {
        let mut out = vec![
            keyword(
                "let",
                CompletionItemKind::KEYWORD,
                "a definition: `let name = expression`",
            ),
            keyword(
                "use",
                CompletionItemKind::KEYWORD,
                "use a module's definitions",
            ),
        ];
        if !parsed
            .file
            .items
            .iter()
            .any(|i| matches!(i, Item::Customer(_)))
        {
            out.push(keyword(
                "customer",
                CompletionItemKind::KEYWORD,
                "the customer header",
            ));
        }
        return out;
    }
    if line_before_word.trim().chars().all(is_name_char) {
        return vec![
            keyword(
                "qty",
                CompletionItemKind::KEYWORD,
                "a line that counts: `name qty = expression`",
            ),
            keyword(
                "amount",
                CompletionItemKind::KEYWORD,
                "a line that charges money: `name amount = expression`",
            ),
        ];
    }
    Vec::new()
}

/// Checks the text with `HOLE` (and `closers`) in place of the name being typed; the index of
/// the item where the hole is a name in an expression, and whether it is inside a filter.
fn probe(
    world: &World,
    key: &str,
    before: &str,
    after: &str,
    closers: &str,
    hole: Span,
) -> (
    tally_syntax::Parsed,
    tally_check::Checked,
    Option<(usize, bool)>,
) {
    let text = format!("{before}{HOLE}{closers}{after}");
    let (parsed, checked) = tally_db::check_text(&world.db, key, &text);
    let mut found = None;
    for (index, item) in parsed.file.items.iter().enumerate() {
        for root in analysis::item_exprs(item) {
            analysis::walk_expr(root, false, &mut |e, in_where| {
                if let ExprKind::Name(name) = &e.kind
                    && name.span == hole
                {
                    found = Some((index, in_where));
                }
            });
        }
    }
    (parsed, checked, found)
}

/// The brackets left open in the item being written (from the last text line that starts at
/// column 0), closed in order: `count(max(` → `))`.
fn unclosed(before: &str) -> String {
    let item_start = before
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .rev()
        .find(|&i| {
            before
                .get(i..)
                .is_some_and(|rest| rest.starts_with(|c: char| !c.is_whitespace()))
        })
        .unwrap_or(0);
    let mut open = Vec::new();
    let mut in_string = false;
    let mut chars = before.get(item_start..).unwrap_or("").chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek() == Some(&'/') => {
                // a comment runs to the end of its text line
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' if !in_string => open.push(if c == '(' { ')' } else { ']' }),
            ')' | ']' if !in_string => {
                open.pop();
            }
            _ => {}
        }
    }
    open.iter().rev().collect()
}

/// When the text before the cursor on its line ends inside a string literal: the byte index of
/// its opening quote and the call (or `use`) it is the argument of.
fn open_string(line: &str) -> Option<(usize, String)> {
    let mut open: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (open, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(_), '"') if !escaped => open = None,
            (None, '"') => open = Some(i),
            (None, '/') if line.get(i..i + 2) == Some("//") => return None,
            _ => {}
        }
        escaped = false;
    }
    let quote = open?;
    let before = line.get(..quote)?.trim_end();
    if before.ends_with("use") && before.trim() == "use" {
        return Some((quote, "use".into()));
    }
    let before = before.strip_suffix('(')?.trim_end();
    let name: String = before
        .chars()
        .rev()
        .take_while(|c| is_name_char(*c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Some((quote, name))
}

fn keyword(word: &str, kind: CompletionItemKind, doc: &str) -> CompletionItem {
    CompletionItem {
        label: word.to_string(),
        kind: Some(kind),
        detail: Some(doc.to_string()),
        ..CompletionItem::default()
    }
}

fn clause_word(kind: &ClauseKind) -> &'static str {
    kind.keyword()
}

fn sku_items(replace: lsp_types::Range) -> Vec<CompletionItem> {
    let mut by_part: std::collections::BTreeMap<&str, Vec<&str>> =
        std::collections::BTreeMap::new();
    for sku in tally_skus::catalog().iter() {
        by_part
            .entry(sku.part_number.as_str())
            .or_default()
            .push(sku.display_name.as_str());
    }
    by_part
        .into_iter()
        .map(|(part, names)| CompletionItem {
            label: part.to_string(),
            kind: Some(CompletionItemKind::VALUE),
            detail: Some(names.join(" / ")),
            filter_text: Some(format!("{part} {}", names.join(" "))),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: replace,
                new_text: part.to_string(),
            })),
            ..CompletionItem::default()
        })
        .collect()
}

fn counter_items(world: &World, key: &str, replace: lsp_types::Range) -> Vec<CompletionItem> {
    let Some(loaded) = world.live.loaded() else {
        return Vec::new();
    };
    let tenant = world.file(key).and_then(|f| {
        tally_db::check(&world.db, f)
            .customer
            .as_ref()
            .map(|c| c.tenant.clone())
    });
    let mut names: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for t in &loaded.snapshot.tenants {
        if tenant
            .as_ref()
            .is_some_and(|wanted| !t.tenant.eq_ignore_ascii_case(wanted))
        {
            continue;
        }
        for c in &t.counters {
            names
                .entry(c.name.clone())
                .or_insert_with(|| format!("{} as of {} ({})", c.value, c.as_of, t.tenant));
        }
    }
    names
        .into_iter()
        .map(|(name, detail)| CompletionItem {
            label: name.clone(),
            kind: Some(CompletionItemKind::CONSTANT),
            detail: Some(detail),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: replace,
                new_text: name,
            })),
            ..CompletionItem::default()
        })
        .collect()
}

/// The workspace's other rule files, as paths relative to this one.
fn module_items(world: &World, key: &str, replace: lsp_types::Range) -> Vec<CompletionItem> {
    let here = std::path::Path::new(key)
        .parent()
        .unwrap_or(std::path::Path::new(""));
    world
        .db
        .workspace()
        .files(&world.db)
        .keys()
        .filter(|k| !is_std(k) && *k != key && k.ends_with(".tally"))
        .filter(|k| {
            // modules only: files without a customer header
            world
                .file(k)
                .is_some_and(|f| tally_db::check(&world.db, f).customer.is_none())
        })
        .map(|k| {
            let relative = relative_path(here, std::path::Path::new(k));
            CompletionItem {
                label: relative.clone(),
                kind: Some(CompletionItemKind::MODULE),
                detail: Some(format!("module `{k}`")),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range: replace,
                    new_text: relative,
                })),
                ..CompletionItem::default()
            }
        })
        .collect()
}

fn relative_path(from_dir: &std::path::Path, to: &std::path::Path) -> String {
    let from: Vec<_> = from_dir.components().collect();
    let target: Vec<_> = to.components().collect();
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        target
            .iter()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The fields of the expression that ends at `dot`, typed with the `.` and the partial name
/// taken out of the text.
fn field_items(
    world: &World,
    key: &str,
    text: &str,
    dot: usize,
    word_end: usize,
) -> Vec<CompletionItem> {
    let mut without = String::with_capacity(text.len());
    without.push_str(text.get(..dot).unwrap_or(""));
    without.push_str(text.get(word_end..).unwrap_or(""));
    let (parsed, checked) = tally_db::check_text(&world.db, key, &without);
    let ends_at_dot = |span: Span| span.end as usize == dot;
    let mut base: Option<Type> = None;
    let mut best_len = usize::MAX;
    for root in analysis::typed_roots(&checked) {
        root.walk(&mut |e| {
            // `<=`: the walk visits parents first, and `Count(staff)` shares `staff`'s span
            if ends_at_dot(e.span) && e.span.len() <= best_len && !e.ty.is_error() {
                best_len = e.span.len();
                base = Some(e.ty.clone());
            }
        });
    }
    if base.is_none() {
        // The expression around it does not check (a record where a number is wanted, say):
        // type the base on its own, as a definition of its own.
        let mut base_span: Option<Span> = None;
        for item in &parsed.file.items {
            for root in analysis::item_exprs(item) {
                analysis::walk_expr(root, false, &mut |e, _| {
                    if ends_at_dot(e.span) && base_span.is_none_or(|b| e.span.len() < b.len()) {
                        base_span = Some(e.span);
                    }
                });
            }
        }
        if let Some(span) = base_span {
            let probe = format!("{without}\nlet {HOLE} = ({})\n", span.text(&without));
            let (_, checked) = tally_db::check_text(&world.db, key, &probe);
            base = checked.lets.get(HOLE).map(|t| t.ty.clone());
        }
    }
    // A name the checker could not type (e.g. `m365` alone is a namespace only as a base).
    if base.is_none() {
        let word = analysis::word_at(text, dot);
        base = match word.text(text) {
            "m365" => Some(Type::Namespace(Namespace::M365)),
            "azure" => Some(Type::Namespace(Namespace::Azure)),
            "period" => Some(Type::Record(Record::Period)),
            _ => None,
        };
    }
    match base {
        Some(Type::Namespace(ns)) => {
            let mut out: Vec<CompletionItem> = fields::namespace_members(ns)
                .iter()
                .map(|(name, source)| CompletionItem {
                    label: (*name).to_string(),
                    kind: Some(CompletionItemKind::FIELD),
                    detail: Some(Type::List(Box::new(Type::Record(source.element()))).describe()),
                    ..CompletionItem::default()
                })
                .collect();
            if ns == Namespace::M365 {
                out.push(CompletionItem {
                    label: "sku".into(),
                    kind: Some(CompletionItemKind::METHOD),
                    detail: Some("a subscribed SKU: m365.sku(\"SPB\")".into()),
                    insert_text: Some("sku(\"".into()),
                    ..CompletionItem::default()
                });
            }
            out
        }
        Some(Type::Record(record)) => record_fields(record, false),
        Some(Type::List(inner)) => match *inner {
            Type::Record(record) => record_fields(record, true),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn record_fields(record: Record, projected: bool) -> Vec<CompletionItem> {
    fields::fields_of(record)
        .iter()
        .map(|(name, _, ty, doc)| {
            let ty_name = analysis::field_type_name(*ty);
            CompletionItem {
                label: (*name).to_string(),
                kind: Some(CompletionItemKind::FIELD),
                detail: Some(if projected {
                    format!("a list of {ty_name}, one per element")
                } else {
                    ty_name
                }),
                documentation: Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: (*doc).to_string(),
                })),
                ..CompletionItem::default()
            }
        })
        .collect()
}

/// The names an expression can use here.
fn name_items(
    world: &World,
    key: &str,
    file: &tally_syntax::ast::File,
    defining: Option<&str>,
    element: Option<Record>,
) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    if let Some(record) = element {
        out.extend(record_fields(record, false));
    }
    let this = world.file(key).map(|f| tally_db::check(&world.db, f));
    for item in &file.items {
        if let Item::Let(l) = item
            && Some(l.name.name.as_str()) != defining
        {
            let ty = this
                .and_then(|c| c.lets.get(&l.name.name))
                .map(|t| t.ty.describe());
            out.push(CompletionItem {
                label: l.name.name.clone(),
                kind: Some(CompletionItemKind::VARIABLE),
                detail: ty,
                ..CompletionItem::default()
            });
        }
    }
    if let Some(source) = world.file(key) {
        for (module, _) in tally_db::uses(&world.db, source) {
            let Some(module_file) = world.file(module) else {
                continue;
            };
            for (name, ty) in &tally_db::check(&world.db, module_file).interface.lets {
                out.push(CompletionItem {
                    label: name.clone(),
                    kind: Some(CompletionItemKind::VARIABLE),
                    detail: Some(format!("{} — from `{module}`", ty.describe())),
                    ..CompletionItem::default()
                });
            }
        }
    }
    for (root, doc) in [
        (
            "m365",
            "the tenant's Microsoft 365 data: users, skus, sku(\"…\")",
        ),
        ("azure", "the tenant's Azure data: usage"),
        ("period", "the billing period: start, end, days"),
    ] {
        out.push(keyword(root, CompletionItemKind::MODULE, doc));
    }
    for (name, _) in Builtin::ALL {
        out.push(CompletionItem {
            label: name.to_string(),
            kind: Some(CompletionItemKind::FUNCTION),
            detail: Some("built-in function".into()),
            ..CompletionItem::default()
        });
    }
    for (name, doc) in OTHER_FUNCTIONS {
        out.push(keyword(name, CompletionItemKind::FUNCTION, doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_being_typed_are_found_with_their_call() {
        assert_eq!(
            open_string("let bp = m365.sku(\"SP"),
            Some((18, "sku".into()))
        );
        assert_eq!(
            open_string("  where has_sku( \""),
            Some((17, "has_sku".into()))
        );
        assert_eq!(open_string("use \"../sh"), Some((4, "use".into())));
        assert_eq!(open_string("let bp = m365.sku(\"SPB\")"), None);
        assert_eq!(open_string("// m365.sku(\"x"), None);
        assert_eq!(
            open_string("x qty = 1 description \"a \\\" b"),
            None,
            "not an argument"
        );
    }

    #[test]
    fn open_brackets_are_closed_in_order() {
        assert_eq!(
            unclosed("let a = 1\nx qty = count(max(a, [1, \"(\" "),
            "]))"
        );
        assert_eq!(unclosed("x qty = f(1)\n  price g("), ")");
        assert_eq!(unclosed("let b = (1 // (\n  + 2\nlet c = ("), ")");
    }

    #[test]
    fn module_paths_are_relative_to_the_using_file() {
        use std::path::Path;
        assert_eq!(
            relative_path(Path::new("customers"), Path::new("shared/msp.tally")),
            "../shared/msp.tally"
        );
        assert_eq!(
            relative_path(Path::new(""), Path::new("shared/msp.tally")),
            "shared/msp.tally"
        );
        assert_eq!(
            relative_path(Path::new("a/b"), Path::new("a/m.tally")),
            "../m.tally"
        );
    }
}
