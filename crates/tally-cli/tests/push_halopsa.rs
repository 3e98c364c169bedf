//! `tally push` to HaloPSA through the real binary against the in-process Halo fake: plan the
//! fixture (Northwind sent to HaloPSA, its backup prorated daily), dry run, apply, apply again
//! (no write), next month's changes, `kill -9` while a write is held then resumes under faults
//! and expiring tokens, and a sentinel client secret (and every token the fake issued) that
//! must never appear in any output or journal byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod push_support;

use chrono::NaiveDate;
use push_support::{
    KillSchedules, Run, World, catalogue, faults_on_error_paths, northwind_november,
    plan_with_binary,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_psa_testserver::halopsa::{Credentials, Fake, Line};

const CLIENT_ID: &str = "c9a4e7d2-tally-push";
const SENTINEL: &str = "SENTINEL-halo-5ecret-b0a7-91";
const SECRET_ENV: &str = "TALLY_HALOPSA_CLIENT_SECRET";
const FIXTURE: &str = "crates/tally-cli/tests/fixtures/push_halopsa";

/// The fixture planned by the real binary (once per test process).
fn fixture_plan() -> tally_plan::Plan {
    static PLAN: std::sync::OnceLock<tally_plan::Plan> = std::sync::OnceLock::new();
    PLAN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        plan_with_binary(
            &format!("{FIXTURE}/northwind.tally"),
            &format!("{FIXTURE}/snapshot.json"),
            &dir.path().join("plan.json"),
        )
    })
    .clone()
}

impl World<Fake> {
    /// A fake holding Northwind's client, a recurring invoice per agreement and every product
    /// the fixture bills; the fixture's plan in `plan.json`.
    fn new() -> World<Fake> {
        let plan = fixture_plan();
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    client_id: CLIENT_ID.into(),
                    client_secret: SENTINEL.into(),
                },
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            )
            .unwrap(),
        );
        let client = fake.add_client("Northwind Traders");
        fake.add_invoice(client, "Managed Services");
        fake.add_invoice(client, "Microsoft Licensing");
        for (product, price) in catalogue(&plan.customers[0].lines) {
            fake.add_item(&product, price);
        }
        let world = World::serve(
            fake,
            |server| {
                format!(
                    "[halopsa]\nbase_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\n[halopsa.http]\nbase_delay_ms = 1\nmax_delay_ms = 4\nmax_retry_after_s = 2\ntimeout_s = 5\njitter_seed = 3\n",
                    server.origin()
                )
            },
            &[(SECRET_ENV, SENTINEL)],
        );
        world.write_plan("plan.json", &plan);
        world
    }

    /// The lines that bill in the plan's period and carry a Tally key.
    fn active(&self, plan: &tally_plan::Plan) -> Vec<Line> {
        let start = plan.customers[0].period.start;
        self.fake
            .state()
            .lines
            .iter()
            .filter(|l| l.bills_on(start))
            .filter(|l| {
                l.external_reference
                    .as_deref()
                    .is_some_and(|r| r.starts_with("tally:"))
            })
            .cloned()
            .collect()
    }

    /// The fake holds the plan: one active line per plan line on its invoice, its quantity,
    /// price, text and end date, and they add up to the plan's total to the cent.
    fn assert_holds(&self, plan: &tally_plan::Plan) {
        let customer = &plan.customers[0];
        let active = self.active(plan);
        let state = self.fake.state().clone();
        for line in &customer.lines {
            let found: Vec<&Line> = active
                .iter()
                .filter(|l| l.external_reference == Some(format!("tally:{}", line.id)))
                .collect();
            assert_eq!(found.len(), 1, "{}: {} active lines", line.id, found.len());
            let l = found[0];
            let (quantity, price, description) = tally_psa::desired::billed_as(line);
            assert_eq!(l.quantity, quantity, "{}", line.id);
            if let Some(price) = price {
                assert_eq!(l.unit_price, price, "{}", line.id);
                assert_eq!(
                    l.quantity * l.unit_price,
                    line.amount.unwrap(),
                    "{}: to the cent",
                    line.id
                );
            }
            assert_eq!(l.description, description, "{}", line.id);
            assert_eq!(l.item_code, line.product, "{}", line.id);
            let invoice = state.invoices.iter().find(|i| i.id == l.ihid).unwrap();
            assert_eq!(
                Some(&invoice.reference),
                line.agreement.as_ref(),
                "{}",
                line.id
            );
            let one_off = tally_psa::desired::one_off(line);
            assert_eq!(l.end, one_off.then_some(customer.period.end), "{}", line.id);
        }
        assert_eq!(active.len(), customer.lines.len(), "no other active line");
        let billed: Decimal = active
            .iter()
            .filter(|a| {
                customer.lines.iter().any(|l| {
                    l.amount.is_some() && a.external_reference == Some(format!("tally:{}", l.id))
                })
            })
            .map(|a| a.quantity * a.unit_price)
            .sum();
        let planned: Decimal = customer.lines.iter().filter_map(|l| l.amount).sum();
        assert_eq!(billed, planned, "Halo bills the plan's total");
    }
}

