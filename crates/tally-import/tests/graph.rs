#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fixture, read_fixture};
use tally_import::graph::{read_subscribed_skus, read_users};
use tally_import::{GraphTenant, Inputs, Options, Source, build_snapshot};

const DEFAULT_USERS: &str = "graph-examples/users_list_default_properties_response.json";
const SKUS: &str = "graph-examples/subscribedSkus_list_response.json";
const SELECT_USERS: &str = "synthetic/users_select_pages.json";

#[test]
fn users_fetched_without_select_are_refused_naming_file_record_and_fix() {
    let err = read_users(&[Source::file(fixture(DEFAULT_USERS))], false).unwrap_err();
    assert!(
        err.file
            .ends_with("users_list_default_properties_response.json")
    );
    assert_eq!(err.record, Some(1));
    assert_eq!(err.line, Some(4));
    assert_eq!(err.column.as_deref(), Some("accountEnabled"));
    let shown = err.to_string();
    assert!(
        shown.contains(":4: column `accountEnabled`: user 1 (`Adams@contoso.com`) has no `accountEnabled`, `department`, `assignedLicenses`"),
        "{shown}"
    );
    assert!(shown.contains("$select=id,userPrincipalName,displayName,department,officeLocation,city,accountEnabled,assignedLicenses"));
}

#[test]
fn lenient_takes_missing_account_enabled_as_true_and_lists_warnings() {
    let (users, warnings) = read_users(&[Source::file(fixture(DEFAULT_USERS))], true).unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].upn, "admin@contoso.com");
    assert_eq!(users[1].display_name, "MOD Administrator");
    assert!(
        users
            .iter()
            .all(|u| u.enabled && u.department.is_none() && u.assigned_skus.is_empty())
    );
    let per_user: Vec<_> = warnings
        .iter()
        .filter(|w| {
            w.message
                .contains("has no `accountEnabled`; taken as enabled")
        })
        .collect();
    assert_eq!(per_user.len(), 2);
    assert_eq!(per_user[0].record, Some(1));
    assert!(per_user[1].message.contains("admin@contoso.com"));
    assert!(
        warnings
            .iter()
            .any(|w| w.message.starts_with("2 user(s) have no `department`"))
    );
    assert!(warnings.iter().any(|w| {
        w.message
            .starts_with("2 user(s) have no `assignedLicenses`")
    }));
}

#[test]
fn selected_users_over_two_pages_keep_department_office_and_skus() {
    let (users, warnings) = read_users(&[Source::file(fixture(SELECT_USERS))], false).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(users.len(), 3);
    let ann = &users[0];
    assert_eq!(ann.department.as_deref(), Some("Sales"));
    assert_eq!(ann.office.as_deref(), Some("London HQ"));
    assert_eq!(ann.assigned_skus, ["c7df2760-2c81-4ef7-b578-5b5392b571df"]);
    let bob = &users[1];
    assert!(!bob.enabled);
    assert_eq!(bob.department, None);
    assert_eq!(
        bob.assigned_skus,
        [
            "c7df2760-2c81-4ef7-b578-5b5392b571df",
            "d17b27af-3f49-4822-99f9-56a661538792"
        ]
    );
    assert_eq!(users[2].department.as_deref(), Some("Finance"));
}

#[test]
fn pages_in_separate_files_and_a_missing_last_page() {
    let pages: serde_json::Value = serde_json::from_str(&read_fixture(SELECT_USERS)).unwrap();
    let first = Source::memory("page1.json", pages[0].to_string());
    let second = Source::memory("page2.json", pages[1].to_string());
    let (users, _) = read_users(&[first.clone(), second], false).unwrap();
    assert_eq!(users.len(), 3);

    // Only the first page: its nextLink says more pages exist.
    let err = read_users(std::slice::from_ref(&first), false).unwrap_err();
    assert_eq!(err.file, "page1.json");
    assert!(err.message.contains("`@odata.nextLink`"), "{err}");
    let (users, warnings) = read_users(&[first], true).unwrap();
    assert_eq!(users.len(), 2);
    assert!(warnings[0].message.contains("later pages are missing"));

    // The same page twice.
    let again = Source::memory("again.json", pages[1].to_string());
    let err = read_users(&[again.clone(), again], false).unwrap_err();
    assert!(err.message.contains("appears twice"), "{err}");
}

#[test]
fn wrong_types_name_the_field() {
    let text = r#"{"value": [{"id": "1", "userPrincipalName": "a@b.c", "displayName": "A",
        "department": "IT", "accountEnabled": "yes", "assignedLicenses": []}]}"#;
    let err = read_users(&[Source::memory("u.json", text)], false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "u.json:1: column `accountEnabled`: expected true or false, found \"yes\""
    );
    let text = r#"{"value": [{"id": "1", "userPrincipalName": "a@b.c", "displayName": "A",
        "department": "IT", "accountEnabled": true, "assignedLicenses": [{"disabledPlans": []}]}]}"#;
    let err = read_users(&[Source::memory("u.json", text)], false).unwrap_err();
    assert_eq!(err.column.as_deref(), Some("assignedLicenses"));
}

