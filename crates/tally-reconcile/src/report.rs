//! The reconciliation report for people (a table) and for CI (JSON).

use crate::{Report, Status};

pub fn to_json(report: &Report) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::NegativeMargin => "NEGATIVE MARGIN",
        Status::Leakage => "LEAKAGE",
        Status::NotPaid => "not paid to Microsoft",
        Status::CurrencyDiffers => "currencies differ",
    }
}

pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    for customer in &report.customers {
        out.push_str(&format!("{} ({})\n", customer.customer, customer.tenant));
        let header = [
            "item",
            "paid seats",
            "billed seats",
            "cost",
            "billed",
            "margin",
            "margin %",
            "status",
        ];
        let rows: Vec<[String; 8]> = customer
            .rows
            .iter()
            .map(|r| {
                let money =
                    |amount: &Option<String>, currency: &Option<String>| match (amount, currency) {
                        (Some(a), Some(c)) => format!("{a} {c}"),
                        (Some(a), None) => a.clone(),
                        _ => "-".into(),
                    };
                [
                    r.item.clone(),
                    r.paid_seats.map_or("-".into(), |s| s.to_string()),
                    r.billed_seats.map_or("-".into(), |s| s.to_string()),
                    money(&r.cost, &r.cost_currency),
                    money(&r.billed, &r.billed_currency),
                    r.margin.clone().unwrap_or_else(|| "-".into()),
                    r.margin_percent
                        .clone()
                        .map_or("-".into(), |p| format!("{p}%")),
                    status_word(r.status).to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                if (1..=6).contains(&i) {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
            }
            text.trim_end().to_string() + "\n"
        };
        out.push_str(&line(&header.map(String::from)));
        for row in &rows {
            out.push_str(&line(row));
        }
        if customer.rows.is_empty() {
            out.push_str("(nothing resold from Microsoft)\n");
        }
        out.push('\n');
    }
    out
}
