//! ConnectWise Manage: agreement additions (`docs/psa.md`, "ConnectWise Manage").
//!
//! - Auth: `Authorization: Basic base64("{company}+{publicKey}:{privateKey}")` and `clientId`.
//! - Read: the company's active agreements (`GET /finance/agreements?conditions=…`), each one's
//!   additions (`GET /finance/agreements/{id}/additions`), the catalogue items of the plan's
//!   products (`GET /procurement/catalog?conditions=identifier in (…)`); lists are paged with
//!   `page`/`pageSize=1000` and followed through the `Link` header's `rel="next"`.
//! - Write: `POST …/additions` (201), `PATCH …/additions/{id}` with a JSON-Patch array of
//!   `replace` operations. A line ends by setting `cancelledDate`; nothing is ever deleted.
//! - Ownership: an addition Tally creates carries `tally:<plan line id>` in its `description`
//!   (the internal text); the customer reads `invoiceDescription`.

use crate::adapter_common::answers::{RefusedCredentials, Wording, check_status, fetch_json};
use crate::adapter_common::dates::{date_time, day};
use crate::adapter_common::journaled_write::{expect_status, send_journaled};
use crate::adapter_common::line_change::LineChange;
use crate::adapter_common::{
    self, agreement_id, lock, owned_key, owned_marker, pause_before_retry, request_body,
};
use crate::answer::{encode, next_link, parse};
use crate::config::{ConnectWiseConfig, Credentials};
use crate::error::{PsaError, Redactor, excerpt};
use crate::exact;
use crate::http::{Answer, Http, Method, Observer, Request};
use crate::model::{CatalogueItem, Change, CustomerTarget, RemoteLine, RemoteState};
use crate::push::{Psa, WriteLog};
use base64::Engine as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::Mutex;

const NAME: &str = "ConnectWise";
/// The prefix of the `description` of an addition Tally owns.
pub const KEY_PREFIX: &str = adapter_common::KEY_PREFIX;
const PAGE_SIZE: u32 = 1000;
/// A safety stop for paging that never ends.
const MAX_PAGES: usize = 10_000;

pub struct ConnectWise {
    http: Http,
    config: ConnectWiseConfig,
    catalogue: Mutex<BTreeMap<String, Option<CatalogueItem>>>,
}

#[derive(Deserialize)]
struct Agreement {
    id: i64,
    name: String,
}

#[derive(Deserialize)]
struct Reference {
    identifier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Addition {
    id: i64,
    product: Option<Reference>,
    #[serde(default, with = "exact::opt")]
    quantity: Option<Decimal>,
    #[serde(default, with = "exact::opt")]
    unit_price: Option<Decimal>,
    description: Option<String>,
    invoice_description: Option<String>,
    effective_date: Option<String>,
    cancelled_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalogue {
    id: i64,
    identifier: String,
    #[serde(default, with = "exact::opt")]
    price: Option<Decimal>,
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    message: Option<String>,
    field: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewAddition<'a> {
    product: ProductRef<'a>,
    bill_customer: &'a str,
    quantity: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_price: Option<Box<RawValue>>,
    effective_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_date: Option<String>,
    description: String,
    invoice_description: &'a str,
}

#[derive(Serialize)]
struct ProductRef<'a> {
    identifier: &'a str,
}

#[derive(Serialize)]
struct PatchOp {
    op: &'static str,
    path: &'static str,
    value: Box<RawValue>,
}

/// A JSON-Patch operation setting `path` to `value`.
fn replace(path: &'static str, value: Box<RawValue>) -> PatchOp {
    PatchOp {
        op: "replace",
        path,
        value,
    }
}

fn string(text: &str) -> Box<RawValue> {
    serde_json::to_string(text)
        .ok()
        .and_then(|t| RawValue::from_string(t).ok())
        .unwrap_or_else(|| exact::number(Decimal::ZERO))
}

/// What ConnectWise's error body says, in one line: its code and message and each field's
/// complaint, else an excerpt.
fn error_detail(body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(body) => {
            let mut text = format!(
                "{} {}",
                body.code.unwrap_or_default(),
                body.message.unwrap_or_default()
            )
            .trim()
            .to_string();
            for item in body.errors {
                text.push_str(&format!(
                    "; {}: {}",
                    item.field.unwrap_or_else(|| "-".into()),
                    item.message.unwrap_or_default()
                ));
            }
            text
        }
        Err(_) => excerpt(body, 120),
    }
}

