//! `tally explain` as a value: how one line's numbers came about, for the CLI to print and the
//! language server to show on hover. Rounded figures come from the plan's own rounding
//! (`tally_plan::rounded_unit_price`, `rounded_amount`), never rounded again here.

use crate::{Failure, FileDiagnostic, customer_period};
use std::fmt::{self, Write};
use tally_db::{Database, SourceFile};
use tally_diagnostics::{LineIndex, Names};
use tally_eval::{Conversion, History, Role, SplitWeights, Step};
use tally_ir::LineRounding;
use tally_money::Money;
use tally_plan::PlanLine;
use tally_snapshot::{Period, Snapshot};

#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub line: String,
    pub description: String,
    pub customer: String,
    pub tenant: String,
    /// The customer's billing period.
    pub period: Period,
    /// The rule's file and its 1-based line and column.
    pub rule: (String, usize, usize),
    /// How the quantity (or amount), prices and minimum were computed.
    pub steps: Vec<(Role, Step)>,
    /// The counted quantity of a `qty` line.
    pub counted: Option<u64>,
    pub minimum: Option<MinimumNote>,
    pub pricing: Pricing,
    /// An `amount` line's amount before and after rounding.
    pub amount: Option<(Money, Money, LineRounding)>,
    pub split: Option<SplitWeights>,
    pub conversions: Vec<Conversion>,
    pub history: Option<History>,
    /// Things a person must look at (e.g. a reduction outside Microsoft's 7-day window).
    pub flags: Vec<String>,
    /// The invoice lines the rule line became.
    pub invoice_lines: Vec<PlanLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumNote {
    pub minimum: u64,
    pub counted: u64,
}

impl MinimumNote {
    pub fn applies(self) -> bool {
        self.minimum > self.counted
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pricing {
    /// One unit price, before and after the line's rounding.
    Unit {
        price: Money,
        rounded: Money,
        rounding: LineRounding,
    },
    /// The unit price of each tier (up to, inclusive; `None` = above).
    Tiers(Vec<(Option<u64>, Money)>),
    /// A bundle of this many products, each at its own price.
    Bundle(usize),
    /// No price: the PSA's product catalogue prices the line.
    Catalogue,
    /// An `amount` line: the amount is the price.
    Amount,
}

/// Explains line `line_name` of the customer file `file` for `period` (the month; the
/// customer's billing day is applied here).
pub fn explain(
    db: &Database,
    file: SourceFile,
    snapshot: &Snapshot,
    period: Period,
    line_name: &str,
) -> Result<Explanation, Failure> {
    let key = file.key(db).clone();
    let in_file = |diagnostic| FileDiagnostic {
        file: key.clone(),
        diagnostic,
    };
    let problems = crate::diagnostics(db, &[file]);
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        return Err(Failure::Problems(problems));
    }
    let program = tally_db::program(db, file)
        .as_ref()
        .map_err(|d| Failure::Problems(vec![in_file(d.clone())]))?;
    let Some(index) = program.lines.iter().position(|l| l.name == line_name) else {
        let hint = Names::new(line_name, program.lines.iter().map(|l| l.name.as_str()))
            .listed_as("the lines are")
            .help()
            .unwrap_or_default();
        return Err(Failure::Refusal(format!(
            "no line `{line_name}` in `{key}`: {hint}"
        )));
    };
    let period = customer_period(&period, program.customer.billing_day).ok_or_else(|| {
        Failure::Refusal(format!(
            "no billing period starts on day {} of the month of {}",
            program.customer.billing_day, period.start
        ))
    })?;
    let evaluation =
        tally_eval::evaluate_explained(program, snapshot, &period).map_err(|errors| {
            Failure::Problems(
                errors
                    .into_iter()
                    .map(|e| FileDiagnostic {
                        file: e.module.0,
                        diagnostic: e.diagnostic,
                    })
                    .collect(),
            )
        })?;
    let customer = tally_plan::assemble_customer(program, &evaluation, &period, &key)
        .map_err(|e| Failure::Refusal(e.to_string()))?;
    let (Some(rule), Some(result)) = (program.lines.get(index), evaluation.lines.get(index)) else {
        return Err(Failure::Refusal(format!(
            "line `{line_name}` was not evaluated"
        )));
    };
    let source = file.text(db);
    let (line_no, column) = LineIndex::new(source).line_col(source, rule.span.start as usize);
    let invoice_lines: Vec<PlanLine> = customer
        .lines
        .into_iter()
        .filter(|l| l.line == rule.name)
        .collect();
    Ok(Explanation {
        line: rule.name.clone(),
        description: rule.description.clone(),
        customer: program.customer.name.clone(),
        tenant: program.customer.tenant.clone(),
        period,
        rule: (key.clone(), line_no, column),
        steps: result.steps.clone(),
        counted: result.quantity,
        minimum: result.minimum.map(|minimum| MinimumNote {
            minimum,
            counted: result.quantity.unwrap_or(0),
        }),
        pricing: pricing(rule, result),
        amount: result
            .amount
            .zip(tally_plan::rounded_amount(rule, result))
            .map(|(amount, rounded)| (amount, rounded, rule.rounding)),
        split: result.split.clone(),
        conversions: result.conversions.clone(),
        history: result.history.clone(),
        flags: invoice_lines
            .iter()
            .flat_map(|l| l.provenance.flags.iter().cloned())
            .collect(),
        invoice_lines,
    })
}

/// How the line is priced, with the rounded figures the plan uses.
fn pricing(rule: &tally_ir::Line, result: &tally_eval::LineResult) -> Pricing {
    match (
        tally_plan::rounded_unit_price(rule, result),
        result.unit_price,
        &result.tiers,
    ) {
        (Some(rounded), Some(price), _) => Pricing::Unit {
            price,
            rounded,
            rounding: rule.rounding,
        },
        (_, _, Some(tiers)) => Pricing::Tiers(tiers.clone()),
        _ if !result.bundle.is_empty() => Pricing::Bundle(result.bundle.len()),
        _ if result.amount.is_some() => Pricing::Amount,
        _ => Pricing::Catalogue,
    }
}

/// The explanation as plain text, indented, one fact a line.
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} — {}", self.line, self.description)?;
        writeln!(
            f,
            "  customer  {} ({}), {} to {}",
            self.customer, self.tenant, self.period.start, self.period.end
        )?;
        let (file, line, column) = &self.rule;
        writeln!(f, "  rule      {file}:{line}:{column}")?;
        for (role, step) in &self.steps {
            writeln!(f, "  {}", role.name())?;
            write_step(f, step, 2)?;
            if *role == Role::Quantity
                && let Some(q) = self.counted
            {
                writeln!(f, "    counted {q}")?;
            }
        }
        if let Some(m) = self.minimum {
            if m.applies() {
                writeln!(
                    f,
                    "  minimum {} applies: {} counted, {} billed",
                    m.minimum, m.counted, m.minimum
                )?;
            } else {
                writeln!(
                    f,
                    "  minimum {} does not apply: {} counted",
                    m.minimum, m.counted
                )?;
            }
        }
        self.write_pricing(f)?;
        if let Some(split) = &self.split {
            let groups = split
                .groups
                .iter()
                .map(|(g, n)| format!("{g}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(f, "  split by {} over users ({groups})", split.key)?;
        }
        for c in &self.conversions {
            writeln!(
                f,
                "  converted {} to {} at {} (the snapshot's rate of {})",
                c.from,
                c.to,
                c.rate.normalize(),
                c.date
            )?;
        }
        if let Some(history) = &self.history {
            writeln!(f, "  counts by day, {} to {}", history.from, history.to)?;
            for (from, to, billed) in history.segments() {
                writeln!(f, "    {from} to {to}: {billed}")?;
            }
        }
        for flag in &self.flags {
            writeln!(f, "  flag: {flag}")?;
        }
        writeln!(f, "  invoice lines")?;
        for line in &self.invoice_lines {
            write_invoice_line(f, line)?;
        }
        Ok(())
    }
}

