//! The change between two plans (`tally diff OLD NEW`): per customer and per invoice line, what
//! is new, what went away, and how quantities, prices and amounts moved. Lines are matched on
//! their stable ids (`docs/plan.md`); customers on their tenant. Money is exact: every figure is
//! the plans' own decimal, and a change is one checked subtraction (plans are input: figures too
//! large to subtract or add up are a [`TooLarge`] error, never a panic).

use crate::text::{cut, signed};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use tally_money::Currency;
use tally_plan::{CustomerPlan, Incomplete, Plan, PlanLine, PlanPeriod, line_id_root};

/// What happened to a customer or a line between the two plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Only in the new plan.
    New,
    /// Only in the old plan.
    Removed,
    /// In both, with a difference.
    Changed,
    /// In both, the same.
    Unchanged,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// A value before and after; `None` where the line (or the value) does not exist on that side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub before: Option<T>,
    pub after: Option<T>,
}

impl<T: PartialEq> Change<T> {
    pub fn moved(&self) -> bool {
        self.before.is_some() && self.after.is_some() && self.before != self.after
    }
}

/// One invoice line that is new, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineDiff {
    pub id: String,
    /// The rule line's name.
    pub line: String,
    /// The description, as the new plan has it (the old one's for a removed line).
    pub description: String,
    pub status: Status,
    pub quantity: Change<i64>,
    /// `None` inside: a quantity-only line, priced by the PSA's catalogue.
    pub unit_price: Change<Option<Decimal>>,
    pub amount: Change<Option<Decimal>>,
    /// The amount's change (a missing side, or a line without a price, counts as zero, as in the
    /// plan's total).
    pub change: Decimal,
    /// Other fields that differ: `description`, `product`, `agreement`, `billing`, `term`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_changed: Vec<&'static str>,
}

/// Figures in the plans too large to compare: their difference or sum does not fit a decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// What could not be computed, e.g. "the change of line `x`".
    pub what: String,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is too large to compute: the plans' figures do not fit a decimal",
            self.what
        )
    }
}

impl std::error::Error for TooLarge {}

fn minus(
    after: Decimal,
    before: Decimal,
    what: impl FnOnce() -> String,
) -> Result<Decimal, TooLarge> {
    after
        .checked_sub(before)
        .ok_or_else(|| TooLarge { what: what() })
}

fn plus(a: Decimal, b: Decimal, what: impl FnOnce() -> String) -> Result<Decimal, TooLarge> {
    a.checked_add(b).ok_or_else(|| TooLarge { what: what() })
}

/// Each currency's total over the customers of a plan, by currency code.
pub fn totals_by_currency(plan: &Plan) -> Result<BTreeMap<Currency, Decimal>, TooLarge> {
    let mut totals: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for c in &plan.customers {
        let total = totals.entry(c.currency).or_default();
        *total = plus(*total, c.total, || {
            format!("the plan's total in {}", c.currency)
        })?;
    }
    Ok(totals)
}

/// One customer's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerDiff {
    pub customer: String,
    pub tenant: String,
    pub status: Status,
    /// The new plan's currency (the old one's for a removed customer).
    pub currency: Currency,
    /// The old plan's currency, when it was another one: the totals cannot be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_currency: Option<Currency>,
    pub before: Option<Decimal>,
    pub after: Option<Decimal>,
    /// `after - before`, a missing side counting as zero.
    pub change: Decimal,
    /// The change as a percentage of `before`, to one decimal place; `None` when there is no
    /// base to compare with (a new customer, a total of zero, another currency).
    pub percent: Option<Decimal>,
    /// The lines that are new, removed or changed, in the new plan's order, removed lines last.
    pub lines: Vec<LineDiff>,
    pub unchanged_lines: usize,
}

/// The totals of one currency over all customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyTotal {
    pub currency: Currency,
    pub before: Decimal,
    pub after: Decimal,
    pub change: Decimal,
    pub percent: Option<Decimal>,
}

/// The change between two plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    pub old_period: PlanPeriod,
    pub new_period: PlanPeriod,
    pub customers: Vec<CustomerDiff>,
    /// One entry per currency, by code.
    pub totals: Vec<CurrencyTotal>,
    /// Customer files the new plan could not plan: their change is unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
}

