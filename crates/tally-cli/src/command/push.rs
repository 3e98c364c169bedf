//! `tally push`: sends a plan to the customers' PSAs. A dry run (the default) reads each PSA
//! and shows what would change; `--apply` writes it through the journal. See `docs/psa.md`.
//!
//! Exit codes: 0 nothing to do, or everything applied; 1 changes pending (dry run), or the
//! push is refused (an incomplete plan, a product not in the catalogue, `--max-change`, …);
//! 2 usage, configuration or credentials; 3 stopped part-way by the PSA (what was done and what
//! remains is shown): run the same command again to resume.

use crate::exit::Failure;
use crate::load::read;
use crate::output;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use tally_money::Decimal;
use tally_psa::adapters::Adapters;
use tally_psa::config::Credentials;
use tally_psa::diff::DiffOptions;
use tally_psa::http::Observer;
use tally_psa::journal::{JOURNAL_FILE, Journal};
use tally_psa::{Config, PsaError, PushOptions, render};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PushFormat {
    Table,
    Json,
    Markdown,
}

#[derive(clap::Args)]
pub(crate) struct PushArgs {
    /// The plan, as written by `tally plan --format json`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Write the changes (without it, only show them).
    #[arg(long)]
    pub apply: bool,
    /// Take over lines Tally did not create when they bill a planned line's product.
    #[arg(long)]
    pub adopt: bool,
    /// Refuse a customer whose total would change by more than this percentage (e.g. 20).
    #[arg(long, value_name = "PCT")]
    pub max_change: Option<String>,
    #[arg(long, value_enum, default_value_t = PushFormat::Table)]
    pub format: PushFormat,
    /// `tally.toml` (default: the nearest one from the current directory up).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the journal lives (default: `state_dir` in `tally.toml`, else `.tally` beside it).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Show each request (method, path, status, time) on standard error; never headers or
    /// bodies.
    #[arg(long)]
    pub verbose: bool,
}

/// Exit code for a push stopped part-way (see the module's documentation).
const STOPPED: i32 = 3;

pub(crate) fn run(args: PushArgs) -> Result<(), Failure> {
    let stopped = push(args)?;
    if stopped {
        // `Failure` has no "resume" case: leave with 3 once everything is written and closed.
        std::process::exit(STOPPED);
    }
    Ok(())
}

fn find_config() -> Option<PathBuf> {
    let current = std::env::current_dir().ok()?;
    current
        .ancestors()
        .map(|dir| dir.join("tally.toml"))
        .find(|path| path.is_file())
}

fn config_failure(error: PsaError) -> Failure {
    Failure::Usage(error.to_string())
}

