//! `tally push` through the real binary against the in-process ConnectWise fake: plan an
//! example, dry run, apply, apply again (no write), next month's changes, a process killed
//! between writes and resumed, a second apply refused while one runs, exit codes, and a
//! sentinel secret that must never appear in any output or journal byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod push_support;

use chrono::NaiveDate;
use push_support::{
    KillSchedules, Run, World, catalogue, faults_on_error_paths, northwind_november,
    plan_with_binary, workspace,
};
use rust_decimal::Decimal;
use std::sync::Arc;
use tally_psa_testserver::connectwise::{Addition, BASE_PATH, Credentials, Fake};
use tally_psa_testserver::{Fault, Faults};

const COMPANY_ID: &str = "tallymsp";
const PUBLIC_KEY: &str = "pubKEY-4f1d2c";
const SENTINEL: &str = "SENTINEL-5ecret-c0ffee-77";
const CLIENT_ID: &str = "0b3c6f9e-8a2d-4a51-9e1f-3d2c7b6a5e40";
const PRIVATE_KEY_ENV: &str = "TALLY_CONNECTWISE_PRIVATE_KEY";

impl World<Fake> {
    /// A fake holding Northwind's company, both agreements and every product it bills.
    fn new() -> World<Fake> {
        let plan = northwind_plan();
        let fake = Arc::new(
            Fake::new(
                Credentials {
                    company_id: COMPANY_ID.into(),
                    public_key: PUBLIC_KEY.into(),
                    private_key: SENTINEL.into(),
                    client_id: CLIENT_ID.into(),
                },
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            )
            .unwrap(),
        );
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        fake.add_company("NORTHWIND", "Northwind Traders");
        fake.add_agreement("NORTHWIND", "Managed Services", start);
        fake.add_agreement("NORTHWIND", "Microsoft Licensing", start);
        for (product, price) in catalogue(&plan.customers[0].lines) {
            fake.add_catalog_item(&product, price);
        }
        World::serve(
            fake,
            |server| {
                format!(
                    "[connectwise]\nbase_url = \"{}{BASE_PATH}\"\ncompany_id = \"{COMPANY_ID}\"\nclient_id = \"{CLIENT_ID}\"\n\n[connectwise.http]\nbase_delay_ms = 1\nmax_delay_ms = 4\nmax_retry_after_s = 2\ntimeout_s = 5\njitter_seed = 3\n",
                    server.origin()
                )
            },
            &[
                ("TALLY_CONNECTWISE_PUBLIC_KEY", PUBLIC_KEY),
                (PRIVATE_KEY_ENV, SENTINEL),
            ],
        )
    }

