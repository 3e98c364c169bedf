//! Writes a seeded Azure daily rated usage CSV (all 55 columns) for speed comparisons:
//!
//! ```text
//! cargo run --release -p tally-import --example azure_usage_csv -- ROWS CUSTOMERS OUT.csv
//! ```

#[path = "support/azure_csv.rs"]
mod azure_csv;

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .ok_or("usage: ROWS CUSTOMERS OUT.csv")?
        .parse()?;
    let customers: u64 = args
        .next()
        .ok_or("usage: ROWS CUSTOMERS OUT.csv")?
        .parse()?;
    let out = args.next().ok_or("usage: ROWS CUSTOMERS OUT.csv")?;
    let size = azure_csv::write(std::path::Path::new(&out), rows, customers, 7)?;
    eprintln!("wrote {rows} rows for {customers} customers to {out} ({size} bytes)");
    Ok(())
}
