#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! The ConnectWise adapter against the fake: a first push, a second one that writes nothing,
//! next month's changes, lines Tally does not own, refusals, bad answers, retries.

mod support;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use support::{PRIVATE_KEY, PUBLIC_KEY, World, northwind};
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{Action, Outcome, PsaError};
use tally_psa_testserver::{Fault, Faults};

fn next_month(plan: &mut tally_plan::Plan) {
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    plan.period.start = start;
    plan.period.end = end;
    for customer in &mut plan.customers {
        customer.period.start = start;
        customer.period.end = end;
        for line in &mut customer.lines {
            line.period.start = start;
            line.period.end = end;
        }
    }
}

#[test]
fn first_push_creates_every_line_and_a_second_writes_nothing() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let dry = world.push(&plan, None, false).unwrap();
    let customer = &dry.diff.customers[0];
    assert_eq!(customer.count(Action::Create), 27);
    assert_eq!(customer.before, Decimal::ZERO);
    // The catalogue prices the archiving line (12 × 2.00).
    assert_eq!(
        customer.after,
        Decimal::new(436501, 2) + Decimal::new(2400, 2)
    );
    assert_eq!(world.fake.writes(), 0, "a dry run writes nothing");

    let dir = support::state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal.lock().unwrap();
    let applied = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(applied.stopped, None);
    assert_eq!(applied.written, 27);
    world.assert_holds(&plan);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
    let recorded = journal.writes().unwrap();
    assert_eq!(recorded.len(), 27);
    assert!(
        recorded
            .iter()
            .all(|r| r.state == "done" && r.external_id.is_some())
    );

    world.fake.clear_log();
    let again = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(again.diff.writes(), 0);
    assert_eq!(again.diff.customers[0].count(Action::Unchanged), 27);
    assert_eq!(world.fake.writes(), 0, "the second apply makes no write");
}

#[test]
fn next_month_updates_and_cancels_exactly_what_changed() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let dir = support::state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    world.push(&plan, Some(&mut journal), true).unwrap();

    let mut november = plan.clone();
    next_month(&mut november);
    let lines = &mut november.customers[0].lines;
    let support = lines
        .iter_mut()
        .find(|l| l.id.ends_with("support/department=Engineering"))
        .unwrap();
    support.quantity = 12;
    support.amount = Some(Decimal::new(39000, 2));
    let backup = lines
        .iter_mut()
        .find(|l| l.id.ends_with("/backup"))
        .unwrap();
    backup.unit_price = Some(Decimal::new(395, 2));
    backup.amount = Some(Decimal::new(20145, 2));
    lines.retain(|l| !l.id.ends_with("/server_monitoring"));

    world.fake.clear_log();
    let dry = world.push(&november, Some(&mut journal), false).unwrap();
    let customer = &dry.diff.customers[0];
    let changed: Vec<(Action, &str)> = customer
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| (c.action, c.key.rsplit('/').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        changed,
        [
            (Action::Update, "department=Engineering"),
            (Action::Update, "backup"),
            (Action::Cancel, "server_monitoring")
        ]
    );
    assert_eq!(
        customer.after - customer.before,
        Decimal::new(3250 + 1020 - 13500, 2)
    );

    let applied = world.push(&november, Some(&mut journal), true).unwrap();
    assert_eq!(applied.written, 3);
    assert_eq!(world.fake.writes(), 3);
    world.assert_holds(&november);
    let state = world.fake.state();
    let cancelled = state
        .additions
        .iter()
        .find(|a| a.description.ends_with("/server_monitoring"))
        .unwrap();
    assert_eq!(
        cancelled.cancelled,
        NaiveDate::from_ymd_opt(2026, 10, 31),
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

    let dry = world.push(&plan, None, false).unwrap();
    let customer = &dry.diff.customers[0];
    let refused = customer
        .changes
        .iter()
        .find(|c| c.action == Action::Refused)
        .unwrap();
    assert!(refused.key.ends_with("/backup"));
    assert!(
        refused.note.as_deref().unwrap().contains("--adopt"),
        "{refused:?}"
    );
    assert_eq!(customer.count(Action::NotOwned), 2);

    let dir = support::state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(report.written, 0, "a refused push writes nothing");
    assert_eq!(world.fake.writes(), 0);

    let adopt = DiffOptions {
        adopt: true,
        max_change: None,
    };
    let report = world
        .push_with(&plan, Some(&mut journal), true, adopt)
        .unwrap();
    assert_eq!(report.diff.customers[0].count(Action::Adopt), 1);
    assert_eq!(report.stopped, None);
    world.assert_holds(&plan);
    let state = world.fake.state();
    let adopted = state.additions.iter().find(|a| a.id == backup).unwrap();
    assert_eq!(adopted.quantity, Decimal::from(51));
    let untouched = state.additions.iter().find(|a| a.id == other).unwrap();
    assert_eq!(untouched.description, "Something else");
    assert_eq!(untouched.quantity, Decimal::ONE);
}

