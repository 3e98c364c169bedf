//! What the tests of every PSA adapter share: Northwind's plan, a directory for the journal, the
//! settings a fake is reached with, pushing through one adapter, and the checks whose logic is
//! the same whatever the PSA, each taking the PSA's world as a [`PsaWorld`] parameter.
//!
//! Each PSA's support module (`support`, `autotask_support`, `halopsa_support`) includes this
//! file as its `common` and implements [`PsaWorld`] for its world: the `push` benchmark
//! includes those modules on their own, so they cannot rely on a sibling module.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};
use tally_ir::PsaKind;
use tally_plan::{CustomerPlan, Plan};
use tally_psa::config::HttpSettings;
use tally_psa::diff::DiffOptions;
use tally_psa::journal::Journal;
use tally_psa::{Action, Change, CustomerDiff, Outcome, Psa, PsaError, PushOptions, PushReport};
use tally_psa_testserver::{Fault, Faults};

/// Tries per request unless a test sets fewer; the bad-answer checks fault every one of them.
pub const MAX_ATTEMPTS: u32 = 6;

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A directory for a journal: in memory (`/dev/shm`) where the machine has it, since the
/// journal syncs every record to disk and hundreds of runs would wait on the disk.
pub fn state_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("tally-psa-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// Northwind's expected plan as JSON, for tests that reshape it before reading it.
pub fn northwind_json() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/northwind/expected-plan.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Northwind's expected plan, sent to ConnectWise as the example is.
pub fn northwind() -> Plan {
    tally_plan::from_json(&northwind_json().to_string()).unwrap()
}

/// Northwind's expected plan, sent to `kind`.
pub fn northwind_sent_to(kind: PsaKind) -> Plan {
    let mut plan = northwind();
    for customer in &mut plan.customers {
        if let Some(psa) = &mut customer.psa {
            psa.kind = kind;
        }
    }
    plan
}

/// Retries that wait milliseconds, not seconds, so hundreds of runs stay quick; a fixed jitter
/// seed, so a failing run repeats.
pub fn http_settings(max_attempts: u32, concurrency: usize) -> HttpSettings {
    HttpSettings {
        max_attempts,
        base_delay_ms: 1,
        max_delay_ms: 4,
        max_retry_after_s: 2,
        timeout_s: 5,
        connect_timeout_s: 2,
        concurrency,
        jitter_seed: Some(7),
    }
}

/// The agreements (contracts, recurring invoices) the customer's lines bill under, the
/// customer's own where a line names none; each once, sorted.
pub fn agreements(customer: &CustomerPlan) -> Vec<String> {
    let psa = customer.psa.as_ref().unwrap();
    let mut agreements: Vec<String> = customer
        .lines
        .iter()
        .map(|l| l.agreement.clone().unwrap_or_else(|| psa.agreement.clone()))
        .collect();
    agreements.sort();
    agreements.dedup();
    agreements
}

/// Every product the lines name, once, in plan order, at the plan's unit price; lines the
/// catalogue prices get 2.00.
pub fn catalogue<'p>(
    lines: impl IntoIterator<Item = &'p tally_plan::PlanLine>,
) -> Vec<(String, Decimal)> {
    let mut seen = BTreeSet::new();
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

/// Pushes `plan` through `adapter`, registered as `psa` (`tally.toml`'s section name).
pub fn push_through(
    psa: &'static str,
    adapter: &dyn Psa,
    plan: &Plan,
    journal: Option<&mut Journal>,
    apply: bool,
    diff: DiffOptions,
) -> Result<PushReport, PsaError> {
    let mut adapters: BTreeMap<&'static str, &dyn Psa> = BTreeMap::new();
    adapters.insert(psa, adapter);
    tally_psa::push(
        plan,
        "sha",
        &adapters,
        &BTreeMap::new(),
        journal,
        PushOptions { apply, diff },
    )
}

/// Why the push stopped: the report's reason, or the error that ended it.
pub fn stopped_or_error(result: Result<PushReport, PsaError>) -> String {
    match result {
        Ok(report) => report.stopped.expect("the push stops"),
        Err(e) => e.to_string(),
    }
}

/// The plan moved to November; October's one-off lines are history, not November's.
pub fn next_month(plan: &mut Plan) {
    let (start, end) = (day(2026, 11, 1), day(2026, 11, 30));
    plan.period.start = start;
    plan.period.end = end;
    for customer in &mut plan.customers {
        customer.period.start = start;
        customer.period.end = end;
        customer.lines.retain(|l| !tally_psa::desired::one_off(l));
        for line in &mut customer.lines {
            line.period.start = start;
            line.period.end = end;
        }
    }
}

/// Northwind in November with three changes: Engineering's support 12 users, backup at 3.95,
/// server monitoring gone.
pub fn november(plan: &Plan) -> Plan {
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
    november
}

/// What [`november`] changes, as the diff shows it: the action and the key's last part.
pub const NOVEMBER_CHANGES: [(Action, &str); 3] = [
    (Action::Update, "department=Engineering"),
    (Action::Update, "backup"),
    (Action::Cancel, "server_monitoring"),
];

/// The customer's changes other than `unchanged`, as the action and the key's last part.
pub fn changed(customer: &CustomerDiff) -> Vec<(Action, &str)> {
    customer
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| (c.action, c.key.rsplit('/').next().unwrap_or_default()))
        .collect()
}

