//! The outputs target: whole commands, run in-process as the binary runs them, writing with
//! `-o` over a file that already exists. The fuzzed file is given in every role a data file
//! can take (each import input, and the snapshot of a plan); for each command:
//!
//! - the exit code is 0, 1 or 2 (a panic is caught by the harness and fails the target);
//! - on 0 the output is whole: it reads back as a snapshot or a plan;
//! - otherwise the output is byte for byte what it was;
//! - either way, nothing else is left in the folder (no temporary file).

use crate::seeds;
use std::path::{Path, PathBuf};

/// What was in the output before each command.
const PREVIOUS: &[u8] = b"the previous output, which a failed command must leave as it was\n";

/// One role of the fuzzed file: the name it is written under, the option that gives it, the
/// option of the example's inputs it takes the place of, and whether it is given with the
/// example's tenant (`TENANT=FILE`).
struct Role {
    file: &'static str,
    flag: &'static str,
    replaces: Option<&'static str>,
    with_tenant: bool,
}

const GRAPH: &str = "--graph";
const SNAPSHOT: &str = "--snapshot";
const TENANT: &str = "fabrikambakery.onmicrosoft.com";

const fn role(file: &'static str, flag: &'static str, replaces: Option<&'static str>) -> Role {
    Role {
        file,
        flag,
        replaces,
        with_tenant: false,
    }
}

const ROLES: &[Role] = &[
    role("users.json", GRAPH, None),
    role("subscribedSkus.json", GRAPH, None),
    role("recon.csv", "--recon", Some("--recon")),
    // Beside the example's CSV, which prices the tenant's SKUs; the same for a price list.
    role("recon.json", "--recon", None),
    role("usage.csv", "--usage", Some("--usage")),
    // The API's JSON may not name the customer.
    Role {
        with_tenant: true,
        ..role("usage.json", "--usage", Some("--usage"))
    },
    role("counts.csv", "--counts", Some("--counts")),
    role("mapping.csv", "--mapping", None),
    role("prices.csv", "--price-list", None),
    // The snapshot of a plan of the small-business example.
    role("snapshot.json", SNAPSHOT, None),
];

/// The example's inputs besides the Graph exports (`examples/imports`), by option.
const EXAMPLE_INPUTS: &[(&str, &str)] = &[
    ("--recon", "recon.csv"),
    ("--usage", "usage.csv"),
    ("--counts", "counts.csv"),
];

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The command for `role`: `tally import` of the example's inputs with the fuzzed file in its
/// role, or `tally plan` of the small-business rules against the fuzzed snapshot.
fn arguments(role: &Role, examples: &Path, fuzzed: &Path, output: &Path) -> Vec<String> {
    if role.flag == SNAPSHOT {
        let rules = examples.join("../small-business/small.tally");
        return [
            "plan",
            &path(&rules),
            SNAPSHOT,
            &path(fuzzed),
            "--format",
            "json",
        ]
        .map(String::from)
        .into_iter()
        .chain(["-o".to_string(), path(output)])
        .collect();
    }
    let example = |name: &str| {
        if name == role.file {
            path(fuzzed)
        } else {
            path(&examples.join(name))
        }
    };
    let mut arguments = vec![
        "import".to_string(),
        GRAPH.to_string(),
        format!(
            "{TENANT}={},{}",
            example("users.json"),
            example("subscribedSkus.json")
        ),
        "--period".to_string(),
        "2026-10".to_string(),
    ];
    for (flag, name) in EXAMPLE_INPUTS {
        if role.replaces != Some(flag) {
            arguments.extend([flag.to_string(), path(&examples.join(name))]);
        }
    }
    if role.flag != GRAPH {
        let file = if role.with_tenant {
            format!("{TENANT}={}", path(fuzzed))
        } else {
            path(fuzzed)
        };
        arguments.extend([role.flag.to_string(), file]);
    }
    arguments.extend(["-o".to_string(), path(output)]);
    arguments
}

