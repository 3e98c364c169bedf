//! A month's billing as one self-contained HTML page, for the person who approves it: every
//! customer with its total, every line with its explanation one click away (`<details>`),
//! warnings and flags highlighted, and, given the previous plan, what changed. No network, no
//! external assets (a Content-Security-Policy forbids them): inline CSS and a few lines of
//! inline JavaScript. Every text from a plan, a rule or a snapshot is escaped.

use crate::diff::{self, CustomerDiff, LineDiff, Status, TooLarge};
use crate::text::{html, signed};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use tally_money::Currency;
use tally_plan::{CustomerPlan, Plan, PlanLine, PlanPeriod};

/// What the page shows.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    pub plan: &'a Plan,
    /// The plan to compare with (usually last month's).
    pub previous: Option<&'a Plan>,
    /// The explanation of each rule line, keyed by (the customer's rule file, the line's name):
    /// the text of `tally_driver::Explanation`.
    pub explanations: &'a BTreeMap<(String, String), String>,
    /// Warnings about the rules, and problems of customers that could not be planned, one
    /// sentence each.
    pub warnings: &'a [String],
}

const STYLE: &str = r#"
:root { --ink: #1d232a; --muted: #5b6672; --line: #dfe3e8; --bg: #f6f7f9; --warn: #8a5a00;
  --warn-bg: #fff4d6; --bad: #a32020; --bad-bg: #fde8e8; --good: #1c6b3a; --new-bg: #e6f4ea; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  background: var(--bg); margin: 0; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 16px 0 6px; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
  margin: 16px 0; }