/// Applies `plan`, then [`november`] with the same journal: the dry run shows exactly its three
/// changes and what they do to the customer's total; the apply makes those three writes and
/// leaves the PSA holding November.
pub fn next_month_changes_exactly_what_changed<W: PsaWorld>(world: &W, plan: &Plan) {
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();

    let november = november(plan);
    world.fake().clear_log();
    let dry = world
        .push_with(&november, Some(&mut journal), false, Default::default())
        .unwrap();
    let customer = &dry.diff.customers[0];
    assert_eq!(changed(customer), NOVEMBER_CHANGES);
    assert_eq!(
        customer.after - customer.before,
        Decimal::new(3250 + 1020 - 13500, 2)
    );

    let applied = world
        .push_with(&november, Some(&mut journal), true, Default::default())
        .unwrap();
    assert_eq!(applied.written, 3);
    assert_eq!(world.fake().writes(), 3);
    world.assert_holds(&november);
}

/// The plan with every recurring priced line's quantity doubled: a change far past
/// `--max-change 10`.
pub fn doubled(plan: &Plan) -> Plan {
    let mut bigger = plan.clone();
    for line in &mut bigger.customers[0].lines {
        if let (Some(price), Some(_)) = (line.unit_price, line.amount)
            && !tally_psa::desired::one_off(line)
        {
            line.quantity *= 2;
            line.amount = Some(price * Decimal::from(line.quantity));
        }
    }
    bigger
}

/// A PSA's fake seeded for a plan, and its adapter pointed at it: what the shared checks below
/// run against.
pub trait PsaWorld: Sized {
    /// How the adapter names the PSA in its messages.
    const NAME: &'static str;
    /// The PSA's section in `tally.toml`, which the push looks adapters up by.
    const SECTION: &'static str;
    type Fake: FakePsa;
    type Adapter: Psa;

    fn for_plan(plan: &Plan) -> Self;

    fn fake(&self) -> &Self::Fake;

    /// A new adapter, as a new `tally push` process makes one.
    fn adapter(&self) -> Self::Adapter;

    /// Asserts the PSA holds exactly the plan: one active line per plan line with a quantity,
    /// as the plan bills it, and no other line Tally owns.
    fn assert_holds(&self, plan: &Plan);

    fn push_with(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
        apply: bool,
        diff: DiffOptions,
    ) -> Result<PushReport, PsaError> {
        push_through(Self::SECTION, &self.adapter(), plan, journal, apply, diff)
    }
}

/// What the shared checks ask of a fake; each vendor's fake has these methods of its own.
pub trait FakePsa {
    fn set_faults(&self, faults: Faults);
    fn writes(&self) -> usize;
    fn violations(&self) -> Vec<String>;
    fn clear_log(&self);
}

macro_rules! fake_psa {
    ($($fake:ty),*) => {$(
        impl FakePsa for $fake {
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
        }
    )*};
}

fake_psa!(
    tally_psa_testserver::connectwise::Fake,
    tally_psa_testserver::autotask::Fake,
    tally_psa_testserver::halopsa::Fake
);

/// How a check runs the push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    DryRun,
    /// An apply with a journal, which must record nothing and write nothing.
    Apply,
}