impl PlanDiff {
    /// Whether anything at all differs (customers, lines or totals).
    pub fn is_empty(&self) -> bool {
        self.customers.iter().all(|c| c.status == Status::Unchanged) && self.incomplete.is_empty()
    }
}

/// Compares two plans: customers matched on their tenant, lines on their id.
pub fn diff(old: &Plan, new: &Plan) -> Result<PlanDiff, TooLarge> {
    let key = |c: &CustomerPlan| line_id_root(&c.tenant);
    let old_customers: BTreeMap<String, &CustomerPlan> =
        old.customers.iter().map(|c| (key(c), c)).collect();
    let new_keys: BTreeSet<String> = new.customers.iter().map(key).collect();
    let mut customers: Vec<CustomerDiff> = new
        .customers
        .iter()
        .map(|c| customer(old_customers.get(&key(c)).copied(), Some(c), c))
        .collect::<Result<_, _>>()?;
    for c in old.customers.iter().filter(|c| !new_keys.contains(&key(c))) {
        customers.push(customer(Some(c), None, c)?);
    }
    let before = totals_by_currency(old)?;
    let after = totals_by_currency(new)?;
    let currencies: BTreeSet<Currency> = before.keys().chain(after.keys()).copied().collect();
    let mut totals = Vec::new();
    for currency in currencies {
        let before = before.get(&currency).copied().unwrap_or_default();
        let after = after.get(&currency).copied().unwrap_or_default();
        totals.push(CurrencyTotal {
            currency,
            before,
            after,
            change: minus(after, before, || {
                format!("the change of the total in {currency}")
            })?,
            percent: percent(before, after),
        });
    }
    Ok(PlanDiff {
        old_period: old.period,
        new_period: new.period,
        customers,
        totals,
        incomplete: new.incomplete.clone(),
    })
}

/// `(after - before) / before` in percent, to one decimal place (halves away from zero).
fn percent(before: Decimal, after: Decimal) -> Option<Decimal> {
    if before.is_zero() {
        return None;
    }
    let ratio = after
        .checked_sub(before)?
        .checked_mul(Decimal::ONE_HUNDRED)?;
    let mut percent = ratio
        .checked_div(before.abs())?
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    // Always one decimal place: `0.0`, `7.0`, `-12.5`.
    percent.rescale(1);
    Some(percent)
}

/// One customer's change; `shown` is the side that names it (the new one when there is one).
fn customer(
    old: Option<&CustomerPlan>,
    new: Option<&CustomerPlan>,
    shown: &CustomerPlan,
) -> Result<CustomerDiff, TooLarge> {
    let old_lines: Vec<&PlanLine> = old.map(|c| c.lines.iter().collect()).unwrap_or_default();
    let new_lines: Vec<&PlanLine> = new.map(|c| c.lines.iter().collect()).unwrap_or_default();
    let old_by_id: BTreeMap<&str, &PlanLine> =
        old_lines.iter().map(|l| (l.id.as_str(), *l)).collect();
    let new_ids: BTreeSet<&str> = new_lines.iter().map(|l| l.id.as_str()).collect();
    let mut lines = Vec::new();
    let mut unchanged_lines = 0;
    for line in &new_lines {
        let diff = line_diff(old_by_id.get(line.id.as_str()).copied(), Some(line))?;
        if diff.status == Status::Unchanged {
            unchanged_lines += 1;
        } else {
            lines.push(diff);
        }
    }
    for line in old_lines
        .iter()
        .filter(|l| !new_ids.contains(l.id.as_str()))
    {
        lines.push(line_diff(Some(line), None)?);
    }
    let before = old.map(|c| c.total);
    let after = new.map(|c| c.total);
    let previous_currency = match (old, new) {
        (Some(o), Some(n)) if o.currency != n.currency => Some(o.currency),
        _ => None,
    };
    let change = minus(
        after.unwrap_or_default(),
        before.unwrap_or_default(),
        || format!("the change of {}'s total", shown.customer),
    )?;
    let status = match (old, new) {
        (None, _) => Status::New,
        (_, None) => Status::Removed,
        _ if lines.is_empty() && change.is_zero() && previous_currency.is_none() => {
            Status::Unchanged
        }
        _ => Status::Changed,
    };
    let percent = match (before, previous_currency) {
        (Some(before), None) => percent(before, after.unwrap_or_default()),
        _ => None,
    };
    Ok(CustomerDiff {
        customer: shown.customer.clone(),
        tenant: shown.tenant.clone(),
        status,
        currency: shown.currency,
        previous_currency,
        before,
        after,
        change,
        percent,
        lines,
        unchanged_lines,
    })
}

