//! Hover: the type of the expression under the cursor; a field's documentation; a SKU's
//! product name; and, with a snapshot configured, live values: a line's planned quantity, unit
//! price and amount, a definition's value, a counter's count.

use crate::analysis::{self, Target};
use crate::convert::Lines;
use crate::live::Explained;
use crate::world::World;
use lsp_server::ErrorCode;
use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};
use tally_db::SourceFile;
use tally_diagnostics::Span;
use tally_ir::{LetId, TExpr, TExprKind, fields};

type Reply<T> = Result<T, (ErrorCode, String)>;

pub(crate) fn hover(world: &mut World, params: HoverParams) -> Reply<Option<Hover>> {
    let position = params.text_document_position_params;
    let Some((file, offset, lines_text)) = locate(
        world,
        position.text_document.uri.as_str(),
        position.position,
    ) else {
        return Ok(None);
    };
    let lines = Lines::new(&lines_text);
    let Some((markdown, span)) = content(world, file, offset) else {
        return Ok(None);
    };
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(lines.range(span)),
    }))
}

/// The file a URI names, the byte offset of a position in it, and its text.
pub(crate) fn locate(
    world: &World,
    uri: &str,
    position: lsp_types::Position,
) -> Option<(SourceFile, usize, String)> {
    let key = world.key_of_uri(uri)?;
    let file = world.file(&key)?;
    let text = file.text(&world.db).clone();
    let offset = Lines::new(&text).offset(position);
    Some((file, offset, text))
}

fn content(world: &mut World, file: SourceFile, offset: usize) -> Option<(String, Span)> {
    // Declarations first: a definition's or a line's name.
    if let Some((target, span)) = declaration_at(world, file, offset) {
        return match target {
            Target::Let(id) => Some((let_hover(world, file, &id, None), span)),
            Target::Line { name, .. } => Some((line_hover(world, file, &name), span)),
            Target::Module(key) => Some((format!("module `{key}`"), span)),
        };
    }
    let checked = tally_db::check(&world.db, file);
    let typed = analysis::typed_at(checked, offset)?.clone();
    let text = file.text(&world.db).clone();
    let markdown = match &typed.kind {
        TExprKind::Let(id) => let_hover(world, file, id, Some(&typed)),
        TExprKind::Field(_, field) | TExprKind::Project(_, field) => {
            let (record, name, ty, doc) = analysis::field_info(*field)?;
            let projected = matches!(typed.kind, TExprKind::Project(..));
            let mut out = format!(
                "```tally\n{name}\n```\nfield of a {}: {}{}\n\n{doc}",
                tally_ir::types::record_name(record),
                analysis::field_type_name(ty),
                if projected {
                    format!(" (here {}, one per element)", typed.ty.describe())
                } else {
                    String::new()
                },
            );
            if typed.span.len() > name.len() {
                out.push_str(&format!(
                    "\n\n`{}`: {}",
                    typed.span.text(&text),
                    typed.ty.describe()
                ));
            }
            out
        }
        TExprKind::Source(source) => {
            let member = [tally_ir::Namespace::M365, tally_ir::Namespace::Azure]
                .iter()
                .flat_map(|ns| fields::namespace_members(*ns).iter())
                .find(|(_, s)| s == source)
                .map_or("", |(n, _)| *n);
            format!(
                "```tally\n{}\n```\n{}: the tenant's {member} from the snapshot",
                typed.span.text(&text),
                typed.ty.describe()
            )
        }
        TExprKind::SkuLookup { name, term, .. } => {
            let mut out = sku_hover(name);
            if let Some(term) = term {
                out.push_str(
                    &format!("\n\nonly its subscriptions on the {term:?} term").to_lowercase(),
                );
            }
            out.push_str("\n\na subscribed SKU: read `.assigned`, `.purchased`, `.cost`, …");
            out
        }
        TExprKind::HasSku { name, .. } => {
            format!("{}\n\ntrue for a user assigned this SKU", sku_hover(name))
        }
        TExprKind::Counter(name) => counter_hover(world, file, name),
        _ => format!(
            "```tally\n{}\n```\n{}",
            shorten(typed.span.text(&text)),
            typed.ty.describe()
        ),
    };
    Some((markdown, typed.span))
}