/// Every try of request `request_number` answered badly (an HTML page, JSON of the wrong shape,
/// JSON cut off): the run stops with a message naming the PSA, the request, and what was wrong
/// (`wrong_shape` is what the adapter says of JSON of the wrong shape), and no secret.
pub fn bad_answers_stop_the_run<W: PsaWorld>(
    plan: &Plan,
    run: Run,
    request_number: u64,
    request: &str,
    wrong_shape: &str,
    secrets: &[&str],
) {
    for (fault, words) in [
        (Fault::Html, "HTML page"),
        (Fault::WrongShape, wrong_shape),
        (Fault::Truncated, "broke off"),
    ] {
        let world = W::for_plan(plan);
        let mut faults = Faults::none();
        for n in request_number..request_number + u64::from(MAX_ATTEMPTS) {
            faults.by_request.insert(n, fault);
        }
        world.fake().set_faults(faults);
        let message = match run {
            Run::DryRun => stopped_or_error(world.push_with(plan, None, false, Default::default())),
            Run::Apply => {
                let dir = state_dir();
                let mut journal = Journal::open(dir.path()).unwrap();
                let message = stopped_or_error(world.push_with(
                    plan,
                    Some(&mut journal),
                    true,
                    Default::default(),
                ));
                assert!(
                    journal.writes().unwrap().is_empty(),
                    "nothing recorded as applied"
                );
                assert_eq!(world.fake().writes(), 0);
                message
            }
        };
        assert!(message.contains(W::NAME), "{message}");
        assert!(message.contains(request), "{message}");
        assert!(message.contains(words), "{fault:?}: {message}");
        for secret in secrets {
            assert!(!message.contains(secret), "{message}");
        }
    }
}

/// A world that applied a plan, with what it reported and the journal it applied with.
pub struct Applied<W> {
    pub world: W,
    pub report: PushReport,
    pub journal: Journal,
    /// Holds the journal's files; dropped after the journal (fields drop in order).
    _dir: tempfile::TempDir,
}

/// A new world with `plan` applied under a locked journal, as one `tally push --apply` leaves it.
pub fn applied<W: PsaWorld>(plan: &Plan) -> Applied<W> {
    let world = W::for_plan(plan);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal.lock().unwrap();
    let report = world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();
    Applied {
        world,
        report,
        journal,
        _dir: dir,
    }
}

/// Applies `plan` to a fresh fake answering with `faults`, among them a `Retry-After` of 1 s and
/// writes carried out whose answer is lost: the run waits the second out and completes, the PSA
/// holds exactly the plan, `confirmed` writes are confirmed by reading back (not sent again),
/// and no request broke the vendor's document.
pub fn retries_and_lost_answers_end_with_the_plan<W: PsaWorld>(
    plan: &Plan,
    faults: Faults,
    confirmed: usize,
) -> Applied<W> {
    let world = W::for_plan(plan);
    world.fake().set_faults(faults);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let started = Instant::now();
    let report = world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert_eq!(report.stopped, None);
    world.assert_holds(plan);
    let confirmed_by_reading_back = report.diff.customers[0]
        .changes
        .iter()
        .filter(|c| matches!(c.outcome, Some(Outcome::Confirmed { .. })))
        .count();
    assert_eq!(
        confirmed_by_reading_back, confirmed,
        "the writes whose answers were lost are confirmed by reading back"
    );
    assert_eq!(world.fake().violations(), Vec::<String>::new());
    Applied {
        world,
        report,
        journal,
        _dir: dir,
    }
}

/// A `Retry-After` of an hour on the fourth write stops the run cleanly after three; the next
/// run writes the rest, nothing twice.
pub fn a_retry_after_beyond_the_budget_stops_cleanly_and_resumes<W: PsaWorld>(plan: &Plan) {
    let world = W::for_plan(plan);
    let mut faults = Faults::none();
    faults
        .by_write
        .insert(4, Fault::RateLimit { retry_after: 3600 });
    world.fake().set_faults(faults);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();
    let stopped = report.stopped.clone().unwrap();
    assert!(stopped.contains("3600 s"), "{stopped}");
    assert_eq!(report.written, 3);
    let resumed = world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();
    assert_eq!(resumed.stopped, None);
    assert_eq!(resumed.written, plan.customers[0].lines.len() - 3);
    world.assert_holds(plan);
}

/// A dry run of the first push creates every line and writes nothing; the customer goes from
/// nothing to `after`.
pub fn a_first_dry_run_creates_every_line<W: PsaWorld>(
    world: &W,
    plan: &Plan,
    lines: usize,
    after: Decimal,
) {
    let dry = world
        .push_with(plan, None, false, Default::default())
        .unwrap();
    let customer = &dry.diff.customers[0];
    assert_eq!(customer.count(Action::Create), lines);
    assert_eq!(customer.before, Decimal::ZERO);
    assert_eq!(customer.after, after);
    assert_eq!(world.fake().writes(), 0, "a dry run writes nothing");
}