#[test]
fn subscribed_skus_give_seats_bought_and_assigned() {
    let (skus, warnings) = read_subscribed_skus(&Source::file(fixture(SKUS)), false).unwrap();
    assert_eq!(skus.len(), 2);
    let e5 = &skus[0];
    assert_eq!(e5.sku_id, "c7df2760-2c81-4ef7-b578-5b5392b571df");
    assert_eq!(e5.part_number, "ENTERPRISEPREMIUM");
    assert_eq!((e5.enabled, e5.consumed), (25, 14));
    let crm = &skus[1];
    assert_eq!((crm.enabled, crm.suspended, crm.consumed), (0, 25, 14));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .message
            .contains("`CRMSTANDARD`) is `Suspended`"),
        "{}",
        warnings[0]
    );
}

fn tenant_inputs(prices: Option<&str>) -> Inputs {
    Inputs {
        graph: vec![GraphTenant {
            tenant: "contoso.onmicrosoft.com".into(),
            users: vec![Source::file(fixture(SELECT_USERS))],
            subscribed_skus: vec![Source::file(fixture(SKUS))],
        }],
        price_lists: prices
            .map(|p| vec![Source::memory("prices.csv", p)])
            .unwrap_or_default(),
        ..Inputs::default()
    }
}

#[test]
fn subscribed_skus_take_their_cost_from_the_price_list() {
    let prices =
        "sku,unit_cost,currency,term,billing_plan\nENTERPRISEPREMIUM,32.90,GBP,annual,monthly\n";
    let (snapshot, warnings) = build_snapshot(&tenant_inputs(Some(prices))).unwrap();
    let tenant = snapshot.tenant("contoso.onmicrosoft.com").unwrap();
    assert_eq!(tenant.users.len(), 3);
    // The suspended SKU has no enabled seats and no price: left out with a warning.
    assert_eq!(tenant.subscribed_skus.len(), 1);
    let e5 = &tenant.subscribed_skus[0];
    assert_eq!((e5.purchased, e5.assigned), (25, 14));
    assert_eq!(e5.unit_cost.to_string(), "32.90 GBP");
    assert_eq!(e5.term.name(), "annual");
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("no enabled seats and no cost"))
    );
}

#[test]
fn a_sku_without_a_cost_is_an_error_naming_it_unless_lenient() {
    let err = build_snapshot(&tenant_inputs(None)).unwrap_err();
    assert!(err.file.ends_with("subscribedSkus_list_response.json"));
    assert!(
        err.message.starts_with(
            "no cost for SKU `ENTERPRISEPREMIUM` (c7df2760-2c81-4ef7-b578-5b5392b571df) of tenant `contoso.onmicrosoft.com`"
        ),
        "{err}"
    );
    let mut inputs = tenant_inputs(None);
    inputs.options = Options {
        lenient: true,
        ..Options::default()
    };
    let (snapshot, warnings) = build_snapshot(&inputs).unwrap();
    assert!(snapshot.tenants[0].subscribed_skus.is_empty());
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("no cost for SKU `ENTERPRISEPREMIUM`"))
    );
}

#[test]
fn price_list_errors_and_per_tenant_rows() {
    let bad = "sku_id,unit_cost,currency,term,billing_plan\nc7df2760-2c81-4ef7-b578-5b5392b571df,12.3O,GBP,annual,monthly\n";
    let err = build_snapshot(&tenant_inputs(Some(bad))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prices.csv:2: column `unit_cost`: expected a number, found \"12.3O\""
    );
    let two = "tenant,part_number,unit_cost,currency,term,billing_plan\n\
               ,ENTERPRISEPREMIUM,32.90,GBP,annual,monthly\n\
               contoso.onmicrosoft.com,ENTERPRISEPREMIUM,30.00,GBP,annual,upfront\n";
    let (snapshot, _) = build_snapshot(&tenant_inputs(Some(two))).unwrap();
    let e5 = &snapshot.tenants[0].subscribed_skus[0];
    assert_eq!(e5.unit_cost.to_string(), "30.00 GBP");
    assert_eq!(e5.billing_plan.name(), "upfront");
    let typo = "part_number,unit_cost,currency,term,billing_plan\nENTERPRISEPREMIUMM,1,GBP,annual,monthly\n";
    let mut inputs = tenant_inputs(Some(typo));
    inputs.options.lenient = true;
    let (_, warnings) = build_snapshot(&inputs).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("did you mean `ENTERPRISEPREMIUM`?")),
        "{warnings:?}"
    );
}