.period, .tenant, .muted { color: var(--muted); }
.tenant { font-size: 14px; font-weight: normal; margin-left: 8px; }
.controls { margin-top: 12px; display: flex; gap: 12px; align-items: center; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: #fff; cursor: pointer; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot th, tfoot td { border-bottom: none; font-weight: 600; }
.warnings { border-color: #e7c66b; background: var(--warn-bg); }
.warnings.none { border-color: var(--line); background: #fff; }
.warnings li { margin: 4px 0; }
.warnings li.flag, .warnings li.incomplete { color: var(--bad); }
.incomplete-list { border-color: #e9a3a3; background: var(--bad-bg); }
.up { color: var(--bad); }
.down { color: var(--good); }
.customer-total { font-size: 17px; }
.line-head, details.line > summary { display: grid;
  grid-template-columns: 18px minmax(120px, 1.1fr) minmax(160px, 2.4fr) 70px 100px 100px minmax(150px, 1.3fr);
  gap: 8px; align-items: baseline; padding: 6px 4px; }
.line-head { color: var(--muted); font-size: 13px; border-bottom: 1px solid var(--line); }
.line-head span:nth-child(n+4):nth-child(-n+6) { text-align: right; }
details.line { border-bottom: 1px solid var(--line); }
details.line > summary { cursor: pointer; list-style: none; }
details.line > summary::-webkit-details-marker { display: none; }
details.line > summary::before { content: "▸"; color: var(--muted); }
details.line[open] > summary::before { content: "▾"; }
details.line > summary:hover { background: #f1f4f8; }
details.line.changed > summary { background: #fffbea; }
details.line.new > summary { background: var(--new-bg); }
details.line.flagged > summary { background: var(--warn-bg); }
.name { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 13px; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: 12px; padding: 0 6px; border-radius: 10px;
  margin-right: 4px; border: 1px solid var(--line); background: #fff; }
.badge.flag { color: var(--bad); border-color: #e9a3a3; background: var(--bad-bg); }
.badge.new { color: var(--good); border-color: #a8d5b5; }
.badge.changed { color: var(--warn); border-color: #e7c66b; }
.detail { padding: 4px 26px 12px; }
.detail .flags { color: var(--bad); margin: 6px 0; }
pre.explanation { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; margin: 6px 0 0; }
ul.removed li { color: var(--bad); }
body.attention-only details.line:not(.changed):not(.new):not(.flagged) { display: none; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; overflow-wrap: anywhere; }
"#;

const SCRIPT: &str = r#"
(function () {
  var lines = function () { return document.querySelectorAll("details.line"); };
  document.getElementById("expand-all").addEventListener("click", function () {
    lines().forEach(function (d) { d.open = true; });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    lines().forEach(function (d) { d.open = false; });
  });
  document.getElementById("attention-only").addEventListener("change", function (e) {
    document.body.classList.toggle("attention-only", e.target.checked);
  });
})();
"#;

fn period(p: &PlanPeriod) -> String {
    format!("{} to {}", p.start, p.end)
}

fn money(value: Decimal, currency: Currency) -> String {
    format!("{value} {currency}")
}

/// `+65.01 GBP (+1.5%)` with a class saying which way it went.
fn change_span(change: Decimal, percent: Option<Decimal>, currency: Currency) -> String {
    let class = if change.is_sign_positive() && !change.is_zero() {
        "change up"
    } else if change.is_zero() {
        "change"
    } else {
        "change down"
    };
    let percent = percent.map_or_else(String::new, |p| format!(" ({}%)", signed(p)));
    format!(
        "<span class=\"{class}\">{} {currency}{}</span>",
        html(&signed(change)),
        html(&percent)
    )
}

/// The page; an error only when the plans' figures are too large to add up or compare.
pub fn to_html(review: &Review<'_>) -> Result<String, TooLarge> {
    let plan = review.plan;
    let changes = review
        .previous
        .map(|previous| diff::diff(previous, plan))
        .transpose()?;
    let totals = diff::totals_by_currency(plan)?;
    let by_tenant: BTreeMap<String, &CustomerDiff> = changes
        .iter()
        .flat_map(|d| d.customers.iter())
        .map(|c| (tally_plan::line_id_root(&c.tenant), c))
        .collect();
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>Billing review, {}</title>",
        html(&period(&plan.period))
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");

    // Header.
    out.push_str("<header>\n<h1>Billing review</h1>\n");
    let compared = match review.previous {
        Some(previous) => format!(", compared with {}", period(&previous.period)),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "<p class=\"period\" id=\"period\">{}{}</p>",
        html(&period(&plan.period)),
        html(&compared)
    );
    out.push_str(
        "<div class=\"controls\"><button type=\"button\" id=\"expand-all\">Expand all</button>\
         <button type=\"button\" id=\"collapse-all\">Collapse all</button>\
         <label><input type=\"checkbox\" id=\"attention-only\"> Only changed, new or flagged lines</label></div>\n</header>\n",
    );

    attention(&mut out, review);
    overview(&mut out, review, changes.as_ref(), &totals);
    for (index, customer) in plan.customers.iter().enumerate() {
        let change = by_tenant
            .get(&tally_plan::line_id_root(&customer.tenant))
            .copied();
        customer_section(&mut out, index, customer, change, review);
    }
    if let Some(changes) = &changes {
        let removed: Vec<&CustomerDiff> = changes
            .customers
            .iter()
            .filter(|c| c.status == Status::Removed)
            .collect();
        if !removed.is_empty() {
            out.push_str("<section class=\"removed-customers\" id=\"removed-customers\">\n<h2>Customers no longer billed</h2>\n<ul class=\"removed\">\n");
            for c in removed {
                let _ = writeln!(
                    out,
                    "<li data-tenant=\"{}\">{} ({}): previously {}</li>",
                    html(&c.tenant),
                    html(&c.customer),
                    html(&c.tenant),
                    html(&c.before.map_or_else(String::new, |b| money(b, c.currency)))
                );
            }
            out.push_str("</ul>\n</section>\n");
        }
    }
    footer(&mut out, plan);
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    Ok(out)
}

/// Warnings, flags and customers that could not be planned, at the top.
fn attention(out: &mut String, review: &Review<'_>) {
    let flags: Vec<(&PlanLine, &String)> = review
        .plan
        .customers
        .iter()
        .flat_map(|c| &c.lines)
        .flat_map(|l| l.provenance.flags.iter().map(move |f| (l, f)))
        .collect();
    let count = flags.len() + review.warnings.len() + review.plan.incomplete.len();
    if count == 0 {
        out.push_str("<section class=\"warnings none\" id=\"warnings\"><h2>Needs attention</h2><p>No warnings, no flags.</p></section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"warnings\" id=\"warnings\">\n<h2>Needs attention ({count})</h2>\n<ul>"
    );
    for incomplete in &review.plan.incomplete {
        let _ = writeln!(
            out,
            "<li class=\"incomplete\"><strong>Not planned:</strong> {}: {}</li>",
            html(&incomplete.rules),
            html(&incomplete.reason)
        );
    }
    for (line, flag) in flags {
        let _ = writeln!(
            out,
            "<li class=\"flag\"><a href=\"#{}\">{}</a>: {}</li>",
            html(&anchor(&line.id)),
            html(&line.id),
            html(flag)
        );
    }
    for warning in review.warnings {
        let _ = writeln!(out, "<li class=\"warning\">{}</li>", html(warning));
    }
    out.push_str("</ul>\n</section>\n");
}

/// An element id for a line id (ids hold `/`, `=` and `.`, which are fine in an HTML id).
fn anchor(id: &str) -> String {
    format!("line-{id}")
}

fn overview(
    out: &mut String,
    review: &Review<'_>,
    changes: Option<&diff::PlanDiff>,
    totals: &BTreeMap<Currency, Decimal>,
) {
    let plan = review.plan;
    let compare = changes.is_some();
    out.push_str("<section class=\"overview\" id=\"overview\">\n<h2>Customers</h2>\n<table>\n<thead><tr><th>customer</th><th>tenant</th><th class=\"num\">lines</th><th class=\"num\">total</th>");
    if compare {
        out.push_str("<th class=\"num\">previous</th><th class=\"num\">change</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let by_tenant: BTreeMap<String, &CustomerDiff> = changes
        .iter()
        .flat_map(|d| d.customers.iter())
        .map(|c| (tally_plan::line_id_root(&c.tenant), c))
        .collect();
    for (index, customer) in plan.customers.iter().enumerate() {
        let _ = write!(
            out,
            "<tr data-tenant=\"{}\"><td><a href=\"#customer-{index}\">{}</a></td><td class=\"tenant-cell\">{}</td><td class=\"num\">{}</td><td class=\"num total\">{}</td>",
            html(&tally_plan::line_id_root(&customer.tenant)),
            html(&customer.customer),
            html(&customer.tenant),
            customer.lines.len(),
            html(&money(customer.total, customer.currency))
        );
        if compare {
            match by_tenant.get(&tally_plan::line_id_root(&customer.tenant)) {
                Some(c) if c.status == Status::New => {
                    out.push_str("<td class=\"num\">–</td><td class=\"num\"><span class=\"badge new\">new</span></td>");
                }
                Some(c) => {
                    let _ = write!(
                        out,
                        "<td class=\"num previous\">{}</td><td class=\"num\">{}</td>",
                        html(&c.before.map_or_else(String::new, |b| money(
                            b,
                            c.previous_currency.unwrap_or(c.currency)
                        ))),
                        change_span(c.change, c.percent, c.currency)
                    );
                }
                None => out.push_str("<td></td><td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n<tfoot>\n");
    for (currency, total) in totals {
        let _ = write!(
            out,
            "<tr><th colspan=\"3\">total {currency}</th><td class=\"num grand-total\" data-currency=\"{currency}\">{}</td>",
            html(&money(*total, *currency))
        );
        if let Some(t) = changes.and_then(|d| d.totals.iter().find(|t| t.currency == *currency)) {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                html(&money(t.before, *currency)),
                change_span(t.change, t.percent, *currency)
            );
        } else if compare {
            out.push_str("<td></td><td></td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tfoot>\n</table>\n</section>\n");
}

fn customer_section(
    out: &mut String,
    index: usize,
    customer: &CustomerPlan,
    change: Option<&CustomerDiff>,
    review: &Review<'_>,
) {
    let line_changes: BTreeMap<&str, &LineDiff> = change
        .iter()
        .flat_map(|c| c.lines.iter())
        .map(|l| (l.id.as_str(), l))
        .collect();
    let _ = writeln!(
        out,
        "<section class=\"customer\" id=\"customer-{index}\" data-tenant=\"{}\">",
        html(&tally_plan::line_id_root(&customer.tenant))
    );
    let _ = writeln!(
        out,
        "<h2>{} <span class=\"tenant\">{}</span></h2>",
        html(&customer.customer),
        html(&customer.tenant)
    );
    let mut facts = vec![
        html(&period(&customer.period)),
        format!(
            "{} line{}",
            customer.lines.len(),
            if customer.lines.len() == 1 { "" } else { "s" }
        ),
        format!(
            "total <strong class=\"customer-total\">{}</strong>",
            html(&money(customer.total, customer.currency))
        ),
    ];
    if let Some(psa) = &customer.psa {
        facts.push(format!(
            "{} company {}, agreement {}",
            html(psa.kind.name()),
            html(&psa.company),
            html(&psa.agreement)
        ));
    }
    if let Some(c) = change {
        match c.status {
            Status::New => facts.push("<span class=\"badge new\">new customer</span>".into()),
            _ => facts.push(format!(
                "previous <span class=\"customer-previous\">{}</span>, {}",
                html(&c.before.map_or_else(String::new, |b| money(
                    b,
                    c.previous_currency.unwrap_or(c.currency)
                ))),
                change_span(c.change, c.percent, c.currency)
            )),
        }
    }
    let _ = writeln!(
        out,
        "<p class=\"customer-summary\">{}</p>",
        facts.join(" · ")
    );
    out.push_str("<div class=\"lines\">\n<div class=\"line-head\"><span></span><span>line</span><span>description</span><span>qty</span><span>unit price</span><span>amount</span><span>notes</span></div>\n");
    for line in &customer.lines {
        let explanation = review
            .explanations
            .get(&(customer.rules.clone(), line.line.clone()));
        line_row(
            out,
            line,
            line_changes.get(line.id.as_str()).copied(),
            explanation,
        );
    }
    out.push_str("</div>\n");
    let removed: Vec<&&LineDiff> = line_changes
        .values()
        .filter(|l| l.status == Status::Removed)
        .collect();
    if !removed.is_empty() {
        out.push_str("<h3>Removed since the previous plan</h3>\n<ul class=\"removed\">\n");
        for line in removed {
            let was = |v: &Option<Option<Decimal>>| {
                v.flatten()
                    .map_or_else(|| "-".to_string(), |d| d.to_string())
            };
            let _ = writeln!(
                out,
                "<li data-id=\"{}\"><span class=\"name\">{}</span> {}: {} × {} = {}</li>",
                html(&line.id),
                html(&line.id),
                html(&line.description),
                line.quantity.before.unwrap_or_default(),
                html(&was(&line.unit_price.before)),
                html(&was(&line.amount.before))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn line_row(
    out: &mut String,
    line: &PlanLine,
    change: Option<&LineDiff>,
    explanation: Option<&String>,
) {
    let mut classes = vec!["line"];
    let mut notes = Vec::new();
    match change.map(|c| c.status) {
        Some(Status::New) => {
            classes.push("new");
            notes.push("<span class=\"badge new\">new</span>".to_string());
        }
        Some(Status::Changed) => {
            classes.push("changed");
            if let Some(c) = change {
                let mut was = Vec::new();
                if c.quantity.moved() {
                    was.push(format!("qty {}", c.quantity.before.unwrap_or_default()));
                }
                if c.unit_price.moved() {
                    was.push(format!(
                        "price {}",
                        c.unit_price
                            .before
                            .flatten()
                            .map_or_else(|| "none".into(), |d| d.to_string())
                    ));
                }
                if c.amount.moved() {
                    was.push(format!(
                        "amount {}",
                        c.amount
                            .before
                            .flatten()
                            .map_or_else(|| "-".into(), |d| d.to_string())
                    ));
                }
                for field in &c.also_changed {
                    was.push(format!("{field} changed"));
                }
                notes.push(format!(
                    "<span class=\"badge changed\">was {}</span>",
                    html(&was.join(", "))
                ));
            }
        }
        _ => {}
    }
    if !line.provenance.flags.is_empty() {
        classes.push("flagged");
        let n = line.provenance.flags.len();
        notes.push(format!(
            "<span class=\"badge flag\">{n} flag{}</span>",
            if n == 1 { "" } else { "s" }
        ));
    }
    if let Some(minimum) = &line.provenance.minimum {
        notes.push(format!(
            "<span class=\"badge minimum\">minimum {} ({} counted)</span>",
            minimum.minimum, minimum.counted
        ));
    }
    let _ = writeln!(
        out,
        "<details class=\"{}\" id=\"{}\" data-id=\"{}\" data-line=\"{}\">",
        classes.join(" "),
        html(&anchor(&line.id)),
        html(&line.id),
        html(&line.line)
    );
    let _ = writeln!(
        out,
        "<summary><span class=\"name\">{}</span><span class=\"desc\">{}</span><span class=\"num qty\">{}</span><span class=\"num price\">{}</span><span class=\"num amount\">{}</span><span class=\"notes\">{}</span></summary>",
        html(&line.line),
        html(&line.description),
        line.quantity,
        html(
            &line
                .unit_price
                .map_or_else(|| "(catalogue)".into(), |p| p.to_string())
        ),
        html(&line.amount.map_or_else(|| "-".into(), |a| a.to_string())),
        notes.join("")
    );
    out.push_str("<div class=\"detail\">\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">id <code>{}</code> · product {} · {} · {}</p>",
        html(&line.id),
        html(&line.product),
        html(line.billing.name()),
        html(&period(&line.period))
    );
    if !line.provenance.flags.is_empty() {
        out.push_str("<ul class=\"flags\">\n");
        for flag in &line.provenance.flags {
            let _ = writeln!(out, "<li>{}</li>", html(flag));
        }
        out.push_str("</ul>\n");
    }
    match explanation {
        Some(text) => {
            let _ = writeln!(
                out,
                "<pre class=\"explanation\">{}</pre>",
                html(text.trim_end())
            );
        }
        None => {
            out.push_str("<p class=\"muted explanation-missing\">No explanation: the rule line could not be explained.</p>\n");
            let _ = writeln!(
                out,
                "<pre class=\"explanation\">{}</pre>",
                html(&line.provenance.drivers.join("\n"))
            );
        }
    }
    out.push_str("</div>\n</details>\n");
}

fn footer(out: &mut String, plan: &Plan) {
    out.push_str("<footer>\n<p>Planned by Tally from ");
    let rules: Vec<String> = plan
        .inputs
        .rules
        .iter()
        .map(|r| {
            format!(
                "{} (sha256 {})",
                html(&r.path),
                html(r.sha256.get(..12).unwrap_or(&r.sha256))
            )
        })
        .collect();
    let file = |kind: &str, input: &tally_plan::InputFile| {
        format!(
            "the {kind} {} (sha256 {})",
            html(&input.path),
            html(input.sha256.get(..12).unwrap_or(&input.sha256))
        )
    };
    let data: Vec<String> = plan
        .inputs
        .snapshot
        .iter()
        .map(|s| file("snapshot", s))
        .chain(plan.inputs.usage.iter().map(|u| file("usage file", u)))
        .collect();
    let _ = write!(out, "{} and {}.", rules.join(", "), data.join(", "));
    out.push_str("</p>\n</footer>\n");
}