    fn active(&self) -> Vec<Addition> {
        self.fake
            .state()
            .additions
            .iter()
            .filter(|a| {
                a.cancelled
                    .is_none_or(|c| c >= NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
            })
            .cloned()
            .collect()
    }

    /// The PSA holds the plan: one active addition per line, its quantity, price and text.
    fn assert_holds(&self, plan: &tally_plan::Plan) {
        let start = plan.customers[0].period.start;
        let active: Vec<_> = self
            .fake
            .state()
            .additions
            .iter()
            .filter(|a| a.cancelled.is_none_or(|c| c >= start))
            .cloned()
            .collect();
        for line in &plan.customers[0].lines {
            let found: Vec<_> = active
                .iter()
                .filter(|a| a.description == format!("tally:{}", line.id))
                .collect();
            assert_eq!(found.len(), 1, "{}", line.id);
            assert_eq!(
                found[0].quantity,
                Decimal::from(line.quantity),
                "{}",
                line.id
            );
            if let Some(amount) = line.amount {
                assert_eq!(
                    found[0].quantity * found[0].unit_price,
                    amount,
                    "{}: to the cent",
                    line.id
                );
            }
            assert_eq!(
                found[0].invoice_description, line.description,
                "{}",
                line.id
            );
        }
        assert_eq!(active.len(), plan.customers[0].lines.len());
        // What the customer's invoice adds up to equals the plan's total, to the cent.
        // (Lines without a price in the plan are priced by the catalogue: left out of both.)
        let billed: Decimal = active
            .iter()
            .filter(|a| {
                plan.customers[0]
                    .lines
                    .iter()
                    .any(|l| l.amount.is_some() && a.description == format!("tally:{}", l.id))
            })
            .map(|a| a.quantity * a.unit_price)
            .sum();
        let planned: Decimal = plan.customers[0]
            .lines
            .iter()
            .filter_map(|l| l.amount)
            .sum();
        assert_eq!(billed, planned, "the PSA bills the plan's total");
    }
}

fn northwind_plan() -> tally_plan::Plan {
    let text =
        std::fs::read_to_string(workspace().join("examples/northwind/expected-plan.json")).unwrap();
    tally_plan::from_json(&text).unwrap()
}

fn plan_example(world: &World<Fake>) -> tally_plan::Plan {
    plan_with_binary(
        "examples/northwind/northwind.tally",
        "examples/northwind/snapshot.json",
        &world.path("plan.json"),
    )
}

#[test]
fn plan_dry_run_apply_apply_again_and_next_month() {
    let world = World::new();
    let plan = plan_example(&world);

    let dry = world.push("plan.json", &[]);
    assert_eq!(
        dry.code, 1,
        "changes pending:\n{}{}",
        dry.stdout, dry.stderr
    );
    assert!(
        dry.stdout
            .contains("27 create; total 0 → 4389.01 GBP (+4389.01)"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stderr
            .contains("27 changes pending: `--apply` writes them"),
        "{}",
        dry.stderr
    );
    assert_eq!(world.fake.writes(), 0);

    let markdown = world.push("plan.json", &["--format", "markdown"]);
    assert!(
        markdown.stdout.contains("| action | line |"),
        "{}",
        markdown.stdout
    );
    let json = world.push("plan.json", &["--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        value["diff"]["customers"][0]["changes"]
            .as_array()
            .unwrap()
            .len(),
        27
    );
    assert_eq!(value["diff"]["totals"][0]["after"], "4389.01");

    let apply = world.push("plan.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains("applied: 27 writes"),
        "{}",
        apply.stderr
    );
    world.assert_holds(&plan);

    world.fake.clear_log();
    let again = world.push("plan.json", &["--apply"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("27 unchanged"), "{}", again.stdout);
    assert_eq!(world.fake.writes(), 0, "the second apply makes no write");

    let next = northwind_november(&plan);
    world.write_plan("november.json", &next);
    let dry = world.push("november.json", &[]);
    assert_eq!(dry.code, 1);
    assert!(
        dry.stdout.contains("2 update, 1 cancel, 24 unchanged"),
        "{}",
        dry.stdout
    );
    let apply = world.push("november.json", &["--apply"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(world.fake.writes(), 3);
    world.assert_holds(&next);
    assert_eq!(world.fake.violations(), Vec::<String>::new());
}

#[test]
fn a_process_killed_between_writes_resumes_without_duplicates() {
    let plan = northwind_plan();
    for (k, fault) in [
        (1, Fault::HoldAfterCommit),
        (5, Fault::HoldBeforeCommit),
        (12, Fault::HoldAfterCommit),
        (27, Fault::HoldAfterCommit),
    ] {
        let world = World::new();
        world.write_plan("plan.json", &plan);
        world.kill_an_apply_held_at(&format!("{fault:?}"), "plan.json", k, fault, || {
            // While it runs, a second apply on the same journal is refused.
            let second = world.push("plan.json", &["--apply"]);
            assert_eq!(second.code, 2, "{}", second.stderr);
            assert!(
                second
                    .stderr
                    .contains("another `tally push --apply` is running"),
                "{}",
                second.stderr
            );
        });

        let resumed = world.push("plan.json", &["--apply"]);
        assert_eq!(
            resumed.code, 0,
            "write {k} {fault:?}: {}{}",
            resumed.stdout, resumed.stderr
        );
        assert!(resumed.stderr.contains("resumed:"), "{}", resumed.stderr);
        world.assert_holds(&plan);
        let expected_writes = if fault.commits() { 27 } else { 28 };
        assert_eq!(
            world.fake.writes(),
            expected_writes,
            "write {k}: nothing written twice"
        );
        world.assert_a_last_apply_writes_nothing(&format!("write {k}"), "plan.json");
    }
}

/// Randomized kill schedules through the real binary: `kill -9` of `tally push --apply` while
/// a write is held, the write carried out (its answer lost) or not; then resumes under random
/// faults (lost answers after committed writes, 5xx, 429, dropped connections, HTML, cut JSON)
/// until an apply finishes. Half the schedules kill the first push of the month (27 creates),
/// half next month's (2 updates and a cancellation). Every schedule must end with exactly the
/// plan: no duplicate, no lost line, no request the vendor's document rejects, and a last apply
/// that writes nothing. `TALLY_PUSH_KILL_SCHEDULES=N` runs more (default 24).
#[test]
fn randomized_kills_and_faults_resume_to_exactly_the_plan() {
    let october = northwind_plan();
    let november = northwind_november(&october);
    let mut kills = KillSchedules::new("ConnectWise", "TALLY_PUSH_KILL_SCHEDULES", 24, 0x51);
    for seed in 0..kills.count {
        let world = World::new();
        world.write_plan("october.json", &october);
        world.write_plan("november.json", &november);
        let (wanted, file, writes) = if seed % 2 == 0 {
            (&october, "october.json", 27)
        } else {
            world.apply(&format!("seed {seed}"), "october.json");
            (&november, "november.json", 3)
        };
        kills.kill_then_resume(&world, seed, file, writes, || {});
        world.assert_holds(wanted);
        world.assert_a_last_apply_writes_nothing(&format!("seed {seed}"), file);
    }
    kills.finish();
}

#[test]
fn exit_codes_and_one_line_errors() {
    let world = World::new();
    let mut plan = northwind_plan();
    world.write_plan("plan.json", &plan);

    let missing = Run::of(
        world
            .command(&["push"])
            .arg(world.path("plan.json"))
            .env_remove(PRIVATE_KEY_ENV),
    );
    assert_eq!(missing.code, 2);
    assert_eq!(
        missing.stderr.trim(),
        "error: ConnectWise credentials: set the environment variable `TALLY_CONNECTWISE_PRIVATE_KEY`"
    );

    let bad = world.push("plan.json", &["--max-change", "lots"]);
    assert_eq!(bad.code, 2);

    plan.incomplete.push(tally_plan::Incomplete {
        rules: "customers/contoso.tally".into(),
        reason: "tenant missing".into(),
    });
    world.write_plan("incomplete.json", &plan);
    let refused = world.push("incomplete.json", &["--apply"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("the plan is incomplete"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("customers/contoso.tally: tenant missing"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        world.fake.log().len(),
        0,
        "an incomplete plan is refused before any request"
    );

    // The PSA stops answering: exit 3, what was done and what remains.
    let mut faults = Faults::none();
    for n in 3..40 {
        faults.by_write.insert(n, Fault::Status(503));
    }
    world.fake.set_faults(faults);
    world.write_plan("plan.json", &northwind_plan());
    let stopped = world.push("plan.json", &["--apply"]);
    assert_eq!(stopped.code, 3, "{}{}", stopped.stdout, stopped.stderr);
    assert!(
        stopped.stderr.contains("2 writes done, 25 remaining"),
        "{}",
        stopped.stderr
    );
    world.fake.set_faults(Faults::none());
    let resumed = world.push("plan.json", &["--apply"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    world.assert_holds(&northwind_plan());
}

#[test]
fn the_secret_never_appears_in_output_logs_or_the_journal() {
    let world = World::new();
    world.write_plan("plan.json", &northwind_plan());
    world.fake.set_faults(faults_on_error_paths(2));
    let mut outputs = world.outputs_of_pushes(
        "plan.json",
        &[
            &["--verbose"],
            &["--apply", "--verbose"],
            &["--apply", "--verbose", "--format", "json"],
            &["--format", "markdown", "--verbose"],
        ],
    );
    // A wrong key is refused without being echoed.
    let wrong = world.push_refused_for("plan.json", PRIVATE_KEY_ENV, "SENTINEL-wrong-key-31337");
    assert!(
        wrong.stderr.contains("refused the credentials (401)"),
        "{}",
        wrong.stderr
    );
    outputs.extend([wrong.stderr, wrong.stdout]);
    assert!(
        outputs[1].contains("GET /finance/agreements"),
        "verbose shows requests: {}",
        outputs[1]
    );

    // The same keys from a credentials file outside the project, no variable set.
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("credentials.toml");
    std::fs::write(
        &file,
        format!("[connectwise]\npublic_key = \"{PUBLIC_KEY}\"\nprivate_key = \"{SENTINEL}\"\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut from_file = world.command(&["push", "--apply", "--verbose"]);
    from_file
        .arg(world.path("plan.json"))
        .env_remove("TALLY_CONNECTWISE_PUBLIC_KEY")
        .env_remove(PRIVATE_KEY_ENV)
        .env("TALLY_CREDENTIALS_FILE", &file);
    let from_a_file = Run::of(&mut from_file);
    assert_eq!(from_a_file.code, 0, "{}", from_a_file.stderr);
    assert!(
        from_a_file.stderr.contains("applied: 0 writes"),
        "{}",
        from_a_file.stderr
    );
    outputs.extend([from_a_file.stderr, from_a_file.stdout]);
    // A file without the key: one line naming the variable and where else it was looked for.
    std::fs::write(&file, "[connectwise]\npublic_key = \"x-public\"\n").unwrap();
    let without_the_key = Run::of(&mut from_file);
    let stderr = without_the_key.stderr;
    assert_eq!(without_the_key.code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`TALLY_CONNECTWISE_PRIVATE_KEY`")
            && stderr.contains("private_key` under [connectwise]"),
        "{stderr}"
    );

    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{COMPANY_ID}+{PUBLIC_KEY}:{SENTINEL}"));
    world.assert_nowhere(
        &[SENTINEL, "SENTINEL", PUBLIC_KEY, token.as_str()],
        &outputs,
    );
    assert!(!world.active().is_empty());
}
