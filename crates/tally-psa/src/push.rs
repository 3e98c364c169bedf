//! The push itself: refuse what must not be sent, read each customer's PSA state, diff, and —
//! with `apply` — write the changes one by one through the journal, confirming by reading back
//! any write whose answer was lost before it is tried again.

use crate::desired::desired;
use crate::diff::{DiffOptions, active, diff_customer, holds};
use crate::error::{PsaError, RequestError};
use crate::journal::{Journal, Pending};
use crate::model::{Action, Change, CustomerDiff, CustomerTarget, Diff, Outcome, RemoteState};
use std::collections::BTreeMap;
use tally_plan::Plan;

/// Records each HTTP write an adapter makes: before it is sent, and the answer after.
pub trait WriteLog {
    /// Returns the journal's id for the write.
    fn before(&self, request: &str, body: &str) -> Result<i64, PsaError>;
    fn after(&self, id: i64, external_id: Option<&str>, answer: &str) -> Result<(), PsaError>;
}

/// One PSA. An adapter reads what a customer has and writes one change at a time; it never
/// deletes anything.
pub trait Psa {
    /// `ConnectWise`, `Autotask`, `HaloPSA`.
    fn name(&self) -> &'static str;
    /// The customer's agreements, the active lines on them (owned lines recognised by their
    /// key), and the catalogue items the plan's products need.
    fn read(&self, target: &CustomerTarget) -> Result<RemoteState, PsaError>;
    /// Carries out one change (create, update, adopt or cancel), logging every HTTP write before
    /// it is sent. Returns the PSA's id for the line.
    fn write(
        &self,
        target: &CustomerTarget,
        state: &RemoteState,
        change: &Change,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError>;
    /// Tries per write and the backoff between them (the HTTP client's budget).
    fn max_attempts(&self) -> u32;
    fn pause_before(&self, attempt: u32);
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushOptions {
    pub apply: bool,
    pub diff: DiffOptions,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    pub diff: Diff,
    pub applied: bool,
    /// What an earlier interrupted apply left, and what reading the PSA showed about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<String>,
    /// Why the run stopped before finishing; `None` when it did all it set out to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Writes made (or confirmed) in this run.
    pub written: usize,
}

/// Why nothing can be pushed at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The plan has `incomplete` customers.
    Incomplete(Vec<String>),
}

/// The plan's customers, with what they want; refuses an incomplete plan.
pub fn check_plan(plan: &Plan) -> Result<(), Refusal> {
    if plan.incomplete.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Incomplete(
            plan.incomplete
                .iter()
                .map(|i| format!("{}: {}", i.rules, i.reason))
                .collect(),
        ))
    }
}

