//! A fake Autotask REST API for the subset Tally uses: zone lookup, companies, contracts,
//! services, contract services, their units and adjustments, contract charges. The wire format
//! is the live API's (`SOURCE.txt`): queries answer `{"items":[…],"pageDetails":{…}}` and page
//! through `nextPageUrl`, writes answer `{"itemId":N}`, errors `{"errors":["…"]}` (HTTP 500 for
//! what the API refuses, as Autotask does). Every request is checked against Autotask's Swagger
//! document: the path and method exist, query parameters are declared, the three auth headers
//! are there, and bodies are valid against their `*Model` definition once names are mapped to
//! the document's spelling ignoring case, unknown properties refused. The fake's own answers are
//! checked against the same definitions. A request the real API would reject is recorded as a
//! violation (tests assert there are none).

mod entities;
pub mod query;

pub use entities::{
    Adjustment, Charge, Company, Contract, ContractService, Service, State, UnitRecord,
};

use crate::fake_core::{FakeCore, core_methods, lock};
use crate::faults::{self, Fault, FaultWording};
use crate::server::{Handler, Incoming, Outgoing, Reply, Server, encode};
use crate::spec;
use chrono::{Datelike, NaiveDate};
use entities::{Row, object, text};
use rust_decimal::Decimal;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// The path every API URL starts with (the document's `basePath`).
pub const BASE_PATH: &str = "/ATServicesRest";
/// Autotask's most records per page.
pub const MAX_RECORDS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub fault: Option<Fault>,
}

pub struct Credentials {
    pub username: String,
    pub integration_code: String,
    pub secret: String,
}

/// A line the customer is billed for in a period: a contract service with units, or a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    /// `service` or `charge`.
    pub kind: &'static str,
    pub id: i64,
    pub company: String,
    pub contract: String,
    /// The plan line id from `tally:<id>` (the service's internal description, the charge's
    /// description).
    pub key: Option<String>,
    pub product: String,
    pub text: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// A service's units from a later day of the period on, where they change within it
    /// (`quantity` is the first day's).
    pub unit_changes: Vec<(NaiveDate, i64)>,
}

impl Billed {
    pub fn amount(&self) -> Decimal {
        self.quantity * self.unit_price
    }
}

pub struct Fake {
    core: FakeCore<State, Logged>,
    credentials: Credentials,
    page_size: Mutex<usize>,
    /// What the zone lookup answers as `url` (default: this server's API).
    zone_answer: Mutex<Option<String>>,
    /// What every query answers as `nextPageUrl` instead of the true next page.
    next_page: Mutex<Option<NextPage>>,
}

/// A wrong `nextPageUrl`, as a faulty or hostile server might answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// The same page again, forever.
    Same,
    /// This URL.
    Url(String),
}

/// Autotask's answers under a fault.
const FAULT_WORDING: FaultWording = FaultWording {
    rate_limited: || errors(&["API rate limit exceeded"]),
    server_error: || errors(&["An unexpected error occurred"]),
    html_title: "Autotask - Scheduled Maintenance",
    // A bare list where Autotask wraps its answers in an object.
    wrong_shape: "[]",
};

fn errors(messages: &[&str]) -> String {
    serde_json::json!({ "errors": messages }).to_string()
}

fn reply(status: u16, body: String) -> Reply {
    Reply::Send(Outgoing::json(status, body))
}

fn item_id(id: i64) -> Reply {
    reply(200, format!("{{\"itemId\":{id}}}"))
}

/// Whether a request changes something (queries are POSTs that only read).
pub fn is_write(method: &str, path: &str) -> bool {
    method != "GET" && !path.to_ascii_lowercase().ends_with("/query")
}

/// A body's properties by lowercase name, numbers kept as written.
struct Body {
    raw: BTreeMap<String, Box<RawValue>>,
}

