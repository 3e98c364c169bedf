//! What is at a place in a file, from the syntax tree (declarations, `use` targets) and the
//! checker's typed tree (every expression's type, what each name resolves to).

use std::collections::BTreeSet;
use tally_check::{Checked, LineDecl};
use tally_db::{Database, Db, SourceFile};
use tally_diagnostics::Span;
use tally_ir::{Field, FieldType, LetId, ModuleKey, Record, TExpr, TExprKind};
use tally_syntax::ast::{self, ClauseKind, ExprKind, Item};

pub(crate) const RECORDS: [Record; 4] = [Record::User, Record::Sku, Record::Usage, Record::Period];

/// A name that navigation works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A definition, in the file (or standard module) that makes it.
    Let(LetId),
    /// A line of the customer file `file`.
    Line { file: String, name: String },
    /// The file a `use` names.
    Module(String),
}

/// Every typed root of a checked file: the `let` bodies and each line's clauses.
pub(crate) fn typed_roots(checked: &Checked) -> Vec<&TExpr> {
    let mut out: Vec<&TExpr> = checked.lets.values().collect();
    for line in &checked.lines {
        out.extend(line_roots(line));
    }
    out
}

pub(crate) fn line_roots(line: &LineDecl) -> Vec<&TExpr> {
    let mut out = vec![&line.value];
    out.extend(line.price.iter());
    out.extend(line.minimum.iter());
    out.extend(line.included.iter());
    if let Some(tiers) = &line.tiers {
        out.extend(tiers.tiers.iter().map(|(_, e)| e));
    }
    out.extend(line.dated_prices.iter().map(|d| &d.price));
    out.extend(line.bundle.iter().map(|(_, e)| e));
    if let Some(split) = &line.split {
        out.push(&split.population);
    }
    out
}

/// The smallest typed expression whose span holds the character at `offset` (the deepest on
/// a tie: `Count(staff)` and `staff` share a span, and `staff` is what was written).
pub(crate) fn typed_at(checked: &Checked, offset: usize) -> Option<&TExpr> {
    let mut best: Option<&TExpr> = None;
    for root in typed_roots(checked) {
        if !holds(root.span, offset) {
            continue;
        }
        root.walk(&mut |e| {
            // The element of a filter shares its field's span; the field is what was written.
            if holds(e.span, offset)
                && !matches!(e.kind, TExprKind::Element)
                && best.is_none_or(|b| e.span.len() <= b.span.len())
            {
                best = Some(e);
            }
        });
    }
    best
}

fn holds(span: Span, offset: usize) -> bool {
    (span.start as usize) <= offset && offset < span.end as usize
}

/// The name navigation works on at `offset`, with the span of its text there. A cursor just
/// after a name is on it.
pub(crate) fn target_at(db: &Database, file: SourceFile, offset: usize) -> Option<(Target, Span)> {
    target_exactly_at(db, file, offset).or_else(|| {
        offset
            .checked_sub(1)
            .and_then(|before| target_exactly_at(db, file, before))
    })
}

fn target_exactly_at(db: &Database, file: SourceFile, offset: usize) -> Option<(Target, Span)> {
    let key = file.key(db).clone();
    for item in &tally_db::parse(db, file).file.items {
        match item {
            Item::Let(l) if holds(l.name.span, offset) => {
                let id = LetId {
                    module: ModuleKey(key.clone()),
                    name: l.name.name.clone(),
                };
                return Some((Target::Let(id), l.name.span));
            }
            Item::Line(l) if holds(l.name.span, offset) => {
                let target = Target::Line {
                    file: key.clone(),
                    name: l.name.name.clone(),
                };
                return Some((target, l.name.span));
            }
            Item::Use(u) => {
                let span = use_span(&u.target);
                if holds(span, offset) {
                    let module = tally_db::use_key(&key, &u.target);
                    return Some((Target::Module(module), span));
                }
            }
            _ => {}
        }
    }
    let typed = typed_at(tally_db::check(db, file), offset)?;
    match &typed.kind {
        TExprKind::Let(id) => Some((Target::Let(id.clone()), typed.span)),
        _ => None,
    }
}

pub(crate) fn use_span(target: &ast::UseTarget) -> Span {
    match target {
        ast::UseTarget::Module { span, .. } => *span,
        ast::UseTarget::File(s) => s.span,
    }
}

/// Where a definition is written: its name's span in its file.
pub(crate) fn let_declaration(db: &Database, id: &LetId) -> Option<(SourceFile, Span)> {
    let file = db.file(&id.module.0)?;
    tally_db::parse(db, file)
        .file
        .items
        .iter()
        .find_map(|item| match item {
            Item::Let(l) if l.name.name == id.name => Some((file, l.name.span)),
            _ => None,
        })
}

pub(crate) fn line_declaration(db: &Database, file: SourceFile, name: &str) -> Option<Span> {
    tally_db::parse(db, file)
        .file
        .items
        .iter()
        .find_map(|item| match item {
            Item::Line(l) if l.name.name == name => Some(l.name.span),
            _ => None,
        })
}

