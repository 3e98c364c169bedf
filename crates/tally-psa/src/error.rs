//! What can go wrong while pushing, each in one sentence that names the PSA and the request.
//! Secrets never reach these texts: every message built from a PSA's answer goes through a
//! [`Redactor`] that knows the credentials in use.

use std::fmt;

/// Why a push stopped or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsaError {
    /// `tally.toml` is missing, malformed or incomplete (exit 2).
    Config(String),
    /// A credential is missing or was refused; the message names the environment variable
    /// (exit 2).
    Credential(String),
    /// A request failed: the PSA's name, the request (method and path, never headers) and what
    /// was wrong.
    Request(RequestError),
    /// The journal could not be read or written, or another apply holds it.
    Journal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// `ConnectWise`, `Autotask`, `HaloPSA`.
    pub psa: &'static str,
    /// `POST /finance/agreements/12/additions`.
    pub request: String,
    /// What was wrong, in one line.
    pub problem: String,
    /// Worth trying again later (a 429, a 5xx, a timeout, a dropped connection): the retry
    /// budget ran out.
    pub transient: bool,
    /// The request may have been carried out although no answer says so (a write whose answer
    /// was lost): the PSA must be read again before the write is repeated.
    pub outcome_unknown: bool,
}

impl fmt::Display for PsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsaError::Config(message)
            | PsaError::Credential(message)
            | PsaError::Journal(message) => f.write_str(message),
            PsaError::Request(error) => error.fmt(f),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`: {}", self.psa, self.request, self.problem)
    }
}

impl std::error::Error for PsaError {}

impl From<RequestError> for PsaError {
    fn from(error: RequestError) -> PsaError {
        PsaError::Request(error)
    }
}

/// Replaces every secret in a text by `***`: applied to anything built from a PSA's answer
/// or an I/O error before it is shown, logged or journaled.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn add(&mut self, secret: String) {
        if secret.len() >= 4 && !self.secrets.contains(&secret) {
            self.secrets.push(secret);
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn clean(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        text
    }
}

/// At most `max` characters of a text, on one line, for quoting an answer in an error.
pub fn excerpt(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() <= max {
        trimmed.to_string()
    } else {
        let cut: String = trimmed.chars().take(max).collect();
        format!("{cut}…")
    }
}
