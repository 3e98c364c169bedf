//! `tally push` to Autotask through the real binary against the in-process fake (zone lookup
//! included): plan `examples/small-business` (already `psa autotask`), dry run, apply, apply
//! again (no write), next month's changes; a fixture whose one-off prorated lines become
//! contract charges; `kill -9` of tally while a write is held, then resume; and a sentinel
//! secret that never appears in any output or journal byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use assert_cmd::Command;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tally_psa_testserver::autotask::{Credentials, Fake};
use tally_psa_testserver::{Fault, Faults, RandomFaults, Server};

const USERNAME: &str = "tally-api@fabrikam-msp.example";
const CODE: &str = "SENTINEL-code-1b2c3d";
const SECRET: &str = "SENTINEL-5ecret-autotask-99";

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

struct World {
    fake: Arc<Fake>,
    server: Server,
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl World {
    /// A fake holding the plan's company, contract and services.
    fn for_plan(plan: &tally_plan::Plan) -> World {
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
            let mut seen = std::collections::BTreeSet::new();
            for line in &customer.lines {
                if seen.insert(line.product.clone()) {
                    fake.add_service(&line.product, line.unit_price.unwrap_or(Decimal::TWO));
                }
            }
        }
        fake.set_page_size(4);
        let server = fake.serve().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tally.toml"),
            format!(
                "[autotask]\nzone_url = \"{}\"\nusername = \"{USERNAME}\"\n\n[autotask.http]\nbase_delay_ms = 1\nmax_delay_ms = 4\nmax_retry_after_s = 2\ntimeout_s = 5\njitter_seed = 3\n",
                Fake::zone_url(&server)
            ),
        )
        .unwrap();
        World { fake, server, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("tally").unwrap();
        command
            .current_dir(workspace())
            .env("NO_COLOR", "1")
            .env("TALLY_AUTOTASK_INTEGRATION_CODE", CODE)
            .env("TALLY_AUTOTASK_SECRET", SECRET)
            .args(args)
            .arg("--config")
            .arg(self.path("tally.toml"));
        command
    }

