//! `tally push` to HaloPSA through the real binary against the in-process Halo fake: plan the
//! fixture (Northwind sent to HaloPSA, its backup prorated daily), dry run, apply, apply again
//! (no write), next month's changes, `kill -9` while a write is held then resumes under faults
//! and expiring tokens, and a sentinel client secret (and every token the fake issued) that
//! must never appear in any output or journal byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use assert_cmd::Command;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tally_psa_testserver::halopsa::{Credentials, Fake, Line};
use tally_psa_testserver::{Fault, Faults, RandomFaults, Server};

const CLIENT_ID: &str = "c9a4e7d2-tally-push";
const SENTINEL: &str = "SENTINEL-halo-5ecret-b0a7-91";
const SECRET_ENV: &str = "TALLY_HALOPSA_CLIENT_SECRET";
const FIXTURE: &str = "crates/tally-cli/tests/fixtures/push_halopsa";

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
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

/// The fixture planned by the real binary (once per test process).
fn fixture_plan() -> tally_plan::Plan {
    static PLAN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = PLAN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("plan.json");
        let output = Command::cargo_bin("tally")
            .unwrap()
            .current_dir(workspace())
            .args([
                "plan",
                &format!("{FIXTURE}/northwind.tally"),
                "--snapshot",
                &format!("{FIXTURE}/snapshot.json"),
                "--format",
                "json",
                "-o",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read_to_string(&out).unwrap()
    });
    tally_plan::from_json(text).unwrap()
}

