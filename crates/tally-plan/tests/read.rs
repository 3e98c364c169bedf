//! Plans read back exactly; version 1 plans (ids from the customer's name) read with version 2
//! ids (from the tenant); malformed plans are located errors, never silent zeros.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

const GOLDEN: &str = include_str!("../../../examples/northwind/expected-plan.json");

#[test]
fn a_written_plan_reads_back_to_the_same_bytes() {
    let plan = tally_plan::from_json(GOLDEN).unwrap();
    assert_eq!(tally_plan::to_json(&plan).unwrap(), GOLDEN);
}

#[test]
fn version_1_ids_are_upgraded_to_tenant_ids() {
    let plan = tally_plan::from_json(GOLDEN).unwrap();
    let customer = &plan.customers[0];
    let tenant_root = format!("{}/", customer.tenant);
    // Version 1 of the same plan: ids began with the slug of the customer's display name.
    let v1 = GOLDEN
        .replacen("\"version\": 2", "\"version\": 1", 1)
        .replace(
            &format!("\"id\": \"{tenant_root}"),
            "\"id\": \"northwind-traders/",
        );
    assert_ne!(v1, GOLDEN);
    assert!(v1.contains("\"id\": \"northwind-traders/support/department=Sales\""));
    let upgraded = tally_plan::from_json(&v1).unwrap();
    assert_eq!(upgraded, plan);
}

#[test]
fn a_malformed_amount_is_an_error_at_its_path() {
    let broken = GOLDEN.replacen("\"amount\": \"458.04\"", "\"amount\": \"458,04\"", 1);
    assert_ne!(broken, GOLDEN);
    let error = tally_plan::from_json(&broken).unwrap_err();
    assert_eq!(error.path, "customers[0].lines[0].amount");
    assert!(error.message.contains("458,04"), "{error}");
}

#[test]
fn an_unknown_word_or_a_future_version_is_refused() {
    let bad_billing = GOLDEN.replacen("\"billing\": \"advance\"", "\"billing\": \"later\"", 1);
    let error = tally_plan::from_json(&bad_billing).unwrap_err();
    assert_eq!(error.path, "customers[0].lines[0].billing");
    let future = GOLDEN.replacen("\"version\": 2", "\"version\": 9", 1);
    let error = tally_plan::from_json(&future).unwrap_err();
    assert!(error.to_string().contains("upgrade Tally"), "{error}");
}

#[test]
fn line_ids_never_repeat_in_a_plan() {
    for golden in [
        GOLDEN,
        include_str!("../../../examples/small-business/expected-plan.json"),
    ] {
        let plan = tally_plan::from_json(golden).unwrap();
        let mut ids: Vec<&str> = plan
            .customers
            .iter()
            .flat_map(|c| c.lines.iter().map(|l| l.id.as_str()))
            .collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }
}
