//! `tally plan`: the invoice lines of every customer file, as a table, JSON, CSV or an HTML page
//! to review the month's billing.

use crate::command::{period, read_snapshot};
use crate::exit::Failure;
use crate::load::{load, read};
use crate::{output, render};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use tally_db::Database;

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Table,
    Json,
    Csv,
    /// One self-contained page: customers, totals, each line's explanation, warnings and flags,
    /// and with `--previous`, what changed.
    Html,
}

#[derive(clap::Args)]
pub(crate) struct PlanArgs {
    /// Customer rule files or directories.
    #[arg(required_unless_present = "merge")]
    paths: Vec<PathBuf>,
    /// The snapshot of licence and usage data (JSON).
    #[arg(long, required_unless_present_any = ["merge", "usage"])]
    snapshot: Option<PathBuf>,
    /// Azure daily rated usage files (CSV or JSON), as FILE or TENANT=FILE, read straight into
    /// the plan: rows are added up as they are read, keeping apart only what the rules read.
    /// Without `--snapshot`, `--period` is required.
    #[arg(long, value_name = "[TENANT=]FILE", conflicts_with = "merge")]
    usage: Vec<String>,
    /// With `--usage`: a CSV mapping Microsoft tenant or customer ids to tenant names.
    #[arg(long, requires = "usage")]
    mapping: Vec<PathBuf>,
    /// Plan only shard K of N (1-based): every Nth customer file in path order, so N machines
    /// plan a month together; join their plans with `--merge`.
    #[arg(long, value_name = "K/N", conflicts_with = "merge")]
    shard: Option<String>,
    /// Join the JSON plans of shards into the plan one run would have written.
    #[arg(long, value_name = "PLAN.json", num_args = 1.., conflicts_with_all = ["paths", "snapshot", "period"])]
    merge: Vec<PathBuf>,
    /// The billing month, YYYY-MM (default: the snapshot's period).
    #[arg(long)]
    period: Option<String>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    format: PlanFormat,
    /// Leave out each line's `drivers` (the values its rule used) from a JSON or HTML plan,
    /// and the SHA-256 of `--usage` files (their paths are kept): faster for large runs; the
    /// amounts are the same. Tables and CSV never carry drivers.
    #[arg(long)]
    no_provenance: bool,
    /// With `--format html`: an earlier plan (JSON) to show the changes against, e.g. last
    /// month's.
    #[arg(long, value_name = "OLD.json")]
    previous: Option<PathBuf>,
    /// Write the plan to this file (whole or not at all) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Customers whose plan fails are reported and left out; the others are still planned, and the
/// plan lists the missing ones in `incomplete` (exit 1). Nothing is written if none planned.
pub(crate) fn run(args: PlanArgs) -> Result<(), Failure> {
    let previous = match (&args.previous, args.format) {
        (Some(path), PlanFormat::Html) => Some(crate::command::diff::read_plan(path)?),
        (Some(_), _) => {
            return Err(Failure::Usage(
                "`--previous` is for the review page: add `--format html`".into(),
            ));
        }
        (None, _) => None,
    };
    if !args.merge.is_empty() {
        return merge(&args, previous.as_ref());
    }
    let shard = args.shard.as_deref().map(shard).transpose()?;
    let loaded = load(Database::default(), &args.paths)?;
    let db = &loaded.db;
    let problems = tally_driver::diagnostics(db, &loaded.roots);
    render::print_human(db, &problems);
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        return Err(Failure::Reported);
    }
    let (mut snapshot, input, period) = match &args.snapshot {
        Some(path) => {
            let (snapshot, input) = read_snapshot(path)?;
            let period = period(&snapshot, args.period.as_deref(), path)?;
            (snapshot, Some(input), period)
        }
        None => {
            let Some(text) = args.period.as_deref() else {
                return Err(Failure::Usage(
                    "`--usage` without `--snapshot` needs `--period YYYY-MM`".into(),
                ));
            };
            let period = tally_driver::month(text).map_err(|_| {
                Failure::Usage(format!(
                    "`--period {text}` is not a month: write YYYY-MM, e.g. 2026-10"
                ))
            })?;
            let snapshot = tally_snapshot::Snapshot {
                version: tally_snapshot::CURRENT_VERSION,
                period: Some(period),
                tenants: Vec::new(),
                rates: Vec::new(),
            };
            (snapshot, None, period)
        }
    };
    let files: Vec<_> = match shard {
        Some((k, n)) => loaded
            .roots
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, f)| f)
            .collect(),
        None => loaded.roots.clone(),
    };
    // Rule text and values are formatted only for a plan that shows them.
    let detail = match args.format {
        PlanFormat::Json | PlanFormat::Html if !args.no_provenance => tally_driver::Detail::Steps,
        _ => tally_driver::Detail::Amounts,
    };
    let mut usage_files = Vec::new();
    if !args.usage.is_empty() {
        let programs: Vec<_> = files
            .iter()
            .filter_map(|f| tally_db::program(db, *f).as_ref().ok())
            .collect();
        let reads = tally_driver::UsageReads::of(programs);
        let (streamed, inputs) = crate::command::import::streamed_usage(
            &args.usage,
            &args.mapping,
            period,
            reads,
            !args.no_provenance,
        )?;
        add_usage(&mut snapshot, streamed)?;
        usage_files = inputs;
    }
    let placeholder = tally_driver::input_file("", b"");
    let mut run = tally_driver::plan_with(
        db,
        &files,
        &snapshot,
        input.clone().unwrap_or(placeholder),
        period,
        detail,
    )?;
    run.plan.inputs.snapshot = input;
    run.plan.inputs.usage = usage_files;
    for (_, problems) in &run.failures {
        render::print_human(db, problems);
    }
    for line in run.plan.customers.iter().flat_map(|c| &c.lines) {
        for flag in &line.provenance.flags {
            eprintln!("warning: {}: {flag}", line.id);
        }
    }
    if run.plan.customers.is_empty() {
        return Err(Failure::Reported);
    }
    let plan = &run.plan;
    let page = match args.format {
        PlanFormat::Html => {
            let mut warnings: Vec<String> = problems
                .iter()
                .chain(run.failures.iter().flat_map(|(_, failed)| failed))
                .map(|p| {
                    let (location, message) = render::one_line(db, p);
                    format!("{location}: {} {message}", p.diagnostic.code)
                })
                .collect();
            warnings.dedup();
            Page {
                previous: previous.as_ref(),
                explanations: explanations(db, &files, plan, &snapshot, period),
                warnings,
            }
        }
        _ => Page::default(),
    };
    write_plan(plan, &args, &page)?;
    if run.failures.is_empty() {
        Ok(())
    } else {
        eprintln!(
            "error: {} of {} customer files could not be planned; the plan lists them under `incomplete`",
            run.failures.len(),
            run.failures.len() + plan.customers.len()
        );
        Err(Failure::Reported)
    }
}

