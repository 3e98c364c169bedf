#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::*;
use rust_decimal::Decimal;
use tally_import::recon::{read_recon, read_recon_lines};
use tally_import::{ChargeType, CostBasis, SeatChange, Source};

const BILLED: &str =
    "partner-center-api-examples/nce_billed_invoice_lineitems_onetime_OneTimeInvoiceLineItem.json";
const UNBILLED: &str =
    "partner-center-api-examples/nce_unbilled_recon_lineitems_onetime_OneTimeInvoiceLineItem.json";

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// (subscription, sku, date, before, after, charge type) for compact comparisons.
fn summary(c: &SeatChange) -> (String, String, String, u32, u32, String) {
    (
        c.subscription_id.clone(),
        c.sku_id.clone(),
        c.date.to_string(),
        c.quantity_before,
        c.quantity_after,
        c.charge_type.name().to_string(),
    )
}

#[test]
fn api_line_items_read_strings_and_numbers_exactly() {
    let lines = read_recon_lines(&Source::file(fixture(BILLED))).unwrap();
    assert_eq!(lines.len(), 4);
    let pbi = &lines[1];
    assert_eq!(
        pbi.customer_domain.as_deref(),
        Some("kyletestpromos01.onmicrosoft.com")
    );
    assert_eq!(pbi.order_date.date, date("2021-05-20"));
    assert_eq!(
        pbi.order_date.time.unwrap().to_string(),
        "18:48:30.616828500"
    );
    assert_eq!(pbi.charge_type, ChargeType::New);
    // "16", "14.4", "50" are JSON strings here; the next two lines have JSON numbers.
    assert_eq!(pbi.unit_price, dec("16"));
    assert_eq!(pbi.effective_unit_price, Some(dec("14.4")));
    assert_eq!(pbi.quantity, 50);
    assert_eq!(
        pbi.total,
        Some(dec("793")),
        "totalForCustomer is the CSV's Total"
    );
    assert_eq!(pbi.reseller_mpn_id.as_deref(), Some("0"));
    assert_eq!(
        pbi.promotion_id.as_deref(),
        Some("39NFJQT1X27N:0002:39NFJQT1Q5KL")
    );
    assert_eq!(pbi.catalog_sku(), "CFQ7TTC0HL8W:0001");
    let waas = &lines[2];
    assert_eq!(
        waas.charge_type,
        ChargeType::New,
        "`New` and `new` are one type"
    );
    assert_eq!(waas.unit_price, dec("820"));
    assert_eq!(waas.billable_quantity, Some(dec("3.1618")));
    assert!(!waas.is_seat_based());
    // -08:00 offset: the day as written, the time in UTC.
    assert_eq!(waas.charge_start_date, Some(date("2019-02-04")));
    let e3 = &lines[3];
    assert_eq!(e3.tax_total, Some(dec("1.61")));
    assert_eq!(e3.customer_id, "org:9060d13d-c5ed-482e-b059-a15a38cbb28e");
    assert_eq!(e3.reference_id, None);
    assert_eq!(lines[0].product_qualifiers, ["AddOn", "Trial"]);
}

