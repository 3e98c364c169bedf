//! Seed files, read from the repository once per process: the examples, the test corpora and
//! the Microsoft samples kept in `crates/tally-import/tests/fixtures` (copies of
//! `../shared/data`). Nothing is copied for the fuzz targets except what no other test needs
//! (`crates/tally-fuzz/seeds/`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(paths: &[&str]) -> Vec<Vec<u8>> {
    let root = root();
    paths
        .iter()
        .filter_map(|p| std::fs::read(root.join(p)).ok())
        .collect()
}

/// Every file directly in `dir` (relative to the root) whose name ends with `suffix`, and in
/// its subfolders one level down.
fn files_in(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Ok(inner) = std::fs::read_dir(&path) {
                found.extend(inner.flatten().map(|e| e.path()));
            }
        } else {
            found.push(path);
        }
    }
    found.retain(|p| p.to_string_lossy().ends_with(suffix));
    found.sort();
    found
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Seeds of one fuzz target.
#[derive(Debug)]
pub struct Seeds {
    pub files: Vec<Vec<u8>>,
    /// Tokens of the format, inserted and repeated by the mutator.
    pub dictionary: &'static [&'static str],
}

const RULE_WORDS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\n",
    " ",
    "\"",
    ",",
    ".",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<",
    ">",
    "<=",
    ">=",
    "==",
    "!=",
    "and ",
    " or ",
    "not ",
    "let ",
    "use ",
    "customer ",
    "tenant ",
    "currency ",
    "qty ",
    "amount ",
    " price ",
    " where ",
    " split by ",
    " minimum ",
    " term ",
    " prorate ",
    " rounding ",
    " billing ",
    " from ",
    " until ",
    " in ",
    " if ",
    " then ",
    " else ",
    "max(",
    "min(",
    "ceil(",
    "floor(",
    "round(",
    "abs(",
    "count(",
    "sum(",
    "m365.users",
    "m365.sku(\"SPB\")",
    "m365.sku(\"",
    "counter(\"",
    "azure.usage",
    "enabled",
    "licensed",
    "department",
    ".assigned",
    ".cost",
    ".seats",
    "GBP",
    "USD",
    "EUR",
    "JPY",
    "annual",
    "monthly",
    "triennial",
    "arrears",
    "advance",
    "day",
    "2026-10-01",
    "0",
    "-0",
    "0.5",
    "100%",
    "112%",
    "10.00",
    "99999999999999999999999999",
    "//",
    "/* ",
    "std.m365",
    "\"../shared/msp.tally\"",
    "\u{e9}",
    "\u{1F600}",
    "\t",
    "\r\n",
    "\0",
];

const JSON_WORDS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "false",
    "-0",
    "0",
    "1e400",
    "-1",
    "0.1",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "99999999999999999999999999999999",
    "18446744073709551616",
    "\"2026-10-01\"",
    "\"2026-02-30\"",
    "\"GBP\"",
    "\"XXX\"",
    "\"value\"",
    "\"@odata.nextLink\"",
    "\"version\"",
    "\"tenants\"",
    "\"users\"",
    "\"id\"",
    "\"\u{e9}\"",
    " ",
    "\n",
    "\u{feff}",
];

const CSV_WORDS: &[&str] = &[
    ",",
    "\n",
    "\r\n",
    "\"",
    "\"\"",
    ";",
    "\t",
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "1e400",
    "1O",
    "99999999999999999999999999999999",
    "18446744073709551616",
    "2026-10-01",
    "2026-02-30",
    "10/01/2026",
    "2026-10-01T00:00:00Z",
    "GBP",
    "USD",
    "XXX",
    "Cycle fee",
    "Purchase",
    "Renew",
    "Cancel",
    "Annual",
    "Monthly",
    "P1Y",
    "P1M",
    "\u{feff}",
    "\u{e9}",
    "\0",
];

fn once(cell: &'static OnceLock<Seeds>, make: impl FnOnce() -> Seeds) -> &'static Seeds {
    cell.get_or_init(make)
}

pub fn rules() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || {
        let mut paths = files_in("examples", ".tally");
        paths.extend(files_in("tests/eval", ".tally"));
        paths.extend(files_in("tests/diagnostics", ".tally"));
        paths.extend(files_in("tests/fixtures", ".tally"));
        Seeds {
            files: read_all(&paths),
            dictionary: RULE_WORDS,
        }
    })
}