/// What the review page shows beside the plan.
#[derive(Default)]
struct Page<'a> {
    previous: Option<&'a tally_plan::Plan>,
    /// Keyed by (rule file, line name).
    explanations: BTreeMap<(String, String), String>,
    warnings: Vec<String>,
}

fn write_plan(plan: &tally_plan::Plan, args: &PlanArgs, page: &Page) -> Result<(), Failure> {
    let text = match args.format {
        PlanFormat::Json => tally_plan::to_json(plan).map_err(|e| Failure::Usage(e.to_string()))?,
        PlanFormat::Csv => tally_plan::to_csv(plan).map_err(|e| Failure::Usage(e.to_string()))?,
        PlanFormat::Table => tally_plan::to_table(plan),
        PlanFormat::Html => tally_review::html::to_html(&tally_review::html::Review {
            plan,
            previous: page.previous,
            explanations: &page.explanations,
            warnings: &page.warnings,
        })
        .map_err(|e| Failure::Data(e.to_string()))?,
    };
    match &args.output {
        Some(path) => output::write_whole(path, &text),
        None => output::print(&text),
    }
}

/// `3/8` → shard 3 of 8.
fn shard(text: &str) -> Result<(usize, usize), Failure> {
    let bad = || {
        Failure::Usage(format!(
            "`--shard {text}` is not a shard: write K/N with 1 ≤ K ≤ N, e.g. 2/4"
        ))
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: usize = k.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// `tally plan --merge A.json B.json`: the shards' plans as one. As a review page, the lines
/// show their drivers but no explanation (the rules are not loaded).
fn merge(args: &PlanArgs, previous: Option<&tally_plan::Plan>) -> Result<(), Failure> {
    let mut plans = Vec::new();
    for path in &args.merge {
        let text = read(path)?;
        let plan = tally_plan::from_json(&text).map_err(|e| {
            Failure::Data(format!(
                "`{}` is not a plan (write one with `tally plan ... --format json`): {e}",
                path.display()
            ))
        })?;
        plans.push(plan);
    }
    let merged = tally_plan::merge(plans).map_err(Failure::Data)?;
    let page = Page {
        previous,
        ..Page::default()
    };
    write_plan(&merged, args, &page)?;
    if merged.incomplete.is_empty() {
        Ok(())
    } else {
        eprintln!(
            "error: {} customer files could not be planned; the plan lists them under `incomplete`",
            merged.incomplete.len()
        );
        Err(Failure::Reported)
    }
}

/// The explanation of every rule line of every planned customer, as `tally explain` prints it,
/// keyed by (rule file, line name). A line that cannot be explained is left out (the page says
/// so and shows the line's drivers instead).
fn explanations(
    db: &Database,
    files: &[tally_db::SourceFile],
    plan: &tally_plan::Plan,
    snapshot: &tally_snapshot::Snapshot,
    period: tally_snapshot::Period,
) -> BTreeMap<(String, String), String> {
    let by_key: HashMap<&str, tally_db::SourceFile> =
        files.iter().map(|f| (f.key(db).as_str(), *f)).collect();
    let mut out = BTreeMap::new();
    for customer in &plan.customers {
        let Some(&file) = by_key.get(customer.rules.as_str()) else {
            continue;
        };
        for line in &customer.lines {
            let key = (customer.rules.clone(), line.line.clone());
            if out.contains_key(&key) {
                continue;
            }
            if let Ok(explanation) = tally_driver::explain(db, file, snapshot, period, &line.line) {
                out.insert(key, explanation.to_string());
            }
        }
    }
    out
}

/// Adds usage read with `--usage` to the snapshot's tenants. A tenant whose usage is in both
/// would be counted twice: refused.
fn add_usage(
    snapshot: &mut tally_snapshot::Snapshot,
    streamed: tally_snapshot::Snapshot,
) -> Result<(), Failure> {
    for tenant in streamed.tenants {
        match snapshot
            .tenants
            .iter_mut()
            .find(|t| t.tenant == tenant.tenant)
        {
            Some(existing) if !existing.azure_usage.is_empty() => {
                return Err(Failure::Usage(format!(
                    "tenant `{}` has Azure usage in the snapshot and in `--usage`: give it once",
                    tenant.tenant
                )));
            }
            Some(existing) => existing.azure_usage = tenant.azure_usage,
            None => snapshot.tenants.push(tenant),
        }
    }
    Ok(())
}