impl World {
    fn new() -> World {
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
        let mut seen = std::collections::BTreeSet::new();
        for line in &plan.customers[0].lines {
            if seen.insert(line.product.clone()) {
                fake.add_item(
                    &line.product,
                    line.unit_price.unwrap_or(Decimal::new(200, 2)),
                );
            }
        }
        let server = fake.serve().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tally.toml"),
            format!(
                "[halopsa]\nbase_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\n[halopsa.http]\nbase_delay_ms = 1\nmax_delay_ms = 4\nmax_retry_after_s = 2\ntimeout_s = 5\njitter_seed = 3\n",
                server.origin()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("plan.json"),
            tally_plan::to_json(&plan).unwrap(),
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
            .env(SECRET_ENV, SENTINEL)
            .args(args)
            .arg("--config")
            .arg(self.path("tally.toml"));
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    fn push(&self, plan: &str, extra: &[&str]) -> Run {
        let plan = self.path(plan);
        let mut args = vec!["push", plan.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn spawn_apply(&self, plan: &str) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("tally"))
            .current_dir(workspace())
            .env(SECRET_ENV, SENTINEL)
            .args(["push", "--apply"])
            .arg(self.path(plan))
            .arg("--config")
            .arg(self.path("tally.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
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

/// November: one quantity and one price change, one line gone, October's prorated stretches
/// over (ended on 31 October, they are history).
fn november(plan: &tally_plan::Plan) -> tally_plan::Plan {
    let mut plan = plan.clone();
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    plan.period.start = start;
    plan.period.end = end;
    let customer = &mut plan.customers[0];
    customer.period.start = start;
    customer.period.end = end;
    customer.lines.retain(|l| l.proration.is_none());
    for line in &mut customer.lines {
        line.period.start = start;
        line.period.end = end;
    }
    let sales = customer
        .lines
        .iter_mut()
        .find(|l| l.id.ends_with("department=Sales"))
        .unwrap();
    sales.quantity = 14;
    sales.amount = Some(Decimal::new(45500, 2));
    let azure = customer
        .lines
        .iter_mut()
        .find(|l| l.id.ends_with("/azure"))
        .unwrap();
    azure.unit_price = Some(Decimal::new(19803, 2));
    azure.amount = Some(Decimal::new(19803, 2));
    customer.lines.retain(|l| !l.id.ends_with("/teams_rooms"));
    plan
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

    let next = november(&plan);
    std::fs::write(
        world.path("november.json"),
        tally_plan::to_json(&next).unwrap(),
    )
    .unwrap();
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

/// A small deterministic generator for the schedules below (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `kill -9` of `tally push --apply` while a write is held by the fake (carried out, its
/// answer never sent, or not carried out), at a random write of the first push or of next
/// month's; then resumes under random faults and expiring tokens until an apply finishes. No
/// duplicate, no lost line, no request the document rejects, a last apply with no write.
/// `TALLY_HALOPSA_KILL_SCHEDULES=N` runs more (default 8).
#[test]
fn randomized_kills_and_faults_resume_to_exactly_the_plan() {
    let schedules: u64 = std::env::var("TALLY_HALOPSA_KILL_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let october = fixture_plan();
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
    let (mut after_commit, mut before_commit, mut resume_runs, mut faults_injected) =
        (0u64, 0u64, 0u64, 0u64);
    for seed in 0..schedules {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x4a);
        let world = World::new();
        std::fs::write(
            world.path("november.json"),
            tally_plan::to_json(&november).unwrap(),
        )
        .unwrap();
        let (wanted, file, writes) = if seed % 2 == 0 {
            (
                &october,
                "plan.json",
                october.customers[0].lines.len() as u64,
            )
        } else {
            let first = world.push("plan.json", &["--apply"]);
            assert_eq!(first.code, 0, "seed {seed}: {}", first.stderr);
            (&november, "november.json", 3)
        };
        let k = 1 + rng.below(writes);
        let fault = if rng.below(3) == 0 {
            before_commit += 1;
            Fault::HoldBeforeCommit
        } else {
            after_commit += 1;
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
        child.kill().unwrap(); // SIGKILL: no destructor, no journal close
        child.wait().unwrap();
        world.server.gate.release();

        let mut random = RandomFaults::new(seed ^ 0xfa17, 150, kinds.clone());
        random.writes_only = rng.below(2) == 0;
        let mut faults = Faults::none();
        faults.random = Some(random);
        world.fake.set_faults(faults);
        world.fake.set_random_expiry(seed, 200, 7);
        let mut finished = false;
        for _ in 0..20 {
            resume_runs += 1;
            let run = world.push(file, &["--apply"]);
            assert!(
                matches!(run.code, 0 | 3),
                "seed {seed}: exit {}: {}{}",
                run.code,
                run.stdout,
                run.stderr
            );
            if run.code == 0 {
                finished = true;
                break;
            }
        }
        assert!(finished, "seed {seed}: the resumes never finished");
        faults_injected += world
            .fake
            .log()
            .iter()
            .filter(|l| l.fault.is_some())
            .count() as u64;
        world.fake.set_faults(Faults::none());
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
        "HaloPSA kill figures: {schedules} schedules, {after_commit} kills after a committed write, {before_commit} before, {resume_runs} resume runs, {faults_injected} faults injected, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(after_commit > 0 && before_commit > 0);
}

#[test]
fn the_secret_and_the_tokens_never_appear_in_output_or_the_journal() {
    let world = World::new();
    let mut faults = Faults::none();
    faults.by_write.insert(2, Fault::Status(500));
    faults.by_write.insert(4, Fault::DropAfterCommit);
    faults.by_request.insert(3, Fault::Html);
    world.fake.set_faults(faults);
    world.fake.set_random_expiry(11, 300, 3);
    let mut outputs = Vec::new();
    for args in [
        vec!["--verbose"],
        vec!["--apply", "--verbose"],
        vec!["--apply", "--verbose", "--format", "json"],
        vec!["--format", "markdown", "--verbose"],
    ] {
        let run = world.push("plan.json", &args);
        outputs.push(run.stdout);
        outputs.push(run.stderr);
    }
    assert!(
        outputs[1].contains("POST /auth/token") && outputs[1].contains("GET /api/Client?search="),
        "verbose shows requests: {}",
        outputs[1]
    );
    // A wrong secret is refused without being echoed: one line naming the variable.
    let mut wrong = world.command(&["push", "--verbose"]);
    wrong
        .arg(world.path("plan.json"))
        .env(SECRET_ENV, "SENTINEL-wrong-secret-31337");
    let output = wrong.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("refused the credentials") && stderr.contains(SECRET_ENV),
        "{stderr}"
    );
    outputs.push(stderr);
    outputs.push(String::from_utf8(output.stdout).unwrap());
    // A missing variable: exit 2, one line naming it.
    let mut missing = world.command(&["push"]);
    missing.arg(world.path("plan.json")).env_remove(SECRET_ENV);
    let output = missing.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(SECRET_ENV), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let tokens = world.fake.issued_tokens();
    assert!(
        tokens.len() > 4,
        "tokens were issued and renewed: {tokens:?}"
    );
    let mut needles: Vec<String> = tokens;
    needles.push(SENTINEL.into());
    needles.push("SENTINEL".into());
    for text in &outputs {
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "`{needle}` in output:\n{text}"
            );
        }
    }
    let mut files = 0;
    for entry in walk(world.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        files += 1;
        for needle in &needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "`{needle}` in {}", entry.display());
        }
    }
    assert!(files >= 3, "the journal was written");
    assert!(!world.active(&fixture_plan()).is_empty());
    assert_eq!(world.fake.violations(), Vec::<String>::new());
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
