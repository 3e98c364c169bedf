//! A fake ConnectWise Manage for the subset Tally uses: agreements, agreement additions,
//! catalogue items. Paths, field names, auth headers, `page`/`pageSize` with `Link` headers,
//! `conditions`, error bodies and status codes follow the OpenAPI document and `DOMAIN.md`;
//! every request is checked against the document, and a request the real API would reject is
//! recorded as a violation (tests assert there are none) and answered as ConnectWise would.

use crate::conditions::{Clause, Field};
use crate::fake_core::{FakeCore, core_methods};
use crate::faults::{self, Fault, FaultWording};
use crate::server::{Handler, Incoming, Outgoing, Reply, Server, encode};
use crate::spec;
use crate::wire::{date_time, day, number as num};
use base64::Engine as _;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;

/// The path every API URL starts with.
pub const BASE_PATH: &str = "/v4_6_release/apis/3.0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: i64,
    pub identifier: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub id: i64,
    pub name: String,
    pub company: String,
    pub bill_start: NaiveDate,
    pub cancelled: bool,
    /// `prorateFlag`: when false, dates in an invoiced period are refused.
    pub prorate: bool,
    /// The last day already invoiced.
    pub invoiced_through: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub id: i64,
    pub identifier: String,
    pub description: String,
    pub price: Decimal,
    pub inactive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub id: i64,
    pub agreement_id: i64,
    pub product_id: i64,
    pub product: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub bill_customer: String,
    pub effective: NaiveDate,
    pub cancelled: Option<NaiveDate>,
    pub description: String,
    pub invoice_description: String,
    pub taxable: bool,
}

#[derive(Debug, Clone, Default)]
pub struct State {
    pub companies: Vec<Company>,
    pub agreements: Vec<Agreement>,
    pub catalogue: Vec<CatalogItem>,
    pub additions: Vec<Addition>,
    pub next_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub fault: Option<Fault>,
}

pub struct Credentials {
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
}

pub struct Fake {
    core: FakeCore<State, Logged>,
    credentials: Credentials,
}

/// ConnectWise's answers under a fault.
const FAULT_WORDING: FaultWording = FaultWording {
    rate_limited: || error_body("TooManyRequests", "Rate limit exceeded", None),
    server_error: || error_body("ServerError", "An error occurred", None),
    html_title: "ConnectWise - Site Maintenance",
    wrong_shape: "{\"items\":[],\"count\":0}",
};

impl State {
    fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The agreement of a path's `{parentId}`.
    fn agreement(&self, id: Option<i64>) -> Option<&Agreement> {
        self.agreements.iter().find(|a| Some(a.id) == id)
    }
}

fn error_body(code: &str, message: &str, field: Option<&str>) -> String {
    let errors: Vec<Value> = field
        .map(|f| {
            vec![serde_json::json!({"code": code, "message": message, "resource": "agreementAddition", "field": f})]
        })
        .unwrap_or_default();
    serde_json::json!({"code": code, "message": message, "errors": errors}).to_string()
}

fn reply(status: u16, body: String) -> Reply {
    Reply::Send(Outgoing::json(status, body))
}

/// 404, as ConnectWise answers for a record (`Agreement`) that is not there.
fn not_found(record: &str) -> Reply {
    reply(
        404,
        error_body("NotFound", &format!("{record} not found"), None),
    )
}