impl Explanation {
    fn write_pricing(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pricing {
            Pricing::Unit {
                price,
                rounded,
                rounding,
            } => writeln!(
                f,
                "  unit price {price} rounded {} to {rounded}",
                rounding.name()
            )?,
            Pricing::Tiers(tiers) => {
                let prices: Vec<String> = tiers
                    .iter()
                    .map(|(up_to, price)| match up_to {
                        Some(bound) => format!("up to {bound}: {price}"),
                        None => format!("above: {price}"),
                    })
                    .collect();
                writeln!(f, "  tiers {}", prices.join(", "))?;
            }
            Pricing::Bundle(n) => {
                writeln!(f, "  bundle of {n} products at their own prices")?;
            }
            Pricing::Catalogue => {
                writeln!(
                    f,
                    "  no price: the PSA's product catalogue prices this line"
                )?;
            }
            Pricing::Amount => {}
        }
        if let Some((amount, rounded, rounding)) = &self.amount {
            writeln!(
                f,
                "  amount {amount} rounded {} to {rounded}",
                rounding.name()
            )?;
        }
        Ok(())
    }
}

fn write_invoice_line(f: &mut fmt::Formatter<'_>, line: &PlanLine) -> fmt::Result {
    let price = line
        .unit_price
        .map_or_else(|| "(catalogue)".to_string(), |p| p.to_string());
    let amount = line
        .amount
        .map_or(String::new(), |a| format!(" = {a} {}", line.currency));
    let days = line.proration.as_ref().map_or(String::new(), |p| {
        format!(
            " × {}/{} days ({} to {}, rounding {})",
            p.days, p.cycle_days, p.from, p.to, p.rounding
        )
    });
    writeln!(
        f,
        "    {}  {} × {price}{days}{amount}",
        line.id, line.quantity
    )
}

fn write_step(f: &mut fmt::Formatter<'_>, step: &Step, depth: usize) -> fmt::Result {
    let indent = "  ".repeat(depth);
    let mut text = String::new();
    for (i, word) in step.text.split_whitespace().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        let _ = text.write_str(word);
    }
    writeln!(f, "{indent}{text} = {}", step.value)?;
    for note in &step.notes {
        writeln!(f, "{indent}  ({note})")?;
    }
    if let Some(filter) = &step.filter {
        writeln!(f, "{indent}  kept {} of {}", filter.kept, filter.total)?;
        for exclusion in filter.excluded.iter().filter(|e| !e.who.is_empty()) {
            writeln!(
                f,
                "{indent}  excluded by `{}`: {}",
                exclusion.condition,
                exclusion.who.join(", ")
            )?;
        }
    }
    for child in &step.children {
        write_step(f, child, depth + 1)?;
    }
    Ok(())
}
