#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! The Autotask adapter against the fake: zone discovery, a first push (contract services and
//! their unit adjustments, one-off contract charges), a second push that writes nothing, next
//! month's changes, lines Tally does not own, refusals, bad answers, refused credentials, lost
//! answers after a committed adjustment (never a second delta), paging.

mod autotask_support;

use autotask_support::common::{self, PsaWorld, Run, day, next_month, state_dir, stopped_or_error};
use autotask_support::{INTEGRATION_CODE, SECRET, USERNAME, World, plan};
use rust_decimal::Decimal;
use tally_psa::autotask::Autotask;
use tally_psa::journal::Journal;
use tally_psa::{Action, PsaError, PushReport};
use tally_psa_testserver::{Fault, Faults};

#[test]
fn first_push_creates_services_and_charges_and_a_second_writes_nothing() {
    let plan = plan();
    let world = World::for_plan(&plan);
    // Small pages, so every list is read through `nextPageUrl`.
    world.fake.set_page_size(3);
    // The plan's total, the archiving line at the catalogue's price (12 × 2.00), the one-offs.
    let after = Decimal::new(436501 + 2400 + 750 + 581, 2);
    common::a_first_dry_run_creates_every_line(&world, &plan, 29, after);

    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal.lock().unwrap();
    let applied = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(applied.stopped, None);
    assert_eq!(applied.written, 29);
    world.assert_holds(&plan);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
    // 27 contract services, each created then given its units; 2 charges.
    assert_eq!(world.fake.writes(), 27 * 2 + 2);
    let adjustments = world.adjustments();
    assert_eq!(adjustments.len(), 27);
    assert!(
        adjustments.values().all(|a| a.len() == 1),
        "{adjustments:?}"
    );
    let state = world.fake.state();
    assert!(
        state
            .adjustments
            .iter()
            .all(|a| a.effective == day(2026, 10, 1))
    );
    let prorated = state
        .charges
        .iter()
        .find(|c| c.description.ends_with("2026-10-16..2026-10-31"))
        .unwrap();
    assert_eq!(
        (prorated.unit_quantity, prorated.unit_price),
        (Decimal::ONE, Decimal::new(581, 2)),
        "R1 rounding: 1 × the amount"
    );
    assert_eq!(prorated.name, "Backup 16-31 October (3 units)");
    assert_eq!(prorated.date_purchased, day(2026, 10, 1));
    drop(state);
    let recorded = journal.writes().unwrap();
    assert_eq!(recorded.len(), 27 * 2 + 2);
    assert!(recorded.iter().all(|r| r.state == "done"));

    world.fake.set_page_size(500);
    common::a_second_apply_writes_nothing(&world, &plan, &mut journal, 29);
    // Reads grow with customers, not lines: the zone, then one query per entity.
    let paths: Vec<String> = world.fake.log().iter().map(|l| l.path.clone()).collect();
    assert_eq!(paths.len(), 7, "{paths:#?}");
}