fn exact(raw: &RawValue) -> Option<Decimal> {
    let text = raw.get().trim();
    Decimal::from_str_exact(text).ok()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAddition {
    product: ProductRef,
    bill_customer: Option<String>,
    quantity: Option<Box<RawValue>>,
    unit_price: Option<Box<RawValue>>,
    effective_date: Option<String>,
    cancelled_date: Option<String>,
    description: Option<String>,
    invoice_description: Option<String>,
    taxable_flag: Option<bool>,
}

#[derive(Deserialize)]
struct ProductRef {
    id: Option<i64>,
    identifier: Option<String>,
}

#[derive(Deserialize)]
struct PatchOp {
    op: String,
    path: String,
    value: Option<Box<RawValue>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdditionJson<'a> {
    id: i64,
    product: Value,
    quantity: Box<RawValue>,
    less_included: Box<RawValue>,
    unit_price: Box<RawValue>,
    unit_cost: Box<RawValue>,
    bill_customer: &'a str,
    effective_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_date: Option<String>,
    taxable_flag: bool,
    invoice_description: &'a str,
    agreement_id: i64,
    description: &'a str,
    ext_price: Box<RawValue>,
    agreement_status: &'a str,
    #[serde(rename = "_info")]
    info: Value,
}

/// The properties a PATCH may change.
const WRITABLE: &[&str] = &[
    "quantity",
    "lessIncluded",
    "unitPrice",
    "unitCost",
    "billCustomer",
    "effectiveDate",
    "cancelledDate",
    "taxableFlag",
    "invoiceDescription",
    "description",
    "prorateCurrentPeriodFlag",
    "customFields",
    "serialNumber",
    "purchaseItemFlag",
    "specialOrderFlag",
    "uom",
    "sequenceNumber",
    "invoiceGrouping",
    "opportunity",
];

impl Fake {
    pub fn new(credentials: Credentials, today: NaiveDate) -> Result<Fake, String> {
        let state = State {
            next_id: 1000,
            ..State::default()
        };
        Ok(Fake {
            core: FakeCore::new(state, spec::connectwise()?, today),
            credentials,
        })
    }

    /// Starts a server for this fake; the API is at `server.origin() + BASE_PATH`.
    pub fn serve(self: &Arc<Self>) -> std::io::Result<Server> {
        Server::start(self.clone())
    }

    core_methods!(State, Logged);

    /// Requests that changed something (POST, PATCH, PUT, DELETE) and were answered 2xx or
    /// carried out under a fault.
    pub fn writes(&self) -> usize {
        self.core.count_logged(|l| l.method != "GET")
    }

    pub fn add_company(&self, identifier: &str, name: &str) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        state.companies.push(Company {
            id,
            identifier: identifier.into(),
            name: name.into(),
        });
        id
    }

    pub fn add_agreement(&self, company: &str, name: &str, bill_start: NaiveDate) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        state.agreements.push(Agreement {
            id,
            name: name.into(),
            company: company.into(),
            bill_start,
            cancelled: false,
            prorate: true,
            invoiced_through: None,
        });
        id
    }

    pub fn add_catalog_item(&self, identifier: &str, price: Decimal) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        state.catalogue.push(CatalogItem {
            id,
            identifier: identifier.into(),
            description: identifier.into(),
            price,
            inactive: false,
        });
        id
    }

    /// An addition made by someone else (no Tally key).
    pub fn add_foreign_addition(
        &self,
        agreement_id: i64,
        product: &str,
        quantity: i64,
        price: Decimal,
        text: &str,
    ) -> i64 {
        let mut state = self.state();
        let id = state.new_id();
        let product_id = state
            .catalogue
            .iter()
            .find(|c| c.identifier == product)
            .map(|c| c.id)
            .unwrap_or(0);
        let effective = state
            .agreements
            .iter()
            .find(|a| a.id == agreement_id)
            .map(|a| a.bill_start)
            .unwrap_or_default();
        state.additions.push(Addition {
            id,
            agreement_id,
            product_id,
            product: product.into(),
            quantity: Decimal::from(quantity),
            unit_price: price,
            bill_customer: "Billable".into(),
            effective,
            cancelled: None,
            description: text.into(),
            invoice_description: text.into(),
            taxable: false,
        });
        id
    }

    fn authorised(&self, request: &Incoming) -> bool {
        let c = &self.credentials;
        let expected = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}+{}:{}",
            c.company_id, c.public_key, c.private_key
        ));
        request.header("Authorization") == Some(&format!("Basic {expected}"))
    }

    fn route(&self, request: &Incoming) -> Reply {
        let Some(path) = request.path.strip_prefix(BASE_PATH) else {
            self.violation(request, "not under the API's base path");
            return reply(404, error_body("NotFound", "Not found", None));
        };
        if !self.authorised(request) {
            return reply(
                401,
                error_body(
                    "Unauthorized",
                    "Authentication failed: check the company, public and private keys",
                    None,
                ),
            );
        }
        // The document holds read operations only; writes are checked against the component
        // schemas below, on paths whose collection or item the document has.
        let operation = match self.core.spec.operation(&request.method, path) {
            Ok(op) => op,
            Err(problem) => {
                self.violation(request, &problem);
                return reply(404, error_body("NotFound", &problem, None));
            }
        };
        let template = operation.template.to_string();
        let get_op = self
            .core
            .spec
            .operation("GET", path)
            .ok()
            .and_then(|o| o.op);
        // Required headers and declared query parameters: from the operation, or for a write
        // from the GET of the same path (its headers, `clientId`, are the API's own).
        if let Some(op) = operation.op.or(get_op) {
            let query: Vec<(String, String)> = if request.method == "GET" {
                request.query.clone()
            } else {
                Vec::new()
            };
            let problems = self
                .core
                .spec
                .check_parameters(op, &query, &request.headers);
            if !problems.is_empty() {
                let text = problems.join("; ");
                self.violation(request, &text);
                return reply(400, error_body("InvalidObject", &text, None));
            }
        }
        if request.method != "GET" && !request.query.is_empty() {
            self.violation(request, "a write with query parameters");
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (request.method.as_str(), template.as_str()) {
            ("GET", "/finance/agreements") => self.list_agreements(request, path),
            ("GET", "/finance/agreements/{parentId}/additions") => {
                self.list_additions(request, path, segments.get(2).and_then(|s| s.parse().ok()))
            }
            ("GET", "/procurement/catalog") => self.list_catalogue(request, path),
            ("POST", "/finance/agreements/{parentId}/additions") => {
                self.create(request, segments.get(2).and_then(|s| s.parse().ok()))
            }
            ("PATCH", "/finance/agreements/{parentId}/additions/{id}") => self.patch(
                request,
                segments.get(2).and_then(|s| s.parse().ok()),
                segments.get(4).and_then(|s| s.parse().ok()),
            ),
            ("DELETE", _) => {
                self.violation(request, "Tally must never DELETE (billing history)");
                reply(
                    400,
                    error_body("InvalidObject", "DELETE refused by the test server", None),
                )
            }
            (method, template) => {
                self.violation(
                    request,
                    &format!("{method} {template} is not served by the fake"),
                );
                reply(405, error_body("MethodNotAllowed", "not served", None))
            }
        }
    }

    fn paging(&self, request: &Incoming) -> Result<(usize, usize), String> {
        let page = request
            .query_value("page")
            .map(|p| p.parse::<usize>().map_err(|_| format!("page `{p}`")))
            .transpose()?
            .unwrap_or(1);
        let size = request
            .query_value("pageSize")
            .map(|p| p.parse::<usize>().map_err(|_| format!("pageSize `{p}`")))
            .transpose()?
            .unwrap_or(25);
        if page == 0 || size == 0 || size > 1000 {
            return Err(format!(
                "page {page} / pageSize {size}: pageSize is 1 to 1000, page from 1"
            ));
        }
        Ok((page, size))
    }

    /// One page of a list, with `Link` headers as ConnectWise writes them.
    fn page(&self, request: &Incoming, path: &str, items: Vec<String>) -> Reply {
        let (page, size) = match self.paging(request) {
            Ok(p) => p,
            Err(problem) => {
                self.violation(request, &problem);
                return reply(400, error_body("InvalidObject", &problem, None));
            }
        };
        let last = items.len().div_ceil(size).max(1);
        let chosen: Vec<String> = items
            .into_iter()
            .skip((page - 1) * size)
            .take(size)
            .collect();
        let body = format!("[{}]", chosen.join(","));
        let mut out = Outgoing::json(200, body);
        let link = |n: usize| {
            let mut query: Vec<String> = request
                .query
                .iter()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            query.push(format!("page={n}"));
            format!("<{}{BASE_PATH}{path}?{}>", request.origin, query.join("&"))
        };
        let mut links = Vec::new();
        if page < last {
            links.push(format!("{}; rel=\"next\"", link(page + 1)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", link(page - 1)));
        }
        links.push(format!("{}; rel=\"last\"", link(last)));
        out.headers.push(("Link".into(), links.join(", ")));
        Reply::Send(out)
    }

    fn conditions(&self, request: &Incoming) -> Result<Vec<Clause>, Reply> {
        match request.query_value("conditions") {
            None => Ok(Vec::new()),
            Some(text) => crate::conditions::parse(text).map_err(|problem| {
                self.violation(request, &format!("conditions: {problem}"));
                reply(
                    400,
                    error_body("InvalidObject", &format!("conditions: {problem}"), None),
                )
            }),
        }
    }

    fn list_agreements(&self, request: &Incoming, path: &str) -> Reply {
        let clauses = match self.conditions(request) {
            Ok(c) => c,
            Err(r) => return r,
        };
        let state = self.state();
        let company = |a: &Agreement| state.companies.iter().find(|c| c.identifier == a.company);
        let items = matching(
            &clauses,
            &state.agreements,
            |a, name| {
                Some(match name {
                    "id" => Field::Num(Decimal::from(a.id)),
                    "name" => Field::Text(a.name.clone()),
                    "company/identifier" => Field::Text(a.company.clone()),
                    "company/id" => Field::Num(Decimal::from(company(a)?.id)),
                    "cancelledflag" => Field::Bool(a.cancelled),
                    _ => return None,
                })
            },
            |a| {
                let company = company(a);
                serde_json::json!({
                    "id": a.id,
                    "name": a.name,
                    "type": {"id": 1, "name": "Managed Services"},
                    "company": {"id": company.map(|c| c.id).unwrap_or(0), "identifier": a.company, "name": company.map(|c| c.name.clone()).unwrap_or_default()},
                    "contact": {"id": 1, "name": "Accounts"},
                    "cancelledFlag": a.cancelled,
                    "billStartDate": date_time(a.bill_start),
                    "prorateFlag": a.prorate,
                    "agreementStatus": if a.cancelled { "Cancelled" } else { "Active" },
                    "_info": {"lastUpdated": date_time(self.core.today())}
                })
                .to_string()
            },
        );
        drop(state);
        self.list_page(request, path, "Agreement", items)
    }

    fn addition_json(&self, a: &Addition) -> String {
        let json = AdditionJson {
            id: a.id,
            product: serde_json::json!({"id": a.product_id, "identifier": a.product}),
            quantity: num(a.quantity),
            less_included: num(Decimal::ZERO),
            unit_price: num(a.unit_price),
            unit_cost: num(Decimal::ZERO),
            bill_customer: &a.bill_customer,
            effective_date: date_time(a.effective),
            cancelled_date: a.cancelled.map(date_time),
            taxable_flag: a.taxable,
            invoice_description: &a.invoice_description,
            agreement_id: a.agreement_id,
            description: &a.description,
            ext_price: num(a.quantity * a.unit_price),
            agreement_status: "Active",
            info: serde_json::json!({"lastUpdated": date_time(self.core.today())}),
        };
        serde_json::to_string(&json).unwrap_or_default()
    }

    fn list_additions(&self, request: &Incoming, path: &str, agreement: Option<i64>) -> Reply {
        let clauses = match self.conditions(request) {
            Ok(c) => c,
            Err(r) => return r,
        };
        let state = self.state();
        let Some(agreement) = state.agreement(agreement) else {
            return not_found("Agreement");
        };
        let items = matching(
            &clauses,
            state
                .additions
                .iter()
                .filter(|a| a.agreement_id == agreement.id),
            |a, name| {
                Some(match name {
                    "id" => Field::Num(Decimal::from(a.id)),
                    "product/identifier" => Field::Text(a.product.clone()),
                    "cancelleddate" => a
                        .cancelled
                        .map(|d| Field::Text(date_time(d)))
                        .unwrap_or(Field::Null),
                    _ => return None,
                })
            },
            |a| self.addition_json(a),
        );
        drop(state);
        self.list_page(request, path, "Addition", items)
    }

    fn list_catalogue(&self, request: &Incoming, path: &str) -> Reply {
        let clauses = match self.conditions(request) {
            Ok(c) => c,
            Err(r) => return r,
        };
        let state = self.state();
        let items = matching(
            &clauses,
            &state.catalogue,
            |c, name| {
                Some(match name {
                    "id" => Field::Num(Decimal::from(c.id)),
                    "identifier" => Field::Text(c.identifier.clone()),
                    "inactiveflag" => Field::Bool(c.inactive),
                    _ => return None,
                })
            },
            |c| {
                format!(
                    "{{\"id\":{},\"identifier\":{},\"description\":{},\"inactiveFlag\":{},\"subcategory\":{{\"id\":1,\"name\":\"Services\"}},\"type\":{{\"id\":1,\"name\":\"Service\"}},\"customerDescription\":{},\"price\":{},\"cost\":0}}",
                    c.id,
                    Value::from(c.identifier.clone()),
                    Value::from(c.description.clone()),
                    c.inactive,
                    Value::from(c.description.clone()),
                    num(c.price).get()
                )
            },
        );
        drop(state);
        self.list_page(request, path, "CatalogItem", items)
    }

    /// A page of a list's records that passed its `conditions` (checked against the document's
    /// `schema`); a condition that cannot be evaluated is refused.
    fn list_page(
        &self,
        request: &Incoming,
        path: &str,
        schema: &str,
        items: Result<Vec<String>, String>,
    ) -> Reply {
        match items {
            Ok(items) => {
                self.core.check_answer(schema, &items);
                self.page(request, path, items)
            }
            Err(problem) => self.invalid(request, &problem, None),
        }
    }

    /// A write's body as JSON; anything else is refused.
    fn json_body(&self, request: &Incoming) -> Result<Value, Reply> {
        serde_json::from_str(&request.body)
            .map_err(|e| self.invalid(request, &format!("the body is not JSON: {e}"), None))
    }

    fn invalid(&self, request: &Incoming, message: &str, field: Option<&str>) -> Reply {
        self.violation(request, message);
        reply(400, error_body("InvalidObject", message, field))
    }

    /// DOMAIN.md's write rules: no date before the agreement's `billStartDate`; on an agreement
    /// that is not prorated, no date in an invoiced period.
    fn date_rules(
        agreement: &Agreement,
        addition: &Addition,
    ) -> Result<(), (String, &'static str)> {
        if addition.effective < agreement.bill_start {
            return Err((
                format!(
                    "effectiveDate {} precedes the agreement's billStartDate {}",
                    addition.effective, agreement.bill_start
                ),
                "effectiveDate",
            ));
        }
        if !agreement.prorate
            && let Some(invoiced) = agreement.invoiced_through
        {
            if addition.effective <= invoiced {
                return Err((
                    format!(
                        "effectiveDate {} is in an invoiced period",
                        addition.effective
                    ),
                    "effectiveDate",
                ));
            }
            if let Some(c) = addition.cancelled
                && c < invoiced
            {
                return Err((
                    format!("cancelledDate {c} is in an invoiced period"),
                    "cancelledDate",
                ));
            }
        }
        Ok(())
    }

    fn create(&self, request: &Incoming, agreement: Option<i64>) -> Reply {
        let value = match self.json_body(request) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let problems = self.core.spec.validate_named("Addition", &value);
        if !problems.is_empty() {
            return self.invalid(request, &problems.join("; "), None);
        }
        if value.get("id").is_some() {
            return self.invalid(request, "`id` is given by ConnectWise", Some("id"));
        }
        let body: NewAddition = match serde_json::from_str(&request.body) {
            Ok(b) => b,
            Err(e) => return self.invalid(request, &format!("body: {e}"), None),
        };
        let mut state = self.state();
        let Some(agreement) = state.agreement(agreement).cloned() else {
            drop(state);
            return not_found("Agreement");
        };
        let product = state.catalogue.iter().find(|c| {
            !c.inactive
                && (body.product.id == Some(c.id)
                    || body.product.identifier.as_deref() == Some(c.identifier.as_str()))
        });
        let Some(product) = product.cloned() else {
            drop(state);
            return self.invalid(
                request,
                "product not found in the catalogue",
                Some("product"),
            );
        };
        let number = |raw: &Option<Box<RawValue>>| raw.as_ref().map(|r| exact(r));
        let quantity = match number(&body.quantity) {
            None => Decimal::ONE,
            Some(Some(q)) => q,
            Some(None) => {
                drop(state);
                return self.invalid(request, "quantity is not a number", Some("quantity"));
            }
        };
        let unit_price = match number(&body.unit_price) {
            None => product.price,
            Some(Some(p)) => p,
            Some(None) => {
                drop(state);
                return self.invalid(request, "unitPrice is not a number", Some("unitPrice"));
            }
        };
        let Some(bill_customer) = body.bill_customer.clone() else {
            drop(state);
            return self.invalid(request, "billCustomer is required", Some("billCustomer"));
        };
        let effective = body
            .effective_date
            .as_deref()
            .and_then(day)
            .unwrap_or(agreement.bill_start);
        let cancelled = body.cancelled_date.as_deref().and_then(day);
        let addition = Addition {
            id: state.new_id(),
            agreement_id: agreement.id,
            product_id: product.id,
            product: product.identifier.clone(),
            quantity,
            unit_price,
            bill_customer,
            effective,
            cancelled,
            description: body
                .description
                .clone()
                .unwrap_or_else(|| product.description.clone()),
            invoice_description: body
                .invoice_description
                .clone()
                .unwrap_or_else(|| product.description.clone()),
            taxable: body.taxable_flag.unwrap_or(false),
        };
        if let Err((message, field)) = Self::date_rules(&agreement, &addition) {
            drop(state);
            return self.invalid(request, &message, Some(field));
        }
        state.additions.push(addition.clone());
        drop(state);
        reply(201, self.addition_json(&addition))
    }

    fn patch(&self, request: &Incoming, agreement: Option<i64>, id: Option<i64>) -> Reply {
        let value = match self.json_body(request) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if !value.is_array() {
            return self.invalid(
                request,
                "a PATCH body is a JSON-Patch array of operations",
                None,
            );
        }
        let ops: Vec<PatchOp> = match serde_json::from_str(&request.body) {
            Ok(o) => o,
            Err(e) => return self.invalid(request, &format!("operations: {e}"), None),
        };
        let mut state = self.state();
        let Some(agreement) = state.agreement(agreement).cloned() else {
            drop(state);
            return not_found("Agreement");
        };
        let Some(index) = state
            .additions
            .iter()
            .position(|a| Some(a.id) == id && a.agreement_id == agreement.id)
        else {
            drop(state);
            return not_found("Addition");
        };
        let mut addition = state.additions[index].clone();
        for (i, op) in ops.iter().enumerate() {
            let path = op.path.trim_start_matches('/');
            if !matches!(op.op.as_str(), "replace" | "add") {
                drop(state);
                return self.invalid(
                    request,
                    &format!(
                        "operation {i}: `{}` is not used by integrators here (replace only)",
                        op.op
                    ),
                    None,
                );
            }
            let Some(name) = self.core.spec.property_name("Addition", path) else {
                drop(state);
                return self.invalid(
                    request,
                    &format!("operation {i}: `{path}` is not a property of Addition"),
                    None,
                );
            };
            if !WRITABLE.contains(&name.as_str()) {
                drop(state);
                return self.invalid(
                    request,
                    &format!("operation {i}: `{name}` cannot be written"),
                    Some(&name),
                );
            }
            let Some(raw) = &op.value else {
                drop(state);
                return self.invalid(request, &format!("operation {i}: no value"), Some(&name));
            };
            let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            if let Some(schema) = self.core.spec.property("Addition", &name) {
                let schema = schema.clone();
                let problems = self.core.spec.validate(&schema, &value);
                if !problems.is_empty() {
                    drop(state);
                    return self.invalid(
                        request,
                        &format!("operation {i}: `{name}`: {}", problems.join("; ")),
                        Some(&name),
                    );
                }
            }
            let text = value.as_str().map(str::to_string);
            match name.as_str() {
                "quantity" => addition.quantity = exact(raw).unwrap_or(addition.quantity),
                "unitPrice" => addition.unit_price = exact(raw).unwrap_or(addition.unit_price),
                "cancelledDate" => addition.cancelled = text.as_deref().and_then(day),
                "effectiveDate" => {
                    addition.effective = text.as_deref().and_then(day).unwrap_or(addition.effective)
                }
                "invoiceDescription" => addition.invoice_description = text.unwrap_or_default(),
                "description" => addition.description = text.unwrap_or_default(),
                "billCustomer" => addition.bill_customer = text.unwrap_or_default(),
                "taxableFlag" => addition.taxable = value.as_bool().unwrap_or(false),
                _ => {}
            }
        }
        if let Err((message, field)) = Self::date_rules(&agreement, &addition) {
            drop(state);
            return self.invalid(request, &message, Some(field));
        }
        state.additions[index] = addition.clone();
        drop(state);
        reply(200, self.addition_json(&addition))
    }
}

/// The records passing `clauses`, written as JSON by `json`; `field` reads a record's field by
/// its lowercase name. A clause that cannot be evaluated is the error.
fn matching<'a, T: 'a>(
    clauses: &[Clause],
    records: impl IntoIterator<Item = &'a T>,
    field: impl Fn(&T, &str) -> Option<Field>,
    json: impl Fn(&T) -> String,
) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    for record in records {
        let named = |name: &str| field(record, &name.to_lowercase());
        if crate::conditions::matches(clauses, &named)? {
            items.push(json(record));
        }
    }
    Ok(items)
}

impl Handler for Fake {
    fn handle(&self, request: &Incoming) -> Reply {
        let fault = self.core.next_fault(request.method != "GET");
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
