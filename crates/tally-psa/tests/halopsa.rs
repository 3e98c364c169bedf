#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! The HaloPSA adapter against the fake: a first push, a second one that writes nothing, next
//! month's changes, one-off lines, lines Tally does not own, refusals, bad answers, tokens that
//! expire or are refused, retries and lost answers, paging.

mod halopsa_support;

use chrono::NaiveDate;
use halopsa_support::{CLIENT_ID, SECRET, SECRET_ENV, World, northwind, push_through, state_dir};
use rust_decimal::Decimal;
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{Action, Outcome, PsaError};
use tally_psa_testserver::halopsa::TOKEN_PATH;
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

    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal.lock().unwrap();
    world.fake.clear_log();
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

    world.fake.clear_log();
    let again = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(again.diff.writes(), 0);
    assert_eq!(again.diff.customers[0].count(Action::Unchanged), 27);
    assert_eq!(world.fake.writes(), 0, "the second apply makes no write");

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
    let dir = state_dir();
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
    assert!(
        world
            .fake
            .log()
            .iter()
            .filter(|l| l.method != "GET")
            .all(|l| l.path == TOKEN_PATH || l.path == "/api/RecurringInvoice/updatelines"),
        "every write goes through updatelines"
    );
    world.assert_holds(&november);
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
        NaiveDate::from_ymd_opt(2026, 10, 31),
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
        assert_eq!(line.end, NaiveDate::from_ymd_opt(2026, 10, 31));
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
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
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

    let dir = state_dir();
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
    let plan = northwind();
    let world = World::for_plan(&plan);
    world.fake.state().items.retain(|i| i.name != "RMM-SERVER");
    let dry = world.push(&plan, None, false).unwrap();
    let refusals = dry.diff.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].contains("`RMM-SERVER` is not in HaloPSA's catalogue"),
        "{refusals:?}"
    );

    let world = World::for_plan(&plan);
    let dir = state_dir();
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

fn expect_stop(result: Result<tally_psa::PushReport, PsaError>) -> String {
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
        (Fault::WrongShape, "no `record_count`"),
        (Fault::Truncated, "broke off"),
    ] {
        let world = World::for_plan(&plan);
        let mut faults = Faults::none();
        // Every try of the first API request (request 1 is the token).
        for n in 2..=7 {
            faults.by_request.insert(n, fault);
        }
        world.fake.set_faults(faults);
        let dir = state_dir();
        let mut journal = Journal::open(dir.path()).unwrap();
        let message = expect_stop(world.push(&plan, Some(&mut journal), true));
        assert!(message.contains("HaloPSA"), "{message}");
        assert!(
            message.contains("GET /api/Item?pageinate=true"),
            "{message}"
        );
        assert!(message.contains(words), "{fault:?}: {message}");
        assert!(!message.contains(SECRET), "{message}");
        assert!(journal.writes().unwrap().is_empty(), "nothing recorded");
        assert_eq!(world.fake.writes(), 0);
    }
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
    let plan = northwind();
    let world = World::for_plan(&plan);
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
    world.fake.set_faults(faults);
    let dir = state_dir();
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
        confirmed, 2,
        "the creates whose answers were lost are confirmed by reading back"
    );
    assert_eq!(world.fake.state().lines.len(), 27, "no duplicate");
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn a_retry_after_beyond_the_budget_stops_cleanly_and_resumes() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let mut faults = Faults::none();
    faults
        .by_write
        .insert(4, Fault::RateLimit { retry_after: 3600 });
    world.fake.set_faults(faults);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    let stopped = report.stopped.clone().unwrap();
    assert!(stopped.contains("3600 s"), "{stopped}");
    assert_eq!(report.written, 3);
    let resumed = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(resumed.stopped, None);
    assert_eq!(resumed.written, 24);
    world.assert_holds(&plan);
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