#[test]
fn next_month_adjusts_units_changes_prices_and_cancels_to_zero() {
    let october = plan();
    let world = World::for_plan(&october);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    world.push(&october, Some(&mut journal), true).unwrap();

    let november = common::november(&october);
    world.fake.set_today(day(2026, 11, 1));
    world.fake.clear_log();
    let dry = world.push(&november, Some(&mut journal), false).unwrap();
    assert_eq!(
        common::changed(&dry.diff.customers[0]),
        common::NOVEMBER_CHANGES,
        "October's one-off charges are history, not cancellations"
    );
    let applied = world.push(&november, Some(&mut journal), true).unwrap();
    assert_eq!(applied.written, 3);
    assert_eq!(
        world.fake.writes(),
        3,
        "one adjustment, one price change, one adjustment"
    );
    world.assert_holds(&november);
    let state = world.fake.state();
    let last = state.adjustments.iter().rev().take(2).collect::<Vec<_>>();
    assert_eq!(
        (last[0].unit_change, last[0].effective),
        (-3, day(2026, 11, 1)),
        "cancelled: 0 units from November, never deleted"
    );
    assert_eq!(
        (last[1].unit_change, last[1].effective),
        (1, day(2026, 11, 1))
    );
    let monitoring = state
        .contract_services
        .iter()
        .find(|c| c.internal_description.ends_with("/server_monitoring"))
        .unwrap();
    assert_eq!(
        state.units(monitoring.id, day(2026, 10, 1)),
        3,
        "October keeps its units"
    );
    drop(state);
    assert_eq!(world.fake.violations(), Vec::<String>::new());

    // The line comes back in December: the dormant contract service is taken up again.
    let mut december = november.clone();
    let (start, end) = (day(2026, 12, 1), day(2026, 12, 31));
    december.period.start = start;
    december.period.end = end;
    december.customers[0].period.start = start;
    december.customers[0].period.end = end;
    let back = october.customers[0]
        .lines
        .iter()
        .find(|l| l.id.ends_with("/server_monitoring"))
        .unwrap()
        .clone();
    december.customers[0].lines.push(back);
    world.fake.set_today(start);
    let services_before = world.fake.state().contract_services.len();
    let report = world.push(&december, Some(&mut journal), true).unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(world.fake.state().contract_services.len(), services_before);
    world.assert_holds(&december);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn lines_tally_did_not_create_are_shown_and_left_alone_unless_adopted() {
    let plan = plan();
    let world = World::for_plan(&plan);
    world
        .fake
        .add_service("NET-MGMT-SITE-X", Decimal::new(10, 0));
    let contract = world
        .fake
        .state()
        .contracts
        .iter()
        .find(|c| c.name == "Managed Services")
        .unwrap()
        .id;
    let backup = world.fake.add_foreign_service(
        contract,
        "BACKUP-365",
        40,
        Decimal::new(350, 2),
        "Microsoft 365 backup per protected user",
    );
    let other = world.fake.add_foreign_service(
        contract,
        "NET-MGMT-SITE-X",
        1,
        Decimal::new(10, 0),
        "Something else",
    );
    let refused = common::lines_tally_did_not_create_are_left_alone_unless_adopted(&world, &plan);
    // The recurring backup line, and its two one-offs on the same service.
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.note.as_deref().unwrap().contains("--adopt"))
    );
    let adjustments = world.adjustments();
    assert_eq!(
        adjustments[&backup],
        [40, 11],
        "the delta from 40 to 51, once"
    );
    assert_eq!(adjustments[&other], [1], "untouched");
    let state = world.fake.state();
    let untouched = state
        .contract_services
        .iter()
        .find(|c| c.id == other)
        .unwrap();
    assert_eq!(untouched.invoice_description, "Something else");
    assert_eq!(untouched.internal_description, "");
}

#[test]
fn services_missing_from_the_catalogue_and_large_changes_are_refused() {
    common::missing_products_and_large_changes_are_refused(
        &plan(),
        |world: &World| {
            world
                .fake
                .state()
                .services
                .iter_mut()
                .filter(|s| s.name == "RMM-SERVER")
                .for_each(|s| s.active = false)
        },
        "--max-change 10%",
    );
}

#[test]
fn bad_answers_name_the_psa_the_request_and_what_was_wrong_and_nothing_is_applied() {
    let plan = plan();
    // Request 1 is the zone lookup, 2 the companies query.
    for (request_number, request) in [
        (1, "GET /V1.0/ZoneInformation?user="),
        (2, "POST /V1.0/Companies/query"),
    ] {
        common::bad_answers_stop_the_run::<World>(
            &plan,
            Run::Apply,
            request_number,
            request,
            "unexpected JSON",
            &[SECRET, INTEGRATION_CODE],
        );
    }
    // A 200 whose items are not entities.
    let world = World::for_plan(&plan);
    let mut faults = Faults::none();
    faults.by_request.insert(2, Fault::Status(400));
    world.fake.set_faults(faults);
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(
        message.contains("`POST /V1.0/Companies/query`: status 400: An unexpected error occurred"),
        "Autotask's errors are quoted: {message}"
    );
}

#[test]
fn refused_credentials_name_the_variables_and_the_user() {
    let plan = plan();
    let world = World::for_plan(&plan);
    let adapter = Autotask::with_keys(
        world.config(),
        INTEGRATION_CODE.into(),
        "wrong-secret-123".into(),
        None,
    );
    let error = common::push_through("autotask", &adapter, &plan, None, false, Default::default())
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, PsaError::Credential(_)), "{text}");
    assert!(
        text.contains("TALLY_AUTOTASK_INTEGRATION_CODE")
            && text.contains("TALLY_AUTOTASK_SECRET")
            && text.contains(USERNAME),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-123") && !text.contains(INTEGRATION_CODE));
}