fn line_diff(old: Option<&PlanLine>, new: Option<&PlanLine>) -> Result<LineDiff, TooLarge> {
    let shown = new.or(old);
    let mut also_changed = Vec::new();
    if let (Some(o), Some(n)) = (old, new) {
        let fields: [(&'static str, bool); 5] = [
            ("description", o.description != n.description),
            ("product", o.product != n.product),
            ("agreement", o.agreement != n.agreement),
            ("billing", o.billing != n.billing),
            ("term", o.term != n.term),
        ];
        also_changed = fields
            .into_iter()
            .filter(|(_, differs)| *differs)
            .map(|(name, _)| name)
            .collect();
    }
    let quantity = Change {
        before: old.map(|l| l.quantity),
        after: new.map(|l| l.quantity),
    };
    let unit_price = Change {
        before: old.map(|l| l.unit_price),
        after: new.map(|l| l.unit_price),
    };
    let amount = Change {
        before: old.map(|l| l.amount),
        after: new.map(|l| l.amount),
    };
    let status = match (old, new) {
        (None, _) => Status::New,
        (_, None) => Status::Removed,
        _ if quantity.moved()
            || unit_price.moved()
            || amount.moved()
            || !also_changed.is_empty() =>
        {
            Status::Changed
        }
        _ => Status::Unchanged,
    };
    let value = |v: &Option<Option<Decimal>>| v.flatten().unwrap_or(Decimal::ZERO);
    let change = minus(value(&amount.after), value(&amount.before), || {
        format!(
            "the change of line `{}`",
            shown.map_or("", |l| l.id.as_str())
        )
    })?;
    Ok(LineDiff {
        id: shown.map(|l| l.id.clone()).unwrap_or_default(),
        line: shown.map(|l| l.line.clone()).unwrap_or_default(),
        description: shown.map(|l| l.description.clone()).unwrap_or_default(),
        status,
        quantity,
        unit_price,
        amount,
        change,
        also_changed,
    })
}

/// A customer whose total moved more than the guardrail allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub customer: String,
    pub tenant: String,
    pub reason: String,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.customer, self.tenant, self.reason)
    }
}

/// The customers whose total moved by more than `limit` percent of the old total (compared
/// exactly: `|after - before| × 100 > limit × |before|`). A new customer with a non-zero total,
/// a removed one (a change of 100%), one whose currency changed and a customer file the new plan
/// could not plan have no comparable total and always count.
pub fn changes_above(diff: &PlanDiff, limit: Decimal) -> Vec<Breach> {
    let mut breaches = Vec::new();
    for c in &diff.customers {
        let totals = format!(
            "{} → {} {}",
            c.before.map_or_else(|| "none".into(), |d| d.to_string()),
            c.after.map_or_else(|| "none".into(), |d| d.to_string()),
            c.currency
        );
        let reason = if let Some(previous) = c.previous_currency {
            Some(format!(
                "the currency changed from {previous} to {}",
                c.currency
            ))
        } else {
            match (c.before, c.after) {
                (None, Some(after)) if !after.is_zero() => {
                    Some(format!("new customer, {after} {}", c.currency))
                }
                (Some(before), _) => {
                    let moved = c.change.abs().checked_mul(Decimal::ONE_HUNDRED);
                    let allowed = limit.checked_mul(before.abs());
                    let above = match (moved, allowed) {
                        (Some(moved), Some(allowed)) => moved > allowed,
                        // Too large to multiply: far above any percentage.
                        _ => true,
                    };
                    above.then(|| {
                        let percent = c
                            .percent
                            .map_or_else(|| "no base".into(), |p| format!("{}%", signed(p)));
                        let what = if c.status == Status::Removed {
                            "removed, "
                        } else {
                            ""
                        };
                        format!("{what}{totals} ({percent}), more than {limit}%")
                    })
                }
                _ => None,
            }
        };
        if let Some(reason) = reason {
            breaches.push(Breach {
                customer: c.customer.clone(),
                tenant: c.tenant.clone(),
                reason,
            });
        }
    }
    for incomplete in &diff.incomplete {
        breaches.push(Breach {
            customer: incomplete.rules.clone(),
            tenant: "not planned".into(),
            reason: format!("the new plan could not plan it: {}", incomplete.reason),
        });
    }
    breaches
}

