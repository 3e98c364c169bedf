#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};

use chrono::NaiveDate;
use common::*;
use rust_decimal::Decimal;
use tally_import::usage::{UsageOptions, read_usage};
use tally_import::{FileInput, Inputs, Source, UsageGranularity, build_snapshot};
use tally_snapshot::Period;

const BILLED: &str =
    "partner-center-api-examples/daily_rated_usage_billed_DailyRatedUsageLineItem.json";
const UNBILLED: &str =
    "partner-center-api-examples/daily_rated_usage_unbilled_DailyRatedUsageLineItem.json";

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn api_items_keep_unrounded_costs() {
    let read = read_usage(&Source::file(fixture(BILLED)), &UsageOptions::default()).unwrap();
    assert_eq!(read.rows_read, 2);
    assert_eq!(read.rows.len(), 2);
    let windows = read
        .rows
        .iter()
        .find(|u| u.row.resource_group == "TestWINRG")
        .unwrap();
    let row = &windows.row;
    assert_eq!(row.date, NaiveDate::from_ymd_opt(2018, 11, 13).unwrap());
    assert_eq!(
        row.subscription_id, "3f47bcf1-965d-40a1-a2bc-3d5db3653250",
        "EntitlementId, not the plan"
    );
    assert_eq!(row.meter_category, "Virtual Machine Licenses");
    assert_eq!(row.quantity, dec("23.200004"));
    // A bare JSON number, read from its text: no f64 on the way.
    assert_eq!(row.cost.amount(), dec("0.486031696515249"));
    assert_eq!(row.cost.currency().code(), "USD");
    assert!(row.tags.is_empty(), "`\"tags\": \"\"` is no tags");
    assert_eq!(
        windows.customer_id, None,
        "Microsoft's example has empty customer fields"
    );
    // The API's "links.next" on the page: later pages are not in the file.
    assert!(read.warnings[0].message.contains("next page"));

    let unbilled = read_usage(&Source::file(fixture(UNBILLED)), &UsageOptions::default()).unwrap();
    let firewall = &unbilled.rows[0].row;
    assert_eq!(firewall.quantity, dec("24.0"));
    assert_eq!(firewall.cost.amount(), dec("30.7197334080551"));
}

#[test]
fn a_file_without_customers_needs_a_tenant() {
    let usage = |tenant: Option<&str>| Inputs {
        usage: vec![FileInput {
            source: Source::file(fixture(BILLED)),
            tenant: tenant.map(str::to_string),
        }],
        ..Inputs::default()
    };
    let err = build_snapshot(&usage(None)).unwrap_err();
    assert!(err.message.contains("give the file a tenant"), "{err}");
    let (snapshot, _) = build_snapshot(&usage(Some("partner.onmicrosoft.com"))).unwrap();
    assert_eq!(snapshot.tenants[0].azure_usage.len(), 2);
}

fn usage_csv(rows: &[Vec<(&str, String)>]) -> String {
    csv(&template("daily_rated_usage_header_template.csv"), rows)
}

fn usage_row(
    day: &str,
    group: &str,
    meter: &str,
    quantity: &str,
    cost: &str,
    tags: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("CustomerId", CUSTOMER_ID.into()),
        ("CustomerDomainName", CUSTOMER_DOMAIN.into()),
        ("UsageDate", day.into()),
        ("MeterCategory", "Virtual Machines".into()),
        ("MeterName", meter.into()),
        ("ResourceGroup", group.into()),
        (
            "EntitlementId",
            "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".into(),
        ),
        (
            "SubscriptionId",
            "12345678-9d62-4a85-8fd0-91a87c261bc4".into(),
        ),
        ("Quantity", quantity.into()),
        ("BillingPreTaxTotal", cost.into()),
        ("BillingCurrency", "GBP".into()),
        ("Tags", tags.into()),
    ]
}