#[test]
fn api_examples_give_new_subscriptions_and_their_costs() {
    let recon = read_recon(&[Source::file(fixture(BILLED))], CostBasis::Effective).unwrap();
    let changes: Vec<_> = recon.seat_changes.iter().map(summary).collect();
    assert_eq!(
        changes,
        [
            (
                "2ae795eb-f76d-ce69-cba0-123456789000".into(),
                "CFQ7TTC01234:0001".into(),
                "2021-01-29".into(),
                0,
                1,
                "new".into()
            ),
            (
                "9d7d1f3d-c8de-461c-db6d-91debd5129f0".into(),
                "CFQ7TTC0HL8W:0001".into(),
                "2021-05-20".into(),
                0,
                50,
                "new".into()
            ),
            (
                "86646af9-e80a-4aa0-da80-3fd2b792c2cc".into(),
                "CFQ7TTC0LH0R:0002".into(),
                "2021-05-20".into(),
                0,
                25,
                "new".into()
            ),
        ],
        "by date, then customer id; the metered WaaS line makes no seat change"
    );
    let pbi = &recon.seat_changes[1];
    assert_eq!(pbi.delta(), 50);
    assert_eq!(
        pbi.reference_id.as_deref(),
        Some("28b535e0-68f4-40b5-84f7-8ed9241eb149")
    );

    let sub = recon
        .subscriptions
        .iter()
        .find(|s| s.subscription_id == "9d7d1f3d-c8de-461c-db6d-91debd5129f0")
        .unwrap();
    assert_eq!(sub.quantity, 50);
    assert_eq!(sub.term.unwrap().name(), "annual");
    assert_eq!(sub.billing_plan.unwrap().name(), "monthly");
    assert_eq!(sub.monthly_unit_cost.unwrap().to_string(), "14.40 USD");
    assert_eq!(sub.sku_guids, ["c1d032e0-5619-4761-9b5c-75b6831e1711"]);
    assert_eq!(sub.term_start, Some(date("2021-05-20")));
    let list = read_recon(&[Source::file(fixture(BILLED))], CostBasis::List).unwrap();
    let sub = list
        .subscriptions
        .iter()
        .find(|s| s.sku_id == "CFQ7TTC0HL8W:0001")
        .unwrap();
    assert_eq!(sub.monthly_unit_cost.unwrap().to_string(), "16.00 USD");
    // Office 365 E3 resolves to ENTERPRISEPACK by name; the trial is a monthly term.
    let e3 = recon
        .subscriptions
        .iter()
        .find(|s| s.sku_id == "CFQ7TTC01234:0001")
        .unwrap();
    assert_eq!(e3.sku_guids, ["6fd2c87f-b296-42f0-b197-1e91e994b900"]);
    let trial = recon
        .subscriptions
        .iter()
        .find(|s| s.sku_id == "CFQ7TTC0LH0R:0002")
        .unwrap();
    assert_eq!(trial.term.unwrap().name(), "monthly");
    assert_eq!(trial.monthly_unit_cost.unwrap().to_string(), "0.00 USD");
}

#[test]
fn billed_and_unbilled_together_do_not_double_count() {
    let recon = read_recon(
        &[
            Source::file(fixture(BILLED)),
            Source::file(fixture(UNBILLED)),
        ],
        CostBasis::Effective,
    )
    .unwrap();
    // Three unbilled items repeat billed ones (same charge, no invoice number, other tax);
    // the fourth is another customer's line that reuses the subscription id.
    assert_eq!(recon.lines.len(), 5);
    let w = recon
        .warnings
        .iter()
        .find(|w| w.message.contains("repeat lines of"))
        .unwrap();
    assert!(
        w.file
            .ends_with("nce_unbilled_recon_lineitems_onetime_OneTimeInvoiceLineItem.json")
    );
    assert!(w.message.starts_with("3 line(s)"), "{w}");
    assert_eq!(recon.seat_changes.len(), 4);
    let e3: Vec<_> = recon
        .seat_changes
        .iter()
        .filter(|c| c.subscription_id == "2ae795eb-f76d-ce69-cba0-123456789000")
        .map(|c| (c.customer_id.as_str(), c.quantity_before, c.quantity_after))
        .collect();
    assert_eq!(
        e3,
        [
            ("org:9060d13d-c5ed-482e-b059-a15a38cbb28e", 0, 1),
            ("org:d7f565f5-5367-492f-a465-9e2057c5e3c3", 0, 1)
        ]
    );
}