pub fn snapshot() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || {
        let mut paths = files_in("examples", "snapshot.json");
        paths.extend(files_in("tests/eval", "snapshot.json"));
        paths.extend(files_in("tests/fixtures", "snapshot.json"));
        Seeds {
            files: read_all(&paths),
            dictionary: JSON_WORDS,
        }
    })
}

const FIXTURES: &str = "crates/tally-import/tests/fixtures";

pub fn graph_users() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            "examples/imports/users.json",
            &format!("{FIXTURES}/graph-examples/users_list_default_properties_response.json"),
            &format!("{FIXTURES}/synthetic/users_select_pages.json"),
        ]),
        dictionary: JSON_WORDS,
    })
}

pub fn graph_skus() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            "examples/imports/subscribedSkus.json",
            "tests/fixtures/contoso-skus.json",
            "tests/fixtures/contoso-e5-skus.json",
            &format!("{FIXTURES}/graph-examples/subscribedSkus_list_response.json"),
        ]),
        dictionary: JSON_WORDS,
    })
}

pub fn recon_csv() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            "examples/imports/recon.csv",
            "tests/fixtures/recon-contoso.csv",
            "tests/fixtures/recon-upfront-2026-02.csv",
            "tests/fixtures/recon-upfront-2026-06.csv",
            &format!(
                "{FIXTURES}/recon-file-schemas/nce_invoice_reconciliation_header_template.csv"
            ),
        ]),
        dictionary: CSV_WORDS,
    })
}

pub fn recon_json() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            &format!(
                "{FIXTURES}/partner-center-api-examples/nce_billed_invoice_lineitems_onetime_OneTimeInvoiceLineItem.json"
            ),
            &format!(
                "{FIXTURES}/partner-center-api-examples/nce_unbilled_recon_lineitems_onetime_OneTimeInvoiceLineItem.json"
            ),
        ]),
        dictionary: JSON_WORDS,
    })
}

pub fn usage_csv() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            "examples/imports/usage.csv",
            &format!("{FIXTURES}/recon-file-schemas/daily_rated_usage_header_template.csv"),
        ]),
        dictionary: CSV_WORDS,
    })
}

pub fn usage_json() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            &format!(
                "{FIXTURES}/partner-center-api-examples/daily_rated_usage_billed_DailyRatedUsageLineItem.json"
            ),
            &format!(
                "{FIXTURES}/partner-center-api-examples/daily_rated_usage_unbilled_DailyRatedUsageLineItem.json"
            ),
        ]),
        dictionary: JSON_WORDS,
    })
}

pub fn counts() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            "examples/imports/counts.csv",
            "tests/fixtures/contoso-counts.csv",
        ]),
        dictionary: CSV_WORDS,
    })
}

pub fn mapping() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&["crates/tally-fuzz/seeds/mapping.csv"]),
        dictionary: CSV_WORDS,
    })
}

pub fn price_list() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&["tests/fixtures/contoso-prices.csv"]),
        dictionary: CSV_WORDS,
    })
}

pub fn plan_json() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || Seeds {
        files: read(&[
            "examples/northwind/expected-plan.json",
            "examples/small-business/expected-plan.json",
        ]),
        dictionary: JSON_WORDS,
    })
}

/// Every data file the outputs target gives its commands: each import format and snapshots.
pub fn outputs() -> &'static Seeds {
    static CELL: OnceLock<Seeds> = OnceLock::new();
    once(&CELL, || {
        let formats = [
            graph_users(),
            graph_skus(),
            recon_csv(),
            recon_json(),
            usage_csv(),
            usage_json(),
            counts(),
            mapping(),
            price_list(),
            snapshot(),
        ];
        Seeds {
            files: formats.iter().flat_map(|s| s.files.clone()).collect(),
            dictionary: data_words(),
        }
    })
}

/// The tokens of JSON and CSV together.
fn data_words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| [JSON_WORDS, CSV_WORDS].concat())
}
