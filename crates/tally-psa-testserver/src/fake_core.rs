//! What every fake PSA keeps alike: its state, the fault schedule, the log of requests, the
//! violations of the vendor's document found, the document itself and the fake's "today".
//! Each fake adds what is its own (credentials, tokens, paging quirks).

use crate::faults::{Fault, Faults};
use crate::server::Incoming;
use crate::spec::Spec;
use chrono::NaiveDate;
use serde_json::Value;
use std::sync::{Mutex, MutexGuard};

/// Locks a mutex even if a thread panicked holding it (a failing test's server thread): the
/// fake's state is still what the other threads need to answer and report.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The public methods every fake has alike, each handed to the fake's `core` ([`FakeCore`]):
/// `S` is the fake's state, `L` one request as its log keeps it.
macro_rules! core_methods {
    ($state:ty, $logged:ty) => {
        /// The fake's state, locked: what a test sets up and reads back.
        pub fn state(&self) -> std::sync::MutexGuard<'_, $state> {
            self.core.state()
        }

        pub fn set_faults(&self, faults: $crate::faults::Faults) {
            self.core.set_faults(faults);
        }

        pub fn set_today(&self, today: chrono::NaiveDate) {
            self.core.set_today(today);
        }

        pub fn log(&self) -> Vec<$logged> {
            self.core.log()
        }

        pub fn clear_log(&self) {
            self.core.clear_log();
        }

        pub fn violations(&self) -> Vec<String> {
            self.core.violations()
        }

        fn violation(&self, request: &$crate::server::Incoming, problem: &str) {
            self.core.violation(request, problem);
        }
    };
}

pub(crate) use core_methods;

/// `S`: the fake's state; `L`: one request as its log keeps it.
pub(crate) struct FakeCore<S, L> {
    state: Mutex<S>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<L>>,
    violations: Mutex<Vec<String>>,
    pub(crate) spec: &'static Spec,
    today: Mutex<NaiveDate>,
}

impl<S, L: Clone> FakeCore<S, L> {
    pub(crate) fn new(state: S, spec: &'static Spec, today: NaiveDate) -> FakeCore<S, L> {
        FakeCore {
            state: Mutex::new(state),
            faults: Mutex::new(Faults::none()),
            log: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            spec,
            today: Mutex::new(today),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// The fault for the next request, if any (`is_write`: counted as a write).
    pub(crate) fn next_fault(&self, is_write: bool) -> Option<Fault> {
        lock(&self.faults).next(is_write)
    }

    pub(crate) fn today(&self) -> NaiveDate {
        *lock(&self.today)
    }

    pub(crate) fn set_today(&self, today: NaiveDate) {
        *lock(&self.today) = today;
    }

    pub(crate) fn record(&self, logged: L) {
        lock(&self.log).push(logged);
    }

    pub(crate) fn log(&self) -> Vec<L> {
        lock(&self.log).clone()
    }

    pub(crate) fn clear_log(&self) {
        lock(&self.log).clear();
    }

    /// How many logged requests `counts` picks.
    pub(crate) fn count_logged(&self, counts: impl Fn(&L) -> bool) -> usize {
        lock(&self.log).iter().filter(|l| counts(l)).count()
    }

    pub(crate) fn violations(&self) -> Vec<String> {
        lock(&self.violations).clone()
    }

    /// Records a request the real PSA would reject.
    pub(crate) fn violation(&self, request: &Incoming, problem: &str) {
        self.record_violation(format!("{} {}: {problem}", request.method, request.path));
    }

    pub(crate) fn record_violation(&self, violation: String) {
        lock(&self.violations).push(violation);
    }

    /// The fake's own answers must fit the document too: the first few of `items`, checked
    /// against the document's `schema`.
    pub(crate) fn check_answer(&self, schema: &str, items: &[String]) {
        for item in items.iter().take(3) {
            if let Ok(value) = serde_json::from_str::<Value>(item) {
                let problems = self.spec.validate_named(schema, &value);
                if !problems.is_empty() {
                    self.record_violation(format!(
                        "the fake's own {schema} answer: {}",
                        problems.join("; ")
                    ));
                }
            }
        }
    }
}