/// Returns whether the run stopped part-way (exit 3); every other outcome is `Ok(false)` or a
/// `Failure`.
fn push(args: PushArgs) -> Result<bool, Failure> {
    let max_change = args
        .max_change
        .as_deref()
        .map(|m| {
            Decimal::from_str(m.trim().trim_end_matches('%'))
                .ok()
                .filter(|d| *d >= Decimal::ZERO)
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "`--max-change {m}` is not a percentage: write e.g. 20 or 20%"
                    ))
                })
        })
        .transpose()?;
    let plan_text = read(&args.plan)?;
    let plan = tally_plan::from_json(&plan_text).map_err(|e| {
        Failure::Data(format!(
            "`{}` is not a plan (write one with `tally plan ... --format json`): {e}",
            args.plan.display()
        ))
    })?;
    if let Err(tally_psa::push::Refusal::Incomplete(customers)) = tally_psa::push::check_plan(&plan)
    {
        eprintln!(
            "refused: the plan is incomplete, so it must not be sent; these customers could not be planned:"
        );
        for customer in customers {
            eprintln!("  {customer}");
        }
        return Err(Failure::Reported);
    }

    let config_path = match &args.config {
        Some(path) => path.clone(),
        None => find_config().ok_or_else(|| {
            Failure::Usage(
                "no `tally.toml` here or above: `tally push` reads the PSAs' addresses from it (see docs/psa.md)"
                    .into(),
            )
        })?,
    };
    let config_text = read(&config_path)?;
    let config =
        Config::parse(&config_text, &config_path.display().to_string()).map_err(config_failure)?;
    let project = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        project.join(
            config
                .push
                .state_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".tally")),
        )
    });

    let observer: Option<Observer> = args
        .verbose
        .then(|| Arc::new(|line: &str| eprintln!("{line}")) as Observer);
    let kinds: Vec<tally_ir::PsaKind> = {
        let mut kinds: Vec<_> = plan
            .customers
            .iter()
            .filter_map(|c| c.psa.as_ref().map(|p| p.kind))
            .collect();
        kinds.dedup();
        kinds
    };
    let credentials = Credentials::load(config.push.credentials_file.as_deref(), &project)
        .map_err(config_failure)?;
    let adapters = Adapters::build(
        &kinds,
        &config,
        &config_path.display().to_string(),
        &credentials,
        observer,
    )
    .map_err(config_failure)?;

    let mut journal = if args.apply {
        let mut journal = Journal::open(&state_dir).map_err(config_failure)?;
        journal.lock().map_err(config_failure)?;
        Some(journal)
    } else if state_dir.join(JOURNAL_FILE).is_file() {
        Some(Journal::open(&state_dir).map_err(config_failure)?)
    } else {
        None
    };
    let sha = format!("{:x}", Sha256::digest(plan_text.as_bytes()));
    let options = PushOptions {
        apply: args.apply,
        diff: DiffOptions {
            adopt: args.adopt,
            max_change,
        },
    };
    let report = tally_psa::push(
        &plan,
        &sha,
        &adapters.by_kind(),
        adapters.products(),
        journal.as_mut(),
        options,
    )
    .map_err(|e| match e {
        PsaError::Request(_) | PsaError::Journal(_) => Failure::Data(e.to_string()),
        other => Failure::Usage(other.to_string()),
    })?;
    drop(journal);

    let text = match args.format {
        PushFormat::Table => render::to_table(&report.diff),
        PushFormat::Markdown => render::to_markdown(&report.diff),
        PushFormat::Json => serde_json::to_string_pretty(&report)
            .map(|mut t| {
                t.push('\n');
                t
            })
            .map_err(|e| Failure::Usage(e.to_string()))?,
    };
    output::print(&text)?;
    if let Some(note) = &report.resumed {
        eprintln!("resumed: {note}");
    }
    if let Some(why) = &report.stopped {
        let remaining = report
            .diff
            .customers
            .iter()
            .flat_map(|c| &c.changes)
            .filter(|c| {
                matches!(
                    c.outcome,
                    Some(tally_psa::Outcome::Remaining) | Some(tally_psa::Outcome::Failed { .. })
                ) || (!report.applied && c.action.writes())
            })
            .count();
        eprintln!("stopped: {why}");
        eprintln!(
            "{} write{} done, {remaining} remaining: run the same command again to resume",
            report.written,
            if report.written == 1 { "" } else { "s" }
        );
        return Ok(true);
    }
    let refusals = report.diff.refusals();
    if !refusals.is_empty() {
        eprintln!("refused: nothing was written; fix these and push again:");
        for refusal in refusals {
            eprintln!("  {refusal}");
        }
        return Err(Failure::Reported);
    }
    if !args.apply && report.diff.writes() > 0 {
        eprintln!(
            "{} change{} pending: `--apply` writes them",
            report.diff.writes(),
            if report.diff.writes() == 1 { "" } else { "s" }
        );
        return Err(Failure::Reported);
    }
    if args.apply {
        eprintln!(
            "applied: {} write{}",
            report.written,
            if report.written == 1 { "" } else { "s" }
        );
    }
    Ok(false)
}
