#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! The ConnectWise adapter against the fake: a first push, a second one that writes nothing,
//! next month's changes, lines Tally does not own, refusals, bad answers, retries.

mod support;

use rust_decimal::Decimal;
use support::common::{self, Run, day};
use support::{PRIVATE_KEY, PUBLIC_KEY, World, northwind, state_dir};
use tally_psa::journal::Journal;
use tally_psa::{Outcome, PsaError};
use tally_psa_testserver::{Fault, Faults};

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
    common::a_first_apply_creates_every_line(&world, &plan, &mut journal, 27);
    common::a_second_apply_writes_nothing(&world, &plan, &mut journal, 27);
}

#[test]
fn next_month_updates_and_cancels_exactly_what_changed() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    common::next_month_changes_exactly_what_changed(&world, &plan);
    let state = world.fake.state();
    let cancelled = state
        .additions
        .iter()
        .find(|a| a.description.ends_with("/server_monitoring"))
        .unwrap();
    assert_eq!(
        cancelled.cancelled,
        Some(day(2026, 10, 31)),
        "billed through October, never deleted"
    );
    drop(state);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn lines_tally_did_not_create_are_shown_and_left_alone_unless_adopted() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let agreement = world
        .fake
        .state()
        .agreements
        .iter()
        .find(|a| a.name == "Managed Services")
        .unwrap()
        .id;
    let backup = world.fake.add_foreign_addition(
        agreement,
        "BACKUP-365",
        40,
        Decimal::new(350, 2),
        "Backup (manual)",
    );
    let other = world.fake.add_foreign_addition(
        agreement,
        "NET-MGMT-SITE-X",
        1,
        Decimal::new(10, 0),
        "Something else",
    );

    common::lines_tally_did_not_create_are_left_alone_unless_adopted(&world, &plan);
    let state = world.fake.state();
    let adopted = state.additions.iter().find(|a| a.id == backup).unwrap();
    assert_eq!(adopted.quantity, Decimal::from(51));
    let untouched = state.additions.iter().find(|a| a.id == other).unwrap();
    assert_eq!(untouched.description, "Something else");
    assert_eq!(untouched.quantity, Decimal::ONE);
}

#[test]
fn products_missing_from_the_catalogue_and_large_changes_are_refused() {
    common::missing_products_and_large_changes_are_refused(
        &northwind(),
        |world: &World| {
            world
                .fake
                .state()
                .catalogue
                .retain(|c| c.identifier != "RMM-SERVER")
        },
        "changes by 99.45%",
    );
}

#[test]
fn an_incomplete_plan_is_refused() {
    let mut plan = northwind();
    plan.incomplete.push(tally_plan::Incomplete {
        rules: "x.tally".into(),
        reason: "tenant missing".into(),
    });
    assert!(tally_psa::push::check_plan(&plan).is_err());
}

#[test]
fn bad_answers_name_the_psa_the_request_and_what_was_wrong() {
    common::bad_answers_stop_the_run::<World>(
        &northwind(),
        Run::DryRun,
        1,
        "GET /finance/agreements",
        "unexpected JSON",
        &[PRIVATE_KEY],
    );
}

#[test]
fn refused_credentials_name_the_variables() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let adapter = tally_psa::connectwise::ConnectWise::with_keys(
        world.config(),
        PUBLIC_KEY.into(),
        "wrong-key-123".into(),
        None,
    );
    let error = common::push_through(
        "connectwise",
        &adapter,
        &plan,
        None,
        false,
        Default::default(),
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, PsaError::Credential(_)), "{text}");
    assert!(text.contains("TALLY_CONNECTWISE_PRIVATE_KEY"), "{text}");
    assert!(!text.contains("wrong-key-123"), "{text}");
}

#[test]
fn a_rejected_write_stops_the_run_and_is_not_recorded_as_applied() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    // The licensing agreement starts billing after the plan's period: its creates are refused.
    world.fake.state().agreements.iter_mut().for_each(|a| {
        if a.name == "Microsoft Licensing" {
            a.bill_start = day(2026, 12, 1);
        }
    });
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    let stopped = report.stopped.unwrap();
    assert!(
        stopped.contains("status 400") && stopped.contains("billStartDate"),
        "{stopped}"
    );
    assert!(stopped.contains("POST /finance/agreements/"), "{stopped}");
    let outcomes: Vec<_> = report.diff.customers[0]
        .changes
        .iter()
        .map(|c| c.outcome.clone())
        .collect();
    assert!(matches!(outcomes[0], Some(Outcome::Failed { .. })));
    assert!(outcomes[1..].iter().all(|o| *o == Some(Outcome::Remaining)));
    let recorded = journal.writes().unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].state, "failed");
    assert_eq!(world.fake.state().additions.len(), 0);
}

#[test]
fn rate_limits_and_server_errors_are_retried_after_their_wait() {
    let mut faults = Faults::none();
    faults
        .by_request
        .insert(1, Fault::RateLimit { retry_after: 1 });
    faults.by_request.insert(2, Fault::Status(503));
    faults
        .by_write
        .insert(1, Fault::RateLimit { retry_after: 0 });
    faults.by_write.insert(3, Fault::Status(500));
    faults.by_write.insert(5, Fault::DropAfterCommit);
    faults.by_write.insert(7, Fault::Slow { millis: 20 });
    // The one write whose answer was lost.
    common::retries_and_lost_answers_end_with_the_plan::<World>(&northwind(), faults, 1);
}

#[test]
fn a_retry_after_beyond_the_budget_stops_cleanly() {
    common::a_retry_after_beyond_the_budget_stops_cleanly_and_resumes::<World>(&northwind());
}
