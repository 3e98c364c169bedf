#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use chrono::NaiveDate;
use common::*;
use tally_import::counts::read_counts;
use tally_import::graph::{read_subscribed_skus, read_users};
use tally_import::recon::read_recon;
use tally_import::usage::{UsageOptions, read_usage};
use tally_import::{
    CostBasis, FileInput, FileKind, GraphTenant, Inputs, Mapping, Options, PriceList, Source,
    detect, import,
};
use tally_snapshot::Period;

fn october() -> Period {
    Period {
        start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
    }
}

const MAPPING: &str = "microsoft_id,tenant\n\
    c139c4bf-2e8b-4ab5-8bed-d9f50dcca7a2,contoso.onmicrosoft.com\n\
    contoso.com,contoso.onmicrosoft.com\n";

fn full_inputs() -> Inputs {
    let usage_rows = vec![vec![
        ("CustomerId", CUSTOMER_ID.to_string()),
        ("UsageDate", "10/3/2026".into()),
        ("MeterCategory", "Virtual Machines".into()),
        ("MeterName", "D2s v5".into()),
        ("ResourceGroup", "rg-web".into()),
        (
            "EntitlementId",
            "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".into(),
        ),
        ("Quantity", "24".into()),
        ("BillingPreTaxTotal", "4.812".into()),
        ("BillingCurrency", "GBP".into()),
        ("Tags", "{\"department\": \"Sales\"}".into()),
    ]];
    let usage = csv(
        &template("daily_rated_usage_header_template.csv"),
        &usage_rows,
    );
    Inputs {
        mapping: vec![Source::memory("mapping.csv", MAPPING)],
        graph: vec![GraphTenant {
            // A Microsoft id: the mapping names the tenant.
            tenant: CUSTOMER_ID.into(),
            users: vec![Source::file(fixture("synthetic/users_select_pages.json"))],
            subscribed_skus: vec![Source::file(fixture(
                "graph-examples/subscribedSkus_list_response.json",
            ))],
        }],
        recon: vec![Source::memory("recon.csv", scenario_csv(5))],
        usage: vec![FileInput::new(Source::memory("usage.csv", usage))],
        counts: vec![Source::memory(
            "counts.csv",
            "customer_or_tenant,counter,value,as_of\n\
             contoso.com,backup.protected_users,25,2026-10-15\n\
             contoso.onmicrosoft.com,backup.protected_users,27,2026-10-31\n",
        )],
        period: Some(october()),
        ..Inputs::default()
    }
}

#[test]
fn everything_together_makes_a_valid_snapshot() {
    let result = import(&full_inputs()).unwrap();
    let snapshot = &result.snapshot;
    assert_eq!(snapshot.tenant_names(), ["contoso.onmicrosoft.com"]);
    let t = &snapshot.tenants[0];
    assert_eq!(
        t.tenant_id.as_deref(),
        Some(CUSTOMER_ID),
        "the one GUID the mapping gives"
    );
    assert_eq!(t.users.len(), 3);
    assert_eq!(t.users[0].department.as_deref(), Some("Sales"));

    // Office 365 E5: cost, term and seat history from the reconciliation (the trial converted
    // to paid on 25 June 2021), assigned seats from Graph.
    assert_eq!(t.subscribed_skus.len(), 1);
    let e5 = &t.subscribed_skus[0];
    assert_eq!(e5.sku_id, "c7df2760-2c81-4ef7-b578-5b5392b571df");
    assert_eq!(e5.part_number, "ENTERPRISEPREMIUM");
    assert_eq!(
        (e5.purchased, e5.assigned),
        (0, 14),
        "no seats before the first change"
    );
    assert_eq!(e5.unit_cost.to_string(), "52.61 USD");
    assert_eq!(
        (e5.term.name(), e5.billing_plan.name()),
        ("annual", "monthly")
    );
    assert_eq!(e5.term_start, NaiveDate::from_ymd_opt(2021, 6, 25));
    assert_eq!(e5.changes.len(), 1);
    assert_eq!(
        e5.changes[0].date,
        NaiveDate::from_ymd_opt(2021, 6, 25).unwrap()
    );
    assert_eq!(e5.changes[0].purchased, Some(25));
    assert_eq!(t.at(october().end).subscribed_skus[0].purchased, 25);

    assert_eq!(t.counters.len(), 2, "a counter's history is kept");
    assert_eq!(t.counter("backup.protected_users").unwrap().value, 27);
    assert_eq!(t.azure_usage.len(), 1);
    assert_eq!(t.azure_usage[0].cost.to_string(), "4.812 GBP");
    assert_eq!(t.azure_usage[0].tags["department"], "Sales");

    // The reconciliation's Business Standard and E1 subscriptions are not SKUs this tenant
    // has in Graph: said, not guessed.
    assert!(result.warnings.iter().any(|w| {
        w.message
            .contains("matches none of the tenant's Graph SKUs")
    }));
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.message.contains("`CRMSTANDARD`) is `Suspended`"))
    );
    assert_eq!(result.recon.seat_changes.len(), 12);

    // What is built reads back through the snapshot reader unchanged.
    let text = snapshot.to_json_pretty().unwrap();
    let back = tally_snapshot::from_json(&text).unwrap();
    assert_eq!(&back, snapshot);
}