fn declaration_at(world: &World, file: SourceFile, offset: usize) -> Option<(Target, Span)> {
    let (target, span) = analysis::target_at(&world.db, file, offset)?;
    let key = file.key(&world.db);
    let is_declaration = match &target {
        Target::Let(id) => {
            id.module.0 == *key
                && analysis::let_declaration(&world.db, id).is_some_and(|(_, s)| s == span)
        }
        Target::Line { .. } | Target::Module(_) => true,
    };
    is_declaration.then_some((target, span))
}

fn let_hover(world: &mut World, file: SourceFile, id: &LetId, used: Option<&TExpr>) -> String {
    let ty = used.map(|t| t.ty.clone()).or_else(|| {
        let module = world.db.file(&id.module.0)?;
        tally_db::check(&world.db, module)
            .lets
            .get(&id.name)
            .map(|t| t.ty.clone())
    });
    let mut out = format!(
        "```tally\nlet {}\n```\n{}",
        id.name,
        ty.map_or_else(|| "an unknown type".to_string(), |t| t.describe())
    );
    if id.module.0 != *file.key(&world.db) {
        out.push_str(&format!(" — from `{}`", id.module.0));
    }
    if let Some(live) = let_value(world, file, id) {
        out.push_str("\n\n---\n");
        out.push_str(&live);
    }
    out
}

/// "27 users (3 excluded by `enabled`)": the definition's value in the explanation of the
/// first line that uses it.
fn let_value(world: &mut World, file: SourceFile, id: &LetId) -> Option<String> {
    let heading = live_heading(world)?;
    if tally_db::check(&world.db, file).customer.is_none() {
        return Some(format!(
            "{heading}: a module's value depends on the customer file that uses it"
        ));
    }
    let body = {
        let module = world.db.file(&id.module.0)?;
        tally_db::check(&world.db, module).lets.get(&id.name)?.span
    };
    let explained = match explanations(world, file) {
        Ok(e) => e,
        Err(why) => return Some(format!("{heading}: no value ({why})")),
    };
    for (_, explanation) in &explained {
        let Ok(explanation) = explanation else {
            continue;
        };
        for (_, step) in &explanation.steps {
            let mut found = None;
            step.walk(&mut |s, _| {
                if found.is_none() && s.module.0 == id.module.0 && s.span == body {
                    let excluded: Vec<String> = s
                        .filter
                        .iter()
                        .flat_map(|f| f.excluded.iter())
                        .filter(|exclusion| exclusion.count > 0)
                        .map(|exclusion| {
                            format!("{} excluded by `{}`", exclusion.count, exclusion.condition)
                        })
                        .collect();
                    found = Some(if excluded.is_empty() {
                        s.value.clone()
                    } else {
                        format!("{} ({})", s.value, excluded.join(", "))
                    });
                }
            });
            if let Some(value) = found {
                return Some(format!("{heading}: **{value}**"));
            }
        }
    }
    Some(format!(
        "{heading}: no line uses it, so it is not evaluated"
    ))
}

fn explanations(world: &mut World, file: SourceFile) -> Result<Vec<(String, Explained)>, String> {
    let generation = world.generation;
    world
        .live
        .explanations(&world.db, generation, file)
        .map(<[_]>::to_vec)
}

/// "Live, `snapshot.json`, 2026-10-01 to 2026-10-31", or why there are no live values.
fn live_heading(world: &World) -> Option<String> {
    match &world.live.state {
        None => None,
        Some(Err(why)) => Some(format!("Live values: {why}")),
        Some(Ok(loaded)) => Some(format!(
            "Live (`{}`, {} to {})",
            loaded.name, loaded.period.start, loaded.period.end
        )),
    }
}

fn line_hover(world: &mut World, file: SourceFile, name: &str) -> String {
    let checked = tally_db::check(&world.db, file);
    let Some(line) = checked.lines.iter().find(|l| l.name == name) else {
        return format!("```tally\n{name}\n```\na line");
    };
    let kind = match line.kind {
        tally_ir::LineKind::Qty => "qty",
        tally_ir::LineKind::Amount => "amount",
    };
    let mut out = format!(
        "```tally\n{name} {kind}\n```\n{}",
        line.description
            .clone()
            .unwrap_or_else(|| tally_check::humanise(name))
    );
    let Some(heading) = live_heading(world) else {
        return out;
    };
    out.push_str("\n\n---\n");
    let explained = match explanations(world, file) {
        Ok(e) => e,
        Err(why) => {
            out.push_str(&format!("{heading}: no value ({why})"));
            return out;
        }
    };
    match explained.iter().find(|(n, _)| n == name).map(|(_, e)| e) {
        Some(Ok(e)) => {
            out.push_str(&format!("{heading}\n\n"));
            out.push_str(&planned(e));
        }
        Some(Err(why)) => out.push_str(&format!("{heading}: no value ({why})")),
        None => out.push_str(&format!("{heading}: the line was not planned")),
    }
    out
}

