//! One write, journaled before it leaves, and its answer judged. Only an answer proving the
//! write was carried out is journaled as done; any other answer after the request left makes
//! the outcome unknown, and `push` reads the PSA again rather than sending the write twice.

use crate::error::{PsaError, RequestError};
use crate::http::{Answer, Http, Request};
use crate::push::WriteLog;

/// Journals `request`, sends it with `send_checked` (which turns a non-2xx answer into an
/// error), and asks `written` for the PSA's id of what was written: a problem there means the
/// write may or may not have been carried out. Returns that id, journaled with the status.
pub(crate) fn send_journaled<T: ToString>(
    http: &Http,
    request: &Request,
    log: &dyn WriteLog,
    send_checked: impl FnOnce(&Request) -> Result<Answer, PsaError>,
    written: impl FnOnce(&Answer) -> Result<T, String>,
) -> Result<T, PsaError> {
    let description = http.describe(request);
    let id = log.before(&description, request.body.as_deref().unwrap_or_default())?;
    let answer = send_checked(request)?;
    let written_id = written(&answer).map_err(|problem| outcome_unknown(http, request, problem))?;
    log.after(
        id,
        Some(&written_id.to_string()),
        &answer.status.to_string(),
    )?;
    Ok(written_id)
}

/// A failure after which the write may or may not have been carried out.
pub(crate) fn outcome_unknown(http: &Http, request: &Request, problem: String) -> PsaError {
    PsaError::from(RequestError {
        transient: true,
        outcome_unknown: true,
        ..http.error(request, problem)
    })
}

/// A success of another kind than `expected` proves nothing about the write either.
pub(crate) fn expect_status(answer: &Answer, expected: u16) -> Result<(), String> {
    if answer.status == expected {
        Ok(())
    } else {
        Err(format!(
            "status {} where {expected} was expected",
            answer.status
        ))
    }
}
