//! The diff for people (an aligned table), for machines (JSON) and for pull requests
//! (Markdown). Amounts are exact decimals as the plan writes them.

use crate::model::{Action, Change, CustomerDiff, Diff, Outcome, Values};
use rust_decimal::Decimal;

fn psa_name(kind: tally_ir::PsaKind) -> &'static str {
    match kind {
        tally_ir::PsaKind::ConnectWise => "ConnectWise",
        tally_ir::PsaKind::Autotask => "Autotask",
        tally_ir::PsaKind::HaloPsa => "HaloPSA",
    }
}

fn price(value: Option<Decimal>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn before_after(before: Option<String>, after: Option<String>) -> String {
    match (before, after) {
        (Some(b), Some(a)) if b == a => a,
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (Some(b), None) => format!("{b} → -"),
        (None, Some(a)) => a,
        (None, None) => String::new(),
    }
}

fn column<F: Fn(&Values) -> String>(change: &Change, f: F) -> String {
    let before = change.before.as_ref().map(&f);
    let after = match change.action {
        Action::Cancel => Some("-".to_string()),
        Action::NotOwned => before.clone(),
        Action::Refused if change.after.is_some() => change.after.as_ref().map(&f),
        _ => change.after.as_ref().map(&f),
    };
    if change.action == Action::Cancel {
        return before_after(before, None);
    }
    before_after(before, after)
}

/// The line's key without the tenant, which the customer's heading already shows.
fn short_key(change: &Change, tenant: &str) -> String {
    change
        .key
        .strip_prefix(&format!("{}/", tenant.to_lowercase()))
        .unwrap_or(&change.key)
        .to_string()
}

fn note(change: &Change) -> String {
    let mut parts = Vec::new();
    if let Some(id) = &change.external_id
        && change.action != Action::NotOwned
    {
        parts.push(format!("#{id}"));
    }
    if let Some(day) = change.cancel_on {
        parts.push(format!("last day {day}"));
    }
    if let Some(note) = &change.note {
        parts.push(note.clone());
    }
    match &change.outcome {
        Some(Outcome::Done { external_id }) => parts.push(format!("done #{external_id}")),
        Some(Outcome::Confirmed { external_id }) => parts.push(format!(
            "done #{external_id} (answer lost, confirmed by reading back)"
        )),
        Some(Outcome::Remaining) => parts.push("not done yet".into()),
        Some(Outcome::Failed { error }) => parts.push(format!("failed: {error}")),
        None => {}
    }
    parts.join("; ")
}

fn rows(customer: &CustomerDiff) -> Vec<[String; 8]> {
    customer
        .changes
        .iter()
        .map(|c| {
            [
                c.action.word().to_string(),
                short_key(c, &customer.tenant),
                c.agreement.clone(),
                c.product.clone(),
                column(c, |v| v.quantity.to_string()),
                column(c, |v| price(v.unit_price)),
                column(c, |v| price(v.amount)),
                note(c),
            ]
        })
        .collect()
}

fn heading(customer: &CustomerDiff) -> String {
    format!(
        "{} ({}) → {} company `{}`, {}",
        customer.customer,
        customer.tenant,
        psa_name(customer.psa),
        customer.company,
        customer.currency
    )
}

fn summary(customer: &CustomerDiff) -> String {
    let counts: Vec<String> = [
        Action::Create,
        Action::Update,
        Action::Adopt,
        Action::Cancel,
        Action::Unchanged,
        Action::NotOwned,
        Action::Refused,
    ]
    .iter()
    .filter_map(|a| {
        let n = customer.count(*a);
        (n > 0).then(|| format!("{n} {}", a.word()))
    })
    .collect();
    let counts = if counts.is_empty() {
        "no lines".to_string()
    } else {
        counts.join(", ")
    };
    format!(
        "{counts}; total {} → {} {} ({})",
        customer.before,
        customer.after,
        customer.currency,
        signed(customer.after - customer.before)
    )
}

fn signed(d: Decimal) -> String {
    if d >= Decimal::ZERO {
        format!("+{d}")
    } else {
        d.to_string()
    }
}

const HEADERS: [&str; 8] = [
    "action",
    "line",
    "agreement",
    "product",
    "qty",
    "unit price",
    "amount",
    "note",
];

/// Text cells longer than this are cut with an ellipsis in the table (JSON keeps them whole).
const MAX_CELL: usize = 80;

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_CELL {
        text.to_string()
    } else {
        let kept: String = text.chars().take(MAX_CELL - 1).collect();
        format!("{kept}…")
    }
}

pub fn to_table(diff: &Diff) -> String {
    let mut out = String::new();
    for customer in &diff.customers {
        out.push_str(&heading(customer));
        out.push('\n');
        let rows: Vec<[String; 8]> = rows(customer)
            .into_iter()
            .map(|r| r.map(|cell| cut(&cell)))
            .collect();
        let mut widths = HEADERS.map(|h| h.chars().count());
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                // Numbers align right.
                if (4..7).contains(&i) {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    if i + 1 < cells.len() {
                        text.push_str(&" ".repeat(pad));
                    }
                }
                if i + 1 < cells.len() {
                    text.push_str("  ");
                }
            }
            text.trim_end().to_string()
        };
        let headers: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
        out.push_str(&line(&headers));
        out.push('\n');
        let width: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        out.push_str(&"-".repeat(width.min(200)));
        out.push('\n');
        for row in &rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out.push_str(&"-".repeat(width.min(200)));
        out.push('\n');
        for refusal in &customer.refusals {
            out.push_str(&format!("refused: {refusal}\n"));
        }
        out.push_str(&summary(customer));
        out.push_str("\n\n");
    }
    for skipped in &diff.skipped {
        out.push_str(&format!("skipped: {skipped}\n"));
    }
    out.push_str(&totals(diff));
    out
}

fn totals(diff: &Diff) -> String {
    let mut out = String::new();
    let writes = diff.writes();
    out.push_str(&format!(
        "{} customer{}, {writes} change{} to write",
        diff.customers.len(),
        if diff.customers.len() == 1 { "" } else { "s" },
        if writes == 1 { "" } else { "s" },
    ));
    for total in &diff.totals {
        out.push_str(&format!(
            "; total {} → {} {} ({})",
            total.before,
            total.after,
            total.currency,
            signed(total.after - total.before)
        ));
    }
    out.push('\n');
    out
}

pub fn to_markdown(diff: &Diff) -> String {
    let mut out = String::new();
    for customer in &diff.customers {
        out.push_str(&format!("### {}\n\n", md(&heading(customer))));
        out.push_str("| ");
        out.push_str(&HEADERS.join(" | "));
        out.push_str(" |\n|");
        for (i, _) in HEADERS.iter().enumerate() {
            out.push_str(if (4..7).contains(&i) { "---:|" } else { "---|" });
        }
        out.push('\n');
        for row in rows(customer) {
            out.push_str("| ");
            let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
            out.push_str(&cells.join(" | "));
            out.push_str(" |\n");
        }
        out.push('\n');
        for refusal in &customer.refusals {
            out.push_str(&format!("**Refused:** {}\n\n", md(refusal)));
        }
        out.push_str(&md(&summary(customer)));
        out.push_str("\n\n");
    }
    for skipped in &diff.skipped {
        out.push_str(&format!("Skipped: {}\n\n", md(skipped)));
    }
    out.push_str(&md(&totals(diff)));
    out
}

/// Text in a Markdown table cell: pipes escaped, no line breaks.
fn md(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

pub fn to_json(diff: &Diff) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(diff)?;
    text.push('\n');
    Ok(text)
}
