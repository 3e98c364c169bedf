//! Lowering: a checked customer file and the checked modules it uses become one
//! [`Program`]. Every default is decided here, and the facts of the program that do not depend
//! on the data (the SKUs a line reads, whether it reads Azure) are computed once.

use crate::{Checked, LineDecl, SplitDecl};
use std::collections::BTreeMap;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{
    Billing, Customer, Field, LetId, Line, LineKind, LineRounding, Measure, Program, Prorate,
    PsaKind, Resold, SkuSelect, Source, Sources, Split, TExpr, TExprKind,
};

/// Links a checked customer file with the checked modules it uses (directly or not).
/// Refuses (with the reason) when any of them has errors: a plan is never built from rules
/// that do not check.
pub fn link(
    customer_file: &Checked,
    modules: &[&Checked],
    sources: Sources,
) -> Result<Program, Diagnostic> {
    let Some(decl) = &customer_file.customer else {
        return Err(Diagnostic::error(
            Code::BadCustomer,
            format!(
                "`{}` has no `customer` header, so it has no plan",
                customer_file.module
            ),
            Span::default(),
        )
        .with_help("a file without a customer is a module: `use` it from a customer file"));
    };
    if let Some(bad) = std::iter::once(customer_file)
        .chain(modules.iter().copied())
        .find(|c| c.has_errors())
    {
        return Err(rules_have_errors(&bad.module.to_string()));
    }
    let Some(currency) = decl.currency else {
        return Err(Diagnostic::error(
            Code::BadCustomer,
            "the customer has no currency",
            decl.span,
        ));
    };
    let mut lets = BTreeMap::new();
    for checked in std::iter::once(customer_file).chain(modules.iter().copied()) {
        for (name, body) in &checked.lets {
            lets.insert(
                LetId {
                    module: checked.module.clone(),
                    name: name.clone(),
                },
                body.clone(),
            );
        }
    }
    let lines = customer_file
        .lines
        .iter()
        .map(|l| line(l, customer_file, &lets))
        .collect();
    Ok(Program {
        customer: Customer {
            name: decl.name.clone(),
            tenant: decl.tenant.clone(),
            tenant_span: decl.tenant_span,
            currency,
            psa: decl.psa.clone(),
            billing_day: decl.billing_day,
            module: customer_file.module.clone(),
        },
        lets,
        lines,
        sources,
    })
}

/// The refusal to plan rules that do not check.
pub fn rules_have_errors(file: &str) -> Diagnostic {
    Diagnostic::error(
        Code::RulesHaveErrors,
        format!("`{file}` has errors; run `tally check` to see them"),
        Span::default(),
    )
}

fn line(l: &LineDecl, file: &Checked, lets: &BTreeMap<LetId, TExpr>) -> Line {
    let mut dated_prices = l.dated_prices.clone();
    dated_prices.sort_by_key(|d| d.from);
    let billing = l.billing.unwrap_or(match l.kind {
        LineKind::Qty => Billing::Advance,
        LineKind::Amount => Billing::Arrears,
    });
    let quantity_skus = sku_reads(&l.value, lets);
    let price_skus = l.price.iter().flat_map(|price| sku_reads(price, lets));
    let mut sku_ids: Vec<String> = quantity_skus
        .iter()
        .cloned()
        .chain(price_skus)
        .map(|select| select.guid.to_lowercase())
        .collect();
    sku_ids.sort();
    sku_ids.dedup();
    Line {
        name: l.name.clone(),
        module: file.module.clone(),
        span: l.span,
        kind: l.kind,
        value: l.value.clone(),
        price: l.price.clone(),
        minimum: l.minimum.clone(),
        included: l.included.clone(),
        tiers: l.tiers.clone(),
        bundle: l.bundle.clone(),
        dated_prices,
        split: l.split.as_ref().map(split),
        product: l.product.clone().unwrap_or_else(|| l.name.clone()),
        description: l.description.clone().unwrap_or_else(|| humanise(&l.name)),
        agreement: l.agreement.clone(),
        billing,
        term: l.term,
        rounding: l.rounding.unwrap_or_else(|| default_rounding(l, file)),
        prorate: l.prorate.unwrap_or_default(),
        measure: l.measure.unwrap_or(match billing {
            Billing::Advance => Measure::Start,
            Billing::Arrears => Measure::End,
        }),
        trueup: l.trueup.unwrap_or_default(),
        cadence: l.every.as_ref().map(|e| e.cadence).unwrap_or_default(),
        starting: l.every.as_ref().and_then(|e| e.starting),
        seat_skus: seat_reads(&l.value, lets),
        resells: Resold {
            sku_ids,
            azure: reads_usage(&l.value, lets),
        },
        quantity_skus,
    }
}

