//! `tally import`: build a snapshot from Microsoft's exports and other vendors' counts.

use crate::exit::Failure;
use crate::output::{self, write_whole};
use std::path::{Path, PathBuf};
use tally_import::{FileInput, GraphTenant, Inputs, Options, Source};

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// Graph exports of one tenant, as TENANT=USERS.json[,SUBSCRIBED_SKUS.json] (repeatable).
    #[arg(long, value_name = "TENANT=USERS[,SKUS]")]
    pub graph: Vec<String>,
    /// Mapping CSV from Microsoft tenant or customer ids to tenant names (`microsoft_id,tenant`).
    #[arg(long)]
    pub mapping: Vec<PathBuf>,
    /// Price list CSV for SKUs without reconciliation data.
    #[arg(long = "price-list")]
    pub price_lists: Vec<PathBuf>,
    /// Partner Center NCE reconciliation files (CSV or the API's JSON).
    #[arg(long)]
    pub recon: Vec<PathBuf>,
    /// Azure daily rated usage files (CSV or JSON), as FILE or TENANT=FILE.
    #[arg(long, value_name = "[TENANT=]FILE")]
    pub usage: Vec<String>,
    /// Other vendors' counts CSV (`customer_or_tenant,counter,value,as_of`).
    #[arg(long)]
    pub counts: Vec<PathBuf>,
    /// The billing month the snapshot is for, YYYY-MM.
    #[arg(long)]
    pub period: Option<String>,
    /// Accept exports missing fields (e.g. Graph users without `accountEnabled`), with warnings.
    #[arg(long)]
    pub lenient: bool,
    /// Write the snapshot here (whole or not at all) instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// `TENANT=USERS.json[,SKUS.json]`.
fn graph_tenant(text: &str) -> Result<GraphTenant, Failure> {
    let bad = || {
        Failure::Usage(format!(
            "`--graph {text}`: write TENANT=USERS.json or TENANT=USERS.json,SUBSCRIBED_SKUS.json"
        ))
    };
    let (tenant, files) = text.split_once('=').ok_or_else(bad)?;
    let mut files = files.split(',').map(str::trim).filter(|f| !f.is_empty());
    let users = files.next().ok_or_else(bad)?;
    let subscribed_skus: Vec<Source> = files.map(Source::file).collect();
    if tenant.trim().is_empty() {
        return Err(bad());
    }
    Ok(GraphTenant {
        tenant: tenant.trim().to_string(),
        users: vec![Source::file(users)],
        subscribed_skus,
    })
}

/// `FILE` or `TENANT=FILE` (for usage exports whose customer columns are empty).
fn usage_input(text: &str) -> FileInput {
    match text.split_once('=') {
        Some((tenant, file)) if !Path::new(text).exists() => FileInput {
            source: Source::file(file),
            tenant: Some(tenant.to_string()),
        },
        _ => FileInput::new(Source::file(text)),
    }
}

pub(crate) fn run(args: ImportArgs) -> Result<(), Failure> {
    let graph = args
        .graph
        .iter()
        .map(|g| graph_tenant(g))
        .collect::<Result<Vec<_>, _>>()?;
    let inputs = Inputs {
        mapping: args.mapping.iter().map(Source::file).collect(),
        graph,
        price_lists: args.price_lists.iter().map(Source::file).collect(),
        recon: args.recon.iter().map(Source::file).collect(),
        usage: args.usage.iter().map(|u| usage_input(u)).collect(),
        counts: args.counts.iter().map(Source::file).collect(),
        period: args
            .period
            .as_deref()
            .map(|text| {
                tally_driver::month(text).map_err(|_| {
                    Failure::Usage(format!(
                        "`--period {text}` is not a month: write YYYY-MM, e.g. 2026-10"
                    ))
                })
            })
            .transpose()?,
        options: Options {
            lenient: args.lenient,
            progress: progress::start(),
            ..Options::default()
        },
    };
    readable(&inputs)?;
    if inputs.graph.is_empty()
        && inputs.recon.is_empty()
        && inputs.usage.is_empty()
        && inputs.counts.is_empty()
    {
        return Err(Failure::Usage(
            "nothing to import: give --graph, --recon, --usage or --counts".into(),
        ));
    }
    let imported = tally_import::build_snapshot(&inputs);
    progress::finish();
    let (snapshot, warnings) = match imported {
        Ok(result) => result,
        Err(error) => return Err(Failure::Data(error.to_string())),
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let text = snapshot
        .to_json_pretty()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let text = format!("{}\n", text.trim_end());
    match args.output {
        Some(path) => write_whole(&path, &text)?,
        None => output::print(&text)?,
    }
    let users: usize = snapshot.tenants.iter().map(|t| t.users.len()).sum();
    let usage: usize = snapshot.tenants.iter().map(|t| t.azure_usage.len()).sum();
    eprintln!(
        "imported {} tenant{}: {users} users, {usage} usage rows, {} warning{}",
        snapshot.tenants.len(),
        if snapshot.tenants.len() == 1 { "" } else { "s" },
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

/// Every input file can be opened before anything is read: a missing file is a usage error
/// (exit 2), bad data in a file that exists is a problem with the inputs (exit 1).
fn readable(inputs: &Inputs) -> Result<(), Failure> {
    let sources = inputs
        .mapping
        .iter()
        .chain(&inputs.price_lists)
        .chain(&inputs.recon)
        .chain(&inputs.counts)
        .chain(inputs.usage.iter().map(|u| &u.source))
        .chain(
            inputs
                .graph
                .iter()
                .flat_map(|g| g.users.iter().chain(&g.subscribed_skus)),
        );
    for source in sources {
        if let Source::File(path) = source {
            std::fs::File::open(path)
                .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?;
        }
    }
    Ok(())
}

/// A row counter on standard error while usage files are read, only when it is a terminal (CI
/// logs and pipes stay quiet).
mod progress {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::IsTerminal;
    use std::sync::OnceLock;

    static BAR: OnceLock<ProgressBar> = OnceLock::new();

    pub(super) fn start() -> Option<fn(u64)> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} reading usage: {human_pos} rows in {elapsed}")
        {
            bar.set_style(style);
        }
        let _ = BAR.set(bar);
        Some(report)
    }

    fn report(rows: u64) {
        if let Some(bar) = BAR.get() {
            bar.set_position(rows);
        }
    }

    pub(super) fn finish() {
        if let Some(bar) = BAR.get() {
            bar.finish_and_clear();
        }
    }
}