/// The property: the fuzzed file in every role, each command leaving its output whole or as it
/// was, and nothing else.
pub fn commands(bytes: &[u8]) -> Result<(), String> {
    for role in ROLES {
        run(role, bytes)?;
    }
    Ok(())
}

/// Runs the command of `role` with `bytes` as its file, over an existing output; its exit code
/// once the output and the folder are as the property wants them.
fn run(role: &Role, bytes: &[u8]) -> Result<u8, String> {
    let root = seeds::root();
    let scratch = root.join("target/fuzz-outputs");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let folder = tempfile::tempdir_in(&scratch).map_err(|e| format!("a folder: {e}"))?;
    let fuzzed = folder.path().join(role.file);
    let output = folder.path().join("output.json");
    write(&fuzzed, bytes)?;
    write(&output, PREVIOUS)?;
    let arguments = arguments(role, &root.join("examples/imports"), &fuzzed, &output);
    let code = tally_cli::run_in_process(&arguments);
    let what = || format!("`tally {}`", arguments.join(" "));
    let after = std::fs::read(&output).map_err(|e| format!("{}: {e}", what()))?;
    match code {
        0 => reads_back(role.flag == SNAPSHOT, &after).map_err(|e| format!("{}: {e}", what()))?,
        1 | 2 if after == PREVIOUS => {}
        1 | 2 => return Err(format!("{} failed and changed its output", what())),
        other => return Err(format!("{} exited with {other}", what())),
    }
    let left = leftovers(folder.path(), &[role.file, "output.json"])?;
    if !left.is_empty() {
        return Err(format!("{} left {left:?} behind", what()));
    }
    Ok(code)
}

fn write(file: &PathBuf, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(file, bytes).map_err(|e| format!("{}: {e}", file.display()))
}

/// The output reads back as what its command writes: a plan, or a snapshot.
fn reads_back(plan: bool, bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("the output is not UTF-8: {e}"))?;
    if plan {
        tally_plan::from_json(text)
            .map(drop)
            .map_err(|e| format!("the plan written does not read back: {e}"))
    } else {
        tally_snapshot::from_json(text)
            .map(drop)
            .map_err(|e| format!("the snapshot written does not read back: {e}"))
    }
}

/// The names in `folder` other than `expected`.
fn leftovers(folder: &Path, expected: &[&str]) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut left = Vec::new();
    for entry in entries {
        let name = entry
            .map_err(|e| format!("{}: {e}", folder.display()))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !expected.contains(&name.as_str()) {
            left.push(name);
        }
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real file of each role makes its command succeed, so the fuzzed runs reach the
    /// writing of the output and not only argument errors.
    #[test]
    fn every_role_succeeds_with_a_real_file_of_its_kind() {
        let fixtures = "crates/tally-import/tests/fixtures/partner-center-api-examples";
        let real = |file: &str| -> String {
            match file {
                "recon.json" => format!(
                    "{fixtures}/nce_billed_invoice_lineitems_onetime_OneTimeInvoiceLineItem.json"
                ),
                "usage.json" => {
                    format!("{fixtures}/daily_rated_usage_billed_DailyRatedUsageLineItem.json")
                }
                "mapping.csv" => "crates/tally-fuzz/seeds/mapping.csv".into(),
                "prices.csv" => "tests/fixtures/contoso-prices.csv".into(),
                "snapshot.json" => "examples/small-business/snapshot.json".into(),
                other => format!("examples/imports/{other}"),
            }
        };
        for role in ROLES {
            let bytes = std::fs::read(seeds::root().join(real(role.file))).unwrap();
            assert_eq!(run(role, &bytes), Ok(0), "{}", role.file);
        }
    }

    #[test]
    fn a_broken_file_fails_and_leaves_the_output_as_it_was() {
        for role in ROLES {
            assert_eq!(run(role, b"{\"broken"), Ok(1), "{}", role.file);
        }
    }
}
