//! Checking expectations against what planning a case produced.

use super::syntax::{Expectation, Field, Kind, Op, Pattern, Target, TestFile, Value};
use rust_decimal::Decimal;
use serde::Serialize;
use tally_diagnostics::Names;
use tally_plan::{CustomerPlan, Plan, PlanLine, line_id_root};

/// A diagnostic or flag, reduced to what expectations look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `T0504`, or `None` for a plan's flag.
    pub code: Option<String>,
    pub message: String,
    /// `file:line:col`, or the line id of a flag.
    pub location: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{}: {code} {}", self.location, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// What planning a case produced.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// `None` when nothing could be planned.
    pub plan: Option<&'a Plan>,
    /// Errors in the rules, or while planning them against the snapshot.
    pub errors: &'a [Problem],
    /// The rules' warnings and the plan's flags.
    pub warnings: &'a [Problem],
}

/// One expectation's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The line of the expectation file.
    pub line: usize,
    /// The expectation as written (after `expect`).
    pub expectation: String,
    pub passed: bool,
    /// What was found, when it failed: `found 45`, or why it could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// Checks every expectation of `file` against `outcome`, in order.
pub fn check(file: &TestFile, outcome: &Outcome<'_>) -> Vec<Verdict> {
    file.expectations
        .iter()
        .map(|e| {
            let found = one(e, outcome).err();
            Verdict {
                line: e.line,
                expectation: e.text.clone(),
                passed: found.is_none(),
                found,
            }
        })
        .collect()
}

