//! A fake HaloPSA for the subset Tally uses: the OAuth token (`/auth/token`), clients, items,
//! recurring invoices and their lines, `POST /RecurringInvoice/updatelines`. Paths, parameter
//! names and types, body properties and their types follow HaloPSA's OpenAPI document (servers
//! `/api`, Bearer auth); every `/api` request is checked against it and a request the real API
//! would reject is recorded as a violation (tests assert there are none). Tokens expire when a
//! test says so; faults are injected as for the ConnectWise fake.

mod check;
mod json;

use crate::fake_core::{FakeCore, core_methods, lock};
use crate::faults::{self, Fault, FaultWording, splitmix};
use crate::server::{Handler, Incoming, Outgoing, Reply, Server};
use crate::spec;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Where the API lives (the document's server).
pub const API: &str = "/api";
/// Where tokens are issued (outside the document, as in Halo).
pub const TOKEN_PATH: &str = "/auth/token";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: i64,
    pub name: String,
    pub inactive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub name: String,
    /// The price a recurring line gets when it is written without one.
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: i64,
    pub client_id: i64,
    pub reference: String,
    /// A disabled recurring invoice (`disabled` in the document) no longer bills.
    pub disabled: bool,
}

/// Ways the fake departs from the document, for tests of what Tally does when a real server
/// misbehaves. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Recurring invoices come without `lines` even when `includelines=true` asks for them.
    pub omit_lines: bool,
    /// Every page is the first one, whatever `page_no` asks.
    pub ignore_page_no: bool,
    /// `GET /RecurringInvoice` answers every client's invoices, whatever `client_id` asks.
    pub ignore_client_filter: bool,
    /// The token endpoint answers 400 quoting the form it was sent (the secret in it).
    pub echo_token_form: bool,
    /// Every `/api` request with a valid token is answered 400 quoting its `Authorization`.
    pub echo_authorization: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub ihid: i64,
    pub item_id: i64,
    pub item_code: String,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub external_reference: Option<String>,
}

impl Line {
    /// Whether the line still bills on `day` (not ended before it).
    pub fn bills_on(&self, day: NaiveDate) -> bool {
        self.end.is_none_or(|end| end >= day)
    }
}

#[derive(Debug, Clone, Default)]
pub struct State {
    pub clients: Vec<Client>,
    pub items: Vec<Item>,
    pub invoices: Vec<Invoice>,
    pub lines: Vec<Line>,
    pub next_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub fault: Option<Fault>,
    /// The request met a token the fake had just expired (a random expiry).
    pub expired_token: bool,
}

pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Default)]
struct Tokens {
    issued: Vec<String>,
    /// Tokens still accepted.
    valid: Vec<String>,
    lifetime_s: u64,
    /// Requests the newest token has served: random expiry spares a token younger than
    /// `random_min_served`, so a renewed token is not refused again while one request (and the
    /// client's retries of it) is under way.
    served: u64,
    random: Option<(u64, u64)>,
    random_min_served: u64,
    random_expiries: u64,
    /// Tokens are issued but never accepted (an application without API permissions).
    refuse_all: bool,
}

pub struct Fake {
    core: FakeCore<State, Logged>,
    credentials: Credentials,
    tokens: Mutex<Tokens>,
    /// The most records a page holds, whatever `page_size` asks.
    page_cap: Mutex<usize>,
    quirks: Mutex<Quirks>,
}

/// Halo answers validation errors with a JSON string.
fn refusal(status: u16, message: &str) -> Reply {
    Reply::Send(Outgoing::json(status, Value::from(message).to_string()))
}

/// HaloPSA's answers under a fault.
const FAULT_WORDING: FaultWording = FaultWording {
    rate_limited: || Value::from("API rate limit exceeded").to_string(),
    server_error: || Value::from("An error has occurred").to_string(),
    html_title: "HaloPSA - Service Unavailable",
    wrong_shape: "{\"items\":[],\"count\":0}",
};