#[test]
fn lost_answers_after_a_committed_adjustment_never_post_a_second_delta() {
    let plan = plan();
    let mut faults = Faults::none();
    // Even writes are the adjustments of the first services.
    faults.by_write.insert(2, Fault::DropAfterCommit);
    faults.by_write.insert(4, Fault::StatusAfterCommit(500));
    faults.by_write.insert(6, Fault::Truncated);
    faults
        .by_write
        .insert(8, Fault::RateLimit { retry_after: 1 });
    faults.by_write.insert(10, Fault::Status(503));
    faults.by_write.insert(13, Fault::DropAfterCommit); // a contract service created, answer lost
    faults.by_request.insert(1, Fault::Status(503)); // the zone lookup is retried
    // The three lost adjustment answers.
    let mut applied = common::retries_and_lost_answers_end_with_the_plan::<World>(&plan, faults, 3);
    let world = &applied.world;
    let adjustments = world.adjustments();
    assert!(
        adjustments.values().all(|a| a.len() == 1),
        "no delta posted twice: {adjustments:?}"
    );
    assert_eq!(
        world.fake.state().contract_services.len(),
        27,
        "no duplicate service"
    );
    world.fake.clear_log();
    let again = world.push(&plan, Some(&mut applied.journal), true).unwrap();
    assert_eq!(again.diff.writes(), 0);
    assert_eq!(world.fake.writes(), 0);
}

#[test]
fn the_zone_is_looked_up_unless_a_base_url_is_set_and_must_be_https() {
    let plan = plan();
    let mut world = World::for_plan(&plan);
    world.push(&plan, None, false).unwrap();
    let log = world.fake.log();
    assert!(
        log[0].path.ends_with("/V1.0/ZoneInformation"),
        "{:?}",
        log[0]
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.path.ends_with("ZoneInformation"))
            .count(),
        1
    );

    world.fake.clear_log();
    world.base_url = Some(format!("{}/ATServicesRest/V1.0", world.server.origin()));
    world.push(&plan, None, false).unwrap();
    assert!(
        world
            .fake
            .log()
            .iter()
            .all(|l| !l.path.ends_with("ZoneInformation"))
    );

    world.base_url = None;
    world.fake.set_zone_answer(Some(
        "http://webservices99.example.net/ATServicesRest/".into(),
    ));
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(
        message.contains("GET /V1.0/ZoneInformation") && message.contains("must be https"),
        "{message}"
    );
    // https, but not Autotask's: the credentials are not sent there.
    for host in [
        "https://webservices99.example.net/ATServicesRest/",
        "https://webservices2.autotask.net.example.com/ATServicesRest/",
    ] {
        world.fake.set_zone_answer(Some(host.into()));
        world.fake.clear_log();
        let message = stopped_or_error(world.push(&plan, None, false));
        assert!(
            message.contains("is not an Autotask host") && message.contains("base_url"),
            "{message}"
        );
        assert_eq!(world.fake.log().len(), 1, "only the zone lookup");
    }
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn the_fake_refuses_what_autotask_refuses() {
    let plan = plan();
    let world = World::for_plan(&plan);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    world.push(&plan, Some(&mut journal), true).unwrap();
    let (contract, service, cs) = {
        let state = world.fake.state();
        let cs = &state.contract_services[0];
        (cs.contract_id, cs.service_id, cs.id)
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "{}/ATServicesRest/V1.0/ContractServiceAdjustments",
        world.server.origin()
    );
    let post = |body: String| {
        agent
            .post(&url)
            .header("ApiIntegrationCode", INTEGRATION_CODE)
            .header("UserName", USERNAME)
            .header("Secret", SECRET)
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap()
            .status()
            .as_u16()
    };
    let adjustment = |change: &str| {
        format!(
            "{{\"contractID\":{contract},\"contractServiceID\":{cs},\"serviceID\":{service},\"unitChange\":{change},\"effectiveDate\":\"2026-10-01T00:00:00Z\"}}"
        )
    };
    for (change, why) in [("0", "unitChange 0"), ("1.5", "1.5"), ("-9999", "below 0")] {
        assert_eq!(post(adjustment(change)), 500);
        let violations = world.fake.violations();
        assert!(violations.last().unwrap().contains(why), "{violations:?}");
    }
    assert_eq!(post("{\"unitChanges\":1}".into()), 500);
    assert!(
        world
            .fake
            .violations()
            .last()
            .unwrap()
            .contains("`unitChanges` is not a property")
    );
    let delete = agent
        .delete(&format!(
            "{}/ATServicesRest/V1.0/Contracts/{contract}/Services/{cs}",
            world.server.origin()
        ))
        .header("ApiIntegrationCode", INTEGRATION_CODE)
        .header("UserName", USERNAME)
        .header("Secret", SECRET)
        .call()
        .unwrap();
    assert_eq!(delete.status().as_u16(), 405);
    assert!(
        world
            .fake
            .violations()
            .last()
            .unwrap()
            .contains("never DELETE")
    );
    world.assert_holds(&plan);
}

