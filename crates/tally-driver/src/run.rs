//! `tally plan` as a function: every customer file planned against one snapshot, each
//! customer's failure kept apart so the others are still planned.

use crate::{Failure, FileDiagnostic, customer_period};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use tally_db::{Database, Db, SourceFile};
use tally_diagnostics::{Code, Diagnostic};
use tally_eval::Detail;
use tally_ir::Program;
use tally_plan::{CustomerPlan, Incomplete, InputFile, Inputs, PLAN_VERSION, Plan, PlanPeriod};
use tally_snapshot::{Period, Snapshot};

/// A plan, and the customer files that could not be planned (their customers are missing from
/// the plan and listed in its `incomplete`).
#[derive(Debug, Clone)]
pub struct PlanRun {
    pub plan: Plan,
    /// Per customer file that failed, its problems.
    pub failures: Vec<(String, Vec<FileDiagnostic>)>,
}

/// An input of the plan, by content hash.
pub fn input_file(path: &str, bytes: &[u8]) -> InputFile {
    InputFile {
        path: path.to_string(),
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

/// Plans every customer file among `files` (files without a `customer` header are modules and
/// are skipped) for `period`. The rules must check: call after `tally_db::diagnostics` found no
/// errors, or each customer with errors fails with T0601.
pub fn plan(
    db: &Database,
    files: &[SourceFile],
    snapshot: &Snapshot,
    snapshot_file: InputFile,
    period: Period,
) -> Result<PlanRun, Failure> {
    plan_with(db, files, snapshot, snapshot_file, period, Detail::Steps)
}

/// [`plan`], keeping as much of each evaluation as `detail` says: with [`Detail::Amounts`] the
/// lines' provenance has no `drivers` (no rule text or value is formatted), and every amount is
/// the same.
pub fn plan_with(
    db: &Database,
    files: &[SourceFile],
    snapshot: &Snapshot,
    snapshot_file: InputFile,
    period: Period,
    detail: Detail,
) -> Result<PlanRun, Failure> {
    let customer_files: Vec<SourceFile> = files
        .iter()
        .copied()
        .filter(|f| tally_db::check(db, *f).customer.is_some())
        .collect();
    if customer_files.is_empty() {
        return Err(Failure::Refusal(
            "none of the files has a `customer` header, so there is nothing to plan".into(),
        ));
    }
    // Linking reads the database, one file after the other; then each customer is evaluated
    // and assembled on its own (pure functions of its program and the snapshot), on every
    // core. `collect` keeps the files' order, so the plan does not depend on the threads.
    let mut tenants: BTreeMap<String, String> = BTreeMap::new();
    let linked: Vec<(String, Result<&Program, Vec<FileDiagnostic>>)> = customer_files
        .into_iter()
        .map(|file| (file.key(db).clone(), linked(db, file, &mut tenants)))
        .collect();
    let planned: Vec<(String, Result<CustomerPlan, Vec<FileDiagnostic>>)> = linked
        .into_par_iter()
        .map(|(key, program)| {
            let plan =
                program.and_then(|program| customer(&key, program, snapshot, &period, detail));
            (key, plan)
        })
        .collect();
    let mut customers = Vec::new();
    let mut failures = Vec::new();
    for (key, plan) in planned {
        match plan {
            Ok(plan) => customers.push(plan),
            Err(problems) => failures.push((key, problems)),
        }
    }
    let rules = db
        .workspace()
        .files(db)
        .values()
        .filter(|f| !f.key(db).starts_with("std."))
        .map(|f| input_file(f.key(db), f.text(db).as_bytes()))
        .collect();
    let incomplete = failures
        .iter()
        .map(
            |(rules, problems): &(String, Vec<FileDiagnostic>)| Incomplete {
                rules: rules.clone(),
                reason: problems
                    .first()
                    .map(|p| format!("{} {}", p.diagnostic.code, p.diagnostic.message))
                    .unwrap_or_default(),
            },
        )
        .collect();
    let plan = Plan {
        version: PLAN_VERSION,
        period: PlanPeriod {
            start: period.start,
            end: period.end,
        },
        inputs: Inputs {
            rules,
            snapshot: Some(snapshot_file),
            usage: Vec::new(),
        },
        customers,
        incomplete,
    };
    Ok(PlanRun { plan, failures })
}

/// A customer file's linked program, unless it has none or bills a tenant an earlier file
/// bills (line ids start at the tenant: two files billing one tenant would repeat them).
fn linked<'db>(
    db: &'db Database,
    file: SourceFile,
    tenants: &mut BTreeMap<String, String>,
) -> Result<&'db Program, Vec<FileDiagnostic>> {
    let key = file.key(db).clone();
    let in_file = |diagnostic: Diagnostic| FileDiagnostic {
        file: key.clone(),
        diagnostic,
    };
    let program = tally_db::program(db, file)
        .as_ref()
        .map_err(|d| vec![in_file(d.clone())])?;
    let tenant = tally_plan::line_id_root(&program.customer.tenant);
    if let Some(first) = tenants.get(&tenant) {
        return Err(vec![in_file(
            Diagnostic::error(
                Code::BadCustomer,
                format!("tenant `{tenant}` is also billed by `{first}`"),
                program.customer.tenant_span,
            )
            .with_help("plan line ids start with the tenant, so one tenant has one customer file: merge the two files' lines"),
        )]);
    }
    tenants.insert(tenant, key.clone());
    Ok(program)
}