fn period(p: &PlanPeriod) -> String {
    format!("{} to {}", p.start, p.end)
}

fn amount(value: Option<Decimal>) -> String {
    value.map_or_else(|| "-".into(), |d| d.to_string())
}

/// `12 → 13`, or one value when it did not move or exists on one side only.
fn arrow<T: PartialEq>(change: &Change<T>, show: impl Fn(&T) -> String) -> String {
    match (&change.before, &change.after) {
        (Some(b), Some(a)) if b != a => format!("{} → {}", show(b), show(a)),
        (_, Some(a)) => show(a),
        (Some(b), None) => show(b),
        (None, None) => String::new(),
    }
}

fn line_cells(line: &LineDiff, tenant: &str) -> [String; 6] {
    let prefix = format!("{}/", line_id_root(tenant));
    let id = line.id.strip_prefix(&prefix).unwrap_or(&line.id);
    let mut note = line
        .also_changed
        .iter()
        .map(|f| format!("{f} changed"))
        .collect::<Vec<_>>()
        .join(", ");
    if line.status != Status::Unchanged && !line.change.is_zero() {
        let sign = signed(line.change);
        note = if note.is_empty() {
            sign
        } else {
            format!("{sign}; {note}")
        };
    }
    [
        line.status.name().to_string(),
        cut(id, 60),
        arrow(&line.quantity, |q| q.to_string()),
        arrow(&line.unit_price, |p| {
            p.map_or_else(|| "(catalogue)".into(), |d| d.to_string())
        }),
        arrow(&line.amount, |a| amount(*a)),
        note,
    ]
}

fn customer_heading(c: &CustomerDiff) -> String {
    let figures = match (c.before, c.after) {
        (Some(b), Some(a)) if c.previous_currency.is_some() => format!(
            "{b} {} → {a} {}",
            c.previous_currency.map_or("", |p| p.code()),
            c.currency
        ),
        (Some(b), Some(a)) if b == a => format!("{a} {}", c.currency),
        (Some(b), Some(a)) => format!("{b} → {a} {}", c.currency),
        (None, Some(a)) => format!("{a} {}", c.currency),
        (Some(b), None) => format!("{b} {}", c.currency),
        (None, None) => String::new(),
    };
    let change = match c.status {
        Status::New => "new customer".to_string(),
        Status::Removed => "removed customer".to_string(),
        Status::Unchanged => "unchanged".to_string(),
        Status::Changed => change_text(c.change, c.percent),
    };
    format!("{figures}, {change}")
}

/// `+65.01 (+1.5%)`, or without the percentage when there is no base.
fn change_text(change: Decimal, percent: Option<Decimal>) -> String {
    match percent {
        Some(p) => format!("{} ({}%)", signed(change), signed(p)),
        None => signed(change),
    }
}