#[test]
fn counts_file_rules() {
    let read = |text: &str| read_counts(&Source::memory("counts.csv", text.to_string()));
    let rows = read("Customer_Or_Tenant,COUNTER,Value,AS_OF\nnorthwind.onmicrosoft.com,rmm.devices,40,2026-10-31\n").unwrap();
    assert_eq!(rows[0].value, 40);
    assert_eq!(rows[0].as_of.to_string(), "2026-10-31");
    let err =
        read("customer_or_tenant,counter,value,as_of\nn,rmm.devices,-3,2026-10-31\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "counts.csv:2: column `value`: expected a whole number zero or more, found \"-3\""
    );
    let err =
        read("customer_or_tenant,counter,value,as_of\nn,rmm.devices,3,10/31/2026\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "counts.csv:2: column `as_of`: expected a date YYYY-MM-DD, found \"10/31/2026\""
    );
    let err = read("northwind,rmm.devices,3,2026-10-31\n").unwrap_err();
    assert!(
        err.message
            .contains("needs the header `customer_or_tenant,counter,value,as_of`"),
        "{err}"
    );
    // The same counter twice on one day with two values.
    let mut inputs = Inputs::default();
    inputs.counts.push(Source::memory(
        "counts.csv",
        "customer_or_tenant,counter,value,as_of\nn,rmm.devices,3,2026-10-31\nn,rmm.devices,4,2026-10-31\n",
    ));
    let err = import(&inputs).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(
        err.message.contains("is 4 here and 3 at counts.csv:2"),
        "{err}"
    );
}

#[test]
fn mapping_conflicts_and_org_prefix() {
    let err = Mapping::read(&Source::memory(
        "map.csv",
        "microsoft_id,tenant\nABC,one\nabc,two\n",
    ))
    .unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(
        err.message
            .contains("mapped to `two` here and to `one` at map.csv:2"),
        "{err}"
    );
    let m = Mapping::read(&Source::memory("map.csv", MAPPING)).unwrap();
    assert_eq!(
        m.lookup("org:C139C4BF-2E8B-4AB5-8BED-D9F50DCCA7A2"),
        Some("contoso.onmicrosoft.com")
    );
    assert_eq!(m.lookup(" contoso.com "), Some("contoso.onmicrosoft.com"));
    assert_eq!(
        m.tenant_id_of("contoso.onmicrosoft.com").as_deref(),
        Some(CUSTOMER_ID)
    );
}

#[test]
fn detect_recognises_every_fixture() {
    let kind = |path: &str| {
        let bytes = std::fs::read(fixture(path)).unwrap();
        detect(Path::new(path), &bytes[..bytes.len().min(16 * 1024)])
    };
    assert_eq!(
        kind("graph-examples/users_list_default_properties_response.json"),
        FileKind::GraphUsers
    );
    assert_eq!(
        kind("graph-examples/subscribedSkus_list_response.json"),
        FileKind::GraphSubscribedSkus
    );
    assert_eq!(
        kind("synthetic/users_select_pages.json"),
        FileKind::GraphUsers
    );
    assert_eq!(
        kind(
            "partner-center-api-examples/nce_billed_invoice_lineitems_onetime_OneTimeInvoiceLineItem.json"
        ),
        FileKind::ReconJson
    );
    assert_eq!(
        kind("partner-center-api-examples/daily_rated_usage_unbilled_DailyRatedUsageLineItem.json"),
        FileKind::UsageJson
    );
    assert_eq!(
        kind(
            "partner-center-api-examples/legacy_office_billing_lineitems_LicenseBasedLineItem.json"
        ),
        FileKind::PartnerCenter("LicenseBasedLineItem".into())
    );
    assert_eq!(
        kind("recon-file-schemas/nce_invoice_reconciliation_header_template.csv"),
        FileKind::ReconCsv
    );
    assert_eq!(
        kind("recon-file-schemas/daily_rated_usage_header_template.csv"),
        FileKind::UsageCsv
    );
    assert_eq!(
        kind("recon-file-schemas/charge_types.csv"),
        FileKind::Unknown
    );
    let semicolons = scenario_csv(1).replace(',', ";");
    assert_eq!(
        detect(Path::new("x.csv"), semicolons.as_bytes()),
        FileKind::ReconCsv
    );
}