/// "quantity **50** (27 counted, minimum 50) × unit price **32.50 GBP** = amount **1625.00 GBP**",
/// then one row per invoice line when there are several.
fn planned(e: &tally_driver::Explanation) -> String {
    let mut facts = Vec::new();
    if let Some(counted) = e.counted {
        let billed = match e.minimum {
            Some(m) if m.applies() => {
                format!(
                    "quantity **{}** ({counted} counted, minimum {})",
                    m.minimum, m.minimum
                )
            }
            _ => format!("quantity **{counted}**"),
        };
        facts.push(billed);
    }
    match &e.pricing {
        tally_driver::Pricing::Unit { rounded, .. } => {
            facts.push(format!("unit price **{rounded}**"));
        }
        tally_driver::Pricing::Catalogue => {
            facts.push("no price (the PSA's catalogue prices it)".into())
        }
        tally_driver::Pricing::Tiers(_) => facts.push("tiered prices".into()),
        tally_driver::Pricing::Bundle(n) => facts.push(format!("a bundle of {n} products")),
        tally_driver::Pricing::Amount => {}
    }
    let amounts: Vec<_> = e.invoice_lines.iter().filter_map(|l| l.amount).collect();
    if let Some(first) = e.invoice_lines.first()
        && !amounts.is_empty()
    {
        let total: rust_decimal::Decimal = amounts.iter().sum();
        facts.push(format!("amount **{total} {}**", first.currency));
    }
    let mut out = facts.join(", ");
    if e.invoice_lines.len() > 1 {
        for line in &e.invoice_lines {
            let price = line
                .unit_price
                .map_or_else(|| "(catalogue)".to_string(), |p| p.to_string());
            let amount = line
                .amount
                .map_or(String::new(), |a| format!(" = {a} {}", line.currency));
            out.push_str(&format!(
                "\n- `{}`: {} × {price}{amount}",
                line.id, line.quantity
            ));
        }
    }
    out
}

fn sku_hover(name: &str) -> String {
    let infos = tally_skus::catalog().resolve(name);
    match infos.as_slice() {
        [] => format!("`{name}`: not in Microsoft's SKU table"),
        [one] => format!(
            "**{}**\n\npart number `{}`, SKU id `{}`",
            one.display_name, one.part_number, one.guid
        ),
        several => {
            let mut out = format!("`{name}` names {} SKUs:", several.len());
            for info in several {
                out.push_str(&format!(
                    "\n- **{}** (`{}`, `{}`)",
                    info.display_name, info.part_number, info.guid
                ));
            }
            out
        }
    }
}

fn counter_hover(world: &World, file: SourceFile, name: &str) -> String {
    let mut out =
        format!("```tally\ncounter(\"{name}\")\n```\na whole number from another vendor's tool");
    let checked = tally_db::check(&world.db, file);
    if let (Some(loaded), Some(customer)) = (world.live.loaded(), &checked.customer) {
        let count = loaded
            .snapshot
            .tenants
            .iter()
            .find(|t| t.tenant.eq_ignore_ascii_case(&customer.tenant))
            .and_then(|t| t.counters.iter().find(|c| c.name == name));
        out.push_str("\n\n---\n");
        out.push_str(&match count {
            Some(c) => format!(
                "Live (`{}`): **{}** as of {}",
                loaded.name, c.value, c.as_of
            ),
            None => format!(
                "Live (`{}`): the snapshot has no such counter for `{}`",
                loaded.name, customer.tenant
            ),
        });
    }
    out
}

fn shorten(text: &str) -> String {
    let one_line: Vec<&str> = text.split_whitespace().collect();
    let joined = one_line.join(" ");
    if joined.chars().count() > 120 {
        let mut cut: String = joined.chars().take(117).collect();
        cut.push('…');
        cut
    } else {
        joined
    }
}