/// A ConnectWise `conditions` string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ConnectWise {
    /// Builds the adapter; the keys come from the environment variables `tally.toml` names,
    /// else from the credentials file (`[connectwise] public_key`, `private_key`).
    pub fn from_credentials(
        config: ConnectWiseConfig,
        credentials: &Credentials,
        observer: Option<Observer>,
    ) -> Result<ConnectWise, PsaError> {
        let public = credentials.get(NAME, &config.public_key_env, "connectwise", "public_key")?;
        let private =
            credentials.get(NAME, &config.private_key_env, "connectwise", "private_key")?;
        Ok(ConnectWise::with_keys(config, public, private, observer))
    }

    /// Builds the adapter with the API member's keys given.
    pub fn with_keys(
        config: ConnectWiseConfig,
        public: String,
        private: String,
        observer: Option<Observer>,
    ) -> ConnectWise {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}+{}:{}", config.company_id, public, private));
        let redactor = Redactor::new([public, private, token.clone()]);
        let headers = vec![
            ("Authorization".to_string(), format!("Basic {token}")),
            ("clientId".to_string(), config.client_id.clone()),
        ];
        let http = Http::new(
            NAME,
            &config.base_url,
            config.http.clone(),
            headers,
            redactor,
            observer,
        );
        ConnectWise {
            http,
            config,
            catalogue: Mutex::new(BTreeMap::new()),
        }
    }

    /// A 401 names the key variables and the company; ConnectWise's error body is quoted.
    fn wording(&self) -> Wording<'_> {
        Wording {
            refused: Some(RefusedCredentials {
                variables: [&self.config.public_key_env, &self.config.private_key_env],
                account: ("company_id", &self.config.company_id),
            }),
            detail: error_detail,
        }
    }

    /// Every page of a list, following `Link: <…>; rel="next"`.
    fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        expected: &str,
    ) -> Result<Vec<T>, PsaError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{separator}page=1&pageSize={PAGE_SIZE}"));
        let mut all = Vec::new();
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            let request = Request::get(path);
            if pages > MAX_PAGES {
                return Err(self
                    .http
                    .error(
                        &request,
                        "more than 10000 pages: the `Link` header never ends",
                    )
                    .into());
            }
            let (items, answer): (Vec<T>, Answer) =
                fetch_json(&self.http, &request, &self.wording(), expected)?;
            let empty = items.is_empty();
            all.extend(items);
            if let Some(link) = answer.header("Link").and_then(next_link) {
                if !link.starts_with(self.config.base_url.trim_end_matches('/')) {
                    return Err(self
                        .http
                        .error(
                            &request,
                            format!(
                                "the `Link` header points elsewhere (`{}`): not followed",
                                excerpt(&link, 80)
                            ),
                        )
                        .into());
                }
                if !empty {
                    next = Some(link);
                }
            }
        }
        Ok(all)
    }

    fn catalogue(&self, products: &[String]) -> Result<BTreeMap<String, CatalogueItem>, PsaError> {
        let missing: Vec<String> = {
            let cache = lock(&self.catalogue);
            products
                .iter()
                .filter(|p| !cache.contains_key(*p))
                .cloned()
                .collect()
        };
        for chunk in missing.chunks(50) {
            let list: Vec<String> = chunk.iter().map(|p| quoted(p)).collect();
            let conditions = format!(
                "identifier in ({}) and inactiveFlag = false",
                list.join(",")
            );
            let found: Vec<Catalogue> = self.list(
                &format!("/procurement/catalog?conditions={}", encode(&conditions)),
                "a list of catalogue items",
            )?;
            let mut cache = lock(&self.catalogue);
            for product in chunk {
                let item = found
                    .iter()
                    .find(|c| &c.identifier == product)
                    .map(|c| CatalogueItem {
                        external_id: c.id.to_string(),
                        price: c.price,
                    });
                cache.insert(product.clone(), item);
            }
        }
        let cache = lock(&self.catalogue);
        Ok(products
            .iter()
            .filter_map(|p| {
                cache
                    .get(p)
                    .cloned()
                    .flatten()
                    .map(|item| (p.clone(), item))
            })
            .collect())
    }

    /// Sends one write through the journal; returns the id of the addition ConnectWise
    /// answered with. A 2xx of another status, or whose body is not the addition (an HTML
    /// page, a cut answer), proves nothing: the write may or may not have been carried out.
    fn send_write(
        &self,
        request: Request,
        log: &dyn WriteLog,
        expected: u16,
    ) -> Result<i64, PsaError> {
        let send_checked = |request: &Request| {
            let answer = self.http.send(request)?;
            check_status(&self.http, request, answer, &self.wording())
        };
        send_journaled(&self.http, &request, log, send_checked, |answer| {
            expect_status(answer, expected)?;
            let created: Created = parse(answer.status, &answer.body, "the addition")?;
            Ok(created.id)
        })
    }

    fn agreement_id(&self, state: &RemoteState, name: &str) -> Result<String, PsaError> {
        agreement_id(state, NAME, "agreement", name)
    }
}

