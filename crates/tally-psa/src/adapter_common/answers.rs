//! A PSA's answer judged: its status first (2xx goes on; a 401 names the credentials to check;
//! anything else is an error quoting the PSA's error body), then its JSON.

use crate::answer::parse;
use crate::error::PsaError;
use crate::http::{Answer, Http, Request};
use serde::de::DeserializeOwned;

/// How one PSA's failures are told.
pub(crate) struct Wording<'a> {
    /// What a 401 asks the user to check; `None` where the adapter deals with a 401 before
    /// (HaloPSA renews its token), so that one is quoted as any other status.
    pub(crate) refused: Option<RefusedCredentials<'a>>,
    /// The PSA's error body, in one line.
    pub(crate) detail: fn(&str) -> String,
}

/// The credentials a 401 refused: the two variables holding them, and whose they are
/// (`("company_id", "acme")`).
pub(crate) struct RefusedCredentials<'a> {
    pub(crate) variables: [&'a str; 2],
    pub(crate) account: (&'static str, &'a str),
}

/// Turns a non-2xx answer into an error, worded as `wording` says.
pub(crate) fn check_status(
    http: &Http,
    request: &Request,
    answer: Answer,
    wording: &Wording<'_>,
) -> Result<Answer, PsaError> {
    match (answer.status, &wording.refused) {
        (200..=299, _) => Ok(answer),
        (401, Some(refused)) => {
            let [first, second] = refused.variables;
            let (whose, account) = refused.account;
            Err(PsaError::Credential(http.clean(&format!(
                "{} refused the credentials (401) for `{}`: check `{first}` and `{second}` ({whose} `{account}`)",
                http.psa(),
                http.describe(request),
            ))))
        }
        (status, _) => Err(http
            .error(
                request,
                format!("status {status}: {}", (wording.detail)(&answer.body)),
            )
            .into()),
    }
}

/// The answer's JSON as `T`; anything else is a bad answer to `request`.
pub(crate) fn parse_json<T: DeserializeOwned>(
    http: &Http,
    request: &Request,
    answer: &Answer,
    expected: &str,
) -> Result<T, PsaError> {
    parse(answer.status, &answer.body, expected)
        .map_err(|problem| PsaError::from(http.error(request, problem)))
}

/// Sends a read, checks its status and reads its JSON; the answer comes back too, for its
/// headers.
pub(crate) fn fetch_json<T: DeserializeOwned>(
    http: &Http,
    request: &Request,
    wording: &Wording<'_>,
    expected: &str,
) -> Result<(T, Answer), PsaError> {
    let answer = http.send(request)?;
    let answer = check_status(http, request, answer, wording)?;
    let value = parse_json(http, request, &answer, expected)?;
    Ok((value, answer))
}