/// Runs a push. `adapters` maps each PSA kind the plan uses (by its name in rules,
/// `connectwise`) to its adapter; `products` each kind to its product mapping.
pub fn push(
    plan: &Plan,
    plan_sha256: &str,
    adapters: &BTreeMap<&'static str, &dyn Psa>,
    products: &BTreeMap<&'static str, BTreeMap<String, String>>,
    mut journal: Option<&mut Journal>,
    options: PushOptions,
) -> Result<PushReport, PsaError> {
    let empty = BTreeMap::new();
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for customer in &plan.customers {
        let Some(psa) = &customer.psa else {
            skipped.push(format!(
                "{} ({}): the rules have no `psa` block",
                customer.customer, customer.tenant
            ));
            continue;
        };
        let mapping = products.get(psa.kind.name()).unwrap_or(&empty);
        if let Some(found) = desired(customer, mapping) {
            targets.push(found);
        }
        if !adapters.contains_key(psa.kind.name()) {
            return Err(PsaError::Config(format!(
                "{} is sent to {}, but `tally.toml` has no [{}] section",
                customer.customer,
                psa.kind.name(),
                psa.kind.name()
            )));
        }
    }

    let pending = match journal.as_deref() {
        Some(j) if options.apply => j.pending()?,
        _ => Vec::new(),
    };
    if options.apply
        && let Some(j) = journal.as_deref_mut()
    {
        j.begin_run(plan_sha256)?;
    }

    let mut customers = Vec::new();
    let mut states = Vec::new();
    let mut resumed_notes = Vec::new();
    let mut stopped = None;
    for (target, lines) in &targets {
        let Some(adapter) = adapters.get(target.kind.name()) else {
            continue;
        };
        let mut state = match adapter.read(target) {
            Ok(state) => state,
            Err(PsaError::Request(e)) => {
                stopped = Some(format!("reading {}: {e}", target.customer));
                break;
            }
            Err(other) => return Err(other),
        };
        if let Some(j) = journal.as_deref() {
            for line in &mut state.lines {
                if line.key.is_none()
                    && let Some(key) = j.owner(adapter.name(), &line.external_id)?
                {
                    line.key = Some(key);
                }
            }
        }
        let diff = diff_customer(adapter.name(), target, lines, &state, options.diff);
        if let Some(j) = journal.as_deref() {
            resolve_pending(
                j,
                adapter.name(),
                target,
                &pending,
                &diff,
                &state,
                &mut resumed_notes,
            )?;
        }
        customers.push(diff);
        states.push(state);
    }

    let mut diff = Diff {
        period: plan.period,
        customers,
        skipped,
        totals: Vec::new(),
    };
    diff.compute_totals();
    let resumed = (!resumed_notes.is_empty()).then(|| resumed_notes.join("; "));
    let mut report = PushReport {
        applied: false,
        resumed,
        stopped,
        written: 0,
        diff,
    };
    if report.stopped.is_some() || !options.apply || report.diff.is_refused() {
        if let Some(j) = journal.as_deref()
            && options.apply
        {
            j.finish_run(if report.stopped.is_some() {
                "stopped"
            } else {
                "refused"
            })?;
        }
        return Ok(report);
    }
    let Some(journal) = journal else {
        return Err(PsaError::Journal("applying needs a journal".into()));
    };
    report.applied = true;
    let mut halted: Option<String> = None;
    for (index, (target, _)) in targets.iter().enumerate() {
        let (Some(adapter), Some(customer), Some(state)) = (
            adapters.get(target.kind.name()),
            report.diff.customers.get_mut(index),
            states.get_mut(index),
        ) else {
            continue;
        };
        for change in customer.changes.iter_mut().filter(|c| c.action.writes()) {
            if halted.is_some() {
                change.outcome = Some(Outcome::Remaining);
                continue;
            }
            match apply_one(*adapter, journal, target, state, change) {
                Ok(outcome) => {
                    report.written += 1;
                    change.outcome = Some(outcome);
                }
                Err(error) => {
                    let text = error.to_string();
                    change.outcome = Some(Outcome::Failed {
                        error: text.clone(),
                    });
                    halted = Some(text);
                }
            }
        }
    }
    journal.finish_run(if halted.is_some() { "stopped" } else { "done" })?;
    report.stopped = halted;
    Ok(report)
}

/// The journal's hook for one change.
struct Log<'a> {
    journal: &'a Journal,
    psa: &'a str,
    tenant: &'a str,
    key: &'a str,
    action: &'a str,
    external_id: Option<&'a str>,
}

impl WriteLog for Log<'_> {
    fn before(&self, request: &str, body: &str) -> Result<i64, PsaError> {
        self.journal.intend(
            self.psa,
            self.tenant,
            self.key,
            self.action,
            request,
            body,
            self.external_id,
        )
    }

    fn after(&self, id: i64, external_id: Option<&str>, answer: &str) -> Result<(), PsaError> {
        self.journal.answer(id, "done", external_id, answer)
    }
}

/// Where a change can be seen in a fresh read: the id of the line that shows it was carried out.
pub fn visible(change: &Change, target: &CustomerTarget, state: &RemoteState) -> Option<String> {
    match change.action {
        Action::Create | Action::Update | Action::Adopt => {
            let desired = change.desired.as_ref()?;
            state
                .lines
                .iter()
                .filter(|l| active(l, target))
                .find(|l| l.key.as_deref() == Some(desired.key.as_str()) && holds(l, desired))
                .map(|l| l.external_id.clone())
        }
        Action::Cancel => {
            let id = change.external_id.as_ref()?;
            let line = state.lines.iter().find(|l| &l.external_id == id)?;
            (!active(line, target)).then(|| id.clone())
        }
        _ => None,
    }
}