impl Body {
    fn parse(text: &str) -> Result<Body, String> {
        let raw: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text)
            .map_err(|e| format!("the body is not a JSON object: {e}"))?;
        Ok(Body {
            raw: raw
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        })
    }

    fn has(&self, name: &str) -> bool {
        self.raw
            .get(&name.to_ascii_lowercase())
            .is_some_and(|v| v.get().trim() != "null")
    }

    fn decimal(&self, name: &str) -> Option<Decimal> {
        let raw = self.raw.get(&name.to_ascii_lowercase())?.get().trim();
        Decimal::from_str_exact(raw.trim_matches('"')).ok()
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.raw
            .get(&name.to_ascii_lowercase())?
            .get()
            .trim()
            .parse()
            .ok()
    }

    fn text(&self, name: &str) -> Option<String> {
        serde_json::from_str::<String>(self.raw.get(&name.to_ascii_lowercase())?.get()).ok()
    }

    fn bool(&self, name: &str) -> Option<bool> {
        serde_json::from_str::<bool>(self.raw.get(&name.to_ascii_lowercase())?.get()).ok()
    }

    fn day(&self, name: &str) -> Option<NaiveDate> {
        crate::wire::day(&self.text(name)?)
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.raw.keys()
    }
}

/// The ids a filter allows for `field` (an integer id property), from its top-level `eq` and
/// `in` conditions with integer values; every top-level condition must hold, so a row whose
/// id is not among them cannot pass. `None` when no such condition names `field`.
fn allowed(filter: &[Value], field: &str) -> Option<BTreeSet<i64>> {
    let mut out: Option<BTreeSet<i64>> = None;
    for condition in filter {
        let named = query::get(condition, "field")
            .and_then(Value::as_str)
            .is_some_and(|f| f.eq_ignore_ascii_case(field));
        if !named {
            continue;
        }
        let op = query::get(condition, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        let values: Vec<&Value> = match (op.as_deref(), query::get(condition, "value")) {
            (Some("eq"), Some(value)) => vec![value],
            (Some("in"), Some(Value::Array(list))) => list.iter().collect(),
            _ => continue,
        };
        // A value written otherwise (`"12"`, `12.0`) is left to the full comparison.
        let Some(ids) = values
            .iter()
            .map(|v| v.as_i64())
            .collect::<Option<BTreeSet<i64>>>()
        else {
            continue;
        };
        out = Some(match out {
            Some(before) => before.intersection(&ids).copied().collect(),
            None => ids,
        });
    }
    out
}

/// Whether `allowed` (from [`allowed`]) lets `id` through: `None` allows every id.
fn passes(allowed: &Option<BTreeSet<i64>>, id: i64) -> bool {
    allowed.as_ref().is_none_or(|set| set.contains(&id))
}

/// The rows of `entities` a query may return (their id passes `ids`, and `keep` keeps them),
/// each with its id, as the API writes it.
fn rows<T: Row>(
    entities: &[T],
    ids: &Option<BTreeSet<i64>>,
    keep: impl Fn(&T) -> bool,
) -> Vec<(i64, String)> {
    entities
        .iter()
        .filter(|e| passes(ids, e.id()) && keep(e))
        .map(|e| (e.id(), e.json()))
        .collect()
}

/// A queried entity's document model, whether it has any row at all, and [`rows`].
fn table<T: Row>(
    model: &'static str,
    entities: &[T],
    ids: &Option<BTreeSet<i64>>,
    keep: impl Fn(&T) -> bool,
) -> (&'static str, bool, Vec<(i64, String)>) {
    (model, !entities.is_empty(), rows(entities, ids, keep))
}

impl Fake {
    pub fn new(credentials: Credentials, today: NaiveDate) -> Result<Fake, String> {
        let state = State {
            next_id: 29_680_000,
            ..State::default()
        };
        Ok(Fake {
            core: FakeCore::new(state, spec::autotask()?, today),
            credentials,
            page_size: Mutex::new(MAX_RECORDS),
            zone_answer: Mutex::new(None),
            next_page: Mutex::new(None),
        })
    }

    /// Starts a server; the zone lookup is at `server.origin() + BASE_PATH +
    /// "/V1.0/ZoneInformation"`, and answers `server.origin() + BASE_PATH`.
    pub fn serve(self: &Arc<Self>) -> std::io::Result<Server> {
        Server::start(self.clone())
    }

    pub fn zone_url(server: &Server) -> String {
        format!("{}{BASE_PATH}/V1.0/ZoneInformation", server.origin())
    }

    core_methods!(State, Logged);

    /// Records per page at most (small in tests, so that paging is exercised).
    pub fn set_page_size(&self, size: usize) {
        *lock(&self.page_size) = size.clamp(1, MAX_RECORDS);
    }

    pub fn set_zone_answer(&self, url: Option<String>) {
        *lock(&self.zone_answer) = url;
    }

    /// Makes every query answer `next` as its `nextPageUrl` (`None`: the true next page).
    pub fn set_next_page(&self, next: Option<NextPage>) {
        *lock(&self.next_page) = next;
    }

    /// Requests that change something (not queries), carried out or not.
    pub fn writes(&self) -> usize {
        self.core.count_logged(|l| is_write(&l.method, &l.path))
    }

    /// Refused as Autotask refuses: HTTP 500 with `{"errors":[…]}`; recorded as a violation.
    fn refuse(&self, request: &Incoming, problem: &str) -> Reply {
        self.violation(request, problem);
        reply(500, errors(&[problem]))
    }

    pub fn add_company(&self, name: &str) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        state.companies.push(Company {
            id,
            name: name.into(),
            active: true,
        });
        id
    }

    pub fn add_contract(&self, company_id: i64, name: &str, start: NaiveDate) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        state.contracts.push(Contract {
            id,
            company_id,
            name: name.into(),
            status: 1,
            start,
        });
        id
    }

    pub fn add_service(&self, name: &str, price: Decimal) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        state.services.push(Service {
            id,
            name: name.into(),
            unit_price: price,
            billing_code_id: 29_682_800 + (id % 100),
            active: true,
        });
        id
    }

    /// A contract service someone else added (no Tally key), with `units` from the contract's
    /// start.
    pub fn add_foreign_service(
        &self,
        contract_id: i64,
        service: &str,
        units: i64,
        price: Decimal,
        text: &str,
    ) -> i64 {
        let mut state = self.state();
        let service_id = state
            .services
            .iter()
            .find(|s| s.name == service)
            .map(|s| s.id)
            .unwrap_or(0);
        let start = state
            .contracts
            .iter()
            .find(|c| c.id == contract_id)
            .map(|c| c.start)
            .unwrap_or_default();
        let id = state.new_id();
        state.contract_services.push(ContractService {
            id,
            contract_id,
            service_id,
            unit_price: price,
            invoice_description: text.into(),
            internal_description: String::new(),
            created: start,
        });
        let adjustment = state.new_id();
        state.adjustments.push(Adjustment {
            id: adjustment,
            contract_id,
            contract_service_id: id,
            service_id,
            unit_change: units,
            effective: start,
        });
        id
    }

    /// Bills `price` for the month starting `month` of a contract service instead of its unit
    /// price (what `ContractServiceUnits.price` then shows).
    pub fn set_period_price(&self, contract_service: i64, month: NaiveDate, price: Decimal) {
        self.state()
            .period_prices
            .insert((contract_service, month), price);
    }

    /// A unit change someone made by hand: `unit_change` units from `effective` on.
    pub fn add_adjustment(&self, contract_service: i64, unit_change: i64, effective: NaiveDate) {
        let mut state = self.state();
        let Some(cs) = state
            .contract_services
            .iter()
            .find(|c| c.id == contract_service)
            .cloned()
        else {
            return;
        };
        let id = state.new_id();
        state.adjustments.push(Adjustment {
            id,
            contract_id: cs.contract_id,
            contract_service_id: cs.id,
            service_id: cs.service_id,
            unit_change,
            effective,
        });
    }

    /// Moves a contract charge to another day (as someone editing it by hand would).
    pub fn move_charge(&self, charge: i64, day: NaiveDate) {
        if let Some(c) = self.state().charges.iter_mut().find(|c| c.id == charge) {
            c.date_purchased = day;
        }
    }

    /// What the customers are billed for in the period `start..=end`: contract services with
    /// units on `start`, charges dated in the period with a quantity.
    pub fn billed(&self, start: NaiveDate, end: NaiveDate) -> Vec<Billed> {
        let state = self.state();
        let contract = |id: i64| {
            let c = state.contracts.iter().find(|c| c.id == id);
            let company = c
                .and_then(|c| state.companies.iter().find(|co| co.id == c.company_id))
                .map(|co| co.name.clone())
                .unwrap_or_default();
            (company, c.map(|c| c.name.clone()).unwrap_or_default())
        };
        let key = |text: &str| text.strip_prefix("tally:").map(str::to_string);
        let mut out = Vec::new();
        for cs in &state.contract_services {
            let units = state.units(cs.id, start);
            let days: std::collections::BTreeSet<NaiveDate> = state
                .adjustments
                .iter()
                .filter(|a| {
                    a.contract_service_id == cs.id && a.effective > start && a.effective <= end
                })
                .map(|a| a.effective)
                .collect();
            let mut unit_changes: Vec<(NaiveDate, i64)> = Vec::new();
            let mut before = units;
            for day in days {
                let now = state.units(cs.id, day);
                if now != before {
                    unit_changes.push((day, now));
                    before = now;
                }
            }
            if units == 0 && unit_changes.is_empty() {
                continue;
            }
            let month = start.with_day(1).unwrap_or(start);
            let unit_price = state
                .period_prices
                .get(&(cs.id, month))
                .copied()
                .unwrap_or(cs.unit_price);
            let (company, contract) = contract(cs.contract_id);
            out.push(Billed {
                kind: "service",
                id: cs.id,
                company,
                contract,
                key: key(&cs.internal_description),
                product: state
                    .services
                    .iter()
                    .find(|s| s.id == cs.service_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                text: cs.invoice_description.clone(),
                quantity: Decimal::from(units),
                unit_price,
                unit_changes,
            });
        }
        for charge in &state.charges {
            if charge.unit_quantity == Decimal::ZERO
                || charge.date_purchased < start
                || charge.date_purchased > end
            {
                continue;
            }
            let (company, contract) = contract(charge.contract_id);
            out.push(Billed {
                kind: "charge",
                id: charge.id,
                company,
                contract,
                key: key(&charge.description),
                product: charge.notes.clone(),
                text: charge.name.clone(),
                quantity: charge.unit_quantity,
                unit_price: charge.unit_price,
                unit_changes: Vec::new(),
            });
        }
        out
    }

    fn authorised(&self, request: &Incoming) -> bool {
        let c = &self.credentials;
        request.header("ApiIntegrationCode") == Some(c.integration_code.as_str())
            && request
                .header("UserName")
                .is_some_and(|u| u.eq_ignore_ascii_case(&c.username))
            && request.header("Secret") == Some(c.secret.as_str())
    }

    /// The body's definition for an operation (`#/definitions/…Model`).
    fn body_model(op: &Value) -> Option<String> {
        op.get("parameters")?
            .as_array()?
            .iter()
            .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))?
            .get("schema")?
            .get("$ref")?
            .as_str()?
            .rsplit('/')
            .next()
            .map(str::to_string)
    }

    fn route(&self, request: &Incoming) -> Reply {
        let Some(path) = request.path.strip_prefix(BASE_PATH) else {
            self.violation(request, "not under the API's base path");
            return reply(404, errors(&["Not found"]));
        };
        let operation = match self.core.spec.operation(&request.method, path) {
            Ok(op) => op,
            Err(problem) => {
                self.violation(request, &problem);
                return reply(404, errors(&[&problem]));
            }
        };
        let template = operation.template.to_string();
        if request.method == "DELETE" {
            self.violation(request, "Tally must never DELETE (billing history)");
            return reply(405, errors(&["DELETE refused by the test server"]));
        }
        let Some(op) = operation.op else {
            let problem = format!(
                "{} {template} is not an operation of the document",
                request.method
            );
            self.violation(request, &problem);
            return reply(405, errors(&[&problem]));
        };
        let problems = self
            .core
            .spec
            .check_parameters(op, &request.query, &request.headers);
        if !problems.is_empty() {
            return self.refuse(request, &problems.join("; "));
        }
        let zone = template == "/V1.0/ZoneInformation";
        // The zone lookup answers any caller; everything else needs the API user's credentials.
        if !zone && !self.authorised(request) {
            return reply(401, errors(&["Unauthorized"]));
        }
        let model = Self::body_model(op);
        let body = if request.method == "GET" {
            None
        } else {
            let Some(model) = &model else {
                return self.refuse(request, "a body where the operation takes none");
            };
            let value: Value = match serde_json::from_str(&request.body) {
                Ok(v) => v,
                Err(e) => return self.refuse(request, &format!("the body is not JSON: {e}")),
            };
            let problems = query::check(self.core.spec, model, &value);
            if !problems.is_empty() {
                return self.refuse(request, &problems.join("; "));
            }
            Some(value)
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let parent = segments.get(2).and_then(|s| s.parse::<i64>().ok());
        match (request.method.as_str(), template.as_str()) {
            ("GET", "/V1.0/ZoneInformation") => self.zone(request),
            ("POST", t) | ("GET", t) if t.ends_with("/query") => {
                let search = match (&body, request.query_value("search")) {
                    (Some(body), _) => body.clone(),
                    (None, Some(search)) => match serde_json::from_str::<Value>(search) {
                        Ok(v) => {
                            let problems = query::check(self.core.spec, "QueryModel", &v);
                            if !problems.is_empty() {
                                return self.refuse(request, &problems.join("; "));
                            }
                            v
                        }
                        Err(e) => {
                            return self.refuse(request, &format!("`search` is not JSON: {e}"));
                        }
                    },
                    (None, None) => return self.refuse(request, "a query without `search`"),
                };
                let entity = segments.get(1).copied().unwrap_or_default();
                self.query(request, entity, &search)
            }
            ("POST", "/V1.0/Contracts/{parentId}/Services") => {
                self.create_contract_service(request, parent)
            }
            ("PATCH", "/V1.0/Contracts/{parentId}/Services") => {
                self.update_contract_service(request, parent)
            }
            ("POST", "/V1.0/ContractServiceAdjustments") => self.adjust(request),
            ("POST", "/V1.0/Contracts/{parentId}/Charges") => self.create_charge(request, parent),
            ("PATCH", "/V1.0/Contracts/{parentId}/Charges") => self.update_charge(request, parent),
            (method, template) => {
                let problem = format!("{method} {template} is not served by the fake");
                self.violation(request, &problem);
                reply(405, errors(&[&problem]))
            }
        }
    }

    fn zone(&self, request: &Incoming) -> Reply {
        let user = request.query_value("user").unwrap_or_default();
        if !user.eq_ignore_ascii_case(&self.credentials.username) {
            return reply(500, errors(&["Zone information could not be determined"]));
        }
        let url = lock(&self.zone_answer)
            .clone()
            .unwrap_or_else(|| format!("{}{BASE_PATH}/", request.origin));
        let answer = object(&[
            ("zoneName", text("Fake Zone 1")),
            ("url", text(&url)),
            ("webUrl", text(&format!("{}/", request.origin))),
            ("ci", "1".into()),
        ]);
        self.check_answer(
            request,
            "ZoneInformationResultModel",
            std::slice::from_ref(&answer),
        );
        reply(200, answer)
    }

    /// The fake's answers must fit the document's definitions too.
    fn check_answer(&self, request: &Incoming, model: &str, items: &[String]) {
        for item in items {
            let value: Value = serde_json::from_str(item).unwrap_or(Value::Null);
            let problems = query::check(self.core.spec, model, &value);
            if !problems.is_empty() {
                self.violation(
                    request,
                    &format!("the fake's own answer: {}", problems.join("; ")),
                );
            }
        }
    }

    /// `POST /V1.0/{Entity}/query` (or the `GET …?search=` of a next page): the entities
    /// passing the filter, by id, one page at a time.
    fn query(&self, request: &Incoming, entity: &str, search: &Value) -> Reply {
        let filter = query::get(search, "filter")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if filter.is_empty() {
            return self.refuse(request, "a query needs at least one filter condition");
        }
        let max = query::get(search, "MaxRecords")
            .and_then(Value::as_u64)
            .unwrap_or(MAX_RECORDS as u64) as usize;
        if max == 0 || max > MAX_RECORDS {
            return self.refuse(request, &format!("MaxRecords {max}: 1 to 500"));
        }
        let today = self.core.today();
        // Rows that an `eq`/`in` condition on an id rules out are skipped before they are
        // written and parsed (the full filter still decides the rest): without this, a query
        // costs every row of its entity, and thousands of contract services make each read
        // and each adjustment's unit read cost seconds.
        let only = |field: &str| allowed(&filter, field);
        let ids = only("id");
        let state = self.state();
        let (model, any, rows): (&str, bool, Vec<(i64, String)>) =
            match entity.to_ascii_lowercase().as_str() {
                "companies" => table("CompanyModel", &state.companies, &ids, |_| true),
                "contracts" => {
                    let companies = only("companyID");
                    table("ContractModel", &state.contracts, &ids, |c| {
                        passes(&companies, c.company_id)
                    })
                }
                "services" => table("ServiceModel", &state.services, &ids, |_| true),
                "contractservices" => {
                    let contracts = only("contractID");
                    table(
                        "ContractServiceModel",
                        &state.contract_services,
                        &ids,
                        |c| passes(&contracts, c.contract_id),
                    )
                }
                "contractserviceunits" => {
                    let contracts = only("contractID");
                    let services = only("contractServiceID");
                    let units = state.unit_records(today, |cs| {
                        passes(&contracts, cs.contract_id) && passes(&services, cs.id)
                    });
                    (
                        "ContractServiceUnitModel",
                        // Every contract service has at least one unit record.
                        !state.contract_services.is_empty(),
                        rows(&units, &ids, |_| true),
                    )
                }
                "contractcharges" => {
                    let contracts = only("contractID");
                    table("ContractChargeModel", &state.charges, &ids, |c| {
                        passes(&contracts, c.contract_id)
                    })
                }
                other => {
                    drop(state);
                    let problem = format!("queries of `{other}` are not served by the fake");
                    self.violation(request, &problem);
                    return reply(405, errors(&[&problem]));
                }
            };
        drop(state);
        // A condition that is wrong is wrong whatever the row (an unknown field, a missing
        // value, a list too long): refused as before whenever the entity has any row, even if
        // the narrowing above left none to test it on.
        if any {
            let empty = Value::Object(serde_json::Map::new());
            for condition in &filter {
                if let Err(problem) = query::matches(self.core.spec, model, condition, &empty) {
                    return self.refuse(request, &problem);
                }
            }
        }
        let mut rows = rows;
        rows.sort_by_key(|(id, _)| *id);
        let mut found = Vec::new();
        for (id, wire) in rows {
            let row: Value = serde_json::from_str(&wire).unwrap_or(Value::Null);
            let mut keep = true;
            for condition in &filter {
                match query::matches(self.core.spec, model, condition, &row) {
                    Ok(true) => {}
                    Ok(false) => keep = false,
                    Err(problem) => return self.refuse(request, &problem),
                }
            }
            if keep {
                found.push((id, wire));
            }
        }
        let size = max.min(*lock(&self.page_size));
        let more = found.len() > size;
        found.truncate(size);
        let items: Vec<String> = found.iter().map(|(_, w)| w.clone()).collect();
        self.check_answer(request, model, &items);
        // The next page: the same query for ids after this page's last, as a `GET …?search=`.
        let wrong = lock(&self.next_page).clone();
        let next = match (wrong, found.last()) {
            (Some(NextPage::Same), _) => {
                let search = serde_json::json!({"filter": filter, "MaxRecords": max});
                text(&format!(
                    "{}{BASE_PATH}/V1.0/{entity}/query?search={}",
                    request.origin,
                    encode(&search.to_string())
                ))
            }
            (Some(NextPage::Url(url)), _) => text(&url),
            (None, last) => match last {
                Some((last, _)) if more => {
                    let mut next_filter = filter.clone();
                    next_filter.push(serde_json::json!({"op": "gt", "field": "id", "value": last}));
                    let search = serde_json::json!({"filter": next_filter, "MaxRecords": max});
                    text(&format!(
                        "{}{BASE_PATH}/V1.0/{entity}/query?search={}",
                        request.origin,
                        encode(&search.to_string())
                    ))
                }
                _ => "null".into(),
            },
        };
        let details = object(&[
            ("count", items.len().to_string()),
            ("requestCount", max.to_string()),
            ("prevPageUrl", "null".into()),
            ("nextPageUrl", next),
        ]);
        reply(
            200,
            format!(
                "{{\"items\":[{}],\"pageDetails\":{details}}}",
                items.join(",")
            ),
        )
    }

    fn body(&self, request: &Incoming) -> Result<Body, Reply> {
        Body::parse(&request.body).map_err(|p| self.refuse(request, &p))
    }

    /// The body of a write under `/V1.0/Contracts/{parentId}/…`, and that contract, checked
    /// against the body's `contractID`.
    fn body_on_contract(
        &self,
        request: &Incoming,
        parent: Option<i64>,
    ) -> Result<(Body, i64), Reply> {
        let body = self.body(request)?;
        let Some(parent) = parent.filter(|p| self.state().contracts.iter().any(|c| c.id == *p))
        else {
            return Err(self.refuse(request, "no such contract"));
        };
        if let Some(given) = body.int("contractID")
            && given != parent
        {
            return Err(self.refuse(
                request,
                &format!("contractID {given} is not the contract of the path ({parent})"),
            ));
        }
        Ok((body, parent))
    }

    /// As [`Fake::body_on_contract`], for a create: the id is Autotask's to give.
    fn new_on_contract(
        &self,
        request: &Incoming,
        parent: Option<i64>,
    ) -> Result<(Body, i64), Reply> {
        let (body, contract) = self.body_on_contract(request, parent)?;
        if body.int("id").is_some_and(|id| id != 0) {
            return Err(self.refuse(request, "`id` is given by Autotask"));
        }
        Ok((body, contract))
    }

    fn create_contract_service(&self, request: &Incoming, parent: Option<i64>) -> Reply {
        let (body, contract) = match self.new_on_contract(request, parent) {
            Ok(found) => found,
            Err(r) => return r,
        };
        if !body.has("contractID") || !body.has("serviceID") || !body.has("unitPrice") {
            return self.refuse(request, "contractID, serviceID and unitPrice are required");
        }
        let today = self.core.today();
        let mut state = self.state();
        let Some(service) = body
            .int("serviceID")
            .and_then(|id| state.services.iter().find(|s| s.id == id && s.active))
            .cloned()
        else {
            drop(state);
            return self.refuse(request, "serviceID is not an active service");
        };
        let Some(price) = body.decimal("unitPrice") else {
            drop(state);
            return self.refuse(request, "unitPrice is not a number");
        };
        let id = state.new_id();
        // A new contract service has no units: they come from adjustments.
        state.contract_services.push(ContractService {
            id,
            contract_id: contract,
            service_id: service.id,
            unit_price: price,
            invoice_description: body.text("invoiceDescription").unwrap_or(service.name),
            internal_description: body.text("internalDescription").unwrap_or_default(),
            created: today,
        });
        item_id(id)
    }

    fn update_contract_service(&self, request: &Incoming, parent: Option<i64>) -> Reply {
        let (body, contract) = match self.body_on_contract(request, parent) {
            Ok(found) => found,
            Err(r) => return r,
        };
        const CHANGEABLE: [&str; 6] = [
            "id",
            "contractid",
            "unitprice",
            "unitcost",
            "invoicedescription",
            "internaldescription",
        ];
        if let Some(key) = body.keys().find(|k| !CHANGEABLE.contains(&k.as_str())) {
            return self.refuse(
                request,
                &format!("`{key}` cannot be changed on a contract service"),
            );
        }
        let mut state = self.state();
        let Some(cs) = body.int("id").and_then(|id| {
            state
                .contract_services
                .iter_mut()
                .find(|c| c.id == id && c.contract_id == contract)
        }) else {
            drop(state);
            return self.refuse(request, "no such contract service on this contract");
        };
        if body.has("unitPrice") {
            match body.decimal("unitPrice") {
                Some(p) => cs.unit_price = p,
                None => {
                    drop(state);
                    return self.refuse(request, "unitPrice is not a number");
                }
            }
        }
        if let Some(t) = body.text("invoiceDescription") {
            cs.invoice_description = t;
        }
        if let Some(t) = body.text("internalDescription") {
            cs.internal_description = t;
        }
        let id = cs.id;
        item_id(id)
    }

    /// `POST /V1.0/ContractServiceAdjustments`: create-only; the signed change applies from its
    /// effective date on and may not take the units below 0 on any later day.
    fn adjust(&self, request: &Incoming) -> Reply {
        let body = match self.body(request) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let (Some(contract), Some(cs_id), Some(change), Some(effective)) = (
            body.int("contractID"),
            body.int("contractServiceID"),
            body.int("unitChange"),
            body.day("effectiveDate"),
        ) else {
            return self.refuse(
                request,
                "contractID, contractServiceID, unitChange (a whole number) and effectiveDate are required",
            );
        };
        if change == 0 {
            return self.refuse(request, "unitChange 0 changes nothing");
        }
        let mut state = self.state();
        let Some(cs) = state
            .contract_services
            .iter()
            .find(|c| c.id == cs_id && c.contract_id == contract)
            .cloned()
        else {
            drop(state);
            return self.refuse(request, "no such contract service on this contract");
        };
        if let Some(service) = body.int("serviceID")
            && service != cs.service_id
        {
            drop(state);
            return self.refuse(request, "serviceID is not the contract service's service");
        }
        // Units after this change, on its day and on every later change's day.
        let mut days: Vec<NaiveDate> = state
            .adjustments
            .iter()
            .filter(|a| a.contract_service_id == cs_id && a.effective > effective)
            .map(|a| a.effective)
            .collect();
        days.push(effective);
        if let Some(day) = days.iter().find(|d| state.units(cs_id, **d) + change < 0) {
            let units = state.units(cs_id, *day);
            drop(state);
            return self.refuse(
                request,
                &format!("unitChange {change} takes the units below 0 on {day} ({units} there)"),
            );
        }
        let id = state.new_id();
        state.adjustments.push(Adjustment {
            id,
            contract_id: contract,
            contract_service_id: cs_id,
            service_id: cs.service_id,
            unit_change: change,
            effective,
        });
        item_id(id)
    }

    fn create_charge(&self, request: &Incoming, parent: Option<i64>) -> Reply {
        let (body, contract) = match self.new_on_contract(request, parent) {
            Ok(found) => found,
            Err(r) => return r,
        };
        let (Some(name), Some(date), Some(quantity), Some(charge_type), Some(status)) = (
            body.text("name"),
            body.day("datePurchased"),
            body.decimal("unitQuantity"),
            body.int("chargeType"),
            body.int("status"),
        ) else {
            return self.refuse(
                request,
                "name, datePurchased, unitQuantity, chargeType and status are required",
            );
        };
        let mut state = self.state();
        let billing_code = body.int("billingCodeID");
        if let Some(code) = billing_code
            && !state.services.iter().any(|s| s.billing_code_id == code)
        {
            drop(state);
            return self.refuse(request, &format!("billingCodeID {code} does not exist"));
        }
        let id = state.new_id();
        state.charges.push(Charge {
            id,
            contract_id: contract,
            name,
            description: body.text("description").unwrap_or_default(),
            notes: body.text("notes").unwrap_or_default(),
            date_purchased: date,
            unit_quantity: quantity,
            unit_price: body.decimal("unitPrice").unwrap_or_default(),
            billing_code_id: billing_code,
            charge_type,
            status,
            billable: body.bool("isBillableToCompany").unwrap_or(true),
        });
        item_id(id)
    }

    fn update_charge(&self, request: &Incoming, parent: Option<i64>) -> Reply {
        let (body, contract) = match self.body_on_contract(request, parent) {
            Ok(found) => found,
            Err(r) => return r,
        };
        let mut state = self.state();
        let Some(charge) = body.int("id").and_then(|id| {
            state
                .charges
                .iter_mut()
                .find(|c| c.id == id && c.contract_id == contract)
        }) else {
            drop(state);
            return self.refuse(request, "no such charge on this contract");
        };
        if let Some(v) = body.text("name") {
            charge.name = v;
        }
        if let Some(v) = body.text("description") {
            charge.description = v;
        }
        if let Some(v) = body.text("notes") {
            charge.notes = v;
        }
        if let Some(v) = body.day("datePurchased") {
            charge.date_purchased = v;
        }
        if let Some(v) = body.decimal("unitQuantity") {
            charge.unit_quantity = v;
        }
        if let Some(v) = body.decimal("unitPrice") {
            charge.unit_price = v;
        }
        if let Some(v) = body.int("billingCodeID") {
            charge.billing_code_id = Some(v);
        }
        let id = charge.id;
        item_id(id)
    }
}

impl Handler for Fake {
    fn handle(&self, request: &Incoming) -> Reply {
        let fault = self
            .core
            .next_fault(is_write(&request.method, &request.path));
        let outcome = faults::dispatch(fault, &FAULT_WORDING, || self.route(request));
        self.core.record(Logged {
            method: request.method.clone(),
            path: request.path.clone(),
            status: outcome.status(),
            fault,
        });
        outcome
    }
}