    fn push(&self, plan: &str, extra: &[&str]) -> Run {
        let plan = self.path(plan);
        let mut args = vec!["push", plan.to_str().unwrap()];
        args.extend_from_slice(extra);
        let output = self.command(&args).output().unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    fn spawn_apply(&self, plan: &str) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("tally"))
            .current_dir(workspace())
            .env("TALLY_AUTOTASK_INTEGRATION_CODE", CODE)
            .env("TALLY_AUTOTASK_SECRET", SECRET)
            .args(["push", "--apply"])
            .arg(self.path(plan))
            .arg("--config")
            .arg(self.path("tally.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
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

fn plan_rules(rules: &str, snapshot: &str, out: &Path) -> tally_plan::Plan {
    let output = Command::cargo_bin("tally")
        .unwrap()
        .current_dir(workspace())
        .args([
            "plan",
            rules,
            "--snapshot",
            snapshot,
            "--format",
            "json",
            "-o",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    tally_plan::from_json(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn small_business(dir: &Path) -> tally_plan::Plan {
    plan_rules(
        "examples/small-business/small.tally",
        "examples/small-business/snapshot.json",
        &dir.join("plan.json"),
    )
}

/// November: support 10 → 12 users, backup's price 3.50 → 3.75, Exchange Online gone.
fn november(plan: &tally_plan::Plan) -> tally_plan::Plan {
    let mut plan = plan.clone();
    let (start, end) = (day(2026, 11, 1), day(2026, 11, 30));
    plan.period.start = start;
    plan.period.end = end;
    let customer = &mut plan.customers[0];
    customer.period.start = start;
    customer.period.end = end;
    for line in &mut customer.lines {
        line.period.start = start;
        line.period.end = end;
    }
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
    let plan = plan_rules(
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

/// splitmix64, for the kill schedules.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// `kill -9` of `tally push --apply` while a write is held (carried out or not), then resumes
/// under random faults until an apply finishes: no duplicate, no lost line, no second delta,
/// a last apply with 0 writes. `TALLY_PUSH_KILL_SCHEDULES=N` runs more (default 8).
#[test]
fn randomized_kills_resume_to_exactly_the_plan() {
    let schedules: u64 = std::env::var("TALLY_PUSH_KILL_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let scratch = tempfile::tempdir().unwrap();
    let october = small_business(scratch.path());
    let november = november(&october);
    let kinds = vec![
        Fault::RateLimit { retry_after: 0 },
        Fault::Status(503),
        Fault::StatusAfterCommit(500),
        Fault::DropBeforeCommit,
        Fault::DropAfterCommit,
        Fault::Truncated,
        Fault::Html,
    ];
    let started = std::time::Instant::now();
    let (mut after, mut before, mut resumes) = (0, 0, 0);
    for seed in 0..schedules {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xa7);
        let world = World::for_plan(&october);
        std::fs::write(
            world.path("october.json"),
            tally_plan::to_json(&october).unwrap(),
        )
        .unwrap();
        std::fs::write(
            world.path("november.json"),
            tally_plan::to_json(&november).unwrap(),
        )
        .unwrap();
        let (wanted, file, writes) = if seed % 2 == 0 {
            (&october, "october.json", 12)
        } else {
            let first = world.push("october.json", &["--apply"]);
            assert_eq!(first.code, 0, "seed {seed}: {}", first.stderr);
            world.fake.set_today(day(2026, 11, 1));
            (&november, "november.json", 3)
        };
        let k = 1 + rng.below(writes);
        let fault = if rng.below(3) == 0 {
            before += 1;
            Fault::HoldBeforeCommit
        } else {
            after += 1;
            Fault::HoldAfterCommit
        };
        let mut faults = Faults::none();
        faults.by_write.insert(k, fault);
        world.fake.set_faults(faults);
        world.server.gate.reset();
        let mut child = world.spawn_apply(file);
        assert!(
            world.server.gate.wait_held(Duration::from_secs(60)),
            "seed {seed}: write {k} reached"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        world.server.gate.release();

        let mut random = RandomFaults::new(seed ^ 0xfa17, 150, kinds.clone());
        random.writes_only = rng.below(2) == 0;
        let mut faults = Faults::none();
        faults.random = Some(random);
        world.fake.set_faults(faults);
        let mut finished = false;
        for _ in 0..20 {
            resumes += 1;
            let run = world.push(file, &["--apply"]);
            assert!(
                matches!(run.code, 0 | 3),
                "seed {seed}: {}{}",
                run.stdout,
                run.stderr
            );
            if run.code == 0 {
                finished = true;
                break;
            }
        }
        assert!(finished, "seed {seed}: the resumes never finished");
        world.fake.set_faults(Faults::none());
        world.assert_holds(wanted);
        let state = world.fake.state();
        assert_eq!(
            state.contract_services.len(),
            6,
            "seed {seed}: no duplicate service"
        );
        drop(state);
        assert_eq!(world.fake.violations(), Vec::<String>::new(), "seed {seed}");
        world.fake.clear_log();
        let again = world.push(file, &["--apply"]);
        assert_eq!(again.code, 0, "seed {seed}: {}", again.stderr);
        assert_eq!(
            world.fake.writes(),
            0,
            "seed {seed}: a last apply writes nothing"
        );
    }
    eprintln!(
        "autotask kill figures: {schedules} schedules, {after} kills after a committed write, {before} before, {resumes} resume runs, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(after > 0 && before > 0);
}

#[test]
fn the_secret_never_appears_in_output_or_the_journal() {
    let scratch = tempfile::tempdir().unwrap();
    let plan = small_business(scratch.path());
    let world = World::for_plan(&plan);
    std::fs::copy(scratch.path().join("plan.json"), world.path("plan.json")).unwrap();
    let mut faults = Faults::none();
    faults.by_write.insert(2, Fault::Status(500));
    faults.by_write.insert(4, Fault::DropAfterCommit);
    faults.by_request.insert(3, Fault::Html);
    world.fake.set_faults(faults);
    let mut outputs = Vec::new();
    for args in [
        vec!["--verbose"],
        vec!["--apply", "--verbose"],
        vec!["--apply", "--verbose", "--format", "json"],
    ] {
        let run = world.push("plan.json", &args);
        outputs.push(run.stdout);
        outputs.push(run.stderr);
    }
    assert!(
        outputs[1].contains("POST /V1.0/Companies/query"),
        "{}",
        outputs[1]
    );
    let mut wrong = world.command(&["push", "--verbose"]);
    wrong
        .arg(world.path("plan.json"))
        .env("TALLY_AUTOTASK_SECRET", "SENTINEL-wrong-secret-31337");
    let output = wrong.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("refused the credentials (401)")
            && stderr.contains("TALLY_AUTOTASK_SECRET"),
        "{stderr}"
    );
    outputs.push(stderr);
    world.assert_holds(&plan);
    for text in &outputs {
        for needle in ["SENTINEL", CODE, SECRET] {
            assert!(!text.contains(needle), "`{needle}` in output:\n{text}");
        }
    }
    let mut files = 0;
    for entry in walk(world.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        files += 1;
        for needle in ["SENTINEL", CODE, SECRET] {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "`{needle}` in {}", entry.display());
        }
    }
    assert!(files >= 3, "the journal was written");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
