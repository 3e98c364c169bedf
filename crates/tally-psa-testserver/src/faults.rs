//! Fault injection: what a test server does instead of answering normally, scheduled by request
//! number or write number, or drawn at random from a seed.

use crate::server::{Outgoing, Reply};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After` (seconds); nothing done.
    RateLimit { retry_after: u64 },
    /// This status (500, 502, 503) with an error body; nothing done.
    Status(u16),
    /// The write is carried out, then this status is answered.
    StatusAfterCommit(u16),
    /// Answer normally after a pause.
    Slow { millis: u64 },
    /// Close the connection without doing anything.
    DropBeforeCommit,
    /// Carry the write out, then close the connection without answering.
    DropAfterCommit,
    /// A 200 HTML page instead of JSON; nothing done.
    Html,
    /// Carry out the request; answer with the JSON cut in half.
    Truncated,
    /// Answer a list with a JSON object instead of an array; nothing done.
    WrongShape,
    /// Carry the write out, then hold the connection until the gate opens (the test kills the
    /// client meanwhile).
    HoldAfterCommit,
    /// Hold the connection without doing anything.
    HoldBeforeCommit,
}

impl Fault {
    /// Whether the request is carried out.
    pub fn commits(self) -> bool {
        matches!(
            self,
            Fault::StatusAfterCommit(_)
                | Fault::Slow { .. }
                | Fault::DropAfterCommit
                | Fault::Truncated
                | Fault::HoldAfterCommit
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// By request number (1-based, every request counted).
    pub by_request: BTreeMap<u64, Fault>,
    /// By write number (1-based, POST/PATCH/PUT counted).
    pub by_write: BTreeMap<u64, Fault>,
    /// Random faults: seed, chance per request in thousandths, and the kinds drawn from.
    pub random: Option<RandomFaults>,
    requests: u64,
    writes: u64,
}

#[derive(Debug, Clone)]
pub struct RandomFaults {
    pub state: u64,
    pub per_mille: u64,
    pub kinds: Vec<Fault>,
    /// Only writes get faults (reads answer normally).
    pub writes_only: bool,
}

impl RandomFaults {
    pub fn new(seed: u64, per_mille: u64, kinds: Vec<Fault>) -> RandomFaults {
        RandomFaults {
            state: seed,
            per_mille,
            kinds,
            writes_only: false,
        }
    }

    fn next(&mut self) -> u64 {
        splitmix(&mut self.state)
    }
}

/// The next number of a SplitMix64 sequence: deterministic for a seed, so a failing schedule
/// can be run again.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }

    /// The fault for the next request, if any.
    pub fn next(&mut self, is_write: bool) -> Option<Fault> {
        self.requests += 1;
        if is_write {
            self.writes += 1;
        }
        if let Some(f) = self.by_request.remove(&self.requests) {
            return Some(f);
        }
        if is_write && let Some(f) = self.by_write.remove(&self.writes) {
            return Some(f);
        }
        let random = self.random.as_mut()?;
        if random.writes_only && !is_write {
            return None;
        }
        if random.kinds.is_empty() || random.next() % 1000 >= random.per_mille {
            return None;
        }
        let index = (random.next() % random.kinds.len() as u64) as usize;
        let fault = random.kinds[index];
        // Reads cannot commit anything; holds are for scheduled kill tests.
        Some(fault)
    }

    pub fn requests(&self) -> u64 {
        self.requests
    }

    pub fn writes(&self) -> u64 {
        self.writes
    }
}

/// How one fake words the answers a fault puts in place of its own, as its vendor would.
pub(crate) struct FaultWording {
    /// The body of a 429.
    pub(crate) rate_limited: fn() -> String,
    /// The body of a 5xx, whether or not the request was carried out.
    pub(crate) server_error: fn() -> String,
    /// The title of the HTML page (a proxy's, a maintenance page) answered 200 instead of JSON.
    pub(crate) html_title: &'static str,
    /// A JSON answer of the wrong shape for every request.
    pub(crate) wrong_shape: &'static str,
}

/// What a fake answers under `fault`: `route` carries the request out and answers as the fake
/// normally does. A fault answers in its place, before or after carrying the request out.
pub(crate) fn dispatch(
    fault: Option<Fault>,
    wording: &FaultWording,
    mut route: impl FnMut() -> Reply,
) -> Reply {
    let json = |status: u16, body: String| Reply::Send(Outgoing::json(status, body));
    let Some(fault) = fault else {
        return route();
    };
    match fault {
        Fault::RateLimit { retry_after } => {
            let mut out = Outgoing::json(429, (wording.rate_limited)());
            out.headers
                .push(("Retry-After".into(), retry_after.to_string()));
            Reply::Send(out)
        }
        Fault::Status(status) => json(status, (wording.server_error)()),
        Fault::StatusAfterCommit(status) => {
            let _ = route();
            json(status, (wording.server_error)())
        }
        Fault::Slow { millis } => {
            std::thread::sleep(Duration::from_millis(millis));
            route()
        }
        Fault::DropBeforeCommit => Reply::Drop,
        Fault::DropAfterCommit => {
            let _ = route();
            Reply::Drop
        }
        Fault::Html => Reply::Send(Outgoing {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!(
                "<!DOCTYPE html><html><head><title>{}</title></head><body>Back soon</body></html>",
                wording.html_title
            ),
        }),
        Fault::Truncated => match route() {
            Reply::Send(out) => {
                let half = out.body.len() / 2;
                Reply::Truncate(out, half)
            }
            other => other,
        },
        Fault::WrongShape => json(200, wording.wrong_shape.into()),
        Fault::HoldAfterCommit => {
            let _ = route();
            Reply::Hold
        }
        Fault::HoldBeforeCommit => Reply::Hold,
    }
}
