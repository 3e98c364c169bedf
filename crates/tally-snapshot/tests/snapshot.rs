//! Reading, writing and rejecting snapshots.

// Tests may unwrap and panic; clippy only exempts `#[test]` functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_money::{Currency, Money};
use tally_snapshot::{
    BillingPlan, CURRENT_VERSION, Counter, Period, Snapshot, SnapshotError, Tenant, Term, from_json,
};

const SMALL: &str = include_str!("fixtures/small.json");

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn gbp(amount: &str) -> Money {
    Money::new(
        Decimal::from_str(amount).unwrap(),
        Currency::from_code("GBP").unwrap(),
    )
}

fn small() -> Snapshot {
    from_json(SMALL).unwrap()
}

/// `SMALL` with the first occurrence of `from` replaced by `to` (which must exist).
fn small_with(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "fixture lacks {from:?}");
    SMALL.replacen(from, to, 1)
}

fn err(text: &str) -> SnapshotError {
    from_json(text).unwrap_err()
}

/// 1-based (line, column) of the last byte of the first occurrence of `needle` in `text`.
fn end_of(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}")) + needle.len() - 1;
    position(text, at)
}

/// 1-based (line, column) of the first byte of the first occurrence of `needle` in `text`.
fn start_of(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    position(text, at)
}

fn position(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, byte - line_start + 1)
}

fn at(e: &SnapshotError) -> (usize, usize) {
    (e.line.unwrap(), e.column.unwrap())
}

// ---------------------------------------------------------------- reading

#[test]
fn realistic_small_snapshot_parses() {
    let s = small();
    assert_eq!(s.version, 1, "version 1 files stay readable");
    let period = s.period.unwrap();
    assert_eq!(period.days(), 31);
    assert!(period.contains(date("2026-10-01")));
    assert!(period.contains(date("2026-10-31")));
    assert!(!period.contains(date("2026-11-01")));
    assert!(!period.contains(date("2026-09-30")));
    assert_eq!(
        s.tenant_names(),
        ["northwind.onmicrosoft.com", "contoso.onmicrosoft.com"]
    );

    let nw = s.tenant("Northwind.OnMicrosoft.com").unwrap();
    assert_eq!(nw.users.len(), 3);
    assert_eq!(
        s.tenant("0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0")
            .unwrap()
            .tenant,
        nw.tenant
    );
    assert!(s.tenant("fabrikam.onmicrosoft.com").is_none());

    let ann = &nw.users[0];
    assert_eq!(ann.attribute("department"), Some("Sales"));
    assert_eq!(ann.attribute("office"), Some("London HQ"));
    assert_eq!(ann.attribute("city"), Some("London"));
    assert_eq!(ann.attribute("upn"), None, "not a grouping attribute");
    let bob = &nw.users[1];
    assert!(!bob.enabled);
    assert_eq!(bob.attribute("department"), None, "whitespace-only");
    assert_eq!(bob.attribute("office"), None, "null");
    assert_eq!(bob.attribute("city"), None, "absent");
    assert!(bob.has_sku("4EF96642-F096-40DE-A3E9-D83FB2F90211"));
    assert!(nw.users[2].assigned_skus.is_empty(), "defaults to []");

    let spb = nw
        .subscribed_sku("CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46")
        .unwrap();
    assert_eq!(spb.part_number, "SPB");
    assert_eq!(spb.unit_cost, gbp("18.10"));
    assert_eq!(spb.term, Term::Annual);
    assert_eq!(spb.billing_plan, BillingPlan::Monthly);
    assert_eq!(
        nw.subscribed_skus_for("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46")
            .len(),
        2
    );
    let atp = nw
        .subscribed_sku("4ef96642-f096-40de-a3e9-d83fb2f90211")
        .unwrap();
    assert!(atp.assigned > atp.purchased, "over-assignment is allowed");
    assert_eq!(
        (atp.term.name(), atp.billing_plan.name()),
        ("triennial", "upfront")
    );

    assert_eq!(
        nw.counter("backup.protected_users"),
        Some(&Counter {
            name: "backup.protected_users".into(),
            value: 27,
            as_of: date("2026-10-31"),
        })
    );
    assert!(
        nw.counter("Backup.Protected_Users").is_none(),
        "exact names"
    );

    let vm = &nw.azure_usage[0];
    assert_eq!(vm.quantity, Decimal::from(24));
    assert_eq!(vm.cost, gbp("4.812"));
    assert_eq!(
        vm.tags.get("cost centre").map(String::as_str),
        Some("CC-100")
    );
    assert!(nw.azure_usage[1].tags.is_empty(), "defaults to {{}}");
    assert_eq!(
        nw.azure_usage[1].quantity,
        Decimal::from_str("0.3125").unwrap()
    );

    let contoso = s.tenant("contoso.onmicrosoft.com").unwrap();
    assert!(contoso.counters.is_empty() && contoso.azure_usage.is_empty());
    assert!(contoso.tenant_id.is_none());
    assert!(
        contoso
            .subscribed_sku("f245ecc8-75af-4f8e-b61f-27d8114de5f3")
            .is_some()
    );
}

