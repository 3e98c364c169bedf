#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! The HaloPSA adapter against the fake: a first push, a second one that writes nothing, next
//! month's changes, one-off lines, lines Tally does not own, refusals, bad answers, tokens that
//! expire or are refused, retries and lost answers, paging.

mod halopsa_support;

use halopsa_support::common::{self, PsaWorld, Run, day, state_dir};
use halopsa_support::{CLIENT_ID, SECRET, SECRET_ENV, World, northwind, push_through};
use rust_decimal::Decimal;
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{Action, Outcome, PsaError};
use tally_psa_testserver::halopsa::TOKEN_PATH;
use tally_psa_testserver::{Fault, Faults};

/// Northwind with one-off lines: a prorated stretch whose amount is quantity × effective unit
/// price (R2), one whose amount is not a multiple of its quantity (R1: sent as 1 × amount), and
/// a true-up credit.
fn with_one_offs() -> tally_plan::Plan {
    let plan = northwind();
    let mut value: serde_json::Value =
        serde_json::from_str(&tally_plan::to_json(&plan).unwrap()).unwrap();
    let lines = value["customers"][0]["lines"].as_array_mut().unwrap();
    let backup = lines
        .iter()
        .find(|l| l["id"].as_str().unwrap().ends_with("/backup"))
        .unwrap()
        .clone();
    let mut r2 = backup.clone();
    r2["id"] = "northwindtraders.onmicrosoft.com/backup/2026-10-15..2026-10-31".into();
    r2["quantity"] = 3.into();
    r2["amount"] = "6.15".into();
    r2["proration"] = serde_json::json!({"from": "2026-10-15", "to": "2026-10-31", "days": 17,
        "cycle_days": 31, "rounding": "truncate_unit", "effective_unit_price": "2.05"});
    let mut r1 = backup.clone();
    r1["id"] = "northwindtraders.onmicrosoft.com/backup/2026-10-20..2026-10-31".into();
    r1["quantity"] = 7.into();
    r1["amount"] = "10.17".into();
    r1["proration"] = serde_json::json!({"from": "2026-10-20", "to": "2026-10-31", "days": 12,
        "cycle_days": 31, "rounding": "truncate_product", "effective_unit_price": "1.45"});
    let mut trueup = backup;
    trueup["id"] = "northwindtraders.onmicrosoft.com/trueup/backup".into();
    trueup["quantity"] = (-2).into();
    trueup["amount"] = "-7.50".into();
    lines.push(r2);
    lines.push(r1);
    lines.push(trueup);
    tally_plan::from_json(&value.to_string()).unwrap()
}

#[test]
fn first_push_creates_every_line_and_a_second_writes_nothing() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    // The catalogue prices the archiving line (12 × 2.00).
    let after = Decimal::new(436501, 2) + Decimal::new(2400, 2);
    common::a_first_dry_run_creates_every_line(&world, &plan, 27, after);

    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal.lock().unwrap();
    world.fake.clear_log();
    common::a_first_apply_creates_every_line(&world, &plan, &mut journal, 27);
    // One read per entity per customer: the token, the items, the client, the invoices.
    let reads: Vec<String> = world
        .fake
        .log()
        .iter()
        .filter(|l| l.method == "GET")
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(
        reads,
        ["/api/Item", "/api/Client", "/api/RecurringInvoice"],
        "no read per line"
    );

    common::a_second_apply_writes_nothing(&world, &plan, &mut journal, 27);

    // Neither the secret nor any token the fake issued is in the journal.
    let mut needles = world.fake.issued_tokens();
    assert!(!needles.is_empty());
    needles.push(SECRET.into());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "`{needle}` in the journal"
            );
        }
    }
}