fn scenario_expected() -> Vec<(String, String, String, u32, u32, String)> {
    let r = |s: &str, sku: (&str, &str, &str), d: &str, b: u32, a: u32, t: &str| {
        (
            s.to_string(),
            format!("{}:{}", sku.0, sku.1),
            d.to_string(),
            b,
            a,
            t.to_string(),
        )
    };
    // By date, then customer, subscription and product; one product's changes in the order
    // they happened.
    vec![
        r(S1, BUSINESS_STANDARD, "2021-06-18", 0, 10, "new"),
        r(S3, BUSINESS_STANDARD, "2021-06-18", 0, 300, "new"),
        r(S1, BUSINESS_STANDARD, "2021-06-20", 10, 12, "addQuantity"),
        r(S1, BUSINESS_STANDARD, "2021-06-22", 12, 8, "removeQuantity"),
        r(S3, BUSINESS_STANDARD, "2021-06-25", 300, 200, "convert"),
        r(S4, OFFICE_E1, "2021-06-25", 0, 100, "convert"),
        r(S5, E5, "2021-06-25", 0, 25, "convert"),
        r(S5, E5_TRIAL, "2021-06-25", 0, 25, "new"),
        r(S5, E5_TRIAL, "2021-06-25", 25, 0, "convert"),
        r(S2, BUSINESS_STANDARD, "2021-07-15", 0, 10, "new"),
        r(
            S2,
            BUSINESS_STANDARD,
            "2021-07-17",
            10,
            0,
            "cancelImmediate",
        ),
        r(S1, BUSINESS_STANDARD, "2021-07-18", 8, 8, "renew"),
    ]
}

#[test]
fn microsofts_scenarios_give_dated_seat_changes_from_unsorted_rows() {
    for seed in [1, 2, 3, 42] {
        let text = scenario_csv(seed);
        let recon = read_recon(&[Source::memory("recon.csv", text)], CostBasis::Effective).unwrap();
        let changes: Vec<_> = recon.seat_changes.iter().map(summary).collect();
        assert_eq!(changes, scenario_expected(), "seed {seed}");
        // The E1 subscription has only its prorated convert charge: list price, with a word.
        assert_eq!(recon.warnings.len(), 1, "{:?}", recon.warnings);
        assert!(recon.warnings[0].message.starts_with(&format!(
            "subscription {S4} (CFQ7TTC0LF8Q:0001): no line charges a whole billing cycle"
        )));
        // Lines come out sorted by order date whatever order they arrived in.
        assert!(
            recon
                .lines
                .windows(2)
                .all(|w| w[0].order_date <= w[1].order_date)
        );
    }
    let recon = read_recon(
        &[Source::memory("recon.csv", scenario_csv(7))],
        CostBasis::Effective,
    )
    .unwrap();
    let add = recon
        .seat_changes
        .iter()
        .find(|c| c.charge_type == ChargeType::AddQuantity)
        .unwrap();
    assert_eq!(add.date, date("2021-06-20"));
    assert_eq!(add.delta(), 2);
    assert_eq!(
        add.reference_id.as_deref(),
        Some("a0000000-0000-0000-0000-000000000002")
    );
    let remove = recon
        .seat_changes
        .iter()
        .find(|c| c.charge_type == ChargeType::RemoveQuantity)
        .unwrap();
    assert_eq!(remove.delta(), -4);

    let s1 = recon
        .subscriptions
        .iter()
        .find(|s| s.subscription_id == S1)
        .unwrap();
    assert_eq!(s1.quantity, 8);
    assert_eq!(
        s1.monthly_unit_cost.unwrap().to_string(),
        "10.08 USD",
        "from the renewal, not the prorated 9.408"
    );
    assert_eq!(
        s1.sku_guids,
        ["f245ecc8-75af-4f8e-b61f-27d8114de5f3"],
        "Business Standard is O365_BUSINESS_PREMIUM"
    );
    let s2 = recon
        .subscriptions
        .iter()
        .find(|s| s.subscription_id == S2)
        .unwrap();
    assert_eq!(s2.quantity, 0);
    let paid = recon
        .subscriptions
        .iter()
        .find(|s| s.sku_id == "CFQ7TTC0LF8R:0001")
        .unwrap();
    assert_eq!((paid.quantity, paid.term.unwrap().name()), (25, "annual"));
    assert_eq!(paid.monthly_unit_cost.unwrap().to_string(), "52.61 USD");
    assert_eq!(paid.sku_guids, ["c7df2760-2c81-4ef7-b578-5b5392b571df"]);
}