/// The diff as aligned text, for a terminal.
pub fn to_table(diff: &PlanDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan of {} compared with {}",
        period(&diff.new_period),
        period(&diff.old_period)
    );
    for c in &diff.customers {
        let _ = writeln!(
            out,
            "\n{} ({}): {}",
            c.customer,
            c.tenant,
            customer_heading(c)
        );
        if !c.lines.is_empty() {
            let header =
                ["change", "line", "qty", "unit price", "amount", "note"].map(String::from);
            let rows: Vec<[String; 6]> = c.lines.iter().map(|l| line_cells(l, &c.tenant)).collect();
            out.push_str(&align(
                &header,
                &rows,
                &[false, false, true, true, true, false],
            ));
        }
        if c.unchanged_lines > 0 {
            let _ = writeln!(
                out,
                "  {} line{} unchanged",
                c.unchanged_lines,
                if c.unchanged_lines == 1 { "" } else { "s" }
            );
        }
    }
    for incomplete in &diff.incomplete {
        let _ = writeln!(
            out,
            "\nnot planned in the new plan: {}: {}",
            incomplete.rules, incomplete.reason
        );
    }
    out.push('\n');
    for total in &diff.totals {
        let _ = writeln!(
            out,
            "total {}: {} → {}, {}",
            total.currency,
            total.before,
            total.after,
            change_text(total.change, total.percent)
        );
    }
    out
}

/// Rows under a header, each column as wide as its widest cell, two spaces between columns,
/// numeric columns aligned right; indented by two spaces.
fn align(header: &[String; 6], rows: &[[String; 6]], numeric: &[bool; 6]) -> String {
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            line.push_str("  ");
            if numeric.get(i).copied().unwrap_or(false) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Text for a Markdown table cell: the punctuation that means something inside a line
/// (emphasis, code, links, table pipes, strikethrough, GitHub's `$` maths) escaped with a
/// backslash, HTML's with entities (GitHub renders HTML in comments), line breaks as spaces.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The diff as GitHub-flavoured Markdown, for a pull-request comment: a table of customers, then
/// each changed customer's lines in a collapsible section.
pub fn to_markdown(diff: &PlanDiff) -> String {
    let md = markdown_text;
    let mut out = String::new();
    let _ = writeln!(out, "### Billing plan changes\n");
    let _ = writeln!(
        out,
        "Plan of {} compared with {}.\n",
        md(&period(&diff.new_period)),
        md(&period(&diff.old_period))
    );
    if diff.is_empty() {
        out.push_str("No customer's invoice lines changed.\n\n");
    }
    out.push_str("| customer | before | after | change |\n| --- | ---: | ---: | ---: |\n");
    for c in &diff.customers {
        let change = match c.status {
            Status::New => "new customer".to_string(),
            Status::Removed => "removed customer".to_string(),
            Status::Unchanged => "unchanged".to_string(),
            Status::Changed => md(&change_text(c.change, c.percent)),
        };
        let currency = |d: Decimal, cur: Currency| md(&format!("{d} {cur}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {change} |",
            md(&c.customer),
            c.before.map_or_else(
                || "–".into(),
                |b| currency(b, c.previous_currency.unwrap_or(c.currency))
            ),
            c.after
                .map_or_else(|| "–".into(), |a| currency(a, c.currency)),
        );
    }
    for total in &diff.totals {
        let _ = writeln!(
            out,
            "| **total {}** | **{}** | **{}** | **{}** |",
            total.currency,
            md(&total.before.to_string()),
            md(&total.after.to_string()),
            md(&change_text(total.change, total.percent))
        );
    }
    for c in diff.customers.iter().filter(|c| !c.lines.is_empty()) {
        let count = |s: Status| c.lines.iter().filter(|l| l.status == s).count();
        let _ = writeln!(
            out,
            "\n<details><summary>{}: {} changed, {} new, {} removed</summary>\n",
            md(&c.customer),
            count(Status::Changed),
            count(Status::New),
            count(Status::Removed)
        );
        out.push_str(
            "| change | line | quantity | unit price | amount | note |\n| --- | --- | ---: | ---: | ---: | --- |\n",
        );
        for line in &c.lines {
            let cells = line_cells(line, &c.tenant).map(|cell| md(&cell));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push_str("\n</details>\n");
    }
    if !diff.incomplete.is_empty() {
        out.push_str("\n**Not planned in the new plan** (their change is unknown):\n\n");
        for incomplete in &diff.incomplete {
            let _ = writeln!(
                out,
                "- {}: {}",
                md(&incomplete.rules),
                md(&incomplete.reason)
            );
        }
    }
    out
}

/// The diff as pretty JSON with a trailing newline; amounts are exact decimal strings.
pub fn to_json(diff: &PlanDiff) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(diff)?;
    text.push('\n');
    Ok(text)
}