/// Every place a definition is named: its declaration, its uses in its own file, and its uses
/// in every file that `use`s its module. Names inside expressions the checker rejected are
/// found from the syntax tree, when nothing else could be meant.
pub(crate) fn let_references(db: &Database, id: &LetId) -> Vec<(SourceFile, Span)> {
    let mut out: BTreeSet<(String, Span)> = BTreeSet::new();
    let mut files: Vec<SourceFile> = Vec::new();
    if let Some((file, span)) = let_declaration(db, id) {
        out.insert((file.key(db).clone(), span));
    }
    for file in db.workspace().files(db).values() {
        let key = file.key(db);
        if *key == id.module.0
            || tally_db::uses(db, *file)
                .iter()
                .any(|(k, _)| *k == id.module.0)
        {
            files.push(*file);
        }
    }
    for file in &files {
        let key = file.key(db).clone();
        let checked = tally_db::check(db, *file);
        let mut typed_spans: BTreeSet<Span> = BTreeSet::new();
        for root in typed_roots(checked) {
            root.walk(&mut |e| {
                typed_spans.insert(e.span);
                if matches!(&e.kind, TExprKind::Let(other) if other == id) {
                    out.insert((key.clone(), e.span));
                }
            });
        }
        // The same name in an expression the checker gave up on: this file's own definition
        // of the name, or the module's if this file has none.
        let parsed = &tally_db::parse(db, *file).file;
        let defines_own = parsed
            .items
            .iter()
            .any(|i| matches!(i, Item::Let(l) if l.name.name == id.name));
        if defines_own != (key == id.module.0) {
            continue;
        }
        for item in &parsed.items {
            for root in item_exprs(item) {
                walk_expr(root, false, &mut |e, in_where| {
                    if let ExprKind::Name(name) = &e.kind
                        && name.name == id.name
                        && !in_where
                        && !typed_spans.contains(&name.span)
                    {
                        out.insert((key.clone(), name.span));
                    }
                });
            }
        }
    }
    out.into_iter()
        .filter_map(|(key, span)| db.file(&key).map(|f| (f, span)))
        .collect()
}

/// The expressions written in an item.
pub(crate) fn item_exprs(item: &Item) -> Vec<&ast::Expr> {
    match item {
        Item::Let(l) => vec![&l.value],
        Item::Line(l) => {
            let mut out = vec![&l.value];
            for clause in &l.clauses {
                match &clause.kind {
                    ClauseKind::Price(e) | ClauseKind::Minimum(e) | ClauseKind::Included(e) => {
                        out.push(e);
                    }
                    ClauseKind::Tiers { tiers, .. } => out.extend(tiers.iter().map(|t| &t.price)),
                    ClauseKind::DatedPrice { from, until, price } => {
                        out.push(from);
                        out.extend(until.iter());
                        out.push(price);
                    }
                    ClauseKind::Bundle(products) => out.extend(products.iter().map(|(_, e)| e)),
                    _ => {}
                }
            }
            out
        }
        Item::Customer(_) | Item::Use(_) => Vec::new(),
    }
}

/// Visits `expr` and everything below it, parents first; `in_where` tells whether the node is
/// inside a `where` condition (where the element's fields are names).
pub(crate) fn walk_expr<'a>(
    expr: &'a ast::Expr,
    in_where: bool,
    visit: &mut impl FnMut(&'a ast::Expr, bool),
) {
    visit(expr, in_where);
    match &expr.kind {
        ExprKind::List(items) => {
            for item in items {
                walk_expr(item, in_where, visit);
            }
        }
        ExprKind::Field { base, .. } => walk_expr(base, in_where, visit),
        ExprKind::Call { receiver, args, .. } => {
            if let Some(r) = receiver {
                walk_expr(r, in_where, visit);
            }
            for arg in args {
                walk_expr(arg, in_where, visit);
            }
        }
        ExprKind::Unary { operand, .. } => walk_expr(operand, in_where, visit),
        ExprKind::Binary { left, right, .. } => {
            walk_expr(left, in_where, visit);
            walk_expr(right, in_where, visit);
        }
        ExprKind::Where {
            collection,
            predicate,
        } => {
            walk_expr(collection, in_where, visit);
            walk_expr(predicate, true, visit);
        }
        _ => {}
    }
}

/// A field's record, name, type and documentation.
pub(crate) fn field_info(field: Field) -> Option<(Record, &'static str, FieldType, &'static str)> {
    RECORDS.iter().find_map(|record| {
        tally_ir::fields::fields_of(*record)
            .iter()
            .find(|(_, f, _, _)| *f == field)
            .map(|(name, _, ty, doc)| (*record, *name, *ty, *doc))
    })
}

/// How a field's type reads, e.g. "money" or "a whole number".
pub(crate) fn field_type_name(ty: FieldType) -> String {
    match ty {
        FieldType::CustomerMoney => "money in the customer's currency".into(),
        other => other.to_type().describe(),
    }
}

/// Is `c` part of a name?
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The span of the name around `offset` (possibly empty), in `text`.
pub(crate) fn word_at(text: &str, offset: usize) -> Span {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let after = text.get(offset..).unwrap_or("");
    let start = offset
        - before
            .chars()
            .rev()
            .take_while(|c| is_name_char(*c))
            .map(char::len_utf8)
            .sum::<usize>();
    let end = offset
        + after
            .chars()
            .take_while(|c| is_name_char(*c))
            .map(char::len_utf8)
            .sum::<usize>();
    Span::new(start, end)
}
