#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! Dated changes: a tenant on any day.

use chrono::NaiveDate;
use tally_snapshot::from_json;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
}

const HISTORY: &str = r#"{
  "version": 2,
  "period": { "start": "2026-10-01", "end": "2026-10-31" },
  "tenants": [ {
    "tenant": "acme.onmicrosoft.com",
    "users": [
      { "id": "1", "upn": "ann@acme.com", "display_name": "Ann", "department": "Sales", "enabled": true,
        "changes": [ { "date": "2026-10-14", "assigned_skus": ["cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"] },
                     { "date": "2026-10-20", "department": "Ops" } ] },
      { "id": "2", "upn": "bob@acme.com", "display_name": "Bob", "enabled": true, "created": "2026-10-15" },
      { "id": "3", "upn": "cat@acme.com", "display_name": "Cat", "enabled": true, "deleted": "2026-10-10",
        "department": "Ops", "changes": [ { "date": "2026-10-05", "department": "" } ] }
    ],
    "subscribed_skus": [
      { "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "part_number": "SPB", "purchased": 10, "assigned": 9,
        "unit_cost": { "amount": "18.10", "currency": "GBP" }, "term": "annual", "billing_plan": "monthly",
        "term_start": "2026-03-18",
        "changes": [ { "date": "2026-10-20", "purchased": 12 }, { "date": "2026-10-21", "assigned": 11 } ] }
    ],
    "counters": [
      { "name": "backup.protected_users", "value": 8, "as_of": "2026-10-01" },
      { "name": "backup.protected_users", "value": 11, "as_of": "2026-10-16" }
    ]
  } ]
}"#;

#[test]
fn a_tenant_on_a_day_has_the_changes_dated_up_to_it() {
    let snapshot = from_json(HISTORY).unwrap();
    let tenant = &snapshot.tenants[0];

    let early = tenant.at(day(1));
    let upns: Vec<&str> = early.users.iter().map(|u| u.upn.as_str()).collect();
    assert_eq!(
        upns,
        ["ann@acme.com", "cat@acme.com"],
        "Bob does not exist yet"
    );
    assert!(early.users[0].assigned_skus.is_empty());
    assert_eq!(early.subscribed_skus[0].purchased, 10);
    assert_eq!(early.counter("backup.protected_users").unwrap().value, 8);

    let cleared = tenant.at(day(7));
    assert_eq!(
        cleared.users[1].attribute("department"),
        None,
        "an empty value clears it"
    );

    let mid = tenant.at(day(14));
    assert_eq!(
        mid.users.len(),
        1,
        "Cat was deleted on the 10th, Bob arrives on the 15th"
    );
    assert_eq!(
        mid.users[0].assigned_skus.len(),
        1,
        "licence assigned on the 14th counts that day"
    );

    let late = tenant.at(day(31));
    assert_eq!(late.users.len(), 2);
    assert_eq!(late.users[0].department.as_deref(), Some("Ops"));
    assert_eq!(late.subscribed_skus[0].purchased, 12);
    assert_eq!(late.subscribed_skus[0].assigned, 11);
    assert_eq!(late.counter("backup.protected_users").unwrap().value, 11);
    assert!(
        late.users.iter().all(|u| u.changes.is_empty()),
        "a day's view has no history"
    );
}

#[test]
fn change_dates_are_every_day_something_changes() {
    let snapshot = from_json(HISTORY).unwrap();
    let dates: Vec<u32> = snapshot.tenants[0]
        .change_dates()
        .into_iter()
        .map(|d| chrono::Datelike::day(&d))
        .collect();
    assert_eq!(dates, [1, 5, 10, 14, 15, 16, 20, 21]);
}

#[test]
fn version_2_round_trips() {
    let snapshot = from_json(HISTORY).unwrap();
    let text = snapshot.to_json_pretty().unwrap();
    assert_eq!(from_json(&text).unwrap(), snapshot);
}