fn apply_one(
    adapter: &dyn Psa,
    journal: &Journal,
    target: &CustomerTarget,
    state: &mut RemoteState,
    change: &Change,
) -> Result<Outcome, PsaError> {
    let log = Log {
        journal,
        psa: adapter.name(),
        tenant: &target.tenant,
        key: &change.key,
        action: change.action.word(),
        external_id: change.external_id.as_deref(),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match adapter.write(target, state, change, &log) {
            Ok(external_id) => {
                if matches!(
                    change.action,
                    Action::Create | Action::Adopt | Action::Update
                ) && let Some(desired) = &change.desired
                {
                    journal.own(adapter.name(), &external_id, &desired.key)?;
                }
                return Ok(Outcome::Done { external_id });
            }
            Err(PsaError::Request(RequestError {
                outcome_unknown: true,
                ..
            })) => {
                // The write may have been carried out: read the PSA again before anything else.
                let fresh = adapter.read(target)?;
                if let Some(external_id) = visible(change, target, &fresh) {
                    if change.action != Action::Cancel {
                        journal.own(adapter.name(), &external_id, &change.key)?;
                    }
                    confirm_last(journal, &change.key, &external_id)?;
                    *state = fresh;
                    return Ok(Outcome::Confirmed { external_id });
                }
                mark_last(journal, &change.key, "not_applied")?;
                *state = fresh;
                if attempt >= adapter.max_attempts() {
                    return Err(PsaError::Journal(format!(
                        "{}: `{}`: no answer on {attempt} tries and not carried out; the retry budget is spent",
                        adapter.name(),
                        change.key
                    )));
                }
                adapter.pause_before(attempt);
            }
            Err(other) => {
                mark_last(journal, &change.key, "failed")?;
                return Err(other);
            }
        }
    }
}

fn confirm_last(journal: &Journal, key: &str, external_id: &str) -> Result<(), PsaError> {
    for pending in journal.pending()?.iter().filter(|p| p.key == key) {
        journal.answer(
            pending.id,
            "confirmed",
            Some(external_id),
            "no answer; reading back showed it carried out",
        )?;
    }
    Ok(())
}

fn mark_last(journal: &Journal, key: &str, state: &str) -> Result<(), PsaError> {
    for pending in journal.pending()?.iter().filter(|p| p.key == key) {
        journal.answer(pending.id, state, None, "no answer, or a failure")?;
    }
    Ok(())
}

