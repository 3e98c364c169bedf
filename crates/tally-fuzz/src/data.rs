//! The data targets: snapshot JSON, each import format, plan JSON. Each error must be located;
//! each value read must survive being written and read back; what a command does next with it
//! (plan, import into a snapshot, reconcile) must not fail without a location either.

use crate::rules;
use std::sync::OnceLock;
use tally_db::{Database, SourceFile};
use tally_driver::Failure;
use tally_import::{
    CostBasis, FileInput, GraphTenant, ImportError, Inputs, Mapping, Options, PriceList, Source,
};
use tally_plan::Plan;
use tally_snapshot::{Period, Snapshot};

fn read_repo(path: &str) -> Vec<u8> {
    std::fs::read(crate::seeds::root().join(path)).unwrap_or_default()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The small-business example's snapshot, which the fuzzed rule files plan against (its
/// tenant renamed to theirs), and the eval corpus's snapshots when one has their tenant.
fn snapshots() -> &'static Vec<Snapshot> {
    static CELL: OnceLock<Vec<Snapshot>> = OnceLock::new();
    CELL.get_or_init(|| {
        crate::seeds::snapshot()
            .files
            .iter()
            .filter_map(|bytes| tally_snapshot::from_json(&text(bytes)).ok())
            .filter(|s| s.period.is_some())
            .collect()
    })
}

/// A snapshot with `tenant` in it and a period.
pub fn snapshot_with_tenant(tenant: &str) -> Snapshot {
    let all = snapshots();
    if let Some(s) = all.iter().find(|s| s.tenant(tenant).is_some()) {
        return s.clone();
    }
    let mut s = all.first().cloned().unwrap_or(Snapshot {
        version: tally_snapshot::CURRENT_VERSION,
        period: tally_driver::month("2026-10").ok().map(|p| Period {
            start: p.start,
            end: p.end,
        }),
        tenants: Vec::new(),
        rates: Vec::new(),
    });
    if let Some(first) = s.tenants.first_mut() {
        first.tenant = tenant.to_string();
    }
    s
}

/// A plan written as JSON reads back equal, and so does its CSV and table not fail.
pub fn plan_reads_back(plan: &Plan) -> Result<(), String> {
    let json = tally_plan::to_json(plan).map_err(|e| format!("writing the plan: {e}"))?;
    let back = tally_plan::from_json(&json).map_err(|e| format!("reading the plan back: {e}"))?;
    if &back != plan {
        return Err("the plan read back differs from the plan written".into());
    }
    Ok(())
}

fn snapshot_reads_back(snapshot: &Snapshot) -> Result<(), String> {
    let json = snapshot
        .to_json_pretty()
        .map_err(|e| format!("writing the snapshot: {e}"))?;
    let back = tally_snapshot::from_json(&json)
        .map_err(|e| format!("reading the written snapshot back: {e}"))?;
    if &back != snapshot {
        return Err("the snapshot read back differs from the snapshot written".into());
    }
    Ok(())
}

/// The small-business rules, checked once per thread.
fn with_rules<T>(f: impl FnOnce(&Database, SourceFile) -> T) -> T {
    thread_local! {
        static DB: (Database, SourceFile) = {
            let mut db = Database::default();
            db.set_file(
                "examples/shared/msp.tally",
                text(&read_repo("examples/shared/msp.tally")),
            );
            let file = db.set_file(
                "examples/small-business/small.tally",
                text(&read_repo("examples/small-business/small.tally")),
            );
            (db, file)
        };
    }
    DB.with(|(db, file)| f(db, *file))
}

/// Snapshot JSON: a located error, or a snapshot that reads back equal and that the example's
/// rules plan against with located problems only.
pub fn snapshot(bytes: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(()); // refused with its line and column before parsing (tally-cli's load)
    };
    let snapshot = match tally_snapshot::from_json(text) {
        Ok(s) => s,
        Err(e) => {
            if e.path.is_empty() || e.message.is_empty() {
                return Err(format!("a snapshot error without a path or message: {e:?}"));
            }
            if e.column.is_some() && e.line.is_none() {
                return Err(format!("a column without a line: {e:?}"));
            }
            return Ok(());
        }
    };
    snapshot_reads_back(&snapshot)?;
    plan_example(&snapshot)
}

/// Plans the small-business rules against `snapshot` (also with its first tenant renamed to
/// theirs, so the fuzzed data is what the rules read).
fn plan_example(snapshot: &Snapshot) -> Result<(), String> {
    with_rules(|db, file| {
        let mut renamed = snapshot.clone();
        if let Some(first) = renamed.tenants.first_mut() {
            first.tenant = "fabrikambakery.onmicrosoft.com".into();
        }
        for s in [snapshot, &renamed] {
            let period = match tally_driver::plan_period(s, None, "snapshot.json") {
                Ok(p) => p,
                Err(_) => match tally_driver::month("2026-10") {
                    Ok(p) => p,
                    Err(e) => return Err(format!("{e:?}")),
                },
            };
            let input = tally_driver::input_file("snapshot.json", b"");
            match tally_driver::plan(db, &[file], s, input, period) {
                Ok(run) => {
                    for (_, problems) in &run.failures {
                        rules::located(db, problems)?;
                        if let Some(p) = problems
                            .iter()
                            .find(|p| p.diagnostic.code == tally_diagnostics::Code::Internal)
                        {
                            return Err(format!("internal error: {}", p.diagnostic.message));
                        }
                    }
                    plan_reads_back(&run.plan)?;
                    let _ = tally_plan::to_table(&run.plan);
                }
                Err(Failure::Problems(problems)) => rules::located(db, &problems)?,
                Err(Failure::Refusal(_)) => {}
            }
        }
        Ok(())
    })
}

