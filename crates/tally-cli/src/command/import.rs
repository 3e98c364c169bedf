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
pub(crate) fn usage_input(text: &str) -> FileInput {
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
pub(crate) fn readable(inputs: &Inputs) -> Result<(), Failure> {
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
pub(crate) mod progress {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::IsTerminal;
    use std::sync::OnceLock;

    static BAR: OnceLock<ProgressBar> = OnceLock::new();

    pub(crate) fn start() -> Option<fn(u64)> {
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

    pub(crate) fn finish() {
        if let Some(bar) = BAR.get() {
            bar.finish_and_clear();
        }
    }
}

/// `tally plan --usage`: the usage files read and added up keeping apart only the parts of a
/// row the rules read (`reads`), as a snapshot of usage alone, and each file's identity.
pub(crate) fn streamed_usage(
    usage: &[String],
    mapping: &[PathBuf],
    period: tally_snapshot::Period,
    reads: tally_driver::UsageReads,
    hash: bool,
) -> Result<(tally_snapshot::Snapshot, Vec<tally_plan::InputFile>), Failure> {
    use tally_import::{UsageGranularity, UsageKeep};
    let (granularity, keep) = if reads.additive {
        let granularity = if reads.date {
            UsageGranularity::Day
        } else {
            UsageGranularity::Period
        };
        let keep = UsageKeep {
            subscription: reads.subscription,
            resource_group: reads.resource_group,
            meter_category: reads.meter_category,
            meter_name: reads.meter_name,
            tags: reads.tags,
            quantity: reads.quantity,
        };
        (granularity, keep)
    } else {
        (UsageGranularity::Day, UsageKeep::ALL)
    };
    let inputs = Inputs {
        mapping: mapping.iter().map(Source::file).collect(),
        usage: usage.iter().map(|u| usage_input(u)).collect(),
        period: Some(period),
        options: Options {
            usage_granularity: granularity,
            usage_keep: keep,
            progress: progress::start(),
            ..Options::default()
        },
        ..Inputs::default()
    };
    readable(&inputs)?;
    // The files' identities are hashed on the other core while the rows are read.
    let (imported, hashes) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| {
            inputs
                .usage
                .iter()
                .map(|u| hash_file(&u.source, hash))
                .collect::<Result<Vec<_>, Failure>>()
        });
        let imported = tally_import::build_snapshot(&inputs);
        let hashes = hashing
            .join()
            .unwrap_or_else(|_| Err(Failure::Usage("hashing the usage files failed".into())));
        (imported, hashes)
    });
    progress::finish();
    let (snapshot, warnings) = imported.map_err(|e| Failure::Data(e.to_string()))?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    Ok((snapshot, hashes?))
}

/// A file's path and (when `hash`) SHA-256, read in blocks.
fn hash_file(source: &Source, hash: bool) -> Result<tally_plan::InputFile, Failure> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let Source::File(path) = source else {
        return Err(Failure::Usage("usage must be read from a file".into()));
    };
    if !hash {
        return Ok(tally_plan::InputFile {
            path: tally_db::normalise(path),
            sha256: String::new(),
        });
    }
    let cannot =
        |e: std::io::Error| Failure::Usage(format!("cannot read `{}`: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut block).map_err(cannot)?;
        if n == 0 {
            break;
        }
        hasher.update(block.get(..n).unwrap_or_default());
    }
    Ok(tally_plan::InputFile {
        path: tally_db::normalise(path),
        sha256: format!("{:x}", hasher.finalize()),
    })
}