#[test]
fn minimal_snapshot_parses() {
    let s = from_json(r#"{"version": 1, "tenants": [{"tenant": "a.onmicrosoft.com"}]}"#).unwrap();
    assert_eq!(s.period, None);
    let t = &s.tenants[0];
    assert!(t.users.is_empty() && t.subscribed_skus.is_empty());
    assert!(t.counters.is_empty() && t.azure_usage.is_empty());
    assert!(from_json(r#"{"version": 1}"#).unwrap().tenants.is_empty());
}

#[test]
fn round_trip() {
    let s = small();
    let text = s.to_json_pretty().unwrap();
    let back = from_json(&text).unwrap();
    assert_eq!(back, s);
    // Amounts keep their written scale and stay strings.
    assert!(text.contains(r#""amount": "18.10""#), "{text}");
    assert!(text.contains(r#""quantity": "0.3125""#), "{text}");
    assert!(text.contains(r#""as_of": "2026-10-31""#), "{text}");
    // Writing is stable.
    assert_eq!(back.to_json_pretty().unwrap(), text);
}

#[test]
fn round_trip_built_in_code() {
    let s = Snapshot {
        version: CURRENT_VERSION,
        period: Some(Period {
            start: date("2026-02-01"),
            end: date("2026-02-28"),
        }),
        tenants: vec![Tenant {
            tenant: "x.onmicrosoft.com".into(),
            tenant_id: None,
            users: vec![],
            subscribed_skus: vec![],
            counters: vec![Counter {
                name: "n".into(),
                value: u64::MAX,
                as_of: date("2026-02-28"),
            }],
            azure_usage: vec![],
        }],
        rates: vec![],
    };
    assert_eq!(s.period.unwrap().days(), 28);
    assert!(s.validate().is_ok());
    assert_eq!(from_json(&s.to_json_pretty().unwrap()).unwrap(), s);
}

#[test]
fn validate_reports_path_without_position() {
    let mut s = small();
    s.tenants[1].tenant = "NORTHWIND.onmicrosoft.com".into();
    let e = s.validate().unwrap_err();
    assert_eq!(e.path, "tenants[1].tenant");
    assert_eq!((e.line, e.column), (None, None));
}

// ---------------------------------------------------------------- version

#[test]
fn version_3_is_rejected_before_the_shape() {
    // A future file with fields this build does not know: the version is what's reported.
    let text = small_with(r#""version": 1,"#, r#""future": true, "version": 3,"#);
    let e = err(&text);
    assert_eq!(e.path, "version");
    assert_eq!(at(&e), end_of(&text, r#""version": 3"#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn version_0_is_rejected() {
    let text = small_with(r#""version": 1"#, r#""version": 0"#);
    let e = err(&text);
    assert_eq!(e.path, "version");
    assert_eq!(at(&e), end_of(&text, r#""version": 0"#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn missing_version_is_rejected() {
    let text = small_with(r#""version": 1,"#, "");
    let e = err(&text);
    assert_eq!(e.path, "$");
    assert!(e.message.contains("reads snapshot versions 1 to 2"), "{e}");
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn version_as_string_is_rejected() {
    let text = small_with(r#""version": 1"#, r#""version": "1""#);
    let e = err(&text);
    assert_eq!(e.path, "version");
    assert_eq!(at(&e), end_of(&text, r#""version": "1""#));
    insta::assert_snapshot!(e.to_string());
}

// ---------------------------------------------------------------- JSON syntax

#[test]
fn invalid_json_is_reported_at_root_with_position() {
    let text = small_with(
        r#""upn": "bob@northwind.co.uk","#,
        r#""upn": "bob@northwind.co.uk""#,
    );
    let e = err(&text);
    assert_eq!(e.path, "$");
    // serde_json stops at the next key, where it wanted a comma.
    assert_eq!(at(&e), start_of(&text, r#""display_name": "Bob Stone""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn trailing_characters_are_rejected() {
    let text = format!("{SMALL}\n}}");
    let e = err(&text);
    assert_eq!(e.path, "$");
    assert_eq!(e.line, Some(SMALL.lines().count() + 2));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn empty_text_is_rejected() {
    let e = err("");
    assert_eq!(e.path, "$");
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn non_object_root_is_rejected() {
    let e = err("[]");
    assert_eq!(e.path, "$");
    insta::assert_snapshot!(e.to_string());
}

// ---------------------------------------------------------------- shape errors

#[test]
fn wrong_type_is_reported_with_path() {
    let text = small_with(r#""enabled": false"#, r#""enabled": "yes""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].users[1].enabled");
    assert_eq!(at(&e), end_of(&text, r#""enabled": "yes""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn missing_field_is_reported_at_the_object() {
    let text = small_with(r#""upn": "meeting-room-1@northwind.co.uk","#, "");
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].users[2]");
    assert_eq!(e.message, "missing field `upn`");
    // serde_json reports a missing field at the end of the object that lacks it.
    let room = text.find("Meeting Room 1").unwrap();
    let close = room + text[room..].find('}').unwrap();
    assert_eq!(at(&e), position(&text, close));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn unknown_field_is_reported() {
    let text = small_with(r#""department": "Sales""#, r#""departmnet": "Sales""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].users[0].departmnet");
    assert!(
        e.message
            .starts_with("unknown field `departmnet`, expected one of")
    );
    assert_eq!(at(&e), end_of(&text, r#""departmnet""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn amount_as_number_says_to_quote_it() {
    let text = small_with(r#""amount": "18.10""#, r#""amount": 18.10"#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].subscribed_skus[0].unit_cost.amount");
    assert!(e.message.contains("quote"), "{e}");
    assert_eq!(at(&e), end_of(&text, r#""amount": 18.10"#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn quantity_as_number_says_to_quote_it() {
    let text = small_with(r#""quantity": "24""#, r#""quantity": 24"#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].azure_usage[0].quantity");
    assert!(e.message.contains("quote"), "{e}");
    assert_eq!(at(&e), end_of(&text, r#""quantity": 24"#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn bad_amount_text_is_rejected() {
    let text = small_with(r#""amount": "4.812""#, r#""amount": "4,812""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].azure_usage[0].cost.amount");
    assert_eq!(at(&e), end_of(&text, r#""amount": "4,812""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn bad_date_is_rejected() {
    let text = small_with(r#""as_of": "2026-10-31""#, r#""as_of": "2026-13-01""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].counters[0].as_of");
    assert_eq!(at(&e), end_of(&text, r#""as_of": "2026-13-01""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn date_in_another_format_is_rejected() {
    let text = small_with(r#""date": "2026-10-03""#, r#""date": "03/10/2026""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].azure_usage[0].date");
    assert_eq!(at(&e), end_of(&text, r#""date": "03/10/2026""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn unknown_currency_is_rejected() {
    let text = small_with(r#""currency": "GBP""#, r#""currency": "GBX""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].subscribed_skus[0].unit_cost.currency");
    assert_eq!(at(&e), end_of(&text, r#""currency": "GBX""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn unknown_term_is_rejected() {
    let text = small_with(r#""term": "annual""#, r#""term": "yearly""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].subscribed_skus[0].term");
    assert_eq!(at(&e), end_of(&text, r#""term": "yearly""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn negative_counter_is_rejected() {
    let text = small_with(r#""value": 31"#, r#""value": -1"#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].counters[1].value");
    assert_eq!(at(&e), end_of(&text, r#""value": -1"#));
    insta::assert_snapshot!(e.to_string());
}

// ---------------------------------------------------------------- validation

#[test]
fn period_start_after_end_is_rejected() {
    let text = small_with(r#""end": "2026-10-31""#, r#""end": "2026-09-30""#);
    let e = err(&text);
    assert_eq!(e.path, "period");
    assert_eq!(at(&e), start_of(&text, r#"{ "start""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn one_day_period_is_fine() {
    let text = small_with(r#""end": "2026-10-31""#, r#""end": "2026-10-01""#);
    assert_eq!(from_json(&text).unwrap().period.unwrap().days(), 1);
}

#[test]
fn duplicate_tenant_is_rejected_case_insensitively() {
    let text = small_with(
        r#""tenant": "contoso.onmicrosoft.com""#,
        r#""tenant": "NorthWind.onmicrosoft.com""#,
    );
    let e = err(&text);
    assert_eq!(e.path, "tenants[1].tenant");
    assert_eq!(
        at(&e),
        end_of(&text, r#""tenant": "NorthWind.onmicrosoft.com""#)
    );
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn empty_tenant_name_is_rejected() {
    let text = small_with(r#""tenant": "contoso.onmicrosoft.com""#, r#""tenant": " ""#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[1].tenant");
    assert_eq!(at(&e), end_of(&text, r#""tenant": " ""#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn duplicate_user_id_is_rejected() {
    let text = small_with(
        r#""id": "6f1c0a52-3f0e-4d7b-9a55-0c2d1f7e8a03""#,
        r#""id": "6F1C0A52-3F0E-4D7B-9A55-0C2D1F7E8A01""#,
    );
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].users[2].id");
    assert_eq!(
        at(&e),
        end_of(&text, r#""id": "6F1C0A52-3F0E-4D7B-9A55-0C2D1F7E8A01""#)
    );
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn same_user_id_in_two_tenants_is_fine() {
    let text = small_with(
        r#""id": "1a2b3c4d-0000-4000-8000-000000000001""#,
        r#""id": "6f1c0a52-3f0e-4d7b-9a55-0c2d1f7e8a01""#,
    );
    assert!(from_json(&text).is_ok());
}

#[test]
fn empty_counter_name_is_rejected() {
    let text = small_with(r#""name": "rmm.agents""#, r#""name": """#);
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].counters[1].name");
    assert_eq!(at(&e), end_of(&text, r#""name": """#));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn duplicate_counter_name_is_rejected() {
    let text = small_with(
        r#""name": "rmm.agents""#,
        r#""name": "backup.protected_users""#,
    );
    let e = err(&text);
    assert_eq!(e.path, "tenants[0].counters[1].name");
    let second = text.find(r#""name": "backup.protected_users""#).unwrap() + 1;
    let needle = r#""name": "backup.protected_users""#;
    let again = second + text[second..].find(needle).unwrap() + needle.len() - 1;
    assert_eq!(at(&e), position(&text, again));
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn error_display_without_position() {
    let e = SnapshotError {
        path: "$".into(),
        line: None,
        column: None,
        message: "boom".into(),
    };
    assert_eq!(e.to_string(), "$: boom");
    let e = SnapshotError {
        line: Some(3),
        column: Some(7),
        ..e
    };
    assert_eq!(e.to_string(), "$: boom (line 3, column 7)");
}

// ---------------------------------------------------------------- the docs

const DOC: &str = include_str!("../../../docs/snapshot.md");

/// The JSON block after `<!-- complete example -->` in docs/snapshot.md.
fn docs_example() -> &'static str {
    let marker = "<!-- complete example -->";
    let after = &DOC[DOC.find(marker).expect("marker in docs/snapshot.md") + marker.len()..];
    let start = after.find("```json\n").unwrap() + "```json\n".len();
    let end = start + after[start..].find("```").unwrap();
    &after[start..end]
}

/// The complete example in docs/snapshot.md must be a valid snapshot.
#[test]
fn docs_example_parses() {
    let snapshot = from_json(docs_example()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snapshot.tenants.len(), 2);
    assert_eq!(
        from_json(&snapshot.to_json_pretty().unwrap()).unwrap(),
        snapshot
    );
}

/// The error messages quoted in docs/snapshot.md are what this build prints for those edits
/// of the complete example.
#[test]
fn docs_error_examples_are_real() {
    let example = docs_example();
    for (from, to) in [
        (r#""enabled": false"#, r#""enabled": "yes""#),
        (r#""version": 1,"#, ""),
        (r#""version": 1"#, r#""version": 3"#),
        (r#""upn": "cara@contoso.com","#, ""),
        (r#""department": "Sales""#, r#""departmnet": "Sales""#),
        (r#""amount": "18.10""#, r#""amount": 18.10"#),
        (r#""currency": "GBP""#, r#""currency": "gbp""#),
        (r#""as_of": "2026-10-31""#, r#""as_of": "2026-13-01""#),
        (r#""end": "2026-10-31""#, r#""end": "2026-09-30""#),
        (
            r#""tenant": "contoso.onmicrosoft.com""#,
            r#""tenant": "NorthWind.onmicrosoft.com""#,
        ),
    ] {
        assert!(example.contains(from), "example lacks {from:?}");
        let message = err(&example.replacen(from, to, 1)).to_string();
        assert!(
            DOC.contains(&format!("\n{message}\n")),
            "docs/snapshot.md should quote: {message}"
        );
    }
}
