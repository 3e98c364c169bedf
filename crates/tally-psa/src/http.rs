//! The one HTTP client every adapter uses: ureq (blocking, rustls), with request timeouts, a
//! cap on requests in flight per PSA, and retries: 429 after its `Retry-After`, 5xx and
//! timeouts with bounded exponential backoff and jitter. A write that is not idempotent is
//! never retried here when its outcome is unknown: the caller reads the PSA again first.

use crate::config::HttpSettings;
use crate::error::{Redactor, RequestError, excerpt};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What `--verbose` shows: one line per request and answer (method, path, status, time),
/// never a header or a body.
pub type Observer = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Put,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Relative to the base URL (`/finance/agreements?page=2`), or a whole URL the PSA gave
    /// (a `Link` or `nextPageUrl`).
    pub path: String,
    /// Headers of this request only (the client adds its own, credentials included).
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Whether sending it twice is harmless (GET, a JSON-Patch `replace`, a token request).
    pub idempotent: bool,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            idempotent: true,
        }
    }

    pub fn with_body(
        method: Method,
        path: impl Into<String>,
        body: String,
        idempotent: bool,
    ) -> Request {
        Request {
            method,
            path: path.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body),
            idempotent,
        }
    }
}

/// An answer: any status the caller must interpret (2xx, 4xx other than 429).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers larger than this are refused rather than read into memory.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

pub struct Http {
    psa: &'static str,
    base: String,
    agent: ureq::Agent,
    settings: HttpSettings,
    /// Added to every request; credentials live here and nowhere else.
    headers: Mutex<Vec<(String, String)>>,
    redactor: Mutex<Redactor>,
    permits: Semaphore,
    rng: Mutex<u64>,
    observer: Option<Observer>,
}