/// Settles the writes an interrupted apply left unanswered for this customer, from what the
/// PSA shows now: carried out (`confirmed`) or not (`not_applied`, redone by this run if the
/// plan still asks for it).
fn resolve_pending(
    journal: &Journal,
    psa: &str,
    target: &CustomerTarget,
    pending: &[Pending],
    diff: &CustomerDiff,
    state: &RemoteState,
    notes: &mut Vec<String>,
) -> Result<(), PsaError> {
    let mine: Vec<&Pending> = pending
        .iter()
        .filter(|p| p.psa == psa && p.tenant == target.tenant)
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    let mut confirmed = 0;
    let mut not_applied = 0;
    // Keys whose first unanswered write has been settled: a change may take several writes
    // (an Autotask line is a service, then an adjustment of its units).
    let mut settled_first: Vec<&str> = Vec::new();
    for p in mine {
        let first_of_change = !settled_first.contains(&p.key.as_str());
        settled_first.push(&p.key);
        let external_id = diff
            .changes
            .iter()
            .find(|c| c.key == p.key)
            .and_then(|c| c.external_id.clone());
        let (carried_out, answer) = match p.action.as_str() {
            "cancel" => (
                p.external_id
                    .as_ref()
                    .and_then(|id| state.lines.iter().find(|l| &l.external_id == id))
                    .is_some_and(|l| !active(l, target)),
                "resumed: reading the PSA showed it carried out",
            ),
            _ if diff
                .changes
                .iter()
                .any(|c| c.key == p.key && c.action == Action::Unchanged) =>
            {
                (true, "resumed: reading the PSA showed it carried out")
            }
            // A create's first write made the line when the PSA now has a line with its key,
            // whatever its values: the writes after it are what this run still does.
            "create"
                if first_of_change && p.request.starts_with("POST") && external_id.is_some() =>
            {
                (
                    true,
                    "resumed: the line exists, not yet with the plan's values (the rest is done now)",
                )
            }
            _ => (false, "resumed: not carried out"),
        };
        if carried_out {
            confirmed += 1;
            journal.answer(p.id, "confirmed", external_id.as_deref(), answer)?;
        } else {
            not_applied += 1;
            journal.answer(p.id, "not_applied", None, answer)?;
        }
    }
    notes.push(format!(
        "{}: an interrupted apply left {} write{} unanswered: {confirmed} found carried out, {not_applied} not (done now if still planned)",
        target.customer,
        confirmed + not_applied,
        if confirmed + not_applied == 1 { "" } else { "s" }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RemoteLine, Values};
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    /// A create of two writes (the line, then its units) killed after the first was carried
    /// out: resuming records the first as confirmed and the second as not applied.
    #[test]
    fn a_change_of_several_writes_is_settled_write_by_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        journal.begin_run("abc").unwrap();
        let key = "t/backup";
        for request in [
            "POST /V1.0/ContractServices",
            "POST /V1.0/ContractServiceAdjustments",
        ] {
            journal
                .intend("Autotask", "t", key, "create", request, "{}", None)
                .unwrap();
        }
        let pending = journal.pending().unwrap();
        let target = CustomerTarget {
            customer: "T".into(),
            tenant: "t".into(),
            kind: tally_ir::PsaKind::Autotask,
            company: "T".into(),
            currency: tally_money::Currency::from_code("GBP").unwrap(),
            agreements: vec!["IT".into()],
            products: vec!["BACKUP".into()],
            keys: vec!["t/backup".into()],
            period_start: day(1),
            period_end: day(31),
        };
        let line = RemoteLine {
            external_id: "77".into(),
            agreement: "IT".into(),
            key: Some(key.into()),
            product: "BACKUP".into(),
            description: "Backup".into(),
            quantity: Decimal::ZERO,
            unit_price: Some(Decimal::new(350, 2)),
            effective: Some(day(1)),
            ends: None,
        };
        let values = |quantity: i64| Values {
            quantity: Decimal::from(quantity),
            unit_price: Some(Decimal::new(350, 2)),
            amount: None,
            description: "Backup".into(),
            ends: None,
        };
        let change = Change {
            action: Action::Update,
            key: key.into(),
            agreement: "IT".into(),
            product: "BACKUP".into(),
            external_id: Some("77".into()),
            before: Some(values(0)),
            after: Some(values(12)),
            note: None,
            desired: None,
            cancel_on: None,
            outcome: None,
        };
        let diff = CustomerDiff {
            customer: "T".into(),
            tenant: "t".into(),
            psa: tally_ir::PsaKind::Autotask,
            company: "T".into(),
            currency: tally_money::Currency::from_code("GBP").unwrap(),
            changes: vec![change],
            before: Decimal::ZERO,
            after: Decimal::ZERO,
            refusals: Vec::new(),
        };
        let state = RemoteState {
            lines: vec![line],
            ..RemoteState::default()
        };
        let mut notes = Vec::new();
        resolve_pending(
            &journal, "Autotask", &target, &pending, &diff, &state, &mut notes,
        )
        .unwrap();
        let states: Vec<(String, String)> = journal
            .writes()
            .unwrap()
            .into_iter()
            .map(|w| (w.request, w.state))
            .collect();
        assert_eq!(
            states,
            [
                (
                    "POST /V1.0/ContractServices".to_string(),
                    "confirmed".to_string()
                ),
                (
                    "POST /V1.0/ContractServiceAdjustments".to_string(),
                    "not_applied".to_string()
                ),
            ]
        );
        assert!(
            notes[0].contains("1 found carried out, 1 not"),
            "{}",
            notes[0]
        );
    }
}