/// Half up, except that a prorated line of a ConnectWise customer rounds as ConnectWise does
/// (per unit, then times the quantity), so the plan equals what the PSA will invoice.
fn default_rounding(l: &LineDecl, file: &Checked) -> LineRounding {
    let connectwise = file
        .customer
        .as_ref()
        .and_then(|c| c.psa.as_ref())
        .is_some_and(|p| p.kind == PsaKind::ConnectWise);
    if connectwise && l.prorate == Some(Prorate::Daily) {
        LineRounding::UnitHalfUp
    } else {
        LineRounding::HalfUp
    }
}

fn split(s: &SplitDecl) -> Split {
    Split {
        key: s.key,
        otherwise: s
            .otherwise
            .clone()
            .unwrap_or_else(|| format!("(no {})", s.key.name())),
        population: s.population.clone(),
    }
}

/// Every node of `expr` and of the definitions it uses, each definition once.
fn reachable<'a>(
    expr: &'a TExpr,
    lets: &'a BTreeMap<LetId, TExpr>,
    visit: &mut impl FnMut(&'a TExpr),
) {
    let mut pending = vec![expr];
    let mut seen: Vec<&LetId> = Vec::new();
    while let Some(next) = pending.pop() {
        next.walk(&mut |e| {
            if let TExprKind::Let(id) = &e.kind
                && !seen.contains(&id)
                && let Some(body) = lets.get(id)
            {
                seen.push(id);
                pending.push(body);
            }
            visit(e);
        });
    }
}

/// The SKU GUIDs an expression reads through `m365.sku(...)` and `has_sku(...)`, with the term
/// each asks for, following definitions.
fn sku_reads(expr: &TExpr, lets: &BTreeMap<LetId, TExpr>) -> Vec<SkuSelect> {
    let mut out = Vec::new();
    reachable(expr, lets, &mut |e| match &e.kind {
        TExprKind::SkuLookup { .. } => out.extend(selects(e)),
        TExprKind::HasSku { guids, .. } => out.extend(guids.iter().map(|g| SkuSelect {
            guid: g.clone(),
            term: None,
            term_start: None,
        })),
        _ => {}
    });
    out
}

/// What an `m365.sku(...)` selects, one entry per GUID.
fn selects(lookup: &TExpr) -> Vec<SkuSelect> {
    let TExprKind::SkuLookup {
        guids,
        term,
        term_start,
        ..
    } = &lookup.kind
    else {
        return Vec::new();
    };
    guids
        .iter()
        .map(|g| SkuSelect {
            guid: g.clone(),
            term: *term,
            term_start: *term_start,
        })
        .collect()
}

/// The subscriptions whose seats an expression counts: `m365.sku(...)` read for its
/// `purchased`, `assigned` or `available` seats, following definitions (not a SKU compared in a
/// filter, nor `has_sku`, which count users or SKUs).
fn seat_reads(expr: &TExpr, lets: &BTreeMap<LetId, TExpr>) -> Vec<SkuSelect> {
    let mut seats = Vec::new();
    reachable(expr, lets, &mut |e| {
        if let TExprKind::Field(base, Field::Purchased | Field::Assigned | Field::Available) =
            &e.kind
        {
            seats.push(&**base);
        }
    });
    let mut out = Vec::new();
    for base in seats {
        reachable(base, lets, &mut |e| out.extend(selects(e)));
    }
    out
}

/// Whether an expression reads `azure.usage`, following definitions.
fn reads_usage(expr: &TExpr, lets: &BTreeMap<LetId, TExpr>) -> bool {
    let mut found = false;
    reachable(expr, lets, &mut |e| {
        found |= matches!(e.kind, TExprKind::Source(Source::Usage));
    });
    found
}

/// `web_filtering` → "Web filtering": the default invoice description.
pub fn humanise(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_descriptions_read_like_words() {
        assert_eq!(super::humanise("web_filtering"), "Web filtering");
        assert_eq!(super::humanise("m365_bp"), "M365 bp");
    }
}