impl Http {
    pub fn new(
        psa: &'static str,
        base: &str,
        settings: HttpSettings,
        headers: Vec<(String, String)>,
        redactor: Redactor,
        observer: Option<Observer>,
    ) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(settings.timeout_s)))
            .timeout_connect(Some(Duration::from_secs(settings.connect_timeout_s)))
            // A redirect is answered as it is: credentials are never sent to another address.
            .max_redirects(0)
            .user_agent(concat!("tally/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let seed = settings.jitter_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9e37_79b9)
        });
        Http {
            psa,
            base: base.trim_end_matches('/').to_string(),
            agent,
            permits: Semaphore::new(settings.concurrency),
            settings,
            headers: Mutex::new(headers),
            redactor: Mutex::new(redactor),
            rng: Mutex::new(seed),
            observer,
        }
    }

    pub fn psa(&self) -> &'static str {
        self.psa
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Replaces a header sent with every request (a renewed bearer token); its value joins the
    /// secrets the redactor removes.
    pub fn set_header(&self, name: &str, value: String, secret: bool) {
        if secret {
            self.lock_redactor().add(value.clone());
        }
        let mut headers = self.headers.lock().unwrap_or_else(|e| e.into_inner());
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.to_string(), value));
    }

    /// Adds a secret learnt while running (an OAuth access token) to what the redactor removes.
    pub fn add_secret(&self, secret: String) {
        self.lock_redactor().add(secret);
    }

    fn lock_redactor(&self) -> std::sync::MutexGuard<'_, Redactor> {
        self.redactor.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clean(&self, text: &str) -> String {
        self.lock_redactor().clean(text)
    }

    /// `METHOD /path`, as errors and the journal name a request.
    pub fn describe(&self, request: &Request) -> String {
        let path = request
            .path
            .strip_prefix(&self.base)
            .unwrap_or(&request.path);
        self.clean(&format!("{} {}", request.method.name(), path))
    }

    pub fn error(&self, request: &Request, problem: impl AsRef<str>) -> RequestError {
        RequestError {
            psa: self.psa,
            request: self.describe(request),
            problem: self.clean(problem.as_ref()),
            transient: false,
            outcome_unknown: false,
        }
    }

    /// The backoff before try `attempt + 1`: `base × 2^(attempt-1)`, at most `max_delay_ms`,
    /// half of it fixed and half jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let full = self
            .settings
            .base_delay_ms
            .saturating_mul(1u64 << exp)
            .min(self.settings.max_delay_ms);
        let half = full / 2;
        let jitter = if half == 0 {
            0
        } else {
            self.next_random() % (half + 1)
        };
        Duration::from_millis(half + jitter)
    }

    fn next_random(&self) -> u64 {
        // splitmix64: small, fast, and deterministic for a given seed.
        let mut state = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn pause(&self, wait: Duration, why: &str) {
        self.observe(&format!(
            "{}: waiting {} ms ({why})",
            self.psa,
            wait.as_millis()
        ));
        std::thread::sleep(wait);
    }

    fn observe(&self, line: &str) {
        if let Some(observer) = &self.observer {
            observer(&self.clean(line));
        }
    }

    /// Sends a request, retrying what is safe to retry within the budget. Returns the answer
    /// for any status the caller must judge (2xx, 3xx, 4xx other than 429); a transient
    /// failure (429, 5xx, timeout, dropped connection) after the budget, or at once for a
    /// non-idempotent request whose outcome is unknown, is an error saying so.
    pub fn send(&self, request: &Request) -> Result<Answer, RequestError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = {
                let _permit = self.permits.acquire();
                self.once(request)
            };
            let last_try = attempt >= self.settings.max_attempts;
            match result {
                Ok(answer) => {
                    self.observe(&format!(
                        "{}: {} -> {} ({} ms)",
                        self.psa,
                        self.describe(request),
                        answer.status,
                        started.elapsed().as_millis()
                    ));
                    if answer.status == 429 {
                        let asked = answer
                            .header("Retry-After")
                            .and_then(|v| v.trim().parse::<u64>().ok());
                        if let Some(asked) = asked
                            && asked > self.settings.max_retry_after_s
                        {
                            return Err(self.transient(
                                request,
                                format!(
                                    "rate limited (429): the PSA asks to wait {asked} s, more than max_retry_after_s ({})",
                                    self.settings.max_retry_after_s
                                ),
                                false,
                            ));
                        }
                        if last_try {
                            return Err(self.transient(
                                request,
                                format!("rate limited (429) on all {attempt} tries"),
                                false,
                            ));
                        }
                        let wait = asked
                            .map(Duration::from_secs)
                            .unwrap_or_else(|| self.backoff(attempt));
                        self.pause(wait, "429 Retry-After");
                        continue;
                    }
                    if answer.status >= 500 {
                        let problem =
                            format!("status {}{}", answer.status, body_hint(&answer.body));
                        if !request.idempotent {
                            // The PSA may have carried the write out before failing.
                            return Err(self.transient(request, problem, true));
                        }
                        if last_try {
                            return Err(self.transient(
                                request,
                                format!("{problem} on all {attempt} tries"),
                                false,
                            ));
                        }
                        self.pause(self.backoff(attempt), "server error");
                        continue;
                    }
                    return Ok(answer);
                }
                Err(failure) => {
                    self.observe(&format!(
                        "{}: {} -> {} ({} ms)",
                        self.psa,
                        self.describe(request),
                        failure.problem,
                        started.elapsed().as_millis()
                    ));
                    if !request.idempotent && failure.maybe_sent {
                        return Err(self.transient(request, failure.problem, true));
                    }
                    if last_try {
                        return Err(self.transient(
                            request,
                            format!("{} on all {attempt} tries", failure.problem),
                            false,
                        ));
                    }
                    self.pause(self.backoff(attempt), "no answer");
                }
            }
        }
    }

    fn transient(&self, request: &Request, problem: String, outcome_unknown: bool) -> RequestError {
        RequestError {
            transient: true,
            outcome_unknown,
            ..self.error(request, problem)
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    fn once(&self, request: &Request) -> Result<Answer, TransportFailure> {
        let url = self.url(&request.path);
        let mut builder = ureq::http::Request::builder()
            .method(request.method.name())
            .uri(&url)
            .header("Accept", "application/json");
        {
            let headers = self.headers.lock().unwrap_or_else(|e| e.into_inner());
            for (name, value) in headers.iter().chain(&request.headers) {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        let body = request.body.clone().unwrap_or_default().into_bytes();
        let built = builder.body(body).map_err(|e| TransportFailure {
            problem: format!("cannot build the request: {e}"),
            maybe_sent: false,
        })?;
        let response = self.agent.run(built).map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = response.into_body();
        let text = body
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| TransportFailure {
                problem: format!(
                    "the answer (status {status}) broke off: {}",
                    one_line(&e.to_string())
                ),
                maybe_sent: true,
            })?;
        Ok(Answer {
            status,
            headers,
            body: text,
        })
    }
}

fn body_hint(body: &str) -> String {
    let text = excerpt(body, 120);
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct TransportFailure {
    problem: String,
    /// Whether the request may have reached the server.
    maybe_sent: bool,
}

fn classify(error: ureq::Error) -> TransportFailure {
    let (problem, maybe_sent) = match &error {
        ureq::Error::Timeout(_) => ("no answer in time (timeout)".to_string(), true),
        ureq::Error::ConnectionFailed => ("cannot connect".to_string(), false),
        ureq::Error::HostNotFound => ("host not found".to_string(), false),
        ureq::Error::BadUri(uri) => (format!("bad address `{uri}`"), false),
        ureq::Error::Io(e) => (format!("connection lost ({})", e.kind()), true),
        other => (
            format!("connection failed ({})", one_line(&other.to_string())),
            true,
        ),
    };
    TransportFailure {
        problem,
        maybe_sent,
    }
}

/// Requests in flight to one PSA, at most `n` at once.
struct Semaphore {
    free: Mutex<usize>,
    changed: Condvar,
}

struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    fn new(n: usize) -> Semaphore {
        Semaphore {
            free: Mutex::new(n.max(1)),
            changed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.changed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        self.0.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(seed: u64) -> Http {
        let settings = HttpSettings {
            jitter_seed: Some(seed),
            ..HttpSettings::default()
        };
        Http::new(
            "Test",
            "http://127.0.0.1:9",
            settings,
            Vec::new(),
            Redactor::default(),
            None,
        )
    }

    #[test]
    fn backoff_is_bounded_exponential_with_deterministic_jitter() {
        let a = client(7);
        let b = client(7);
        for attempt in 1..20 {
            let wait = a.backoff(attempt);
            assert_eq!(wait, b.backoff(attempt), "same seed, same waits");
            let full = (500u64 << (attempt - 1).min(30)).min(30_000);
            assert!(
                wait >= Duration::from_millis(full / 2),
                "{attempt}: {wait:?}"
            );
            assert!(wait <= Duration::from_millis(full), "{attempt}: {wait:?}");
        }
    }
}