/// The scenario with Microsoft's other spellings: camelCase API names as CSV headers (with
/// `totalForCustomer`, `resellerMpnId`), `MPNID`, `ReferenceID`, ISO dates with times, and
/// an extra column.
#[test]
fn header_aliases_camel_case_and_iso_dates() {
    let header = template("nce_invoice_reconciliation_header_template.csv");
    let rename = |h: &str| -> String {
        match h {
            "MpnId" => "MPNID".into(),
            "ResellerMpnId" => "Tier2MpnId".into(),
            "ReferenceId" => "ReferenceID".into(),
            "Total" => "totalForCustomer".into(),
            "PCToBCExchangeRate" => "pcToBCExchangeRate".into(),
            other => {
                let mut c = other.chars();
                c.next()
                    .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            }
        }
    };
    let mut renamed: Vec<String> = header.iter().map(|h| rename(h)).collect();
    renamed.push("SomethingNew".into());
    let to_iso = |v: &str| -> String {
        let p: Vec<&str> = v.split('/').collect();
        format!("{}-{:0>2}-{:0>2}T00:00:00Z", p[2], p[0], p[1])
    };
    let rows: Vec<Vec<(&str, String)>> = scenario_rows()
        .iter()
        .map(|r| {
            r.cells()
                .into_iter()
                .map(|(k, v)| {
                    let v = if k.ends_with("Date") && v.contains('/') {
                        to_iso(&v)
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect()
        })
        .collect();
    // Write with the original names, then swap the header line for the renamed one.
    let text = csv(&header, &rows);
    let body = text.split_once('\n').unwrap().1;
    let body: String = body.lines().map(|l| format!("{l},x\n")).collect();
    let text = format!("{}\n{body}", renamed.join(","));
    assert!(text.contains("2021-06-20T00:00:00Z"));
    let recon = read_recon(&[Source::memory("camel.csv", text)], CostBasis::Effective).unwrap();
    let changes: Vec<_> = recon.seat_changes.iter().map(summary).collect();
    assert_eq!(changes, scenario_expected());
    let line = &recon.lines[0];
    assert_eq!(line.mpn_id.as_deref(), Some("5357564"));
    assert_eq!(line.reseller_mpn_id.as_deref(), Some("0"));
    assert_eq!(line.total, Some(dec("100.8")));
    assert!(line.reference_id.is_some());
}

#[test]
fn a_corrupt_row_names_its_line_and_column() {
    let header = template("nce_invoice_reconciliation_header_template.csv");
    let base = scenario_rows();
    let mut rows: Vec<Vec<(&str, String)>> = Vec::new();
    for i in 0..20 {
        let mut cells = base[i % base.len()].cells();
        if i == 15 {
            for (k, v) in cells.iter_mut() {
                if *k == "Quantity" {
                    *v = "1O".into();
                }
            }
        }
        rows.push(cells);
    }
    let err = read_recon(
        &[Source::memory("recon.csv", csv(&header, &rows))],
        CostBasis::Effective,
    )
    .unwrap_err();
    assert_eq!(err.line, Some(17));
    assert_eq!(err.record, Some(16));
    assert_eq!(err.column.as_deref(), Some("Quantity"));
    assert_eq!(
        err.to_string(),
        "recon.csv:17: column `Quantity`: expected a whole number, found \"1O\""
    );
    // Windows line endings (as Partner Center and Excel write them), and blank lines.
    let crlf = csv(&header, &rows).replace('\n', "\r\n");
    let err = read_recon(
        &[Source::memory("recon.csv", crlf.clone())],
        CostBasis::Effective,
    )
    .unwrap_err();
    assert_eq!((err.line, err.record), (Some(17), Some(16)));
    let blank = crlf.replacen("\r\n", "\r\n\r\n", 5);
    let err = read_recon(&[Source::memory("recon.csv", blank)], CostBasis::Effective).unwrap_err();
    assert_eq!(
        (err.line, err.record),
        (Some(22), Some(16)),
        "five blank lines before it"
    );

    // A bad date, same shape of message.
    rows[15] = base[0]
        .cells()
        .into_iter()
        .map(|(k, v)| {
            if k == "OrderDate" {
                (k, "13/45/2021".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let err = read_recon(
        &[Source::memory("recon.csv", csv(&header, &rows))],
        CostBasis::Effective,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "recon.csv:17: column `OrderDate`: expected a date (M/D/YYYY or YYYY-MM-DD, optionally with a time), found \"13/45/2021\""
    );
    // A row cut short (an unquoted line break in a product name, say).
    let mut text = csv(&header, &rows[..3]);
    text.push_str("934f3416-bc2f-47f3-b492-77e517d4e572,c139c4bf\n");
    let err = read_recon(&[Source::memory("recon.csv", text)], CostBasis::Effective).unwrap_err();
    assert_eq!(err.line, Some(5));
    assert!(
        err.message
            .starts_with("the row has 2 fields but the header has 47"),
        "{err}"
    );
}

#[test]
fn wrong_files_are_named() {
    let usage_header = read_fixture("recon-file-schemas/daily_rated_usage_header_template.csv");
    let err = read_recon(
        &[Source::memory("usage.csv", usage_header)],
        CostBasis::Effective,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "usage.csv: this looks like an Azure daily rated usage file, not a reconciliation file"
    );
    let legacy = Source::file(fixture(
        "partner-center-api-examples/legacy_office_billing_lineitems_LicenseBasedLineItem.json",
    ));
    let err = read_recon(&[legacy], CostBasis::Effective).unwrap_err();
    assert!(err.message.ends_with("this looks like a Partner Center `LicenseBasedLineItem` response, not a reconciliation file"), "{err}");
    let users = Source::file(fixture(
        "graph-examples/users_list_default_properties_response.json",
    ));
    let err = read_recon(&[users], CostBasis::Effective).unwrap_err();
    assert!(
        err.message
            .contains("a Microsoft Graph users response, not a reconciliation file")
    );
    let missing = "PartnerId,CustomerId,OrderDate,ChargeType,Subtotal,ReferenceId\n";
    let err = read_recon(
        &[Source::memory("short.csv", missing)],
        CostBasis::Effective,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "short.csv:1: not a reconciliation file: the header has no columns `SubscriptionId`, `Quantity`, `UnitPrice`, `Currency`"
    );
}

#[test]
fn a_lone_add_quantity_charge_is_a_warning_not_a_guess() {
    let header = template("nce_invoice_reconciliation_header_template.csv");
    let rows = scenario_rows();
    // Only the charge half of the addQuantity pair, with no earlier line for the subscription.
    let text = csv(&header, &[rows[2].cells()]);
    let recon = read_recon(&[Source::memory("recon.csv", text)], CostBasis::Effective).unwrap();
    assert!(recon.seat_changes.is_empty());
    assert!(recon.warnings.iter().any(|w| {
        w.message
            .contains("no refund line with the same ReferenceId")
    }));
}

#[test]
fn an_empty_api_page_is_no_lines() {
    let empty = r#"{"totalCount": 0, "items": [], "attributes": {"objectType": "Collection"}}"#;
    let recon = read_recon(&[Source::memory("empty.json", empty)], CostBasis::Effective).unwrap();
    assert!(recon.lines.is_empty() && recon.seat_changes.is_empty());
    let usage = tally_import::usage::read_usage(
        &Source::memory("empty.json", empty),
        &tally_import::usage::UsageOptions::default(),
    )
    .unwrap();
    assert_eq!(usage.rows_read, 0);
}
