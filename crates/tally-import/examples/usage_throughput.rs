//! How fast the daily rated usage import streams, and in how much memory.
//!
//! ```text
//! cargo run --release -p tally-import --example usage_throughput -- 1000000
//! ```
//!
//! Writes a usage CSV of N rows (all 55 columns filled, seeded; `support/azure_csv.rs`) to the temp directory, reads it with
//! `read_usage`, and prints rows per second and the process's peak resident memory.

#[path = "support/azure_csv.rs"]
mod azure_csv;

use std::error::Error;
use std::time::Instant;

use tally_import::Source;
use tally_import::usage::{UsageOptions, read_usage};

fn main() -> Result<(), Box<dyn Error>> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |a| a.parse())?;
    let path =
        std::env::temp_dir().join(format!("tally-usage-throughput-{}.csv", std::process::id()));
    let started = Instant::now();
    azure_csv::write(&path, rows, 20, 7)?;
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