/// The contract service that carries the plan line ending in `suffix`.
fn service_for(world: &World, suffix: &str) -> i64 {
    world
        .fake
        .state()
        .contract_services
        .iter()
        .find(|c| c.internal_description.ends_with(suffix))
        .unwrap()
        .id
}

fn refusals(report: &PushReport) -> Vec<(String, String)> {
    report.diff.customers[0]
        .changes
        .iter()
        .filter(|c| c.action == Action::Refused)
        .map(|c| (c.key.clone(), c.note.clone().unwrap_or_default()))
        .collect()
}

/// The note of the one line the push refused, whose key ends in `suffix`.
fn the_one_refusal(report: &PushReport, suffix: &str) -> String {
    let refused = refusals(report);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].0.ends_with(suffix), "{refused:?}");
    refused[0].1.clone()
}

#[test]
fn units_that_change_within_the_period_are_refused_not_posted_over() {
    let plan = plan();
    let mut applied = common::applied::<World>(&plan);
    let world = &applied.world;
    let cs = service_for(world, "department=Engineering");
    let units = world.fake.state().units(cs, day(2026, 10, 1));
    // Someone adds 2 units from the 15th: the fake's unit rows, and what it bills, show it.
    world.fake.add_adjustment(cs, 2, day(2026, 10, 15));
    let billed = world.fake.billed(day(2026, 10, 1), day(2026, 10, 31));
    let line = billed.iter().find(|b| b.id == cs).unwrap();
    assert_eq!(line.unit_changes, vec![(day(2026, 10, 15), units + 2)]);

    world.fake.clear_log();
    let report = world.push(&plan, Some(&mut applied.journal), true).unwrap();
    let note = the_one_refusal(&report, "department=Engineering");
    assert!(
        note.contains("units change after 2026-10-01")
            && note.contains(&format!("{} units from 2026-10-15", units + 2)),
        "{note}"
    );
    assert!(!report.applied);
    assert_eq!(
        world.fake.writes(),
        0,
        "no delta is posted over a later change"
    );

    // November wants one unit more while the units change again on the 20th: refused too,
    // where a delta from the 1st would also have moved the 20th on.
    let mut november = plan.clone();
    next_month(&mut november);
    world.fake.set_today(day(2026, 11, 1));
    world.fake.add_adjustment(cs, -1, day(2026, 11, 20));
    let line = november.customers[0]
        .lines
        .iter_mut()
        .find(|l| l.id.ends_with("department=Engineering"))
        .unwrap();
    line.quantity += 1;
    line.amount = line.unit_price.map(|p| p * Decimal::from(line.quantity));
    let report = world
        .push(&november, Some(&mut applied.journal), true)
        .unwrap();
    let refused = refusals(&report);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(world.fake.writes(), 0);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn a_service_without_a_unit_row_for_the_period_is_a_bad_answer_not_zero_units() {
    let plan = plan();
    let world = World::for_plan(&plan);
    let line = plan.customers[0]
        .lines
        .iter()
        .find(|l| l.id.ends_with("department=Engineering"))
        .unwrap();
    // Tally's service, but Autotask lists no units for October (it starts in December).
    {
        let mut state = world.fake.state();
        let contract = state
            .contracts
            .iter()
            .find(|c| c.name == "Managed Services")
            .unwrap()
            .id;
        let service = state
            .services
            .iter()
            .find(|s| s.name == line.product)
            .unwrap()
            .id;
        let id = state.new_id();
        state
            .contract_services
            .push(tally_psa_testserver::autotask::ContractService {
                id,
                contract_id: contract,
                service_id: service,
                unit_price: line.unit_price.unwrap(),
                invoice_description: line.description.clone(),
                internal_description: format!("tally:{}", line.id),
                created: day(2026, 12, 1),
            });
    }
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(
        message.contains("ContractServiceUnits")
            && message.contains("no unit row covers 2026-10-01"),
        "{message}"
    );
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal.lock().unwrap();
    let report = world.push(&plan, Some(&mut journal), true);
    stopped_or_error(report);
    assert_eq!(
        world.fake.writes(),
        0,
        "no second service, no full-quantity delta"
    );
}

#[test]
fn a_period_billed_at_another_price_is_refused_not_unchanged() {
    let plan = plan();
    let mut applied = common::applied::<World>(&plan);
    let world = &applied.world;
    let cs = service_for(world, "department=Engineering");
    // October's units are billed at 9.99, whatever the service's unit price says.
    world
        .fake
        .set_period_price(cs, day(2026, 10, 1), Decimal::new(999, 2));
    world.fake.clear_log();
    let report = world.push(&plan, Some(&mut applied.journal), true).unwrap();
    let note = the_one_refusal(&report, "department=Engineering");
    assert!(note.contains("bills this period at 9.99"), "{note}");
    assert_eq!(world.fake.writes(), 0);

    // The period billed at the plan's price is what the plan wants: unchanged.
    let price = plan.customers[0]
        .lines
        .iter()
        .find(|l| l.id.ends_with("department=Engineering"))
        .unwrap()
        .unit_price
        .unwrap();
    world.fake.set_period_price(cs, day(2026, 10, 1), price);
    let report = world.push(&plan, Some(&mut applied.journal), true).unwrap();
    assert_eq!(refusals(&report), Vec::<(String, String)>::new());
    assert_eq!(report.diff.writes(), 0);
}

#[test]
fn two_contracts_of_one_name_are_refused_naming_both() {
    let plan = plan();
    let world = World::for_plan(&plan);
    let (company, first) = {
        let state = world.fake.state();
        let c = state
            .contracts
            .iter()
            .find(|c| c.name == "Managed Services")
            .unwrap();
        (c.company_id, c.id)
    };
    let second = world
        .fake
        .add_contract(company, "Managed Services", day(2026, 6, 1));
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(
        message.contains("two active contracts named `Managed Services`")
            && message.contains(&first.to_string())
            && message.contains(&second.to_string()),
        "{message}"
    );
    assert_eq!(world.fake.writes(), 0);
}

#[test]
fn a_charge_whose_date_moved_is_found_by_its_key_and_never_added_twice() {
    let plan = plan();
    let mut applied = common::applied::<World>(&plan);
    let world = &applied.world;
    let charge = world
        .fake
        .state()
        .charges
        .iter()
        .find(|c| c.description.ends_with("2026-10-16..2026-10-31"))
        .unwrap()
        .id;
    // Someone dates it in September.
    world.fake.move_charge(charge, day(2026, 9, 20));
    let report = world.push(&plan, Some(&mut applied.journal), true).unwrap();
    let note = the_one_refusal(&report, "2026-10-16..2026-10-31");
    assert!(
        note.contains(&format!("contract charge {charge}")) && note.contains("dated 2026-09-20"),
        "{note}"
    );
    assert_eq!(world.fake.state().charges.len(), 2, "no second charge");
}

#[test]
fn paging_stops_on_a_repeated_page_and_never_follows_another_host() {
    use tally_psa_testserver::autotask::NextPage;
    let plan = plan();
    let world = World::for_plan(&plan);
    world.fake.set_next_page(Some(NextPage::Same));
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(message.contains("`nextPageUrl` repeats"), "{message}");
    assert!(
        world.fake.log().len() <= 4,
        "stopped at the first repeat: {:?}",
        world.fake.log()
    );

    world.fake.clear_log();
    world.fake.set_next_page(Some(NextPage::Url(
        "https://webservices2.autotask.net.evil.example/ATServicesRest/V1.0/Companies/query?search=x"
            .into(),
    )));
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(message.contains("points elsewhere"), "{message}");
    let log = world.fake.log();
    assert!(
        log.iter()
            .all(|l| l.method != "GET" || l.path.contains("ZoneInformation")),
        "{log:?}"
    );
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}
