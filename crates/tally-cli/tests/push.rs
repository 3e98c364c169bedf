//! `tally push` through the real binary against the in-process ConnectWise fake: plan an
//! example, dry run, apply, apply again (no write), next month's changes, a process killed
//! between writes and resumed, a second apply refused while one runs, exit codes, and a
//! sentinel secret that must never appear in any output or journal byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use assert_cmd::Command;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tally_psa_testserver::connectwise::{BASE_PATH, Credentials, Fake};
use tally_psa_testserver::{Fault, Faults, RandomFaults, Server};

const COMPANY_ID: &str = "tallymsp";
const PUBLIC_KEY: &str = "pubKEY-4f1d2c";
const SENTINEL: &str = "SENTINEL-5ecret-c0ffee-77";
const CLIENT_ID: &str = "0b3c6f9e-8a2d-4a51-9e1f-3d2c7b6a5e40";

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

impl World {
    fn new() -> World {
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
        let mut seen = std::collections::BTreeSet::new();
        for line in &plan.customers[0].lines {
            if seen.insert(line.product.clone()) {
                fake.add_catalog_item(
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
                "[connectwise]\nbase_url = \"{}{BASE_PATH}\"\ncompany_id = \"{COMPANY_ID}\"\nclient_id = \"{CLIENT_ID}\"\n\n[connectwise.http]\nbase_delay_ms = 1\nmax_delay_ms = 4\nmax_retry_after_s = 2\ntimeout_s = 5\njitter_seed = 3\n",
                server.origin()
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
            .env("TALLY_CONNECTWISE_PUBLIC_KEY", PUBLIC_KEY)
            .env("TALLY_CONNECTWISE_PRIVATE_KEY", SENTINEL)
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

    fn active(&self) -> Vec<tally_psa_testserver::connectwise::Addition> {
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

fn plan_example(world: &World) -> tally_plan::Plan {
    let out = world.path("plan.json");
    let output = Command::cargo_bin("tally")
        .unwrap()
        .current_dir(workspace())
        .args([
            "plan",
            "examples/northwind/northwind.tally",
            "--snapshot",
            "examples/northwind/snapshot.json",
            "--format",
            "json",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    tally_plan::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

fn november(plan: &tally_plan::Plan) -> tally_plan::Plan {
    let mut plan = plan.clone();
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
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
        .find(|l| l.id.ends_with("department=Sales"))
        .unwrap();
    support.quantity = 14;
    support.amount = Some(Decimal::new(45500, 2));
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

    let next = november(&plan);
    std::fs::write(
        world.path("november.json"),
        tally_plan::to_json(&next).unwrap(),
    )
    .unwrap();
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
        std::fs::write(world.path("plan.json"), tally_plan::to_json(&plan).unwrap()).unwrap();
        let mut faults = Faults::none();
        faults.by_write.insert(k, fault);
        world.fake.set_faults(faults);
        let plan_path = world.path("plan.json");
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tally"))
            .current_dir(workspace())
            .env("TALLY_CONNECTWISE_PUBLIC_KEY", PUBLIC_KEY)
            .env("TALLY_CONNECTWISE_PRIVATE_KEY", SENTINEL)
            .args(["push", "--apply"])
            .arg(&plan_path)
            .arg("--config")
            .arg(world.path("tally.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            world.server.gate.wait_held(Duration::from_secs(60)),
            "write {k} reached"
        );
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
        child.kill().unwrap();
        child.wait().unwrap();
        world.server.gate.release();

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
        assert_eq!(world.fake.violations(), Vec::<String>::new());
        world.fake.clear_log();
        let again = world.push("plan.json", &["--apply"]);
        assert_eq!(again.code, 0);
        assert_eq!(world.fake.writes(), 0);
    }
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

/// Randomized kill schedules through the real binary: `kill -9` of `tally push --apply` while
/// a write is held, the write carried out (its answer lost) or not; then resumes under random
/// faults (lost answers after committed writes, 5xx, 429, dropped connections, HTML, cut JSON)
/// until an apply finishes. Half the schedules kill the first push of the month (27 creates),
/// half next month's (2 updates and a cancellation). Every schedule must end with exactly the
/// plan: no duplicate, no lost line, no request the vendor's document rejects, and a last apply
/// that writes nothing. `TALLY_PUSH_KILL_SCHEDULES=N` runs more (default 24).
#[test]
fn randomized_kills_and_faults_resume_to_exactly_the_plan() {
    let schedules: u64 = std::env::var("TALLY_PUSH_KILL_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let october = northwind_plan();
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
    let (mut kills_after_commit, mut kills_before_commit, mut resume_runs, mut faults_injected) =
        (0u64, 0u64, 0u64, 0u64);
    for seed in 0..schedules {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x51);
        let world = World::new();
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
            (&october, "october.json", 27)
        } else {
            let first = world.push("october.json", &["--apply"]);
            assert_eq!(first.code, 0, "seed {seed}: {}", first.stderr);
            (&november, "november.json", 3)
        };
        let k = 1 + rng.below(writes);
        let fault = if rng.below(3) == 0 {
            kills_before_commit += 1;
            Fault::HoldBeforeCommit
        } else {
            kills_after_commit += 1;
            Fault::HoldAfterCommit
        };
        let mut faults = Faults::none();
        faults.by_write.insert(k, fault);
        world.fake.set_faults(faults);
        world.server.gate.reset();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tally"))
            .current_dir(workspace())
            .env("TALLY_CONNECTWISE_PUBLIC_KEY", PUBLIC_KEY)
            .env("TALLY_CONNECTWISE_PRIVATE_KEY", SENTINEL)
            .args(["push", "--apply"])
            .arg(world.path(file))
            .arg("--config")
            .arg(world.path("tally.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
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
        world.assert_holds(wanted);
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
        "kill figures: {schedules} schedules, {kills_after_commit} kills after a committed write, {kills_before_commit} before, {resume_runs} resume runs, {faults_injected} faults injected, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(kills_after_commit > 0 && kills_before_commit > 0);
}

#[test]
fn exit_codes_and_one_line_errors() {
    let world = World::new();
    let mut plan = northwind_plan();
    std::fs::write(world.path("plan.json"), tally_plan::to_json(&plan).unwrap()).unwrap();

    let mut missing = world.command(&["push"]);
    missing
        .arg(world.path("plan.json"))
        .env_remove("TALLY_CONNECTWISE_PRIVATE_KEY");
    let output = missing.output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr.trim(),
        "error: ConnectWise credentials: set the environment variable `TALLY_CONNECTWISE_PRIVATE_KEY`"
    );

    let bad = world.push("plan.json", &["--max-change", "lots"]);
    assert_eq!(bad.code, 2);

    plan.incomplete.push(tally_plan::Incomplete {
        rules: "customers/contoso.tally".into(),
        reason: "tenant missing".into(),
    });
    std::fs::write(
        world.path("incomplete.json"),
        tally_plan::to_json(&plan).unwrap(),
    )
    .unwrap();
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
    std::fs::write(
        world.path("plan.json"),
        tally_plan::to_json(&northwind_plan()).unwrap(),
    )
    .unwrap();
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
    std::fs::write(
        world.path("plan.json"),
        tally_plan::to_json(&northwind_plan()).unwrap(),
    )
    .unwrap();
    let mut faults = Faults::none();
    faults.by_write.insert(2, Fault::Status(500));
    faults.by_write.insert(4, Fault::DropAfterCommit);
    faults.by_request.insert(2, Fault::Html);
    world.fake.set_faults(faults);
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
    // A wrong key is refused without being echoed.
    let mut wrong = world.command(&["push", "--verbose"]);
    wrong
        .arg(world.path("plan.json"))
        .env("TALLY_CONNECTWISE_PRIVATE_KEY", "SENTINEL-wrong-key-31337");
    let output = wrong.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("refused the credentials (401)"), "{stderr}");
    outputs.push(stderr);
    outputs.push(String::from_utf8(output.stdout).unwrap());
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
        .env_remove("TALLY_CONNECTWISE_PRIVATE_KEY")
        .env("TALLY_CREDENTIALS_FILE", &file);
    let output = from_file.output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("applied: 0 writes"), "{stderr}");
    outputs.push(stderr);
    outputs.push(String::from_utf8(output.stdout).unwrap());
    // A file without the key: one line naming the variable and where else it was looked for.
    std::fs::write(&file, "[connectwise]\npublic_key = \"x-public\"\n").unwrap();
    let output = from_file.output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`TALLY_CONNECTWISE_PRIVATE_KEY`")
            && stderr.contains("private_key` under [connectwise]"),
        "{stderr}"
    );

    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{COMPANY_ID}+{PUBLIC_KEY}:{SENTINEL}"));
    let needles = [SENTINEL, "SENTINEL", PUBLIC_KEY, token.as_str()];
    for text in &outputs {
        for needle in needles {
            assert!(!text.contains(needle), "`{needle}` in output:\n{text}");
        }
    }
    let mut files = 0;
    for entry in walk(world.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        files += 1;
        for needle in needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "`{needle}` in {}", entry.display());
        }
    }
    assert!(files >= 3, "the journal was written");
    assert!(!world.active().is_empty());
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