/// `Ok` when the expectation holds, else what was found instead.
fn one(e: &Expectation, outcome: &Outcome<'_>) -> Result<(), String> {
    match &e.kind {
        Kind::NoWarnings => none_of(outcome.warnings, "warning"),
        Kind::NoErrors => none_of(outcome.errors, "error"),
        Kind::Warning(pattern) => some_of(outcome.warnings, pattern, "warning"),
        Kind::Error(pattern) => some_of(outcome.errors, pattern, "error"),
        Kind::Line { target, present } => {
            let customer = customer(e, outcome)?;
            let lines = select(customer, target);
            match (lines.is_empty(), present) {
                (false, true) | (true, false) => Ok(()),
                (true, true) => Err(missing(customer, target)),
                (false, false) => Err(format!(
                    "found {}",
                    lines
                        .iter()
                        .map(|l| format!("`{}`", l.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        Kind::Total { op, value } => {
            let customer = customer(e, outcome)?;
            compare_money(*op, Some(customer.total), value, customer)
        }
        Kind::LineCount { op, value } => {
            let customer = customer(e, outcome)?;
            let count = Decimal::from(customer.lines.len());
            if op.holds(&count, value) {
                Ok(())
            } else {
                Err(format!("found {count}"))
            }
        }
        Kind::Field {
            target,
            field,
            op,
            value,
        } => {
            let customer = customer(e, outcome)?;
            let lines = select(customer, target);
            if lines.is_empty() {
                return Err(missing(customer, target));
            }
            field_value(*field, *op, value, &lines, customer)
        }
    }
}

fn none_of(problems: &[Problem], what: &str) -> Result<(), String> {
    match problems {
        [] => Ok(()),
        [one] => Err(format!("found one {what}: {one}")),
        many => Err(format!(
            "found {} {what}s:\n{}",
            many.len(),
            many.iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

fn some_of(problems: &[Problem], pattern: &Pattern, what: &str) -> Result<(), String> {
    let matches = |p: &Problem| match pattern {
        Pattern::Code(code) => p.code.as_deref() == Some(code.as_str()),
        Pattern::Text(text) => p.message.contains(text.as_str()),
    };
    if problems.iter().any(matches) {
        return Ok(());
    }
    if problems.is_empty() {
        return Err(format!("found no {what}s"));
    }
    Err(format!(
        "found no such {what}; the {what}s are:\n{}",
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

/// The customer an expectation is about: the one its `customer` statement names, or the plan's
/// only customer.
fn customer<'a>(e: &Expectation, outcome: &Outcome<'a>) -> Result<&'a CustomerPlan, String> {
    let not_planned = || {
        let why = outcome
            .errors
            .first()
            .map_or_else(String::new, |p| format!(": {p}"));
        format!("the rules were not planned{why}")
    };
    let Some(plan) = outcome.plan.filter(|p| !p.customers.is_empty()) else {
        return Err(not_planned());
    };
    match &e.customer {
        Some(wanted) => plan
            .customers
            .iter()
            .find(|c| {
                line_id_root(&c.tenant) == line_id_root(wanted)
                    || c.customer.eq_ignore_ascii_case(wanted.trim())
            })
            .ok_or_else(|| {
                let names: Vec<&str> = plan.customers.iter().map(|c| c.tenant.as_str()).collect();
                let hint = Names::new(wanted, names)
                    .listed_as("the planned tenants are")
                    .help()
                    .unwrap_or_default();
                format!("no customer `{wanted}` in the plan: {hint}")
            }),
        None => match plan.customers.as_slice() {
            [only] => Ok(only),
            several => Err(format!(
                "the plan has {} customers ({}): name one with `customer \"tenant\"` before this line",
                several.len(),
                several
                    .iter()
                    .map(|c| format!("`{}`", c.tenant))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    }
}

/// The invoice lines of a rule line, or of one part of it.
fn select<'a>(customer: &'a CustomerPlan, target: &Target) -> Vec<&'a PlanLine> {
    let prefix = format!("{}/{}/", line_id_root(&customer.tenant), target.line);
    customer
        .lines
        .iter()
        .filter(|l| l.line == target.line)
        .filter(|l| match &target.part {
            None => true,
            Some(part) => {
                l.split
                    .as_ref()
                    .is_some_and(|s| s.value.eq_ignore_ascii_case(part))
                    || l.id
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| rest.eq_ignore_ascii_case(part))
                    || l.id
                        .strip_prefix(&prefix)
                        .and_then(|rest| rest.split_once('='))
                        .is_some_and(|(_, value)| value.eq_ignore_ascii_case(part))
            }
        })
        .collect()
}

/// Why no line was selected: no such rule line (with "did you mean"), or no such part.
fn missing(customer: &CustomerPlan, target: &Target) -> String {
    let mut names: Vec<&str> = customer.lines.iter().map(|l| l.line.as_str()).collect();
    names.dedup();
    if !names.contains(&target.line.as_str()) {
        let hint = Names::new(&target.line, names.iter().copied())
            .listed_as("the lines are")
            .help()
            .unwrap_or_default();
        return format!("no line `{}` in the plan: {hint}", target.line);
    }
    let prefix = format!("{}/{}/", line_id_root(&customer.tenant), target.line);
    let parts: Vec<String> = customer
        .lines
        .iter()
        .filter(|l| l.line == target.line)
        .map(|l| match &l.split {
            Some(split) => format!("\"{}\"", split.value),
            None => {
                l.id.strip_prefix(&prefix)
                    .map_or_else(|| "(the whole line)".into(), |rest| format!("\"{rest}\""))
            }
        })
        .collect();
    format!(
        "line `{}` has no part \"{}\"; its parts are {}",
        target.line,
        target.part.as_deref().unwrap_or_default(),
        parts.join(", ")
    )
}

fn field_value(
    field: Field,
    op: Op,
    value: &Value,
    lines: &[&PlanLine],
    customer: &CustomerPlan,
) -> Result<(), String> {
    match field {
        Field::Quantity => {
            // Summed as decimals, checked: no plan read from a file can make this panic.
            let total = lines
                .iter()
                .try_fold(Decimal::ZERO, |sum, l| {
                    sum.checked_add(Decimal::from(l.quantity))
                })
                .ok_or_else(|| "the parts' quantities are too large to add up".to_string())?;
            compare(op, &total, value, &total.to_string())
        }
        Field::Lines => {
            let count = Decimal::from(lines.len());
            compare(op, &count, value, &count.to_string())
        }
        Field::Amount => {
            let amount = if lines.iter().all(|l| l.amount.is_none()) {
                None
            } else {
                let sum = lines
                    .iter()
                    .filter_map(|l| l.amount)
                    .try_fold(Decimal::ZERO, Decimal::checked_add)
                    .ok_or_else(|| "the parts' amounts are too large to add up".to_string())?;
                Some(sum)
            };
            compare_money(op, amount, value, customer)
        }
        Field::UnitPrice => {
            let mut prices: Vec<Option<Decimal>> = lines.iter().map(|l| l.unit_price).collect();
            prices.sort();
            prices.dedup();
            match prices.as_slice() {
                [price] => compare_money(op, *price, value, customer),
                several => Err(format!(
                    "the line's parts have different unit prices ({}): name one part, e.g. `{}[\"…\"]`",
                    several
                        .iter()
                        .map(|p| p.map_or_else(|| "none".into(), |d| d.to_string()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    lines.first().map_or("line", |l| l.line.as_str())
                )),
            }
        }
        Field::Description | Field::Product | Field::Agreement => {
            let text = |l: &PlanLine| -> String {
                match field {
                    Field::Description => l.description.clone(),
                    Field::Product => l.product.clone(),
                    _ => l.agreement.clone().unwrap_or_default(),
                }
            };
            let mut texts: Vec<String> = lines.iter().map(|l| text(l)).collect();
            texts.dedup();
            let Value::Text(expected) = value else {
                return Err("a text field is compared with a string".into());
            };
            match texts.as_slice() {
                [actual] => {
                    if op.holds(actual, expected) {
                        Ok(())
                    } else {
                        Err(format!("found {actual:?}"))
                    }
                }
                several => Err(format!(
                    "the line's parts differ ({}): name one part",
                    several
                        .iter()
                        .map(|t| format!("{t:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
    }
}

fn compare(op: Op, actual: &Decimal, expected: &Value, shown: &str) -> Result<(), String> {
    match expected {
        Value::Number { value, .. } if op.holds(actual, value) => Ok(()),
        _ => Err(format!("found {shown}")),
    }
}

/// Money compared exactly; a currency written in the expectation must be the customer's.
fn compare_money(
    op: Op,
    actual: Option<Decimal>,
    expected: &Value,
    customer: &CustomerPlan,
) -> Result<(), String> {
    let shown = actual.map_or_else(
        || "none (no price)".into(),
        |a| format!("{a} {}", customer.currency),
    );
    match expected {
        Value::None => match (op, actual) {
            (Op::Eq, None) | (Op::Ne, Some(_)) => Ok(()),
            (Op::Eq | Op::Ne, _) => Err(format!("found {shown}")),
            _ => Err("`none` can only be compared with `==` or `!=`".into()),
        },
        Value::Number { value, currency } => {
            if let Some(code) = currency
                && code != customer.currency.code()
            {
                return Err(format!(
                    "found {shown}: the customer is invoiced in {}, not {code}",
                    customer.currency
                ));
            }
            match actual {
                Some(actual) if op.holds(&actual, value) => Ok(()),
                _ => Err(format!("found {shown}")),
            }
        }
        Value::Text(_) => Err("money is compared with an amount".into()),
    }
}