#[test]
fn products_missing_from_the_catalogue_and_large_changes_are_refused() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    world
        .fake
        .state()
        .catalogue
        .retain(|c| c.identifier != "RMM-SERVER");
    let dry = world.push(&plan, None, false).unwrap();
    let refusals = dry.diff.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].contains("`RMM-SERVER` is not in ConnectWise's catalogue"),
        "{refusals:?}"
    );

    let world = World::for_plan(&plan);
    let dir = support::state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let guard = DiffOptions {
        adopt: false,
        max_change: Some(Decimal::from(10)),
    };
    let first = world
        .push_with(&plan, Some(&mut journal), true, guard)
        .unwrap();
    assert!(
        first.diff.customers[0].refusals[0].contains("nothing is billed"),
        "{:?}",
        first.diff.customers[0].refusals
    );
    world.push(&plan, Some(&mut journal), true).unwrap();
    let mut bigger = plan.clone();
    for line in &mut bigger.customers[0].lines {
        if let (Some(price), Some(_)) = (line.unit_price, line.amount) {
            line.quantity *= 2;
            line.amount = Some(price * Decimal::from(line.quantity));
        }
    }
    world.fake.clear_log();
    let refused = world
        .push_with(&bigger, Some(&mut journal), true, guard)
        .unwrap();
    assert!(
        refused.diff.customers[0].refusals[0].contains("changes by 99.45%"),
        "{:?}",
        refused.diff.customers[0].refusals
    );
    assert_eq!(world.fake.writes(), 0);
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

fn expect_request_error(result: Result<tally_psa::PushReport, PsaError>) -> String {
    match result {
        Ok(report) => report.stopped.expect("the push stops"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_answers_name_the_psa_the_request_and_what_was_wrong() {
    let plan = northwind();
    for (fault, words) in [
        (Fault::Html, "HTML page"),
        (Fault::WrongShape, "unexpected JSON"),
        (Fault::Truncated, "broke off"),
    ] {
        let world = World::for_plan(&plan);
        let mut faults = Faults::none();
        // Every try of the first request.
        for n in 1..=6 {
            faults.by_request.insert(n, fault);
        }
        world.fake.set_faults(faults);
        let message = expect_request_error(world.push(&plan, None, false));
        assert!(message.contains("ConnectWise"), "{message}");
        assert!(message.contains("GET /finance/agreements"), "{message}");
        assert!(message.contains(words), "{fault:?}: {message}");
        assert!(!message.contains(PRIVATE_KEY), "{message}");
    }
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
    let mut adapters: std::collections::BTreeMap<&'static str, &dyn tally_psa::Psa> =
        Default::default();
    adapters.insert("connectwise", &adapter);
    let error = tally_psa::push(
        &plan,
        "sha",
        &adapters,
        &Default::default(),
        None,
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
            a.bill_start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        }
    });
    let dir = support::state_dir();
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
    let plan = northwind();
    let world = World::for_plan(&plan);
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
    world.fake.set_faults(faults);
    let dir = support::state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert_eq!(report.stopped, None);
    world.assert_holds(&plan);
    let confirmed = report.diff.customers[0]
        .changes
        .iter()
        .filter(|c| matches!(c.outcome, Some(Outcome::Confirmed { .. })))
        .count();
    assert_eq!(
        confirmed, 1,
        "the write whose answer was lost is confirmed by reading back"
    );
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn a_retry_after_beyond_the_budget_stops_cleanly() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let mut faults = Faults::none();
    faults
        .by_write
        .insert(4, Fault::RateLimit { retry_after: 3600 });
    world.fake.set_faults(faults);
    let dir = support::state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    let stopped = report.stopped.clone().unwrap();
    assert!(stopped.contains("3600 s"), "{stopped}");
    assert_eq!(report.written, 3);
    // Resume: the rest is written, nothing twice.
    let resumed = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(resumed.stopped, None);
    assert_eq!(resumed.written, 24);
    world.assert_holds(&plan);
}
