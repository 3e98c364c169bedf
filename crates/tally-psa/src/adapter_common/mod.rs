//! What the three adapters (ConnectWise, Autotask, HaloPSA) do alike, with what is each PSA's
//! own passed in: the journaled write and how its answer is judged ([`journaled_write`]), a
//! status checked and an answer read ([`answers`]), days on the wire ([`dates`]), the three
//! kinds of line change ([`line_change`]), and the small helpers below.

pub(crate) mod answers;
pub(crate) mod dates;
pub(crate) mod journaled_write;
pub(crate) mod line_change;

use crate::error::PsaError;
use crate::http::Http;
use crate::model::RemoteState;
use serde::Serialize;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

/// The prefix of the text that marks a line as Tally's, in every PSA: `tally:<plan line id>`.
pub(crate) const KEY_PREFIX: &str = "tally:";

/// Locks a mutex even if a thread panicked holding it: what the adapters guard (caches, the
/// token's expiry, the API once found) stays whole, since it is replaced, never half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request body as JSON; `psa` names the PSA in the error.
pub(crate) fn request_body<T: Serialize + ?Sized>(
    psa: &str,
    value: &T,
) -> Result<String, PsaError> {
    serde_json::to_string(value)
        .map_err(|e| PsaError::Config(format!("{psa}: cannot write a request: {e}")))
}

/// The text that marks a line as Tally's plan line `key`.
pub(crate) fn owned_marker(key: &str) -> String {
    format!("{KEY_PREFIX}{key}")
}

/// The plan line id in a PSA's text, when the text marks the line as Tally's.
pub(crate) fn owned_key(text: Option<&str>) -> Option<String> {
    text?.strip_prefix(KEY_PREFIX).map(str::to_string)
}

/// The PSA's id of the agreement the plan names `name`, as read; `what` is the PSA's word for
/// it (`contract`, `recurring invoice`). One that is gone, or whose id is not what the PSA's
/// ids are, is a configuration error: nothing is written to a guess.
pub(crate) fn agreement_id<T: FromStr>(
    state: &RemoteState,
    psa: &str,
    what: &str,
    name: &str,
) -> Result<T, PsaError> {
    state
        .agreements
        .get(name)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| PsaError::Config(format!("{psa}: {what} `{name}` is not there any more")))
}

/// Waits out the HTTP client's backoff before a write is tried again.
pub(crate) fn pause_before_retry(http: &Http, attempt: u32) {
    http.pause(http.backoff(attempt), "before trying a write again");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_texts_carry_a_key() {
        assert_eq!(owned_marker("a-1"), "tally:a-1");
        assert_eq!(owned_key(Some("tally:a-1")).as_deref(), Some("a-1"));
        assert_eq!(owned_key(Some("someone's line")), None);
        assert_eq!(owned_key(None), None);
    }
}