/// Messages about a file as a whole, which need no line: the file is empty, binary, of
/// another kind, too large, lacks a column, or has no records.
const WHOLE_FILE: &[&str] = &[
    "the file is empty",
    "this looks like",
    "this is ",
    "this file is UTF-16",
    "the file is larger than",
    "missing column",
    "no header",
    "page ",
    "expected a JSON object",
    "not valid JSON",
    "expected a collection",
];

fn import_located(e: &ImportError, name: &str) -> Result<(), String> {
    import_located_in(e, &[name])
}

/// An import error names one of the input files `names`, and a place in it.
fn import_located_in(e: &ImportError, names: &[&str]) -> Result<(), String> {
    if !names.contains(&e.file.as_str()) {
        return Err(format!(
            "an import error names `{}`, not an input: {e}",
            e.file
        ));
    }
    if e.message.is_empty() {
        return Err(format!("an import error without a message: {e:?}"));
    }
    let placed = e.line.is_some() || e.record.is_some() || e.column.is_some();
    if !placed && !WHOLE_FILE.iter().any(|w| e.message.contains(w)) {
        return Err(format!(
            "an import error without a line, record or column: {e}"
        ));
    }
    Ok(())
}

const EXAMPLE_FILES: &[&str] = &[
    "users.json",
    "subscribedSkus.json",
    "recon.csv",
    "usage.csv",
    "counts.csv",
];

/// The example's import inputs (`examples/imports`), to which each data target adds its file.
fn example_inputs() -> Inputs {
    let source = |name: &str| Source::memory(name, read_repo(&format!("examples/imports/{name}")));
    Inputs {
        graph: vec![GraphTenant {
            tenant: "fabrikambakery.onmicrosoft.com".into(),
            users: vec![source("users.json")],
            subscribed_skus: vec![source("subscribedSkus.json")],
        }],
        recon: vec![source("recon.csv")],
        usage: vec![FileInput::new(source("usage.csv"))],
        counts: vec![source("counts.csv")],
        period: tally_driver::month("2026-10").ok(),
        options: Options::default(),
        ..Inputs::default()
    }
}

/// The whole import with `change` applied to the example's inputs: a located error naming
/// `name`, or a snapshot that reads back equal.
fn imported(name: &str, change: impl Fn(&mut Inputs)) -> Result<(), String> {
    for lenient in [false, true] {
        let mut inputs = example_inputs();
        inputs.options.lenient = lenient;
        change(&mut inputs);
        match tally_import::import(&inputs) {
            Ok(import) => snapshot_reads_back(&import.snapshot)?,
            // The fuzzed file may make another input's data wrong (a SKU left without a cost).
            Err(e) => import_located_in(&e, &[&[name][..], EXAMPLE_FILES].concat())?,
        }
    }
    Ok(())
}

fn example_plan() -> &'static Option<Plan> {
    static CELL: OnceLock<Option<Plan>> = OnceLock::new();
    CELL.get_or_init(|| {
        tally_plan::from_json(&text(&read_repo(
            "examples/small-business/expected-plan.json",
        )))
        .ok()
    })
}

fn reconciled(
    recon: &tally_import::Recon,
    usage: &[tally_import::usage::CustomerUsage],
) -> Result<(), String> {
    if let Some(plan) = example_plan() {
        // A sum past the decimal range is a refusal that names the tenant and the sum.
        let report = match tally_reconcile::reconcile(plan, recon, usage, None) {
            Ok(report) => report,
            Err(too_large) if too_large.to_string().contains("too large") => return Ok(()),
            Err(other) => return Err(format!("reconcile: {other}")),
        };
        let _ = tally_reconcile::render_table(&report);
        tally_reconcile::to_json(&report).map_err(|e| format!("the report as JSON: {e}"))?;
    }
    Ok(())
}

pub fn graph_users(bytes: &[u8]) -> Result<(), String> {
    let name = "users.json";
    let source = Source::memory(name, bytes.to_vec());
    if let Err(e) = tally_import::graph::read_users(std::slice::from_ref(&source), false) {
        import_located(&e, name)?;
    }
    imported(name, |inputs| {
        if let Some(g) = inputs.graph.first_mut() {
            g.users = vec![source.clone()];
        }
    })
}

