//! `tally push` to Autotask through the real binary against the in-process fake (zone lookup
//! included): plan `examples/small-business` (already `psa autotask`), dry run, apply, apply
//! again (no write), next month's changes; a fixture whose one-off prorated lines become
//! contract charges; `kill -9` of tally while a write is held, then resume; and a sentinel
//! secret that never appears in any output or journal byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod push_support;

use chrono::NaiveDate;
use push_support::{
    KillSchedules, World, catalogue, faults_on_error_paths, next_month, plan_with_binary,
};
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::Arc;
use tally_psa_testserver::autotask::{Credentials, Fake};

const USERNAME: &str = "tally-api@fabrikam-msp.example";
const CODE: &str = "SENTINEL-code-1b2c3d";
const SECRET: &str = "SENTINEL-5ecret-autotask-99";
const SECRET_ENV: &str = "TALLY_AUTOTASK_SECRET";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl World<Fake> {
    /// A fake holding the plan's company, contract and services.
    fn for_plan(plan: &tally_plan::Plan) -> World<Fake> {
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    username: USERNAME.into(),
                    integration_code: CODE.into(),
                    secret: SECRET.into(),
                },
                plan.period.start,
            )
            .unwrap(),
        );
        for customer in &plan.customers {
            let psa = customer.psa.as_ref().unwrap();
            let company = fake.add_company(&psa.company);
            fake.add_contract(company, &psa.agreement, day(2026, 1, 1));
            for (product, price) in catalogue(&customer.lines) {
                fake.add_service(&product, price);
            }
        }
        fake.set_page_size(4);
        World::serve(
            fake,
            |server| {
                format!(
                    "[autotask]\nzone_url = \"{}\"\nusername = \"{USERNAME}\"\n\n[autotask.http]\nbase_delay_ms = 1\nmax_delay_ms = 4\nmax_retry_after_s = 2\ntimeout_s = 5\njitter_seed = 3\n",
                    Fake::zone_url(server)
                )
            },
            &[
                ("TALLY_AUTOTASK_INTEGRATION_CODE", CODE),
                (SECRET_ENV, SECRET),
            ],
        )
    }

    /// The fake bills exactly the plan: per line one contract service or charge with its key,
    /// contract, service, quantity, unit price and text; no other line; the total to the cent.
    fn assert_holds(&self, plan: &tally_plan::Plan) {
        let customer = &plan.customers[0];
        let psa = customer.psa.as_ref().unwrap();
        let billed = self.fake.billed(customer.period.start, customer.period.end);
        let wanted: Vec<_> = customer.lines.iter().filter(|l| l.quantity != 0).collect();
        for line in &wanted {
            let found: Vec<_> = billed
                .iter()
                .filter(|b| b.key.as_deref() == Some(line.id.as_str()))
                .collect();
            assert_eq!(found.len(), 1, "{}: {found:?}", line.id);
            let b = found[0];
            let (quantity, price, text) = tally_psa::desired::billed_as(line);
            assert_eq!(
                b.kind,
                if tally_psa::desired::one_off(line) {
                    "charge"
                } else {
                    "service"
                },
                "{}",
                line.id
            );
            assert_eq!(
                (b.quantity, Some(b.unit_price)),
                (quantity, price),
                "{}",
                line.id
            );
            assert_eq!(b.text, text, "{}", line.id);
            assert_eq!(b.product, line.product, "{}", line.id);
            assert_eq!((&b.company, &b.contract), (&psa.company, &psa.agreement));
            assert_eq!(Some(b.amount()), line.amount, "{}: to the cent", line.id);
        }
        assert_eq!(billed.len(), wanted.len(), "no other line bills");
        let total: Decimal = billed.iter().map(|b| b.amount()).sum();
        let planned: Decimal = customer.lines.iter().filter_map(|l| l.amount).sum();
        assert_eq!(total, planned, "the PSA bills the plan's total");
    }
}

fn small_business(dir: &Path) -> tally_plan::Plan {
    plan_with_binary(
        "examples/small-business/small.tally",
        "examples/small-business/snapshot.json",
        &dir.join("plan.json"),
    )
}

/// November: support 10 → 12 users, backup's price 3.50 → 3.75, Exchange Online gone.
fn november(plan: &tally_plan::Plan) -> tally_plan::Plan {
    let mut plan = next_month(plan);
    let customer = &mut plan.customers[0];
    let support = customer
        .lines
        .iter_mut()
        .find(|l| l.id.ends_with("/support"))
        .unwrap();
    support.quantity = 12;
    support.amount = Some(Decimal::new(30000, 2));
    let backup = customer
        .lines
        .iter_mut()
        .find(|l| l.id.ends_with("/backup"))
        .unwrap();
    backup.unit_price = Some(Decimal::new(375, 2));
    backup.amount = Some(Decimal::new(1875, 2));
    customer
        .lines
        .retain(|l| !l.id.ends_with("/exchange_online"));
    plan
}