#[test]
fn next_month_updates_and_cancels_exactly_what_changed() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    common::next_month_changes_exactly_what_changed(&world, &plan);
    assert!(
        world
            .fake
            .log()
            .iter()
            .filter(|l| l.method != "GET")
            .all(|l| l.path == TOKEN_PATH || l.path == "/api/RecurringInvoice/updatelines"),
        "every write goes through updatelines"
    );
    let state = world.fake.state();
    let cancelled = state
        .lines
        .iter()
        .find(|l| {
            l.external_reference
                .as_deref()
                .is_some_and(|r| r.ends_with("/server_monitoring"))
        })
        .unwrap();
    assert_eq!(
        cancelled.end,
        Some(day(2026, 10, 31)),
        "billed through October, never deleted"
    );
    assert_eq!(state.lines.len(), 27, "nothing deleted, nothing added");
    drop(state);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn one_off_lines_end_with_the_period_and_every_line_bills_its_amount_to_the_cent() {
    let plan = with_one_offs();
    let world = World::for_plan(&plan);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(report.stopped, None);
    assert_eq!(report.written, 30);
    world.assert_holds(&plan);
    let state = world.fake.state().clone();
    let by_key = |suffix: &str| {
        state
            .lines
            .iter()
            .find(|l| l.external_reference.as_deref().unwrap().ends_with(suffix))
            .unwrap()
            .clone()
    };
    let r2 = by_key("/backup/2026-10-15..2026-10-31");
    assert_eq!(
        (r2.quantity, r2.unit_price),
        (Decimal::from(3), Decimal::new(205, 2))
    );
    let r1 = by_key("/backup/2026-10-20..2026-10-31");
    assert_eq!(
        (r1.quantity, r1.unit_price),
        (Decimal::ONE, Decimal::new(1017, 2))
    );
    assert!(r1.description.ends_with(" (7 units)"), "{}", r1.description);
    let trueup = by_key("/trueup/backup");
    assert_eq!(trueup.quantity * trueup.unit_price, Decimal::new(-750, 2));
    for line in [&r2, &r1, &trueup] {
        assert_eq!(line.end, Some(day(2026, 10, 31)));
    }
    // The customer's lines add up to the plan's total.
    let total: Decimal = world
        .owned_lines(&plan)
        .iter()
        .filter(|l| l.item_code != "ARCHIVE-MAILBOX")
        .map(|l| l.quantity * l.unit_price)
        .sum();
    let planned: Decimal = plan.customers[0]
        .lines
        .iter()
        .filter_map(|l| l.amount)
        .sum();
    assert_eq!(total, planned);
    let again = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(again.diff.writes(), 0);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn lines_tally_did_not_create_are_shown_and_left_alone_unless_adopted() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let invoice = world
        .fake
        .state()
        .invoices
        .iter()
        .find(|i| i.reference == "Managed Services")
        .unwrap()
        .id;
    let start = day(2026, 1, 1);
    let backup = world.fake.add_foreign_line(
        invoice,
        "BACKUP-365",
        40,
        Decimal::new(350, 2),
        "Backup (manual)",
        start,
    );
    world.fake.add_item("NET-MGMT-SITE-X", Decimal::TEN);
    let other = world.fake.add_foreign_line(
        invoice,
        "NET-MGMT-SITE-X",
        1,
        Decimal::TEN,
        "Something else",
        start,
    );

    common::lines_tally_did_not_create_are_left_alone_unless_adopted(&world, &plan);
    let state = world.fake.state();
    let adopted = state.lines.iter().find(|l| l.id == backup).unwrap();
    assert_eq!(adopted.quantity, Decimal::from(51));
    assert_eq!(
        adopted.external_reference.as_deref(),
        Some("tally:northwindtraders.onmicrosoft.com/backup")
    );
    let untouched = state.lines.iter().find(|l| l.id == other).unwrap();
    assert_eq!(untouched.description, "Something else");
    assert_eq!(untouched.external_reference, None);
    drop(state);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn products_missing_from_the_catalogue_and_large_changes_are_refused() {
    common::missing_products_and_large_changes_are_refused(
        &northwind(),
        |world: &World| world.fake.state().items.retain(|i| i.name != "RMM-SERVER"),
        "changes by 99.45%",
    );
}

#[test]
fn an_unknown_client_refuses_every_line() {
    let mut plan = northwind();
    let world = World::for_plan(&plan);
    plan.customers[0].psa.as_mut().unwrap().company = "Northwind Trading Ltd".into();
    let dry = world.push(&plan, None, false).unwrap();
    let refusals = dry.diff.refusals();
    assert_eq!(refusals.len(), 27);
    assert!(
        refusals[0].contains("not found for company `Northwind Trading Ltd` in HaloPSA"),
        "{refusals:?}"
    );
}

#[test]
fn bad_answers_name_the_psa_the_request_and_what_was_wrong() {
    let plan = northwind();
    // Request 2 is the first API request (request 1 is the token).
    common::bad_answers_stop_the_run::<World>(
        &plan,
        Run::Apply,
        2,
        "GET /api/Item?pageinate=true",
        "no `record_count`",
        &[SECRET],
    );
    // A cut answer to a write: read back before anything else, then confirmed.
    let world = World::for_plan(&plan);
    let mut faults = Faults::none();
    faults.by_write.insert(1, Fault::Truncated);
    faults.by_write.insert(2, Fault::Html);
    faults.by_write.insert(3, Fault::WrongShape);
    world.fake.set_faults(faults);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(report.stopped, None);
    world.assert_holds(&plan);
    let outcomes: Vec<&Outcome> = report.diff.customers[0]
        .changes
        .iter()
        .filter_map(|c| c.outcome.as_ref())
        .collect();
    assert!(
        matches!(outcomes[0], Outcome::Confirmed { .. }),
        "{outcomes:?}"
    );
    assert!(matches!(outcomes[1], Outcome::Done { .. }), "{outcomes:?}");
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn an_expired_token_is_renewed_once_and_the_run_completes() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    // Every token expires after its first request: each later request meets a 401 once.
    world.fake.set_random_expiry(5, 1000, 1);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(report.stopped, None);
    assert_eq!(report.written, 27);
    world.assert_holds(&plan);
    let log = world.fake.log();
    let refused = log.iter().filter(|l| l.status == Some(401)).count();
    let tokens = log.iter().filter(|l| l.path == TOKEN_PATH).count();
    assert!(refused >= 27, "{refused} answers 401");
    assert_eq!(tokens, refused + 1, "one renewal per expired token");
    assert_eq!(
        world.fake.writes(),
        27 + 27,
        "each write refused once, then sent again"
    );
    assert_eq!(world.fake.state().lines.len(), 27, "no duplicate");
    assert_eq!(world.fake.violations(), Vec::<String>::new());

    // An expired token between two runs of one adapter: renewed on the first request.
    let adapter = world.adapter();
    push_through(&adapter, &plan, None, false, DiffOptions::default()).unwrap();
    world.fake.set_random_expiry(5, 0, 1);
    world.fake.expire_tokens();
    world.fake.clear_log();
    let dry = push_through(&adapter, &plan, None, false, DiffOptions::default()).unwrap();
    assert_eq!(dry.diff.writes(), 0);
    let statuses: Vec<Option<u16>> = world.fake.log().iter().map(|l| l.status).collect();
    assert_eq!(statuses[..3], [Some(401), Some(200), Some(200)]);
}

#[test]
fn refused_credentials_name_the_variable_and_the_client_id() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let adapter = tally_psa::halopsa::Halo::with_secret(
        world.config(),
        "SENTINEL-wrong-secret-42".into(),
        None,
    );
    let error = push_through(&adapter, &plan, None, false, DiffOptions::default()).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, PsaError::Credential(_)), "{text}");
    assert!(
        text.contains(SECRET_ENV) && text.contains(CLIENT_ID),
        "{text}"
    );
    assert!(
        text.contains("POST /auth/token") && text.contains("invalid_client"),
        "{text}"
    );
    assert!(!text.contains("SENTINEL-wrong-secret-42"), "{text}");
    assert_eq!(text.lines().count(), 1);

    // A token issued but refused again after renewal: a credential error, not a loop.
    let world = World::for_plan(&plan);
    world.fake.refuse_all_tokens();
    let error = world.push(&plan, None, false).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, PsaError::Credential(_)), "{text}");
    assert!(
        text.contains("refused a fresh token (401)") && text.contains(SECRET_ENV),
        "{text}"
    );
    let tokens = world
        .fake
        .log()
        .iter()
        .filter(|l| l.path == TOKEN_PATH)
        .count();
    assert_eq!(tokens, 2, "renewed once");
    for token in world.fake.issued_tokens() {
        assert!(!text.contains(&token), "{text}");
    }
}

