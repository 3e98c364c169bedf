//! Plans written for machines (JSON, CSV) and for people (an aligned table).

use crate::assemble::one_line;
use crate::model::Plan;

/// Pretty JSON with a trailing newline. Field order is fixed by the model, lines keep rule order:
/// the same plan always gives the same bytes.
pub fn to_json(plan: &Plan) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(plan)?;
    text.push('\n');
    Ok(text)
}

/// One row per invoice line, the simplest import for any accounting tool.
pub fn to_csv(plan: &Plan) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "customer",
        "tenant",
        "id",
        "product",
        "description",
        "quantity",
        "unit_price",
        "amount",
        "currency",
        "period_start",
        "period_end",
        "billing",
        "term",
        "agreement",
        "split_key",
        "split_value",
    ])?;
    for customer in &plan.customers {
        for line in &customer.lines {
            let quantity = line.quantity.to_string();
            let start = line.period.start.to_string();
            let end = line.period.end.to_string();
            let unit_price = line.unit_price.map(|p| p.to_string()).unwrap_or_default();
            let amount = line.amount.map(|a| a.to_string()).unwrap_or_default();
            writer.write_record([
                customer.customer.as_str(),
                customer.tenant.as_str(),
                line.id.as_str(),
                line.product.as_str(),
                line.description.as_str(),
                quantity.as_str(),
                unit_price.as_str(),
                amount.as_str(),
                line.currency.code(),
                start.as_str(),
                end.as_str(),
                line.billing.name(),
                line.term.map_or("", |t| t.name()),
                line.agreement.as_deref().unwrap_or(""),
                line.split.as_ref().map_or("", |s| s.key.as_str()),
                line.split.as_ref().map_or("", |s| s.value.as_str()),
            ])?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A table per customer for people reading a terminal or a pull request.
pub fn to_table(plan: &Plan) -> String {
    let mut out = String::new();
    for customer in &plan.customers {
        out.push_str(&format!(
            "{} ({}), {} to {}, {}\n",
            customer.customer,
            customer.tenant,
            customer.period.start,
            customer.period.end,
            customer.currency
        ));
        let header = [
            "line",
            "description",
            "qty",
            "unit price",
            "amount",
            "billing",
            "agreement",
            "note",
        ];
        let rows: Vec<[String; 8]> = customer
            .lines
            .iter()
            .map(|l| {
                [
                    cell(&l.line),
                    cell(&one_line(&l.description)),
                    l.quantity.to_string(),
                    l.unit_price
                        .map_or_else(|| "(catalogue)".into(), |p| p.to_string()),
                    l.amount.map_or_else(|| "-".into(), |a| a.to_string()),
                    l.billing.name().to_string(),
                    cell(l.agreement.as_deref().unwrap_or_default()),
                    [
                        l.provenance
                            .minimum
                            .as_ref()
                            .map(|m| format!("minimum {} ({} counted)", m.minimum, m.counted)),
                        (!l.provenance.flags.is_empty()).then(|| {
                            format!("{} flag(s): see `tally explain`", l.provenance.flags.len())
                        }),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; "),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let numeric = [false, false, true, true, true, false, false, false];
        let format_row = |cells: &[String]| {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    line.push_str("  ");
                }
                if numeric.get(i).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
            line.trim_end().to_string() + "\n"
        };
        out.push_str(&format_row(&header.map(String::from)));
        let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        out.push_str(&"-".repeat(rule));
        out.push('\n');
        for row in &rows {
            out.push_str(&format_row(row));
        }
        out.push_str(&"-".repeat(rule));
        out.push('\n');
        out.push_str(&format!(
            "{} line{}, total {} {}\n\n",
            customer.lines.len(),
            if customer.lines.len() == 1 { "" } else { "s" },
            customer.total,
            customer.currency
        ));
    }
    out
}

/// Text cells of the table are cut to this many characters: the table is for reading, and one
/// huge description must not pad every row of it (the JSON and CSV keep the whole text).
const WIDEST_CELL: usize = 80;

fn cell(text: &str) -> String {
    if text.chars().count() <= WIDEST_CELL {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(WIDEST_CELL - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_cells_are_cut_with_an_ellipsis() {
        let long = "x".repeat(500);
        let cut = super::cell(&long);
        assert_eq!(cut.chars().count(), super::WIDEST_CELL);
        assert!(cut.ends_with('…'));
        assert_eq!(super::cell("Support"), "Support");
    }
}