pub fn graph_skus(bytes: &[u8]) -> Result<(), String> {
    let name = "subscribedSkus.json";
    let source = Source::memory(name, bytes.to_vec());
    if let Err(e) = tally_import::graph::read_subscribed_skus(&source, false) {
        import_located(&e, name)?;
    }
    imported(name, |inputs| {
        if let Some(g) = inputs.graph.first_mut() {
            g.subscribed_skus = vec![source.clone()];
        }
    })
}

fn recon_as(name: &str, bytes: &[u8]) -> Result<(), String> {
    let source = Source::memory(name, bytes.to_vec());
    match tally_import::recon::read_recon(std::slice::from_ref(&source), CostBasis::Effective) {
        Ok(recon) => reconciled(&recon, &[])?,
        Err(e) => import_located(&e, name)?,
    }
    imported(name, |inputs| inputs.recon = vec![source.clone()])
}

pub fn recon_csv(bytes: &[u8]) -> Result<(), String> {
    recon_as("recon.csv", bytes)
}

pub fn recon_json(bytes: &[u8]) -> Result<(), String> {
    recon_as("recon.json", bytes)
}

fn usage_as(name: &str, bytes: &[u8]) -> Result<(), String> {
    let source = Source::memory(name, bytes.to_vec());
    let options = tally_import::usage::UsageOptions {
        period: tally_driver::month("2026-10").ok(),
        ..Default::default()
    };
    match tally_import::usage::read_usage(&source, &options) {
        Ok(usage) => reconciled(&tally_import::Recon::default(), &usage.rows)?,
        Err(e) => import_located(&e, name)?,
    }
    imported(name, |inputs| {
        inputs.usage = vec![FileInput::new(source.clone())]
    })
}

pub fn usage_csv(bytes: &[u8]) -> Result<(), String> {
    usage_as("usage.csv", bytes)
}

pub fn usage_json(bytes: &[u8]) -> Result<(), String> {
    usage_as("usage.json", bytes)
}

pub fn counts(bytes: &[u8]) -> Result<(), String> {
    let name = "counts.csv";
    let source = Source::memory(name, bytes.to_vec());
    if let Err(e) = tally_import::counts::read_counts(&source) {
        import_located(&e, name)?;
    }
    imported(name, |inputs| inputs.counts = vec![source.clone()])
}

pub fn mapping(bytes: &[u8]) -> Result<(), String> {
    let name = "mapping.csv";
    let source = Source::memory(name, bytes.to_vec());
    if let Err(e) = Mapping::read(&source) {
        import_located(&e, name)?;
    }
    imported(name, |inputs| inputs.mapping = vec![source.clone()])
}

pub fn price_list(bytes: &[u8]) -> Result<(), String> {
    let name = "prices.csv";
    let source = Source::memory(name, bytes.to_vec());
    if let Err(e) = PriceList::default().read(&source) {
        import_located(&e, name)?;
    }
    // Prices are used for subscribed SKUs without reconciliation data.
    imported(name, |inputs| {
        inputs.recon.clear();
        inputs.price_lists = vec![source.clone()];
    })
}

/// Plan JSON as `reconcile` and the PSA push read it: a located error, or a plan that reads
/// back equal and reconciles against the example's charges.
pub fn plan_json(bytes: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let plan = match tally_plan::from_json(text) {
        Ok(plan) => plan,
        Err(e) => {
            let at_line = e.message.contains(" line ");
            if e.message.is_empty() || (e.path.is_empty() || e.path == ".") && !at_line {
                return Err(format!("a plan error without a path or line: {e}"));
            }
            return Ok(());
        }
    };
    plan_reads_back(&plan)?;
    let _ = tally_plan::to_table(&plan);
    let recon = tally_import::recon::read_recon(
        &[Source::memory(
            "recon.csv",
            read_repo("examples/imports/recon.csv"),
        )],
        CostBasis::Effective,
    )
    .map_err(|e| format!("the example's recon: {e}"))?;
    let report = tally_reconcile::reconcile(&plan, &recon, &[], None)
        .map_err(|e| format!("reconcile: {e}"))?;
    let _ = tally_reconcile::render_table(&report);
    tally_reconcile::to_json(&report).map_err(|e| format!("the report as JSON: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: Option<u64>, message: &str) -> ImportError {
        ImportError {
            file: "counts.csv".into(),
            line,
            record: None,
            column: None,
            message: message.into(),
        }
    }

    #[test]
    fn an_import_error_needs_its_file_and_a_place_unless_about_the_whole_file() {
        assert!(import_located(&error(Some(3), "bad value"), "counts.csv").is_ok());
        assert!(import_located(&error(None, "bad value"), "counts.csv").is_err());
        assert!(import_located(&error(Some(3), "bad value"), "other.csv").is_err());
        assert!(import_located(&error(None, "the file is empty"), "counts.csv").is_ok());
    }

    #[test]
    fn a_plan_reads_back_and_a_broken_one_is_located() {
        let plan = read_repo("examples/small-business/expected-plan.json");
        assert!(plan_json(&plan).is_ok());
        assert!(plan_json(b"{\"version\": 2, \"period\": 7}").is_ok());
        assert!(plan_json(b"{\"version\": ").is_ok());
    }
}