#[test]
fn rate_limits_server_errors_and_lost_answers_never_duplicate_a_line() {
    let mut faults = Faults::none();
    faults
        .by_request
        .insert(2, Fault::RateLimit { retry_after: 1 });
    faults.by_request.insert(3, Fault::Status(503));
    faults
        .by_write
        .insert(1, Fault::RateLimit { retry_after: 0 });
    faults.by_write.insert(3, Fault::Status(500));
    faults.by_write.insert(5, Fault::DropAfterCommit);
    faults.by_write.insert(7, Fault::StatusAfterCommit(502));
    faults.by_write.insert(9, Fault::DropBeforeCommit);
    faults.by_write.insert(11, Fault::Slow { millis: 20 });
    // The two creates whose answers were lost (after the drop and the 502).
    let applied =
        common::retries_and_lost_answers_end_with_the_plan::<World>(&northwind(), faults, 2);
    assert_eq!(applied.world.fake.state().lines.len(), 27, "no duplicate");
}

#[test]
fn a_retry_after_beyond_the_budget_stops_cleanly_and_resumes() {
    common::a_retry_after_beyond_the_budget_stops_cleanly_and_resumes::<World>(&northwind());
}

#[test]
fn lists_are_read_page_by_page() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    world.fake.set_page_cap(4);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    world.push(&plan, Some(&mut journal), true).unwrap();
    world.fake.clear_log();
    let again = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(again.diff.customers[0].count(Action::Unchanged), 27);
    let log = world.fake.log();
    let items = log.iter().filter(|l| l.path == "/api/Item").count();
    let catalogue = world.fake.state().items.len();
    assert_eq!(items, catalogue.div_ceil(4), "every page of the catalogue");
    world.assert_holds(&plan);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}