#[test]
fn plan_dry_run_apply_apply_again_and_next_month() {
    let world = World::new();
    let plan = fixture_plan();
    let lines = plan.customers[0].lines.len();
    assert_eq!(
        plan.customers[0]
            .lines
            .iter()
            .filter(|l| l.proration.is_some())
            .count(),
        2,
        "the fixture has prorated stretches"
    );

    let dry = world.push("plan.json", &[]);
    assert_eq!(
        dry.code, 1,
        "changes pending:\n{}{}",
        dry.stdout, dry.stderr
    );
    assert!(
        dry.stdout.contains(&format!("{lines} create; total 0 →")),
        "{}",
        dry.stdout
    );
    assert_eq!(world.fake.writes(), 0);
    let json = world.push("plan.json", &["--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let changes = value["diff"]["customers"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), lines);
    assert!(changes.iter().all(|c| c["action"] == "create"));

    let apply = world.push("plan.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains(&format!("applied: {lines} writes")),
        "{}",
        apply.stderr
    );
    world.assert_holds(&plan);

    world.fake.clear_log();
    let again = world.push("plan.json", &["--apply"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains(&format!("{lines} unchanged")),
        "{}",
        again.stdout
    );
    assert_eq!(world.fake.writes(), 0, "the second apply makes no write");

    let next = northwind_november(&plan);
    world.write_plan("november.json", &next);
    let json = world.push("november.json", &["--format", "json"]);
    assert_eq!(json.code, 1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let changed: Vec<(String, String)> = report["diff"]["customers"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["key"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("update".to_string(), "azure".to_string()),
            ("update".to_string(), "department=Sales".to_string()),
            ("cancel".to_string(), "teams_rooms".to_string()),
        ]
    );
    let apply = world.push("november.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(world.fake.writes(), 3);
    world.assert_holds(&next);
    let state = world.fake.state().clone();
    let rooms = state
        .lines
        .iter()
        .find(|l| {
            l.external_reference
                .as_deref()
                .is_some_and(|r| r.ends_with("/teams_rooms"))
        })
        .unwrap();
    assert_eq!(
        rooms.end,
        NaiveDate::from_ymd_opt(2026, 10, 31),
        "never deleted"
    );
    assert_eq!(state.lines.len(), lines, "no line added or deleted");
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

/// `kill -9` of `tally push --apply` while a write is held by the fake (carried out, its
/// answer never sent, or not carried out), at a random write of the first push or of next
/// month's; then resumes under random faults and expiring tokens until an apply finishes. No
/// duplicate, no lost line, no request the document rejects, a last apply with no write.
/// `TALLY_HALOPSA_KILL_SCHEDULES=N` runs more (default 8).
#[test]
fn randomized_kills_and_faults_resume_to_exactly_the_plan() {
    let october = fixture_plan();
    let november = northwind_november(&october);
    let mut kills = KillSchedules::new("HaloPSA", "TALLY_HALOPSA_KILL_SCHEDULES", 8, 0x4a);
    for seed in 0..kills.count {
        let world = World::new();
        world.write_plan("november.json", &november);
        let (wanted, file, writes) = if seed % 2 == 0 {
            (
                &october,
                "plan.json",
                october.customers[0].lines.len() as u64,
            )
        } else {
            world.apply(&format!("seed {seed}"), "plan.json");
            (&november, "november.json", 3)
        };
        // Tokens expire at random while the resumes run.
        kills.kill_then_resume(&world, seed, file, writes, || {
            world.fake.set_random_expiry(seed, 200, 7)
        });
        world.fake.set_random_expiry(seed, 0, 7);
        world.assert_holds(wanted);
        let mut keys: BTreeMap<String, usize> = BTreeMap::new();
        for line in world.active(wanted) {
            *keys.entry(line.external_reference.unwrap()).or_default() += 1;
        }
        assert!(
            keys.values().all(|n| *n == 1),
            "seed {seed}: duplicates {keys:?}"
        );
        world.assert_a_last_apply_writes_nothing(&format!("seed {seed}"), file);
    }
    kills.finish();
}

#[test]
fn the_secret_and_the_tokens_never_appear_in_output_or_the_journal() {
    let world = World::new();
    world.fake.set_faults(faults_on_error_paths(3));
    world.fake.set_random_expiry(11, 300, 3);
    let mut outputs = world.outputs_of_pushes(
        "plan.json",
        &[
            &["--verbose"],
            &["--apply", "--verbose"],
            &["--apply", "--verbose", "--format", "json"],
            &["--format", "markdown", "--verbose"],
        ],
    );
    assert!(
        outputs[1].contains("POST /auth/token") && outputs[1].contains("GET /api/Client?search="),
        "verbose shows requests: {}",
        outputs[1]
    );
    // A wrong secret is refused without being echoed: one line naming the variable.
    let wrong = world.push_refused_for("plan.json", SECRET_ENV, "SENTINEL-wrong-secret-31337");
    assert!(
        wrong.stderr.contains("refused the credentials") && wrong.stderr.contains(SECRET_ENV),
        "{}",
        wrong.stderr
    );
    outputs.extend([wrong.stderr, wrong.stdout]);
    // A missing variable: exit 2, one line naming it.
    let missing = Run::of(
        world
            .command(&["push"])
            .arg(world.path("plan.json"))
            .env_remove(SECRET_ENV),
    );
    assert_eq!(missing.code, 2);
    let stderr = missing.stderr;
    assert!(stderr.contains(SECRET_ENV), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let tokens = world.fake.issued_tokens();
    assert!(
        tokens.len() > 4,
        "tokens were issued and renewed: {tokens:?}"
    );
    let mut needles: Vec<&str> = tokens.iter().map(String::as_str).collect();
    needles.extend([SENTINEL, "SENTINEL"]);
    world.assert_nowhere(&needles, &outputs);
    assert!(!world.active(&fixture_plan()).is_empty());
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}
