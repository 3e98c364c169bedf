//! Writes one customer of USERS users and 20 lines (a snapshot and a rule file) for measuring a
//! plan at the scale of one very large tenant:
//!
//! ```text
//! cargo run --release -p tally-driver --example big_tenant -- 1000000 /tmp/big
//! /usr/bin/time -v target/release/tally plan /tmp/big/big.tally --snapshot /tmp/big/snapshot.json
//! ```
//!
//! Users are seeded: a department out of eight, a third unlicensed, one in twenty disabled,
//! and one in a thousand created during the period (a dated change, so the tenant has two
//! views). The lines mix filters, splits by department, minimums and SKU seats.

use std::error::Error;
use std::io::{BufWriter, Write};

const SPB: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
const DEPARTMENTS: [&str; 8] = [
    "Sales",
    "Support",
    "Finance",
    "Engineering",
    "Operations",
    "Marketing",
    "Legal",
    "People",
];

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let users: u64 = args.next().ok_or("usage: USERS DIR")?.parse()?;
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: USERS DIR")?);
    std::fs::create_dir_all(&dir)?;

    let mut out = BufWriter::new(std::fs::File::create(dir.join("snapshot.json"))?);
    write!(
        out,
        r#"{{"version":2,"period":{{"start":"2026-10-01","end":"2026-10-31"}},"tenants":[{{"tenant":"big.onmicrosoft.com","subscribed_skus":[{{"sku_id":"{SPB}","part_number":"SPB","purchased":{users},"assigned":{users},"unit_cost":{{"amount":"22.00","currency":"GBP"}},"term":"monthly","billing_plan":"monthly"}}],"users":["#
    )?;
    let mut state: u64 = 5;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for i in 0..users {
        let department = DEPARTMENTS[(next() % 8) as usize];
        let licensed = next() % 3 != 0;
        let enabled = next() % 20 != 0;
        let created = if i % 1000 == 999 {
            r#","created":"2026-10-15""#
        } else {
            ""
        };
        let skus = if licensed {
            format!(r#""{SPB}""#)
        } else {
            String::new()
        };
        write!(
            out,
            r#"{}{{"id":"u{i}","upn":"user{i}@big.example","display_name":"User {i}","department":"{department}","enabled":{enabled},"assigned_skus":[{skus}]{created}}}"#,
            if i == 0 { "" } else { "," }
        )?;
    }
    writeln!(out, "]}}]}}")?;
    out.flush()?;

    let mut rules = String::from(
        "customer \"Big\" {\n  tenant \"big.onmicrosoft.com\"\n  currency GBP\n}\n\nuse std.m365\n\n\
         let staff = m365.users where enabled and licensed\n\n",
    );
    for (i, department) in DEPARTMENTS.iter().enumerate() {
        rules.push_str(&format!(
            "team{i} qty = count(staff where department == \"{department}\")\n  price 25.00\n\n"
        ));
    }
    for i in 0..4 {
        rules.push_str(&format!(
            "backup{i} qty = staff\n  price 3.50\n  minimum 10\n  split by department otherwise \"Unassigned\"\n\n"
        ));
    }
    for i in 0..4 {
        rules.push_str(&format!(
            "seats{i} qty = m365.sku(\"SPB\").assigned\n  price m365.sku(\"SPB\").cost * 115%\n\n"
        ));
    }
    for i in 0..4 {
        rules.push_str(&format!(
            "prorated{i} qty = count(m365.users where enabled)\n  price 4.00\n  prorate daily\n\n"
        ));
    }
    std::fs::write(dir.join("big.tally"), rules.trim_end().to_string() + "\n")?;
    eprintln!("wrote {users} users and 20 lines to {}", dir.display());
    Ok(())
}