#[test]
fn csv_rows_aggregate_by_day_meter_group_and_tags() {
    let text = usage_csv(&[
        usage_row(
            "10/3/2026",
            "rg-web",
            "D2s v5",
            "12",
            "2.406",
            "{\"department\": \"Sales\", \"project\": \"Apollo\"}",
        ),
        // Same group in other case, same tags in other order: same aggregate.
        usage_row(
            "10/3/2026",
            "RG-WEB",
            "D2s v5",
            "12",
            "2.406",
            "{\"project\":\"Apollo\",\"department\":\"Sales\"}",
        ),
        // Tags written without braces, as some Azure exports do.
        usage_row(
            "2026-10-03",
            "rg-web",
            "D2s v5",
            "1.5",
            "0.3",
            "\"department\": \"Finance\"",
        ),
        usage_row("10/4/2026", "rg-web", "D2s v5", "24", "4.812", ""),
        usage_row("10/4/2026", "rg-web", "B1s", "0.3125", "0.0000001", "{}"),
        usage_row("10/5/2026", "rg-web", "D2s v5", "1", "0.2", ""),
    ]);
    let read = read_usage(
        &Source::memory("usage.csv", text.clone()),
        &UsageOptions::default(),
    )
    .unwrap();
    assert_eq!(read.rows_read, 6);
    let rows: Vec<_> = read.rows.iter().map(|u| &u.row).collect();
    assert_eq!(rows.len(), 5);
    let sales = rows
        .iter()
        .find(|r| r.tags.get("department").map(String::as_str) == Some("Sales"))
        .unwrap();
    assert_eq!(sales.quantity, dec("24"));
    assert_eq!(sales.cost.to_string(), "4.812 GBP");
    assert_eq!(sales.resource_group, "rg-web", "first spelling kept");
    assert_eq!(
        sales.tags,
        BTreeMap::from([
            ("department".to_string(), "Sales".to_string()),
            ("project".to_string(), "Apollo".to_string())
        ])
    );
    let finance = rows
        .iter()
        .find(|r| r.tags.get("department").map(String::as_str) == Some("Finance"))
        .unwrap();
    assert_eq!(finance.cost.amount(), dec("0.3"));
    let tiny = rows.iter().find(|r| r.meter_name == "B1s").unwrap();
    assert_eq!(tiny.cost.amount(), dec("0.0000001"));
    assert!(tiny.tags.is_empty());

    let monthly = read_usage(
        &Source::memory("usage.csv", text),
        &UsageOptions {
            granularity: UsageGranularity::Period,
            period: Some(Period {
                start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            }),
            progress: None,
            keep: Default::default(),
        },
    )
    .unwrap();
    // Sales, Finance, untagged D2s v5 (the 4th and 5th together), B1s.
    assert_eq!(monthly.rows.len(), 4);
    assert!(
        monthly
            .rows
            .iter()
            .all(|u| u.row.date.to_string() == "2026-10-01")
    );
    let untagged = monthly
        .rows
        .iter()
        .find(|u| u.row.meter_name == "D2s v5" && u.row.tags.is_empty())
        .unwrap();
    assert_eq!(
        (untagged.row.quantity, untagged.row.cost.amount()),
        (dec("25"), dec("5.012"))
    );
}

#[test]
fn bad_usage_values_name_line_and_column() {
    let rows = vec![
        usage_row("10/3/2026", "rg", "D2s v5", "12", "2.406", ""),
        usage_row(
            "10/3/2026",
            "rg",
            "D2s v5",
            "12",
            "2.406",
            "{\"department\": Sales}",
        ),
    ];
    let err = read_usage(
        &Source::memory("usage.csv", usage_csv(&rows)),
        &UsageOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.line, Some(3));
    assert_eq!(err.column.as_deref(), Some("Tags"));
    assert!(
        err.message.starts_with("expected tags as a JSON object"),
        "{err}"
    );

    let rows = vec![usage_row("10/3/2026", "rg", "D2s v5", "12", "2,406", "")];
    let err = read_usage(
        &Source::memory("usage.csv", usage_csv(&rows)),
        &UsageOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "usage.csv:2: column `BillingPreTaxTotal`: expected a number, found \"2,406\" (write it without thousands separators, with `.` as the decimal point)"
    );

    let recon_header =
        read_fixture("recon-file-schemas/nce_invoice_reconciliation_header_template.csv");
    let err = read_usage(
        &Source::memory("recon.csv", recon_header),
        &UsageOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "recon.csv: this looks like a Partner Center invoice reconciliation file, not an Azure daily rated usage file"
    );
}

