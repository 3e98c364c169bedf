//! `tally reconcile`: what Microsoft charges against what the plan bills.

use crate::command::ReportFormat;
use crate::exit::Failure;
use crate::load::read;
use crate::output;
use std::path::PathBuf;
use std::str::FromStr;
use tally_import::usage::{UsageOptions, read_usage};
use tally_import::{CostBasis, Mapping, Source, UsageGranularity};
use tally_money::Decimal;
use tally_reconcile::Thresholds;

#[derive(clap::Args)]
pub(crate) struct ReconcileArgs {
    /// The plan, as written by `tally plan --format json`.
    #[arg(long)]
    pub plan: PathBuf,
    /// Partner Center NCE reconciliation files for the period (CSV or JSON).
    #[arg(long)]
    pub recon: Vec<PathBuf>,
    /// Azure daily rated usage files for the period.
    #[arg(long)]
    pub usage: Vec<PathBuf>,
    /// Mapping CSV from Microsoft customer ids to tenant names.
    #[arg(long)]
    pub mapping: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Exit 1 when any licence is paid for but not billed.
    #[arg(long)]
    pub fail_on_leakage: bool,
    /// Exit 1 when anything is billed for less than it costs.
    #[arg(long)]
    pub fail_on_negative_margin: bool,
    /// Exit 1 when any item's margin is under this percentage (e.g. 10).
    #[arg(long)]
    pub min_margin: Option<String>,
}

fn data_error(error: tally_import::ImportError) -> Failure {
    Failure::Data(error.to_string())
}

pub(crate) fn run(args: ReconcileArgs) -> Result<(), Failure> {
    let plan_text = read(&args.plan)?;
    let plan = tally_plan::from_json(&plan_text).map_err(|e| {
        Failure::Data(format!(
            "`{}` is not a plan (write one with `tally plan ... --format json`): {e}",
            args.plan.display()
        ))
    })?;
    let min_margin_percent = args
        .min_margin
        .as_deref()
        .map(|m| {
            Decimal::from_str(m.trim().trim_end_matches('%')).map_err(|_| {
                Failure::Usage(format!(
                    "`--min-margin {m}` is not a percentage: write e.g. 10 or 10%"
                ))
            })
        })
        .transpose()?;
    let mut mapping = Mapping::default();
    for path in &args.mapping {
        let read = Mapping::read(&Source::file(path)).map_err(data_error)?;
        mapping
            .merge(read, &path.display().to_string())
            .map_err(data_error)?;
    }
    let recon_sources: Vec<Source> = args.recon.iter().map(Source::file).collect();
    let recon = tally_import::recon::read_recon(&recon_sources, CostBasis::default())
        .map_err(data_error)?;
    let period = tally_snapshot::Period {
        start: plan.period.start,
        end: plan.period.end,
    };
    let mut usage = Vec::new();
    for path in &args.usage {
        let options = UsageOptions {
            granularity: UsageGranularity::Period,
            period: Some(period),
            progress: None,
            keep: Default::default(),
        };
        let imported = read_usage(&Source::file(path), &options).map_err(data_error)?;
        usage.extend(imported.rows);
    }
    let mapping = (!mapping.is_empty()).then_some(&mapping);
    let report = tally_reconcile::reconcile(&plan, &recon, &usage, mapping)
        .map_err(|e| Failure::Data(e.to_string()))?;
    let text = if args.format == ReportFormat::Json {
        tally_reconcile::to_json(&report).map_err(|e| Failure::Usage(e.to_string()))?
    } else {
        tally_reconcile::render_table(&report)
    };
    output::print(&text)?;
    let thresholds = Thresholds {
        fail_on_leakage: args.fail_on_leakage,
        fail_on_negative_margin: args.fail_on_negative_margin,
        min_margin_percent,
    };
    let breaches = tally_reconcile::breaches(&report, &thresholds);
    for breach in &breaches {
        eprintln!("threshold crossed: {breach}");
    }
    if breaches.is_empty() {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}