impl Fake {
    pub fn new(credentials: Credentials, today: NaiveDate) -> Result<Fake, String> {
        let state = State {
            next_id: 100,
            ..State::default()
        };
        Ok(Fake {
            core: FakeCore::new(state, spec::halopsa()?, today),
            credentials,
            tokens: Mutex::new(Tokens {
                lifetime_s: 3600,
                ..Tokens::default()
            }),
            page_cap: Mutex::new(100),
            quirks: Mutex::new(Quirks::default()),
        })
    }

    /// Starts a server for this fake: the tenant's root is `server.origin()` (the API at
    /// `/api`, tokens at `/auth/token`).
    pub fn serve(self: &Arc<Self>) -> std::io::Result<Server> {
        Server::start(self.clone())
    }

    core_methods!(State, Logged);

    pub fn today(&self) -> NaiveDate {
        self.core.today()
    }

    /// At most `n` records per page (paging tests).
    pub fn set_page_cap(&self, n: usize) {
        *lock(&self.page_cap) = n.max(1);
    }

    /// Departs from the document as `quirks` says (tests of misbehaving servers).
    pub fn set_quirks(&self, quirks: Quirks) {
        *lock(&self.quirks) = quirks;
    }

    fn quirks(&self) -> Quirks {
        *lock(&self.quirks)
    }

    /// Disables a recurring invoice (or enables it again).
    pub fn set_invoice_disabled(&self, id: i64, disabled: bool) {
        for invoice in self.state().invoices.iter_mut().filter(|i| i.id == id) {
            invoice.disabled = disabled;
        }
    }

    /// Every token issued so far stops working now: the next API request is answered 401.
    pub fn expire_tokens(&self) {
        lock(&self.tokens).valid.clear();
    }