#[test]
fn json_lines_are_streamed_too() {
    let page: serde_json::Value = serde_json::from_str(&read_fixture(BILLED)).unwrap();
    let lines: String = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{i}\n"))
        .collect();
    // serde_json::Value goes through f64: use a number with few digits for the exact check.
    let read = read_usage(
        &Source::memory("usage.jsonl", lines),
        &UsageOptions::default(),
    )
    .unwrap();
    assert_eq!(read.rows_read, 2);
    assert_eq!(read.rows[0].first_line, Some(1));
    let mut bad = read_fixture(BILLED).replace("\"quantity\": 23.200004", "\"quantity\": \"lots\"");
    bad = bad.replace('\t', "    ");
    let err = read_usage(&Source::memory("usage.json", bad), &UsageOptions::default()).unwrap_err();
    assert_eq!(err.column.as_deref(), Some("quantity"));
    assert_eq!(err.line, Some(4), "the line the item starts on");
}

/// Generated rows, streamed from a file; every total checked exactly against sums computed
/// while generating. 20,000 rows in the everyday suite (many read buffers, every aggregate
/// path); the 200,000-row run is a release-profile test, `cargo test --release -p tally-import
/// --test usage`, so it does not spend most of the debug suite's time.
#[test]
fn streams_20k_rows_with_exact_totals() {
    streams_rows_with_exact_totals(20_000);
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "release-profile test: cargo test --release -p tally-import --test usage"
)]
fn streams_200k_rows_with_exact_totals() {
    streams_rows_with_exact_totals(200_000);
}

fn streams_rows_with_exact_totals(rows: u64) {
    let dir = TempDir::new(&format!("usage-{rows}"));
    let path = dir.path("usage.csv");
    let spec = UsageGen::default();
    let expect = {
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        let e = write_usage(&mut out, rows, 20_261_031, &spec);
        out.flush().unwrap();
        e
    };
    let read = read_usage(&Source::file(&path), &UsageOptions::default()).unwrap();
    assert_eq!(read.rows_read, rows);
    assert_eq!(read.rows.iter().map(|u| u.source_rows).sum::<u64>(), rows);
    assert_eq!(
        read.rows.len(),
        expect.keys.len(),
        "one row per distinct aggregate"
    );
    let mut by_customer: HashMap<String, Decimal> = HashMap::new();
    let mut quantity = Decimal::ZERO;
    for u in &read.rows {
        *by_customer
            .entry(u.customer_id.clone().unwrap())
            .or_default() += u.row.cost.amount();
        quantity += u.row.quantity;
        assert_eq!(u.row.cost.currency().code(), "GBP");
    }
    for (customer, nanos) in &expect.cost_nanos_by_customer {
        assert_eq!(
            by_customer[customer],
            Decimal::from_i128_with_scale(*nanos, 9),
            "{customer}"
        );
    }
    assert_eq!(
        quantity,
        Decimal::from_i128_with_scale(expect.quantity_micros, 6)
    );

    // The same file through the whole import: three tenants by their domains.
    let (snapshot, warnings) = build_snapshot(&Inputs {
        usage: vec![FileInput::new(Source::file(&path))],
        ..Inputs::default()
    })
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        snapshot.tenant_names(),
        [
            "contoso.onmicrosoft.com",
            "fabrikam.onmicrosoft.com",
            "northwind.onmicrosoft.com"
        ]
    );
    let contoso: Decimal = snapshot.tenants[0]
        .azure_usage
        .iter()
        .map(|r| r.cost.amount())
        .sum();
    assert_eq!(
        contoso,
        Decimal::from_i128_with_scale(expect.cost_nanos_by_customer[CUSTOMER_ID], 9)
    );
}
