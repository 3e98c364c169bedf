//! How fast the daily rated usage import streams, and in how much memory.
//!
//! ```text
//! cargo run --release -p tally-import --example usage_throughput -- 1000000
//! ```
//!
//! Writes a usage CSV of N rows (all 55 columns, seeded) to the temp directory, reads it with
//! `read_usage`, and prints rows per second and the process's peak resident memory.

use std::error::Error;
use std::io::{BufWriter, Write};
use std::time::Instant;

use tally_import::Source;
use tally_import::usage::{UsageOptions, read_usage};

const HEADER: &str =
    include_str!("../tests/fixtures/recon-file-schemas/daily_rated_usage_header_template.csv");

fn main() -> Result<(), Box<dyn Error>> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |a| a.parse())?;
    let path =
        std::env::temp_dir().join(format!("tally-usage-throughput-{}.csv", std::process::id()));
    let header: Vec<&str> = HEADER.trim().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no column {name}"))
    };
    let cols = [
        column("CustomerId")?,
        column("CustomerDomainName")?,
        column("UsageDate")?,
        column("MeterCategory")?,
        column("MeterName")?,
        column("ResourceGroup")?,
        column("EntitlementId")?,
        column("Quantity")?,
        column("BillingPreTaxTotal")?,
        column("BillingCurrency")?,
        column("Tags")?,
        column("AdditionalInfo")?,
    ];
    let started = Instant::now();
    {
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        writeln!(out, "{}", HEADER.trim())?;
        let mut state: u64 = 7;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let mut cells = vec![String::new(); header.len()];
        for _ in 0..rows {
            let customer = next() % 20;
            let values = [
                format!("00000000-0000-4000-8000-{customer:012}"),
                format!("customer{customer}.onmicrosoft.com"),
                format!("10/{}/2026", next() % 31 + 1),
                ["Virtual Machines", "Storage", "Bandwidth", "SQL Database"][(next() % 4) as usize]
                    .to_string(),
                format!("Meter {}", next() % 3),
                format!("rg-{}", next() % 4),
                format!("11111111-0000-4000-8000-{:012}", customer * 2 + next() % 2),
                format!("{}.{:06}", next() % 48, next() % 1_000_000),
                format!("{}.{:09}", next() % 9, next() % 1_000_000_000),
                "GBP".to_string(),
                [
                    "",
                    "\"{\"\"department\"\": \"\"Sales\"\"}\"",
                    "\"{\"\"project\"\": \"\"Apollo\"\"}\"",
                ][(next() % 3) as usize]
                    .to_string(),
                "\"{\"\"ServiceType\"\": \"\"Standard_D2s_v5\"\"}\"".to_string(),
            ];
            for (c, v) in cols.iter().zip(values) {
                if let Some(cell) = cells.get_mut(*c) {
                    *cell = v;
                }
            }
            writeln!(out, "{}", cells.join(","))?;
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    println!(
        "wrote {rows} rows ({:.1} MB) in {:.2?}",
        size as f64 / 1e6,
        started.elapsed()
    );
    let started = Instant::now();
    let read = read_usage(&Source::file(&path), &UsageOptions::default())?;
    let elapsed = started.elapsed();
    std::fs::remove_file(&path)?;
    println!(
        "read {} rows into {} aggregates in {:.2?}: {:.0} rows/s, {:.1} MB/s",
        read.rows_read,
        read.rows.len(),
        elapsed,
        read.rows_read as f64 / elapsed.as_secs_f64(),
        size as f64 / 1e6 / elapsed.as_secs_f64()
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(peak) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!(
            "peak resident memory: {}",
            peak.trim_start_matches("VmHWM:").trim()
        );
    }
    Ok(())
}