/// One customer's plan: its billing period, evaluation and assembly.
fn customer(
    key: &str,
    program: &Program,
    snapshot: &Snapshot,
    period: &Period,
    detail: Detail,
) -> Result<CustomerPlan, Vec<FileDiagnostic>> {
    let in_file = |diagnostic: Diagnostic| FileDiagnostic {
        file: key.to_string(),
        diagnostic,
    };
    let period = customer_period(period, program.customer.billing_day).ok_or_else(|| {
        vec![in_file(Diagnostic::internal(
            format!(
                "billing day {} was not checked",
                program.customer.billing_day
            ),
            program.customer.tenant_span,
        ))]
    })?;
    let evaluation =
        tally_eval::evaluate_with(program, snapshot, &period, detail).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| FileDiagnostic {
                    file: e.module.0,
                    diagnostic: e.diagnostic,
                })
                .collect::<Vec<_>>()
        })?;
    let mut plan =
        tally_plan::assemble_customer(program, &evaluation, &period, key).map_err(|e| {
            let message = format!("line `{}`: {}", e.line, e.message);
            let diagnostic = if e.code == Code::Internal {
                Diagnostic::internal(message, e.span)
            } else {
                Diagnostic::error(e.code, message, e.span)
            };
            vec![in_file(diagnostic)]
        })?;
    if detail == Detail::Amounts {
        // The split allocation's sentence is the one driver assembly adds itself.
        for line in &mut plan.lines {
            line.provenance.drivers.clear();
        }
    }
    Ok(plan)
}

/// Every diagnostic of `files` and of the modules they use (not the standard library), by
/// file key. Planning needs none of them to be an error.
pub fn diagnostics(db: &Database, files: &[SourceFile]) -> Vec<FileDiagnostic> {
    let mut all: Vec<SourceFile> = files.to_vec();
    for file in db.workspace().files(db).values() {
        if !file.key(db).starts_with("std.") && !all.contains(file) {
            all.push(*file);
        }
    }
    all.sort_by(|a, b| a.key(db).cmp(b.key(db)));
    all.into_iter()
        .flat_map(|file| {
            tally_db::diagnostics(db, file)
                .iter()
                .map(move |d| FileDiagnostic {
                    file: file.key(db).clone(),
                    diagnostic: d.clone(),
                })
        })
        .collect()
}