#[test]
fn plan_dry_run_apply_apply_again_and_next_month() {
    let scratch = tempfile::tempdir().unwrap();
    let plan = small_business(scratch.path());
    let world = World::for_plan(&plan);
    std::fs::copy(scratch.path().join("plan.json"), world.path("plan.json")).unwrap();

    let dry = world.push("plan.json", &[]);
    assert_eq!(dry.code, 1, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains("6 create; total 0 → 347.91 GBP"),
        "{}",
        dry.stdout
    );
    assert_eq!(world.fake.writes(), 0);

    let apply = world.push("plan.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains("applied: 6 writes"),
        "{}",
        apply.stderr
    );
    assert_eq!(
        world.fake.writes(),
        12,
        "6 contract services and their adjustments"
    );
    world.assert_holds(&plan);

    world.fake.clear_log();
    let again = world.push("plan.json", &["--apply"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("6 unchanged"), "{}", again.stdout);
    assert_eq!(world.fake.writes(), 0, "the second apply makes no write");

    let next = november(&plan);
    std::fs::write(
        world.path("november.json"),
        tally_plan::to_json(&next).unwrap(),
    )
    .unwrap();
    world.fake.set_today(day(2026, 11, 1));
    let dry = world.push("november.json", &[]);
    assert_eq!(dry.code, 1);
    assert!(
        dry.stdout.contains("2 update, 1 cancel, 3 unchanged"),
        "{}",
        dry.stdout
    );
    world.fake.clear_log();
    let apply = world.push("november.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    // +2 units, a price, -1 unit: three writes, no more.
    assert_eq!(world.fake.writes(), 3);
    world.assert_holds(&next);
    let state = world.fake.state();
    let changes: Vec<i64> = state
        .adjustments
        .iter()
        .skip(6)
        .map(|a| a.unit_change)
        .collect();
    assert_eq!(changes, [2, -1]);
    drop(state);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn one_off_prorated_lines_become_contract_charges() {
    let scratch = tempfile::tempdir().unwrap();
    let plan = plan_with_binary(
        "crates/tally-cli/tests/fixtures/push_autotask/rules.tally",
        "crates/tally-cli/tests/fixtures/push_autotask/snapshot.json",
        &scratch.path().join("plan.json"),
    );
    let one_offs = plan.customers[0]
        .lines
        .iter()
        .filter(|l| tally_psa::desired::one_off(l))
        .count();
    assert_eq!(one_offs, 2, "{:#?}", plan.customers[0].lines);
    let world = World::for_plan(&plan);
    std::fs::copy(scratch.path().join("plan.json"), world.path("plan.json")).unwrap();
    let apply = world.push("plan.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    world.assert_holds(&plan);
    let total: Decimal = world
        .fake
        .billed(plan.period.start, plan.period.end)
        .iter()
        .map(|b| b.amount())
        .sum();
    assert_eq!(total, Decimal::new(3333, 2), "the eval case's 33.33 GBP");
    assert_eq!(world.fake.state().charges.len(), 2);
    world.fake.clear_log();
    let again = world.push("plan.json", &["--apply"]);
    assert_eq!(again.code, 0);
    assert_eq!(world.fake.writes(), 0);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

/// `kill -9` of `tally push --apply` while a write is held (carried out or not), then resumes
/// under random faults until an apply finishes: no duplicate, no lost line, no second delta,
/// a last apply with 0 writes. `TALLY_PUSH_KILL_SCHEDULES=N` runs more (default 8).
#[test]
fn randomized_kills_resume_to_exactly_the_plan() {
    let scratch = tempfile::tempdir().unwrap();
    let october = small_business(scratch.path());
    let november = november(&october);
    let mut kills = KillSchedules::new("Autotask", "TALLY_PUSH_KILL_SCHEDULES", 8, 0xa7);
    for seed in 0..kills.count {
        let world = World::for_plan(&october);
        world.write_plan("october.json", &october);
        world.write_plan("november.json", &november);
        let (wanted, file, writes) = if seed % 2 == 0 {
            (&october, "october.json", 12)
        } else {
            world.apply(&format!("seed {seed}"), "october.json");
            world.fake.set_today(day(2026, 11, 1));
            (&november, "november.json", 3)
        };
        kills.kill_then_resume(&world, seed, file, writes, || {});
        world.assert_holds(wanted);
        let state = world.fake.state();
        assert_eq!(
            state.contract_services.len(),
            6,
            "seed {seed}: no duplicate service"
        );
        drop(state);
        world.assert_a_last_apply_writes_nothing(&format!("seed {seed}"), file);
    }
    kills.finish();
}

#[test]
fn the_secret_never_appears_in_output_or_the_journal() {
    let scratch = tempfile::tempdir().unwrap();
    let plan = small_business(scratch.path());
    let world = World::for_plan(&plan);
    std::fs::copy(scratch.path().join("plan.json"), world.path("plan.json")).unwrap();
    world.fake.set_faults(faults_on_error_paths(3));
    let mut outputs = world.outputs_of_pushes(
        "plan.json",
        &[
            &["--verbose"],
            &["--apply", "--verbose"],
            &["--apply", "--verbose", "--format", "json"],
        ],
    );
    assert!(
        outputs[1].contains("POST /V1.0/Companies/query"),
        "{}",
        outputs[1]
    );
    let wrong = world.push_refused_for("plan.json", SECRET_ENV, "SENTINEL-wrong-secret-31337");
    assert!(
        wrong.stderr.contains("refused the credentials (401)") && wrong.stderr.contains(SECRET_ENV),
        "{}",
        wrong.stderr
    );
    outputs.push(wrong.stderr);
    world.assert_holds(&plan);
    world.assert_nowhere(&["SENTINEL", CODE, SECRET], &outputs);
}
