//! Halo's OAuth 2 client-credentials token: `POST /auth/token` with a form body
//! (`grant_type=client_credentials&client_id=…&client_secret=…&scope=all`), answered
//! `{"access_token","token_type":"Bearer","expires_in"}`. The token lives in memory only, in the
//! HTTP client's `Authorization` header and in its redactor; it is never journaled or shown.

use super::wire::TokenAnswer;
use crate::adapter_common::lock;
use crate::answer::encode;
use crate::error::PsaError;
use crate::http::{Http, Method, Request};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the token is asked for, beside the API (`{base_url}/auth/token`, `{base_url}/api`).
pub const TOKEN_PATH: &str = "/auth/token";
/// A token this close to its expiry is renewed before use rather than sent and refused.
const MARGIN: Duration = Duration::from_secs(30);
/// The longest a token is trusted, whatever `expires_in` says (a huge one would overflow).
const MAX_LIFETIME_S: u64 = 24 * 3600;

/// When the token in use expires; `None` before the first one.
#[derive(Default)]
pub struct TokenState {
    expires: Mutex<Option<Instant>>,
}

pub struct Asker<'a> {
    pub http: &'a Http,
    pub client_id: &'a str,
    pub secret: &'a str,
    pub secret_env: &'a str,
}

impl TokenState {
    /// Whether a token is held and not about to expire.
    pub fn fresh(&self) -> bool {
        let expires = lock(&self.expires);
        expires.is_some_and(|at| {
            Instant::now()
                .checked_add(MARGIN)
                .is_some_and(|soon| soon < at)
        })
    }

    /// Asks for a new token and puts it in the client's `Authorization` header.
    pub fn renew(&self, asker: &Asker<'_>) -> Result<(), PsaError> {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=all",
            encode(asker.client_id),
            encode(asker.secret)
        );
        // Asking twice only yields two tokens: safe to retry after a lost answer.
        let request = Request {
            method: Method::Post,
            path: TOKEN_PATH.into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some(body),
            idempotent: true,
        };
        let http = asker.http;
        let answer = http.send(&request)?;
        match answer.status {
            200..=299 => {}
            400 | 401 | 403 => {
                return Err(PsaError::Credential(http.clean(&format!(
                    "{} refused the credentials ({}) for `{}`: check `{}` (client_id `{}`): {}",
                    http.psa(),
                    answer.status,
                    http.describe(&request),
                    asker.secret_env,
                    asker.client_id,
                    super::wire::error_detail(&answer.body)
                ))));
            }
            status => {
                return Err(http
                    .error(
                        &request,
                        format!(
                            "status {status}: {}",
                            super::wire::error_detail(&answer.body)
                        ),
                    )
                    .into());
            }
        }
        // The answer holds the token: its text is never quoted, whatever is wrong with it.
        let token: TokenAnswer = crate::answer::parse(answer.status, &answer.body, "a token")
            .map_err(|_| {
                PsaError::from(http.error(
                    &request,
                    format!(
                        "the token answer (status {}, {} bytes) is not `{{\"access_token\",\"token_type\",\"expires_in\"}}`",
                        answer.status,
                        answer.body.len()
                    ),
                ))
            })?;
        if token.access_token.trim().is_empty()
            || token
                .token_type
                .as_deref()
                .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(http
                .error(&request, "the token answer holds no bearer token")
                .into());
        }
        http.add_secret(token.access_token.clone());
        http.set_header(
            "Authorization",
            format!("Bearer {}", token.access_token),
            true,
        );
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600).min(MAX_LIFETIME_S));
        let now = Instant::now();
        // Should the clock not hold it, the token counts as stale: renewed before each use.
        let expires = now.checked_add(lifetime).unwrap_or(now);
        *lock(&self.expires) = Some(expires);
        Ok(())
    }
}