/// The first apply writes every line, once, and the journal records each as done with the id
/// the PSA gave it.
pub fn a_first_apply_creates_every_line<W: PsaWorld>(
    world: &W,
    plan: &Plan,
    journal: &mut Journal,
    lines: usize,
) {
    let applied = world
        .push_with(plan, Some(journal), true, Default::default())
        .unwrap();
    assert_eq!(applied.stopped, None);
    assert_eq!(applied.written, lines);
    world.assert_holds(plan);
    assert_eq!(world.fake().violations(), Vec::<String>::new());
    let recorded = journal.writes().unwrap();
    assert_eq!(recorded.len(), lines);
    assert!(
        recorded
            .iter()
            .all(|r| r.state == "done" && r.external_id.is_some())
    );
}

/// An apply of what the PSA already holds changes nothing and writes nothing.
pub fn a_second_apply_writes_nothing<W: PsaWorld>(
    world: &W,
    plan: &Plan,
    journal: &mut Journal,
    lines: usize,
) {
    world.fake().clear_log();
    let again = world
        .push_with(plan, Some(journal), true, Default::default())
        .unwrap();
    assert_eq!(again.diff.writes(), 0);
    assert_eq!(again.diff.customers[0].count(Action::Unchanged), lines);
    assert_eq!(world.fake().writes(), 0, "the second apply makes no write");
}

/// With a backup line someone else created where the plan has one, next to another line of
/// theirs: a dry run refuses the backup line first, naming `--adopt`, and shows both of theirs
/// as not owned; an apply writes nothing; one with `--adopt` takes the backup line over (one
/// adoption) and leaves the PSA holding the plan. Returns the dry run's refused changes.
pub fn lines_tally_did_not_create_are_left_alone_unless_adopted<W: PsaWorld>(
    world: &W,
    plan: &Plan,
) -> Vec<Change> {
    let dry = world
        .push_with(plan, None, false, Default::default())
        .unwrap();
    let customer = &dry.diff.customers[0];
    let refused: Vec<Change> = customer
        .changes
        .iter()
        .filter(|c| c.action == Action::Refused)
        .cloned()
        .collect();
    assert!(refused[0].key.ends_with("/backup"), "{refused:?}");
    assert!(
        refused[0].note.as_deref().unwrap().contains("--adopt"),
        "{refused:?}"
    );
    assert_eq!(customer.count(Action::NotOwned), 2);

    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();
    assert_eq!(report.written, 0, "a refused push writes nothing");
    assert_eq!(world.fake().writes(), 0);

    let adopt = DiffOptions {
        adopt: true,
        max_change: None,
    };
    let report = world
        .push_with(plan, Some(&mut journal), true, adopt)
        .unwrap();
    assert_eq!(report.diff.customers[0].count(Action::Adopt), 1);
    assert_eq!(report.stopped, None);
    world.assert_holds(plan);
    refused
}

/// A product the PSA's catalogue lacks (`remove_rmm_server` takes `RMM-SERVER` out of it) refuses
/// its line, naming the product and the PSA. With `--max-change 10`, a first push (nothing is
/// billed yet) is refused, and so is one doubling the quantities (`large_change` is how the
/// refusal puts it), writing nothing.
pub fn missing_products_and_large_changes_are_refused<W: PsaWorld>(
    plan: &Plan,
    remove_rmm_server: impl FnOnce(&W),
    large_change: &str,
) {
    let world = W::for_plan(plan);
    remove_rmm_server(&world);
    let dry = world
        .push_with(plan, None, false, Default::default())
        .unwrap();
    let refusals = dry.diff.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].contains(&format!("`RMM-SERVER` is not in {}'s catalogue", W::NAME)),
        "{refusals:?}"
    );

    let world = W::for_plan(plan);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let guard = DiffOptions {
        adopt: false,
        max_change: Some(Decimal::from(10)),
    };
    let first = world
        .push_with(plan, Some(&mut journal), true, guard)
        .unwrap();
    assert!(
        first.diff.customers[0].refusals[0].contains("nothing is billed"),
        "{:?}",
        first.diff.customers[0].refusals
    );
    world
        .push_with(plan, Some(&mut journal), true, Default::default())
        .unwrap();
    let bigger = doubled(plan);
    world.fake().clear_log();
    let refused = world
        .push_with(&bigger, Some(&mut journal), true, guard)
        .unwrap();
    assert!(
        refused.diff.customers[0].refusals[0].contains(large_change),
        "{:?}",
        refused.diff.customers[0].refusals
    );
    assert_eq!(world.fake().writes(), 0);
}
