//! The floor Tally's Azure path is measured against (issue 11): a hand-written streaming pass
//! that reads a daily rated usage CSV with `csv` + `rust_decimal`, totals `BillingPreTaxTotal`
//! per customer domain and currency, and prints each total × 115 % rounded half-up to cents.
//!
//! ```text
//! cargo run --release -p tally-import --example azure_baseline -- usage.csv
//! ```
//!
//! It is what a competent engineer would write for this one job, with nothing Tally needs
//! beyond it (no aggregation by meter and day, no snapshot, no rules): the floor, not a peer.

use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use std::error::Error;
use std::str::FromStr;

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: azure_baseline FILE.csv")?;
    let mut reader = csv::ReaderBuilder::new().from_path(&path)?;
    let headers = reader.byte_headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or(format!("no column {name}"))
    };
    let (domain, total, currency) = (
        column("CustomerDomainName")?,
        column("BillingPreTaxTotal")?,
        column("BillingCurrency")?,
    );
    // Keyed by "domain NUL currency" in one reused buffer: no allocation per row.
    let mut totals: HashMap<Vec<u8>, Decimal> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut key = Vec::new();
    while reader.read_byte_record(&mut record)? {
        let amount = std::str::from_utf8(record.get(total).ok_or("short record")?)?;
        let amount = Decimal::from_str(amount)?;
        key.clear();
        key.extend_from_slice(record.get(domain).ok_or("short record")?);
        key.push(0);
        key.extend_from_slice(record.get(currency).ok_or("short record")?);
        match totals.get_mut(key.as_slice()) {
            Some(sum) => *sum += amount,
            None => {
                totals.insert(key.clone(), amount);
            }
        }
    }
    let mut lines: Vec<_> = totals.into_iter().collect();
    lines.sort();
    let markup = Decimal::new(115, 2);
    for (key, sum) in lines {
        let billed =
            (sum * markup).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let key = String::from_utf8_lossy(&key).replace('\0', " ");
        println!("{key} {billed}");
    }
    Ok(())
}