    /// The `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, seconds: u64) {
        lock(&self.tokens).lifetime_s = seconds;
    }

    /// Expires every token at random before an API request, with this chance in thousandths,
    /// but never a token that has served fewer than `min_served` requests.
    pub fn set_random_expiry(&self, seed: u64, per_mille: u64, min_served: u64) {
        let mut tokens = lock(&self.tokens);
        tokens.random = Some((seed, per_mille));
        tokens.random_min_served = min_served.max(1);
    }

    /// Issues tokens but accepts none: every API request is answered 401.
    pub fn refuse_all_tokens(&self) {
        lock(&self.tokens).refuse_all = true;
    }

    /// Every token the fake has issued (tests look for them in outputs).
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.tokens).issued.clone()
    }

    pub fn random_expiries(&self) -> u64 {
        lock(&self.tokens).random_expiries
    }

    /// Requests that could change something (every method but GET, the token request aside).
    pub fn writes(&self) -> usize {
        self.core
            .count_logged(|l| l.method != "GET" && l.path != TOKEN_PATH)
    }

    fn next_id(state: &mut State) -> i64 {
        state.next_id += 1;
        state.next_id
    }

    pub fn add_client(&self, name: &str) -> i64 {
        let mut state = self.state();
        let id = Self::next_id(&mut state);
        state.clients.push(Client {
            id,
            name: name.into(),
            inactive: false,
        });
        id
    }

    pub fn add_item(&self, name: &str, price: Decimal) -> i64 {
        let mut state = self.state();
        let id = Self::next_id(&mut state);
        state.items.push(Item {
            id,
            name: name.into(),
            price,
        });
        id
    }

    pub fn add_invoice(&self, client_id: i64, reference: &str) -> i64 {
        let mut state = self.state();
        let id = Self::next_id(&mut state);
        state.invoices.push(Invoice {
            id,
            client_id,
            reference: reference.into(),
            disabled: false,
        });
        id
    }

    /// A line someone else made (no Tally key), billing from `start`.
    pub fn add_foreign_line(
        &self,
        ihid: i64,
        item: &str,
        quantity: i64,
        price: Decimal,
        text: &str,
        start: NaiveDate,
    ) -> i64 {
        let mut state = self.state();
        let id = Self::next_id(&mut state);
        let item_id = state
            .items
            .iter()
            .find(|i| i.name == item)
            .map(|i| i.id)
            .unwrap_or(0);
        state.lines.push(Line {
            id,
            ihid,
            item_id,
            item_code: item.into(),
            description: text.into(),
            quantity: Decimal::from(quantity),
            unit_price: price,
            start: Some(start),
            end: None,
            external_reference: None,
        });
        id
    }

    /// The token request: a form body with the client credentials (OAuth 2).
    fn token(&self, request: &Incoming) -> Reply {
        if request.method != "POST" {
            self.violation(request, "the token is asked for with POST");
            return refusal(405, "method not allowed");
        }
        let form: BTreeMap<String, String> = request
            .body
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        let content_type = request.header("Content-Type").unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            self.violation(request, "the token request is not a form");
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || !form.contains_key("client_id")
            || !form.contains_key("client_secret")
        {
            self.violation(
                request,
                "grant_type=client_credentials, client_id and client_secret are required",
            );
            let body = serde_json::json!({"error": "invalid_request"}).to_string();
            return Reply::Send(Outgoing::json(400, body));
        }
        if self.quirks().echo_token_form {
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("could not read {}", request.body)
            })
            .to_string();
            return Reply::Send(Outgoing::json(400, body));
        }
        if form.get("scope").is_some_and(|s| s != "all") {
            self.violation(request, "scope is `all` for an integration");
        }
        if form.get("client_id") != Some(&self.credentials.client_id)
            || form.get("client_secret") != Some(&self.credentials.client_secret)
        {
            let body = serde_json::json!({
                "error": "invalid_client",
                "error_description": "The client credentials are invalid"
            })
            .to_string();
            return Reply::Send(Outgoing::json(401, body));
        }
        let mut tokens = lock(&self.tokens);
        let mut seed = tokens.issued.len() as u64 + 0x4a10;
        let token = format!(
            "HALO-TOKEN-{:04}-{:016x}",
            tokens.issued.len() + 1,
            splitmix(&mut seed)
        );
        tokens.issued.push(token.clone());
        tokens.valid.push(token.clone());
        tokens.served = 0;
        let body = serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": tokens.lifetime_s,
            "scope": "all",
        })
        .to_string();
        Reply::Send(Outgoing::json(200, body))
    }

    /// Whether the request carries a token still accepted; draws a random expiry first.
    fn authorised(&self, request: &Incoming) -> (bool, bool) {
        let mut tokens = lock(&self.tokens);
        let mut expired_now = false;
        if let Some((seed, per_mille)) = tokens.random
            && tokens.served >= tokens.random_min_served
        {
            let mut state = seed;
            let draw = splitmix(&mut state);
            tokens.random = Some((state, per_mille));
            if draw % 1000 < per_mille {
                tokens.valid.clear();
                tokens.random_expiries += 1;
                expired_now = true;
            }
        }
        let ok = request
            .header("Authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| !tokens.refuse_all && tokens.valid.iter().any(|v| v == t));
        if ok {
            tokens.served += 1;
        }
        (ok, expired_now)
    }

    fn route(&self, request: &Incoming, expired: &mut bool) -> Reply {
        if request.path == TOKEN_PATH {
            return self.token(request);
        }
        let Some(path) = request.path.strip_prefix(API) else {
            self.violation(request, "not under the API's base path `/api`");
            return refusal(404, "not found");
        };
        let path = path.to_string();
        let template = match check::request(self.core.spec, request, &path) {
            Ok(template) => template,
            Err((status, problem)) => {
                self.violation(request, &problem);
                return refusal(status, &problem);
            }
        };
        let (ok, expired_now) = self.authorised(request);
        *expired = expired_now;
        if !ok {
            let mut out = Outgoing::json(401, String::new());
            out.headers.push((
                "WWW-Authenticate".into(),
                "Bearer error=\"invalid_token\"".into(),
            ));
            return Reply::Send(out);
        }
        if self.quirks().echo_authorization {
            let header = request.header("Authorization").unwrap_or_default();
            return refusal(400, &format!("bad request, Authorization: {header}"));
        }
        match (request.method.as_str(), template.as_str()) {
            ("GET", "/Client") => self.list_clients(request),
            ("GET", "/Item") => self.list_items(request),
            ("GET", "/RecurringInvoice") => self.list_invoices(request),
            ("POST", "/RecurringInvoice/updatelines") => self.update_lines(request),
            ("DELETE", _) => {
                self.violation(request, "Tally must never DELETE (billing history)");
                refusal(400, "DELETE refused by the test server")
            }
            (method, template) => {
                self.violation(
                    request,
                    &format!("{method} {template} is not served by the fake"),
                );
                refusal(405, "not served")
            }
        }
    }

    /// One page of a list as Halo writes it (`pageinate=true&page_size=&page_no=`).
    fn page(&self, request: &Incoming, key: &str, items: Vec<String>) -> Reply {
        let total = items.len();
        let paged = request.query_value("pageinate") == Some("true");
        let (page_no, size) = if paged {
            let size: usize = request
                .query_value("page_size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(50);
            let page_no: usize = request
                .query_value("page_no")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
            if size == 0 || page_no == 0 {
                self.violation(request, "page_size and page_no start at 1");
                return refusal(400, "page_size and page_no start at 1");
            }
            let page_no = if self.quirks().ignore_page_no {
                1
            } else {
                page_no
            };
            (page_no, size.min(*lock(&self.page_cap)))
        } else {
            (1, total.max(1))
        };
        let chosen: Vec<String> = items
            .into_iter()
            .skip((page_no - 1) * size)
            .take(size)
            .collect();
        let body = format!(
            "{{\"page_no\":{page_no},\"page_size\":{size},\"record_count\":{total},\"{key}\":[{}]}}",
            chosen.join(",")
        );
        Reply::Send(Outgoing::json(200, body))
    }

    fn list_clients(&self, request: &Incoming) -> Reply {
        let search = request.query_value("search").map(str::to_lowercase);
        let state = self.state();
        let items: Vec<String> = state
            .clients
            .iter()
            .filter(|c| {
                search
                    .as_deref()
                    .is_none_or(|s| c.name.to_lowercase().contains(s))
            })
            .map(json::client)
            .collect();
        drop(state);
        self.core.check_answer("Area", &items);
        self.page(request, "clients", items)
    }

    fn list_items(&self, request: &Incoming) -> Reply {
        let state = self.state();
        let items: Vec<String> = state.items.iter().map(json::item).collect();
        drop(state);
        self.core.check_answer("Item", &items);
        self.page(request, "items", items)
    }

    fn list_invoices(&self, request: &Incoming) -> Reply {
        let client: Option<i64> = request
            .query_value("client_id")
            .and_then(|c| c.parse().ok());
        let quirks = self.quirks();
        let client = client.filter(|_| !quirks.ignore_client_filter);
        let with_lines = request.query_value("includelines") == Some("true") && !quirks.omit_lines;
        let state = self.state();
        let items: Vec<String> = state
            .invoices
            .iter()
            .filter(|i| client.is_none_or(|c| i.client_id == c))
            .map(|invoice| {
                let client = state.clients.iter().find(|c| c.id == invoice.client_id);
                let lines: Option<Vec<&Line>> = with_lines.then(|| {
                    state
                        .lines
                        .iter()
                        .filter(|l| l.ihid == invoice.id)
                        .collect()
                });
                json::invoice(invoice, client, lines.as_deref())
            })
            .collect();
        drop(state);
        self.core.check_answer("InvoiceHeader", &items);
        self.page(request, "invoices", items)
    }

    fn invalid(&self, request: &Incoming, message: &str) -> Reply {
        self.violation(request, message);
        refusal(400, message)
    }

    /// `POST /RecurringInvoice/updatelines`: each `InvoiceDetail` without `id` is a new line on
    /// invoice `ihid`, each with `id` an update of the properties given. Answers the lines as
    /// they are now.
    fn update_lines(&self, request: &Incoming) -> Reply {
        let lines: Vec<BTreeMap<String, Box<RawValue>>> = match serde_json::from_str(&request.body)
        {
            Ok(lines) => lines,
            Err(e) => {
                return self.invalid(request, &format!("the body is not a list of lines: {e}"));
            }
        };
        let mut state = self.state();
        let mut written = Vec::new();
        // All or nothing, as one request.
        let mut next = state.clone();
        for (index, fields) in lines.iter().enumerate() {
            match check::apply_line(&mut next, fields) {
                Ok(id) => written.push(id),
                Err(problem) => {
                    drop(state);
                    return self.invalid(request, &format!("line {index}: {problem}"));
                }
            }
        }
        *state = next;
        let answer: Vec<String> = written
            .iter()
            .filter_map(|id| state.lines.iter().find(|l| l.id == *id))
            .map(json::line)
            .collect();
        drop(state);
        self.core.check_answer("InvoiceDetail", &answer);
        Reply::Send(Outgoing::json(200, format!("[{}]", answer.join(","))))
    }
}

/// Form decoding: `+` is a space, then percent-decoding.
fn form_decode(text: &str) -> String {
    crate::server::decode(&text.replace('+', " "))
}

impl Handler for Fake {
    fn handle(&self, request: &Incoming) -> Reply {
        // The token request is not a write: write numbers count line writes only.
        let is_write = request.method != "GET" && request.path != TOKEN_PATH;
        let fault = self.core.next_fault(is_write);
        let mut expired = false;
        let outcome = faults::dispatch(fault, &FAULT_WORDING, || self.route(request, &mut expired));
        self.core.record(Logged {
            method: request.method.clone(),
            path: request.path.clone(),
            status: outcome.status(),
            fault,
            expired_token: expired,
        });
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(method: &str, path: &str, query: &[(&str, &str)], body: &str) -> Incoming {
        Incoming {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            origin: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn requests_the_document_refuses_are_violations() {
        let fake = Fake::new(
            Credentials {
                client_id: "id".into(),
                client_secret: "secret".into(),
            },
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut token = incoming(
            "POST",
            TOKEN_PATH,
            &[],
            "grant_type=client_credentials&client_id=id&client_secret=secret&scope=all",
        );
        token.headers = vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )];
        assert_eq!(fake.handle(&token).status(), Some(200));
        let bearer = format!("Bearer {}", fake.issued_tokens()[0]);
        let with_token = |mut request: Incoming| {
            request
                .headers
                .push(("Authorization".into(), bearer.clone()));
            request
        };
        let fine = with_token(incoming(
            "GET",
            "/api/RecurringInvoice",
            &[("client_id", "1"), ("includelines", "true")],
            "",
        ));
        assert_eq!(fake.handle(&fine).status(), Some(200));
        assert_eq!(fake.violations(), Vec::<String>::new());

        let cases = [
            incoming("GET", "/api/RecurringInvoice", &[("client_id", "abc")], ""),
            incoming("GET", "/api/RecurringInvoice", &[("clientid", "1")], ""),
            incoming(
                "POST",
                "/api/RecurringInvoice/updatelines",
                &[],
                r#"[{"ihid":1,"qty":2}]"#,
            ),
            incoming(
                "POST",
                "/api/RecurringInvoice/updatelines",
                &[],
                r#"[{"ihid":1,"qty_order":"two"}]"#,
            ),
            incoming("DELETE", "/api/RecurringInvoice/5", &[], ""),
            incoming("GET", "/api/NoSuchThing", &[], ""),
        ];
        for (n, case) in cases.into_iter().enumerate() {
            let answer = fake.handle(&with_token(case));
            assert!(answer.status().is_some_and(|s| s >= 400), "case {n}");
            assert_eq!(fake.violations().len(), n + 1, "case {n}");
        }
        // No token: 401, which is no violation (the client renews).
        let before = fake.violations().len();
        let bare = incoming("GET", "/api/Item", &[], "");
        assert_eq!(fake.handle(&bare).status(), Some(401));
        assert_eq!(fake.violations().len(), before);
    }
}
