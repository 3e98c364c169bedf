//! What the `tally push` tests share, whichever PSA they push to: a directory holding
//! `tally.toml`, the plans and the journal, where the real binary runs against a PSA's fake;
//! `kill -9` of an apply while the fake holds one of its writes, then resumes under random
//! faults; and the search for secrets in every output and journal byte.

use assert_cmd::Command;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_plan::Plan;
use tally_psa_testserver::{Fault, Faults, RandomFaults, Server};

/// The repository's root, which tally runs in and examples are named from.
pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `tally plan <rules> --snapshot <snapshot>` by the real binary, written to `out` as JSON.
pub fn plan_with_binary(rules: &str, snapshot: &str, out: &Path) -> Plan {
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

/// Every product the lines name, once, in plan order, at the plan's unit price; lines the
/// catalogue prices get 2.00.
pub fn catalogue<'p>(
    lines: impl IntoIterator<Item = &'p tally_plan::PlanLine>,
) -> Vec<(String, Decimal)> {
    let mut seen = std::collections::BTreeSet::new();
    lines
        .into_iter()
        .filter(|line| seen.insert(line.product.clone()))
        .map(|line| {
            (
                line.product.clone(),
                line.unit_price.unwrap_or(Decimal::new(200, 2)),
            )
        })
        .collect()
}

/// The plan moved to November, 1 to 30, for its first customer and the customer's lines.
pub fn next_month(plan: &Plan) -> Plan {
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
    plan
}

/// Northwind in November: the Sales department's support 14 users, Azure at 198.03, Teams Rooms
/// gone; October's prorated stretches (ended on 31 October) are history.
#[allow(dead_code)] // `push_autotask` pushes another example
pub fn northwind_november(plan: &Plan) -> Plan {
    let mut plan = next_month(plan);
    let customer = &mut plan.customers[0];
    customer.lines.retain(|l| l.proration.is_none());
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

/// What the shared steps ask of a fake; each vendor's fake has these methods of its own.
pub trait PushFake {
    fn serve(self: &Arc<Self>) -> Server;
    fn set_faults(&self, faults: Faults);
    fn writes(&self) -> usize;
    fn violations(&self) -> Vec<String>;
    fn clear_log(&self);
    /// Requests answered with a fault since the log was last cleared.
    fn faults_injected(&self) -> usize;
}

macro_rules! push_fake {
    ($($fake:ty),*) => {$(
        impl PushFake for $fake {
            fn serve(self: &Arc<Self>) -> Server {
                <$fake>::serve(self).unwrap()
            }
            fn set_faults(&self, faults: Faults) {
                <$fake>::set_faults(self, faults)
            }
            fn writes(&self) -> usize {
                <$fake>::writes(self)
            }
            fn violations(&self) -> Vec<String> {
                <$fake>::violations(self)
            }
            fn clear_log(&self) {
                <$fake>::clear_log(self)
            }
            fn faults_injected(&self) -> usize {
                <$fake>::log(self).iter().filter(|l| l.fault.is_some()).count()
            }
        }
    )*};
}

push_fake!(
    tally_psa_testserver::connectwise::Fake,
    tally_psa_testserver::autotask::Fake,
    tally_psa_testserver::halopsa::Fake
);

/// How a run of the binary ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command`; whatever it exits with, it must not panic.
    pub fn of(command: &mut Command) -> Run {
        let output = command.output().unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }
}

/// The faults the secret tests push through, so that error paths print too: a 500 on the
/// second write, the fourth write carried out but its answer lost, an HTML page for request
/// `html_request`.
pub fn faults_on_error_paths(html_request: u64) -> Faults {
    let mut faults = Faults::none();
    faults.by_write.insert(2, Fault::Status(500));
    faults.by_write.insert(4, Fault::DropAfterCommit);
    faults.by_request.insert(html_request, Fault::Html);
    faults
}

/// A PSA's fake, served, and a directory with the `tally.toml` pointing at it, where plans are
/// written and the journal is kept. Each test adds the PSA's own constructor and checks.
pub struct World<F> {
    pub fake: Arc<F>,
    pub server: Server,
    pub dir: tempfile::TempDir,
    /// The environment the PSA's credentials are read from.
    credentials: Vec<(&'static str, &'static str)>,
}