impl Psa for ConnectWise {
    fn name(&self) -> &'static str {
        NAME
    }

    fn read(&self, target: &CustomerTarget) -> Result<RemoteState, PsaError> {
        let conditions = format!(
            "company/identifier={} and cancelledFlag=false",
            quoted(&target.company)
        );
        let agreements: Vec<Agreement> = self.list(
            &format!("/finance/agreements?conditions={}", encode(&conditions)),
            "a list of agreements",
        )?;
        let mut state = RemoteState::default();
        for agreement in &agreements {
            state
                .agreements
                .entry(agreement.name.clone())
                .or_insert_with(|| agreement.id.to_string());
        }
        for agreement in &agreements {
            let additions: Vec<Addition> = self.list(
                &format!("/finance/agreements/{}/additions", agreement.id),
                "a list of agreement additions",
            )?;
            for addition in additions {
                state.lines.push(RemoteLine {
                    external_id: addition.id.to_string(),
                    agreement: agreement.name.clone(),
                    key: owned_key(addition.description.as_deref()),
                    product: addition
                        .product
                        .and_then(|p| p.identifier)
                        .unwrap_or_default(),
                    description: addition.invoice_description.unwrap_or_default(),
                    quantity: addition.quantity.unwrap_or_default(),
                    unit_price: addition.unit_price,
                    effective: day(addition.effective_date.as_deref()),
                    ends: day(addition.cancelled_date.as_deref()),
                });
            }
        }
        state.catalogue = self.catalogue(&target.products)?;
        Ok(state)
    }

    fn write(
        &self,
        target: &CustomerTarget,
        state: &RemoteState,
        change: &Change,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        match LineChange::of(NAME, change, target)? {
            LineChange::Create(line) => {
                let agreement = self.agreement_id(state, &line.agreement)?;
                let body = NewAddition {
                    product: ProductRef {
                        identifier: &line.product,
                    },
                    bill_customer: &self.config.bill_customer,
                    quantity: exact::number(line.quantity),
                    unit_price: line.unit_price.map(exact::number),
                    effective_date: date_time(line.effective),
                    cancelled_date: line.ends.map(date_time),
                    description: owned_marker(&line.key),
                    invoice_description: &line.description,
                };
                let request = Request::with_body(
                    Method::Post,
                    format!("/finance/agreements/{agreement}/additions"),
                    request_body(NAME, &body)?,
                    false,
                );
                let created = self.send_write(request, log, 201)?;
                Ok(created.to_string())
            }
            LineChange::Update { line, id } => {
                let agreement = self.agreement_id(state, &line.agreement)?;
                let mut ops = vec![replace("quantity", exact::number(line.quantity))];
                if let Some(price) = line.unit_price {
                    ops.push(replace("unitPrice", exact::number(price)));
                }
                ops.push(replace("invoiceDescription", string(&line.description)));
                if let Some(ends) = line.ends {
                    ops.push(replace("cancelledDate", string(&date_time(ends))));
                }
                ops.push(replace("description", string(&owned_marker(&line.key))));
                self.patch(&agreement, id, &ops, log)?;
                Ok(id.to_string())
            }
            LineChange::Cancel { id, last_day } => {
                let agreement = self.agreement_id(state, &change.agreement)?;
                let ops = [replace("cancelledDate", string(&date_time(last_day)))];
                self.patch(&agreement, id, &ops, log)?;
                Ok(id.to_string())
            }
        }
    }

    fn max_attempts(&self) -> u32 {
        self.http.settings().max_attempts
    }

    fn pause_before(&self, attempt: u32) {
        pause_before_retry(&self.http, attempt);
    }
}

impl ConnectWise {
    fn patch(
        &self,
        agreement: &str,
        id: &str,
        ops: &[PatchOp],
        log: &dyn WriteLog,
    ) -> Result<(), PsaError> {
        let body = request_body(NAME, ops)?;
        // Every operation is a `replace` with a value: sending it twice leaves the same line.
        let request = Request::with_body(
            Method::Patch,
            format!("/finance/agreements/{agreement}/additions/{id}"),
            body,
            true,
        );
        self.send_write(request, log, 200)?;
        Ok(())
    }
}