#[test]
fn semicolon_files_from_a_european_excel_read_the_same() {
    let header = template("nce_invoice_reconciliation_header_template.csv");
    let rows: Vec<_> = scenario_rows().iter().map(ReconRow::cells).collect();
    // Rebuild with `;` (the product qualifier JSON contains commas, so quote properly).
    let text = csv(&header, &rows);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    for record in reader.records() {
        out.write_record(&record.unwrap()).unwrap();
    }
    let semicolons = String::from_utf8(out.into_inner().unwrap()).unwrap();
    let a = read_recon(&[Source::memory("a.csv", text)], CostBasis::Effective).unwrap();
    let b = read_recon(&[Source::memory("b.csv", semicolons)], CostBasis::Effective).unwrap();
    assert_eq!(a.seat_changes.len(), b.seat_changes.len());
    assert_eq!(
        a.seat_changes.iter().map(|c| c.delta()).collect::<Vec<_>>(),
        b.seat_changes.iter().map(|c| c.delta()).collect::<Vec<_>>()
    );
}

#[test]
fn binary_and_utf16_files_are_refused_with_advice() {
    let err = read_recon(
        &[Source::memory("recon.xlsx", b"PK\x03\x04\x14\x00".to_vec())],
        CostBasis::Effective,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "recon.xlsx: this is an Excel workbook; export the sheet as CSV (UTF-8)"
    );
    let utf16: Vec<u8> = "\u{feff}PartnerId,CustomerId\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let err = read_usage(
        &Source::memory("usage.csv", utf16),
        &UsageOptions::default(),
    )
    .unwrap_err();
    assert!(err.message.contains("UTF-16"), "{err}");
    let err = read_users(
        &[Source::memory(
            "users.json.gz",
            b"\x1f\x8b\x08\x00".to_vec(),
        )],
        false,
    )
    .unwrap_err();
    assert!(err.message.contains("gzip"), "{err}");
}

/// Every importer, on damaged copies of every fixture: errors are fine, panics are not.
#[test]
fn damaged_input_never_panics() {
    let mut texts: Vec<(String, Vec<u8>)> = [
        "graph-examples/users_list_default_properties_response.json",
        "graph-examples/subscribedSkus_list_response.json",
        "synthetic/users_select_pages.json",
        "partner-center-api-examples/nce_billed_invoice_lineitems_onetime_OneTimeInvoiceLineItem.json",
        "partner-center-api-examples/daily_rated_usage_billed_DailyRatedUsageLineItem.json",
    ]
    .iter()
    .map(|p| (p.to_string(), std::fs::read(fixture(p)).unwrap()))
    .collect();
    texts.push(("recon.csv".into(), scenario_csv(3).into_bytes()));
    texts.push((
        "counts.csv".into(),
        b"customer_or_tenant,counter,value,as_of\nn,c,1,2026-10-31\n".to_vec(),
    ));
    texts.push(("map.csv".into(), MAPPING.as_bytes().to_vec()));
    texts.push((
        "prices.csv".into(),
        b"sku,unit_cost,currency,term,billing_plan\nSPB,1.00,GBP,annual,monthly\n".to_vec(),
    ));
    let mut usage = Vec::new();
    write_usage(&mut usage, 20, 9, &UsageGen::default());
    texts.push(("usage.csv".into(), usage));

    let noise: &[&[u8]] = &[
        b",",
        b"\"",
        b"\n",
        b"{",
        b"}",
        b"[",
        b"]",
        b"\xff",
        b"-",
        b"1e999",
        b"\r\n",
        b"\0",
        b"//",
        b":",
        "é".as_bytes(),
        "2021-05-2é".as_bytes(),
        b"\xef\xbb\xbf",
        b"\r",
    ];
    let mut rng = Lcg::new(0x5eed);
    for (name, original) in &texts {
        // More rounds on demand: TALLY_IMPORT_FUZZ_ROUNDS=5000 cargo test ...
        let rounds = std::env::var("TALLY_IMPORT_FUZZ_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(120);
        for round in 0..rounds {
            let mut bytes = original.clone();
            match round % 3 {
                // A prefix: a file cut short.
                0 => bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize),
                // A few bytes replaced by characters that matter to CSV and JSON.
                1 => {
                    for _ in 0..=rng.below(4) {
                        let at = rng.below(bytes.len() as u64 + 1) as usize;
                        let what = rng.pick(noise);
                        let end = (at + what.len()).min(bytes.len());
                        bytes.splice(at..end, what.iter().copied());
                    }
                }
                // A run of bytes removed.
                _ => {
                    let at = rng.below(bytes.len() as u64 + 1) as usize;
                    let end = (at + rng.below(40) as usize).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
            let source = Source::memory(name.clone(), bytes);
            let _ = read_users(std::slice::from_ref(&source), round % 2 == 0);
            let _ = read_subscribed_skus(&source, round % 2 == 0);
            let _ = read_recon(std::slice::from_ref(&source), CostBasis::Effective);
            let _ = read_usage(&source, &UsageOptions::default());
            let _ = read_counts(&source);
            let _ = Mapping::read(&source);
            let _ = PriceList::default().read(&source);
            let _ = detect(Path::new(name), &[]);
            let _ = import(&Inputs {
                usage: vec![FileInput::new(source.clone())],
                options: Options {
                    lenient: true,
                    ..Options::default()
                },
                ..Inputs::default()
            });
        }
    }
}
