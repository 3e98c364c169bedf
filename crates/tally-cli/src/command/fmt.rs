//! `tally fmt`: rewrite rule files in the canonical layout (`docs/fmt.md`), or with `--check`
//! list those that are not in it, for CI. The layout is `tally_fmt::format`; this file finds the
//! files, writes them whole or not at all, and reports.

use crate::exit::Failure;
use crate::load::{MAX_RULE_FILE, read};
use crate::output::{print, write_whole};
use std::path::{Path, PathBuf};
use tally_fmt::FormatError;

#[derive(clap::Args)]
pub(crate) struct FmtArgs {
    /// Rule files or directories (searched for *.tally).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write nothing: list the files that are not formatted, and exit 1 if there are any.
    #[arg(long)]
    check: bool,
}

pub(crate) fn run(args: FmtArgs) -> Result<(), Failure> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files)?;
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(Failure::Usage(format!(
            "no .tally files in {}",
            args.paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut changed = Vec::new();
    let mut failed = 0;
    for file in &files {
        match format_file(file)? {
            Outcome::Unchanged => {}
            Outcome::Changed(text) => {
                if !args.check {
                    write_whole(file, &text)?;
                }
                changed.push(file);
            }
            Outcome::Refused(reason) => {
                eprintln!("error: {}", reason);
                failed += 1;
            }
        }
    }
    if args.check {
        let list: String = changed
            .iter()
            .map(|f| format!("{}\n", f.display()))
            .collect();
        print(&list)?;
    }
    let verb = if args.check {
        "would be reformatted"
    } else {
        "reformatted"
    };
    let mut summary = format!(
        "{} of {} file{} {verb}",
        changed.len(),
        files.len(),
        plural(files.len())
    );
    if failed > 0 {
        summary.push_str(&format!(
            "; {failed} file{} left as {} (syntax errors)",
            plural(failed),
            if failed == 1 { "it was" } else { "they were" }
        ));
    }
    eprintln!("{summary}");
    if failed > 0 || (args.check && !changed.is_empty()) {
        return Err(Failure::Reported);
    }
    Ok(())
}

enum Outcome {
    Unchanged,
    Changed(String),
    /// Not formatted, and why (naming the file).
    Refused(String),
}

fn format_file(path: &Path) -> Result<Outcome, Failure> {
    let size = std::fs::metadata(path)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", path.display())))?
        .len();
    if size > MAX_RULE_FILE {
        return Ok(Outcome::Refused(format!(
            "{}: larger than {} MiB: not a rule file",
            path.display(),
            MAX_RULE_FILE / 1024 / 1024
        )));
    }
    let text = match read(path) {
        Ok(text) => text,
        Err(Failure::Data(reason)) => return Ok(Outcome::Refused(reason)),
        Err(other) => return Err(other),
    };
    Ok(match tally_fmt::format(&text) {
        Ok(formatted) if formatted == text => Outcome::Unchanged,
        Ok(formatted) => Outcome::Changed(formatted),
        Err(FormatError::Syntax {
            first,
            line,
            column,
            count,
        }) => {
            let more = match count {
                1 => String::new(),
                n => format!(" (the first of {n} syntax errors)"),
            };
            Outcome::Refused(format!(
                "{}:{line}:{column}: {}{more}; not formatted: fix the syntax first",
                path.display(),
                first.message
            ))
        }
        Err(unsound @ FormatError::Unsound(_)) => {
            Outcome::Refused(format!("{}: {unsound}", path.display()))
        }
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The files a path names: itself, or the `.tally` files under a directory (sorted).
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::Usage(format!("cannot read `{}`: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(Failure::Usage(format!(
            "cannot read `{}`: not a file or directory",
            path.display()
        )));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() || entry.extension().is_some_and(|e| e == "tally") {
            collect(&entry, out)?;
        }
    }
    Ok(())
}