impl<F: PushFake> World<F> {
    /// Serves `fake`, writes `tally.toml` as `config` gives it for the server, and runs tally
    /// with `credentials` (variable, value) in its environment.
    pub fn serve(
        fake: Arc<F>,
        config: impl FnOnce(&Server) -> String,
        credentials: &[(&'static str, &'static str)],
    ) -> World<F> {
        let server = fake.serve();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tally.toml"), config(&server)).unwrap();
        World {
            fake,
            server,
            dir,
            credentials: credentials.to_vec(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write_plan(&self, name: &str, plan: &Plan) {
        std::fs::write(self.path(name), tally_plan::to_json(plan).unwrap()).unwrap();
    }

    /// `tally <args> --config tally.toml`, with the credentials set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("tally").unwrap();
        command
            .current_dir(workspace())
            .env("NO_COLOR", "1")
            .envs(self.credentials.iter().copied())
            .args(args)
            .arg("--config")
            .arg(self.path("tally.toml"));
        command
    }

    /// `tally push <plan> <extra>`, `plan` a file in the directory.
    pub fn push(&self, plan: &str, extra: &[&str]) -> Run {
        let plan = self.path(plan);
        let mut args = vec!["push", plan.to_str().unwrap()];
        args.extend_from_slice(extra);
        Run::of(&mut self.command(&args))
    }

    /// `tally push <plan>` with each of `runs`' arguments in turn: every run's stdout and stderr.
    pub fn outputs_of_pushes(&self, plan: &str, runs: &[&[&str]]) -> Vec<String> {
        let mut outputs = Vec::new();
        for args in runs {
            let run = self.push(plan, args);
            outputs.push(run.stdout);
            outputs.push(run.stderr);
        }
        outputs
    }

    /// `tally push --verbose <plan>` with the credential `variable` set to `wrong`: refused with
    /// exit 2.
    pub fn push_refused_for(&self, plan: &str, variable: &str, wrong: &str) -> Run {
        let refused = Run::of(
            self.command(&["push", "--verbose"])
                .arg(self.path(plan))
                .env(variable, wrong),
        );
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        refused
    }

    /// `tally push <plan> --apply`, which must finish (exit 0).
    pub fn apply(&self, context: &str, plan: &str) {
        let run = self.push(plan, &["--apply"]);
        assert_eq!(run.code, 0, "{context}: {}", run.stderr);
    }

    /// `kill -9` of `tally push --apply <plan>` while the fake holds its write number `write`,
    /// carried out or not as `fault` says; `while_held` runs before the kill.
    pub fn kill_an_apply_held_at(
        &self,
        context: &str,
        plan: &str,
        write: u64,
        fault: Fault,
        while_held: impl FnOnce(),
    ) {
        let mut faults = Faults::none();
        faults.by_write.insert(write, fault);
        self.fake.set_faults(faults);
        self.server.gate.reset();
        let mut child = self.spawn_apply(plan);
        assert!(
            self.server.gate.wait_held(Duration::from_secs(60)),
            "{context}: write {write} reached"
        );
        while_held();
        child.kill().unwrap(); // SIGKILL: no destructor, no journal close
        child.wait().unwrap();
        self.server.gate.release();
    }

    fn spawn_apply(&self, plan: &str) -> Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("tally"))
            .current_dir(workspace())
            .envs(self.credentials.iter().copied())
            .args(["push", "--apply"])
            .arg(self.path(plan))
            .arg("--config")
            .arg(self.path("tally.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// No request broke the vendor's document, and an apply of `plan` now writes nothing.
    pub fn assert_a_last_apply_writes_nothing(&self, context: &str, plan: &str) {
        assert_eq!(self.fake.violations(), Vec::<String>::new(), "{context}");
        self.fake.clear_log();
        let again = self.push(plan, &["--apply"]);
        assert_eq!(again.code, 0, "{context}: {}", again.stderr);
        assert_eq!(
            self.fake.writes(),
            0,
            "{context}: a last apply writes nothing"
        );
    }

    /// None of `needles` is in any of `outputs` or in any byte of the directory, the journal
    /// included (which must have been written).
    pub fn assert_nowhere(&self, needles: &[&str], outputs: &[String]) {
        for text in outputs {
            for needle in needles {
                assert!(!text.contains(needle), "`{needle}` in output:\n{text}");
            }
        }
        let mut files = 0;
        for entry in walk(self.dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            files += 1;
            for needle in needles {
                let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
                assert!(!found, "`{needle}` in {}", entry.display());
            }
        }
        assert!(files >= 3, "the journal was written");
    }
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

/// What the resumes after a kill meet at random.
const RESUME_FAULTS: [Fault; 7] = [
    Fault::RateLimit { retry_after: 0 },
    Fault::Status(503),
    Fault::StatusAfterCommit(500),
    Fault::DropBeforeCommit,
    Fault::DropAfterCommit,
    Fault::Truncated,
    Fault::Html,
];

/// Randomized kill schedules through the real binary, and their figures.
pub struct KillSchedules {
    psa: &'static str,
    pub count: u64,
    salt: u64,
    started: Instant,
    kills_after_commit: u64,
    kills_before_commit: u64,
    resume_runs: u64,
    faults_injected: u64,
}

impl KillSchedules {
    /// As many schedules as `env_var` says, else `default`; `salt` gives each PSA schedules of
    /// its own.
    pub fn new(psa: &'static str, env_var: &str, default: u64, salt: u64) -> KillSchedules {
        KillSchedules {
            psa,
            count: std::env::var(env_var)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(default),
            salt,
            started: Instant::now(),
            kills_after_commit: 0,
            kills_before_commit: 0,
            resume_runs: 0,
            faults_injected: 0,
        }
    }

    /// Schedule `seed`: `kill -9` of `tally push --apply <plan>` while the fake holds a write
    /// drawn from `1..=writes`, carried out (its answer never sent) two times in three, else
    /// not; then, under random faults and whatever `during_resumes` sets up, resumes until an
    /// apply finishes (exit 0; 3 is a stop to resume from). The faults are cleared after.
    pub fn kill_then_resume<F: PushFake>(
        &mut self,
        world: &World<F>,
        seed: u64,
        plan: &str,
        writes: u64,
        during_resumes: impl FnOnce(),
    ) {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ self.salt);
        let write = 1 + rng.below(writes);
        let fault = if rng.below(3) == 0 {
            self.kills_before_commit += 1;
            Fault::HoldBeforeCommit
        } else {
            self.kills_after_commit += 1;
            Fault::HoldAfterCommit
        };
        let context = format!("seed {seed}");
        world.kill_an_apply_held_at(&context, plan, write, fault, || {});

        let mut random = RandomFaults::new(seed ^ 0xfa17, 150, RESUME_FAULTS.to_vec());
        random.writes_only = rng.below(2) == 0;
        let mut faults = Faults::none();
        faults.random = Some(random);
        world.fake.set_faults(faults);
        during_resumes();
        let mut finished = false;
        for _ in 0..20 {
            self.resume_runs += 1;
            let run = world.push(plan, &["--apply"]);
            assert!(
                matches!(run.code, 0 | 3),
                "{context}: exit {}: {}{}",
                run.code,
                run.stdout,
                run.stderr
            );
            if run.code == 0 {
                finished = true;
                break;
            }
        }
        assert!(finished, "{context}: the resumes never finished");
        self.faults_injected += world.fake.faults_injected() as u64;
        world.fake.set_faults(Faults::none());
    }

    /// Prints the figures and asserts the schedules killed both before and after a write was
    /// carried out.
    pub fn finish(self) {
        eprintln!(
            "{} kill figures: {} schedules, {} kills after a committed write, {} before, {} resume runs, {} faults injected, in {:.1} s",
            self.psa,
            self.count,
            self.kills_after_commit,
            self.kills_before_commit,
            self.resume_runs,
            self.faults_injected,
            self.started.elapsed().as_secs_f64()
        );
        assert!(self.kills_after_commit > 0 && self.kills_before_commit > 0);
    }
}

/// splitmix64: a small deterministic generator, so a failing schedule repeats.
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
