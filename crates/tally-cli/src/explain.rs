//! `tally explain`: how one line's numbers came about, step by step.

use crate::load::{load, read};
use crate::plan::{customer_period, period, report_eval_errors};
use crate::{Failure, render};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use tally_db::Database;
use tally_eval::{Role, Step};

pub(crate) fn explain(
    rules: &Path,
    snapshot_path: &Path,
    line_name: &str,
    requested: Option<&str>,
) -> Result<(), Failure> {
    let loaded = load(Database::default(), &[PathBuf::from(rules)])?;
    let db = &loaded.db;
    let Some(file) = loaded.roots.first().copied() else {
        return Err(Failure::Usage(format!("cannot read `{}`", rules.display())));
    };
    let diagnostics = tally_db::diagnostics(db, file);
    if diagnostics.iter().any(|d| d.is_error()) {
        for d in diagnostics {
            eprint!("{}", render::human(file.key(db), file.text(db), d));
        }
        return Err(Failure::Diagnostics);
    }
    let program = tally_db::program(db, file)
        .as_ref()
        .map_err(|d| Failure::Usage(d.message.clone()))?;
    let Some(index) = program.lines.iter().position(|l| l.name == line_name) else {
        let names: Vec<&str> = program.lines.iter().map(|l| l.name.as_str()).collect();
        let hint = tally_diagnostics::Names::new(line_name, names)
            .listed_as("the lines are")
            .help()
            .unwrap_or_default();
        return Err(Failure::Usage(format!(
            "no line `{line_name}` in `{}`: {hint}",
            file.key(db)
        )));
    };
    let snapshot = tally_snapshot::from_json(&read(snapshot_path)?)
        .map_err(|e| Failure::Usage(format!("{}: {e}", snapshot_path.display())))?;
    let period = period(&snapshot, requested, snapshot_path)?;
    let period = customer_period(&period, program.customer.billing_day)?;
    let evaluation = match tally_eval::evaluate(program, &snapshot, &period) {
        Ok(e) => e,
        Err(errors) => {
            report_eval_errors(db, &errors);
            return Err(Failure::Diagnostics);
        }
    };
    let customer = tally_plan::assemble_customer(program, &evaluation, &period, file.key(db))
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let (Some(rule), Some(result)) = (program.lines.get(index), evaluation.lines.get(index)) else {
        return Err(Failure::Usage(format!(
            "line `{line_name}` was not evaluated"
        )));
    };
    let source = file.text(db);
    let (line_no, column) =
        tally_diagnostics::LineIndex::new(source).line_col(source, rule.span.start as usize);
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", rule.name, rule.description);
    let _ = writeln!(
        out,
        "  customer  {} ({}), {} to {}",
        program.customer.name, program.customer.tenant, period.start, period.end
    );
    let _ = writeln!(out, "  rule      {}:{line_no}:{column}", file.key(db));
    for (role, step) in &result.steps {
        let _ = writeln!(out, "  {}", role.name());
        write_step(&mut out, step, 2);
        if *role == Role::Quantity
            && let Some(q) = result.quantity
        {
            let _ = writeln!(out, "    counted {q}");
        }
    }
    if let Some(minimum) = result.minimum {
        let counted = result.quantity.unwrap_or(0);
        if minimum > counted {
            let _ = writeln!(
                out,
                "  minimum {minimum} applies: {counted} counted, {minimum} billed"
            );
        } else {
            let _ = writeln!(out, "  minimum {minimum} does not apply: {counted} counted");
        }
    }
    if let Some(price) = result.unit_price {
        let rounded = price.round(rule.rounding.money());
        let _ = writeln!(
            out,
            "  unit price {price} rounded {} to {rounded}",
            rule.rounding.name()
        );
    } else if let Some(tiers) = &result.tiers {
        let prices: Vec<String> = tiers
            .iter()
            .map(|(up_to, price)| match up_to {
                Some(bound) => format!("up to {bound}: {price}"),
                None => format!("above: {price}"),
            })
            .collect();
        let _ = writeln!(out, "  tiers {}", prices.join(", "));
    } else if !result.bundle.is_empty() {
        let _ = writeln!(
            out,
            "  bundle of {} products at their own prices",
            result.bundle.len()
        );
    } else if result.amount.is_none() {
        let _ = writeln!(
            out,
            "  no price: the PSA's product catalogue prices this line"
        );
    }
    if let Some(amount) = result.amount {
        let _ = writeln!(
            out,
            "  amount {amount} rounded {} to {}",
            rule.rounding.name(),
            amount.round(rule.rounding.money())
        );
    }
    if let Some(split) = &result.split {
        let groups = split
            .groups
            .iter()
            .map(|(g, n)| format!("{g}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "  split by {} over users ({groups})", split.key);
    }
    for c in &result.conversions {
        let _ = writeln!(
            out,
            "  converted {} to {} at {} (the snapshot's rate of {})",
            c.from,
            c.to,
            c.rate.normalize(),
            c.date
        );
    }
    if let Some(history) = &result.history {
        let _ = writeln!(out, "  counts by day, {} to {}", history.from, history.to);
        for (from, to, billed) in history.segments() {
            let _ = writeln!(out, "    {from} to {to}: {billed}");
        }
    }
    for line in customer.lines.iter().filter(|l| l.line == rule.name) {
        for flag in &line.provenance.flags {
            let _ = writeln!(out, "  flag: {flag}");
        }
    }
    let _ = writeln!(out, "  invoice lines");
    for line in customer.lines.iter().filter(|l| l.line == rule.name) {
        let price = line.unit_price.as_deref().unwrap_or("(catalogue)");
        let amount = line
            .amount
            .as_deref()
            .map_or(String::new(), |a| format!(" = {a} {}", line.currency));
        let days = line.proration.as_ref().map_or(String::new(), |p| {
            format!(
                " × {}/{} days ({} to {}, rounding {})",
                p.days, p.cycle_days, p.from, p.to, p.rounding
            )
        });
        let _ = writeln!(
            out,
            "    {}  {} × {price}{days}{amount}",
            line.id, line.quantity
        );
    }
    print!("{out}");
    Ok(())
}

fn write_step(out: &mut String, step: &Step, depth: usize) {
    let indent = "  ".repeat(depth);
    let text = step.text.split_whitespace().collect::<Vec<_>>().join(" ");
    let _ = writeln!(out, "{indent}{text} = {}", step.value);
    for note in &step.notes {
        let _ = writeln!(out, "{indent}  ({note})");
    }
    if let Some(filter) = &step.filter {
        let _ = writeln!(out, "{indent}  kept {} of {}", filter.kept, filter.total);
        for (condition, who) in &filter.excluded {
            if !who.is_empty() {
                let _ = writeln!(
                    out,
                    "{indent}  excluded by `{condition}`: {}",
                    who.join(", ")
                );
            }
        }
    }
    for child in &step.children {
        write_step(out, child, depth + 1);
    }
}
