//! Autotask: contract services, their unit adjustments, and contract charges (`docs/psa.md`,
//! "Autotask").
//!
//! - Zone: `GET {zone_url}?user={username}` answers the database's `url` (unless `base_url` is
//!   set); every path is then `/V1.0/…` under it. Headers `ApiIntegrationCode`, `UserName`,
//!   `Secret` on every request (the document requires them on the zone lookup too).
//! - Read: `POST /V1.0/{Entity}/query` with a `filter` and `MaxRecords` 500, followed through
//!   `pageDetails.nextPageUrl`. Per customer: the company by name, its active contracts, the
//!   contract services, their units in the period (`ContractServiceUnits`), the contract charges
//!   dated in the period, and the catalogue (`Services`, cached across customers): one list per
//!   entity, never a request per line.
//! - A recurring line is a contract service (`unitPrice`, `invoiceDescription`, and the key in
//!   `internalDescription`); its quantity is its units, changed **only** by posting a signed
//!   `ContractServiceAdjustments` delta computed from the units read immediately before. A
//!   one-off line is a contract charge (`unitQuantity` × `unitPrice`, `name` the invoice text,
//!   the key in `description`, the service name in `notes`). Nothing is ever deleted: a service
//!   ends at 0 units, a charge at quantity 0.

mod wire;

use crate::answer::parse;
use crate::config::{AutotaskConfig, Credentials, HttpSettings, check_url};
use crate::desired::cancel_day;
use crate::error::{PsaError, Redactor, RequestError, excerpt};
use crate::exact;
use crate::http::{Answer, Http, Method, Observer, Request};
use crate::model::{
    Action, CatalogueItem, Change, CustomerTarget, DesiredLine, RemoteLine, RemoteState,
};
use crate::push::{Psa, WriteLog};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use wire::{any_of, condition};

const NAME: &str = "Autotask";
/// The prefix of the internal text that marks a line as Tally's.
pub const KEY_PREFIX: &str = "tally:";
/// Autotask's documented limit: integrations made after release 2023.1 may run three threads at
/// once per object endpoint and tracking identifier
/// (<https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/General/ThreadLimiting.htm>), so
/// `[autotask.http] concurrency` is capped at 3.
pub const MAX_THREADS: usize = 3;
/// A safety stop for paging that never ends.
const MAX_PAGES: usize = 10_000;
/// Names or ids per catalogue query.
const CHUNK: usize = 100;
/// `ContractCharge.chargeType` 1 (operational) and `status` 1 (ready to bill).
const OPERATIONAL: i32 = 1;
const READY_TO_BILL: i32 = 1;

/// Which Autotask entity a line is, and its id: `svc-12` a contract service, `chg-40` a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineRef {
    Service(i64),
    Charge(i64),
}

impl LineRef {
    fn parse(text: &str) -> Option<LineRef> {
        if let Some(id) = text.strip_prefix("svc-") {
            return id.parse().ok().map(LineRef::Service);
        }
        text.strip_prefix("chg-")
            .and_then(|id| id.parse().ok())
            .map(LineRef::Charge)
    }

    fn text(self) -> String {
        match self {
            LineRef::Service(id) => format!("svc-{id}"),
            LineRef::Charge(id) => format!("chg-{id}"),
        }
    }
}

/// A catalogue service.
#[derive(Debug, Clone)]
struct ServiceInfo {
    id: i64,
    name: String,
    price: Option<Decimal>,
    billing_code: Option<i64>,
    active: bool,
}

/// The database's API, once its zone is known.
struct Api {
    http: Http,
    /// `https://webservicesN.autotask.net/ATServicesRest`.
    base: String,
}

pub struct Autotask {
    config: AutotaskConfig,
    settings: HttpSettings,
    headers: Vec<(String, String)>,
    redactor: Redactor,
    observer: Option<Observer>,
    /// For the zone lookup, and the retry budget between writes.
    zone: Http,
    api: Mutex<Option<Arc<Api>>>,
    /// Services by name, `None` when the catalogue has none of that name.
    by_name: Mutex<BTreeMap<String, Option<ServiceInfo>>>,
    by_id: Mutex<BTreeMap<i64, ServiceInfo>>,
    /// Contract service id → (contract id, service id), as read.
    contract_services: Mutex<BTreeMap<i64, (i64, i64)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `…/ATServicesRest/V1.0/ZoneInformation` → (`…/ATServicesRest`, `/V1.0/ZoneInformation`).
fn split_version(url: &str) -> (String, String) {
    let lower = url.to_ascii_lowercase();
    match lower.rfind("/v1.0") {
        Some(at) => (
            url[..at].trim_end_matches('/').to_string(),
            url[at..].to_string(),
        ),
        None => (url.trim_end_matches('/').to_string(), String::new()),
    }
}

fn body<T: serde::Serialize>(value: &T) -> Result<String, PsaError> {
    serde_json::to_string(value)
        .map_err(|e| PsaError::Config(format!("{NAME}: cannot write a request: {e}")))
}

/// Units are whole and never negative.
fn whole_units(key: &str, quantity: Decimal) -> Result<i64, PsaError> {
    match quantity.to_i64() {
        Some(units) if units >= 0 && Decimal::from(units) == quantity => Ok(units),
        _ => Err(PsaError::Config(format!(
            "{NAME}: `{key}`: a contract service's units are whole and not negative; {quantity} cannot be sent"
        ))),
    }
}

impl Autotask {
    /// Builds the adapter; the integration code and secret come from the environment variables
    /// `tally.toml` names, else from the credentials file (`[autotask] integration_code`,
    /// `secret`).
    pub fn from_credentials(
        config: AutotaskConfig,
        credentials: &Credentials,
        observer: Option<Observer>,
    ) -> Result<Autotask, PsaError> {
        let code = credentials.get(
            NAME,
            &config.integration_code_env,
            "autotask",
            "integration_code",
        )?;
        let secret = credentials.get(NAME, &config.secret_env, "autotask", "secret")?;
        Ok(Autotask::with_keys(config, code, secret, observer))
    }

    /// Builds the adapter with the API user's integration code and secret given.
    pub fn with_keys(
        config: AutotaskConfig,
        integration_code: String,
        secret: String,
        observer: Option<Observer>,
    ) -> Autotask {
        let redactor = Redactor::new([integration_code.clone(), secret.clone()]);
        let headers = vec![
            ("ApiIntegrationCode".to_string(), integration_code),
            ("UserName".to_string(), config.username.clone()),
            ("Secret".to_string(), secret),
        ];
        let mut settings = config.http.clone();
        settings.concurrency = settings.concurrency.clamp(1, MAX_THREADS);
        let (zone_base, _) = split_version(&config.zone_url);
        let zone = Http::new(
            NAME,
            &zone_base,
            settings.clone(),
            headers.clone(),
            redactor.clone(),
            observer.clone(),
        );
        Autotask {
            config,
            settings,
            headers,
            redactor,
            observer,
            zone,
            api: Mutex::new(None),
            by_name: Mutex::new(BTreeMap::new()),
            by_id: Mutex::new(BTreeMap::new()),
            contract_services: Mutex::new(BTreeMap::new()),
        }
    }

    /// The database's API: `base_url`, else the zone lookup's answer (once per run).
    fn api(&self) -> Result<Arc<Api>, PsaError> {
        if let Some(api) = lock(&self.api).as_ref() {
            return Ok(api.clone());
        }
        let base = match &self.config.base_url {
            Some(url) => split_version(url).0,
            None => self.discover()?,
        };
        let http = Http::new(
            NAME,
            &base,
            self.settings.clone(),
            self.headers.clone(),
            self.redactor.clone(),
            self.observer.clone(),
        );
        let api = Arc::new(Api { http, base });
        *lock(&self.api) = Some(api.clone());
        Ok(api)
    }

    fn discover(&self) -> Result<String, PsaError> {
        let (_, path) = split_version(&self.config.zone_url);
        let separator = if path.contains('?') { '&' } else { '?' };
        let request = Request::get(format!(
            "{path}{separator}user={}",
            crate::answer::encode(&self.config.username)
        ));
        let answer = self.zone.send(&request)?;
        let answer = self.check(&self.zone, &request, answer)?;
        let zone: wire::Zone = parse(answer.status, &answer.body, "the zone information")
            .map_err(|p| PsaError::from(self.zone.error(&request, p)))?;
        let (base, _) = split_version(&zone.url);
        check_url(&base).map_err(|why| {
            PsaError::from(
                self.zone
                    .error(&request, format!("the zone's url `{}` {why}", zone.url)),
            )
        })?;
        Ok(base)
    }

    /// Turns a non-2xx answer into an error: credentials refused name their variables and the
    /// user; Autotask's `{"errors":[…]}` is quoted.
    fn check(&self, http: &Http, request: &Request, answer: Answer) -> Result<Answer, PsaError> {
        match answer.status {
            200..=299 => Ok(answer),
            401 => Err(PsaError::Credential(http.clean(&format!(
                "{NAME} refused the credentials (401) for `{}`: check `{}` and `{}` (username `{}`)",
                http.describe(request),
                self.config.integration_code_env,
                self.config.secret_env,
                self.config.username
            )))),
            status => {
                let detail = match serde_json::from_str::<wire::Errors>(&answer.body) {
                    Ok(body) if !body.errors.is_empty() => body
                        .errors
                        .iter()
                        .map(|e| match e.as_str() {
                            Some(text) => text.to_string(),
                            None => e.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    _ => excerpt(&answer.body, 120),
                };
                Err(http
                    .error(request, format!("status {status}: {detail}"))
                    .into())
            }
        }
    }

    fn fetch<T: DeserializeOwned>(
        &self,
        http: &Http,
        request: &Request,
        expected: &str,
    ) -> Result<T, PsaError> {
        let answer = http.send(request)?;
        let answer = self.check(http, request, answer)?;
        parse(answer.status, &answer.body, expected)
            .map_err(|problem| PsaError::from(http.error(request, problem)))
    }

    /// Every entity matching `filter`, page after page.
    fn query<T: DeserializeOwned>(
        &self,
        api: &Api,
        entity: &str,
        filter: Vec<serde_json::Value>,
    ) -> Result<Vec<T>, PsaError> {
        let expected = format!("{{\"items\":[…]}} of {entity}");
        let mut request = Request::with_body(
            Method::Post,
            format!("/V1.0/{entity}/query"),
            wire::query(filter),
            true,
        );
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: wire::Page<T> = self.fetch(&api.http, &request, &expected)?;
            let empty = page.items.is_empty();
            all.extend(page.items);
            let next = page
                .page_details
                .and_then(|d| d.next_page_url)
                .filter(|u| !u.is_empty());
            match next {
                Some(next) if !empty => {
                    if !next
                        .to_ascii_lowercase()
                        .starts_with(&format!("{}/", api.base.to_ascii_lowercase()))
                    {
                        return Err(api
                            .http
                            .error(
                                &request,
                                format!(
                                    "`nextPageUrl` points elsewhere (`{}`): not followed",
                                    excerpt(&next, 80)
                                ),
                            )
                            .into());
                    }
                    request = Request::get(next);
                }
                _ => return Ok(all),
            }
        }
        Err(api
            .http
            .error(&request, "more than 10000 pages: `nextPageUrl` never ends")
            .into())
    }

    /// The services the plan names, and the names of services already on contracts.
    fn load_catalogue(
        &self,
        api: &Api,
        names: &[String],
        ids: &BTreeSet<i64>,
    ) -> Result<(), PsaError> {
        let names: Vec<String> = {
            let cache = lock(&self.by_name);
            names
                .iter()
                .filter(|n| !cache.contains_key(*n))
                .cloned()
                .collect()
        };
        let ids: Vec<i64> = {
            let cache = lock(&self.by_id);
            ids.iter()
                .filter(|id| !cache.contains_key(id))
                .copied()
                .collect()
        };
        let chunks = names.len().div_ceil(CHUNK).max(ids.len().div_ceil(CHUNK));
        for n in 0..chunks {
            let some_names = names.iter().skip(n * CHUNK).take(CHUNK).collect::<Vec<_>>();
            let some_ids = ids.iter().skip(n * CHUNK).take(CHUNK).collect::<Vec<_>>();
            let mut conditions = Vec::new();
            if !some_names.is_empty() {
                conditions.push(condition("in", "name", json!(some_names)));
            }
            if !some_ids.is_empty() {
                conditions.push(condition("in", "id", json!(some_ids)));
            }
            let filter = if conditions.len() == 1 {
                conditions
            } else {
                vec![any_of(conditions)]
            };
            let found: Vec<wire::Service> = self.query(api, "Services", filter)?;
            let found: Vec<ServiceInfo> = found
                .into_iter()
                .map(|s| ServiceInfo {
                    id: s.id,
                    name: s.name.unwrap_or_default(),
                    price: s.unit_price,
                    billing_code: s.billing_code_id,
                    active: s.is_active.unwrap_or(true),
                })
                .collect();
            let mut by_name = lock(&self.by_name);
            for name in some_names {
                let item = found.iter().find(|s| &s.name == name && s.active).cloned();
                by_name.insert(name.clone(), item);
            }
            let mut by_id = lock(&self.by_id);
            for service in found {
                by_id.insert(service.id, service);
            }
        }
        Ok(())
    }

    fn service(&self, name: &str) -> Result<ServiceInfo, PsaError> {
        lock(&self.by_name)
            .get(name)
            .cloned()
            .flatten()
            .ok_or_else(|| {
                PsaError::Config(format!("{NAME}: service `{name}` is not in the catalogue"))
            })
    }

    fn contract_id(&self, state: &RemoteState, name: &str) -> Result<i64, PsaError> {
        state
            .agreements
            .get(name)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                PsaError::Config(format!("{NAME}: contract `{name}` is not there any more"))
            })
    }

    /// Sends one write, journaled before it leaves; returns the `itemId` Autotask answers.
    fn send_write(&self, api: &Api, request: Request, log: &dyn WriteLog) -> Result<i64, PsaError> {
        let description = api.http.describe(&request);
        let id = log.before(&description, request.body.as_deref().unwrap_or_default())?;
        let answer = api.http.send(&request)?;
        let answer = self.check(&api.http, &request, answer)?;
        // A 2xx of another kind, or whose body is not `{"itemId":N}` (an HTML page, a cut
        // answer), proves nothing: the write may or may not have been carried out.
        let unknown = |problem: String| {
            PsaError::from(RequestError {
                transient: true,
                outcome_unknown: true,
                ..api.http.error(&request, problem)
            })
        };
        if answer.status != 200 {
            return Err(unknown(format!(
                "status {} where 200 was expected",
                answer.status
            )));
        }
        let item: wire::ItemId =
            parse(answer.status, &answer.body, "{\"itemId\":N}").map_err(unknown)?;
        log.after(
            id,
            Some(&item.item_id.to_string()),
            &answer.status.to_string(),
        )?;
        Ok(item.item_id)
    }

    /// The units a contract service has on `day`, read now.
    fn units(&self, api: &Api, contract_service: i64, day: NaiveDate) -> Result<i64, PsaError> {
        let found: Vec<wire::ContractServiceUnit> = self.query(
            api,
            "ContractServiceUnits",
            vec![
                condition("eq", "contractServiceID", json!(contract_service)),
                condition("lte", "startDate", json!(wire::date_time(day))),
                condition("gte", "endDate", json!(wire::date_time(day))),
            ],
        )?;
        Ok(found
            .first()
            .and_then(|u| u.units)
            .and_then(|u| u.to_i64())
            .unwrap_or(0))
    }

    /// Brings a contract service to `wanted` units from `effective` on: reads its units first
    /// and posts the difference, or nothing when they already are what is wanted (after a lost
    /// answer, the delta is never posted twice).
    #[allow(clippy::too_many_arguments)]
    fn adjust(
        &self,
        api: &Api,
        contract: i64,
        contract_service: i64,
        service: i64,
        wanted: i64,
        effective: NaiveDate,
        log: &dyn WriteLog,
    ) -> Result<(), PsaError> {
        let current = self.units(api, contract_service, effective)?;
        if current == wanted {
            return Ok(());
        }
        let adjustment = wire::Adjustment {
            contract_id: contract,
            contract_service_id: contract_service,
            service_id: service,
            unit_change: wanted - current,
            effective_date: wire::date_time(effective),
        };
        let request = Request::with_body(
            Method::Post,
            "/V1.0/ContractServiceAdjustments",
            body(&adjustment)?,
            false,
        );
        self.send_write(api, request, log)?;
        Ok(())
    }

    fn patch_service(
        &self,
        api: &Api,
        contract: i64,
        id: i64,
        price: Decimal,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<(), PsaError> {
        let change = wire::ContractServiceChange {
            id,
            unit_price: exact::number(price),
            invoice_description: &line.description,
            internal_description: format!("{KEY_PREFIX}{}", line.key),
        };
        // Every field is set to a value: sending it twice leaves the same service.
        let request = Request::with_body(
            Method::Patch,
            format!("/V1.0/Contracts/{contract}/Services"),
            body(&change)?,
            true,
        );
        self.send_write(api, request, log)?;
        Ok(())
    }

    /// A recurring line: a contract service (a 0-unit one of this key is taken up again), then
    /// its units.
    fn create_service(
        &self,
        api: &Api,
        target: &CustomerTarget,
        state: &RemoteState,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let contract = self.contract_id(state, &line.agreement)?;
        let service = self.service(&line.product)?;
        let wanted = whole_units(&line.key, line.quantity)?;
        let price = line.unit_price.or(service.price).unwrap_or_default();
        let dormant = state.lines.iter().find_map(|l| {
            let LineRef::Service(id) = LineRef::parse(&l.external_id)? else {
                return None;
            };
            (l.key.as_deref() == Some(line.key.as_str())
                && l.agreement == line.agreement
                && l.product == line.product
                && l.quantity == Decimal::ZERO)
                .then_some((id, l))
        });
        let id = match dormant {
            Some((id, remote)) => {
                if remote.unit_price != Some(price) || remote.description != line.description {
                    self.patch_service(api, contract, id, price, line, log)?;
                }
                id
            }
            None => {
                let new = wire::NewContractService {
                    contract_id: contract,
                    service_id: service.id,
                    unit_price: exact::number(price),
                    invoice_description: &line.description,
                    internal_description: format!("{KEY_PREFIX}{}", line.key),
                };
                let request = Request::with_body(
                    Method::Post,
                    format!("/V1.0/Contracts/{contract}/Services"),
                    body(&new)?,
                    false,
                );
                self.send_write(api, request, log)?
            }
        };
        lock(&self.contract_services).insert(id, (contract, service.id));
        self.adjust(
            api,
            contract,
            id,
            service.id,
            wanted,
            target.period_start,
            log,
        )?;
        Ok(LineRef::Service(id).text())
    }

    fn update_service(
        &self,
        api: &Api,
        target: &CustomerTarget,
        state: &RemoteState,
        id: i64,
        change: &Change,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let Some(line) = &change.desired else {
            return Err(PsaError::Config(format!(
                "{NAME}: an update without a line for `{}`",
                change.key
            )));
        };
        let contract = self.contract_id(state, &line.agreement)?;
        let wanted = whole_units(&line.key, line.quantity)?;
        let remote = state
            .lines
            .iter()
            .find(|l| l.external_id == LineRef::Service(id).text());
        let catalogue = self.service(&line.product).ok();
        let price = line
            .unit_price
            .or(remote.and_then(|r| r.unit_price))
            .or(catalogue.as_ref().and_then(|c| c.price))
            .unwrap_or_default();
        let texts_differ = remote.is_none_or(|r| {
            r.unit_price != Some(price)
                || r.description != line.description
                || r.key.as_deref() != Some(line.key.as_str())
        });
        if texts_differ || change.action == Action::Adopt {
            self.patch_service(api, contract, id, price, line, log)?;
        }
        let service = self.service_of(id, catalogue.as_ref())?;
        self.adjust(api, contract, id, service, wanted, target.period_start, log)?;
        Ok(LineRef::Service(id).text())
    }

    fn service_of(
        &self,
        contract_service: i64,
        fallback: Option<&ServiceInfo>,
    ) -> Result<i64, PsaError> {
        lock(&self.contract_services)
            .get(&contract_service)
            .map(|(_, service)| *service)
            .or(fallback.map(|s| s.id))
            .ok_or_else(|| {
                PsaError::Config(format!(
                    "{NAME}: contract service {contract_service} was not read"
                ))
            })
    }

    fn charge_body<'a>(
        &self,
        id: Option<i64>,
        contract: i64,
        line: &'a DesiredLine,
        service: &ServiceInfo,
    ) -> wire::Charge<'a> {
        wire::Charge {
            id,
            contract_id: contract,
            name: &line.description,
            description: format!("{KEY_PREFIX}{}", line.key),
            notes: &line.product,
            date_purchased: wire::date_time(line.effective),
            unit_quantity: exact::number(line.quantity),
            unit_price: exact::number(line.unit_price.or(service.price).unwrap_or_default()),
            billing_code_id: service.billing_code,
            charge_type: OPERATIONAL,
            status: READY_TO_BILL,
            is_billable_to_company: true,
        }
    }

    /// A one-off line: a contract charge dated the period's first day.
    fn create_charge(
        &self,
        api: &Api,
        state: &RemoteState,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let contract = self.contract_id(state, &line.agreement)?;
        let service = self.service(&line.product)?;
        let charge = self.charge_body(None, contract, line, &service);
        let request = Request::with_body(
            Method::Post,
            format!("/V1.0/Contracts/{contract}/Charges"),
            body(&charge)?,
            false,
        );
        let id = self.send_write(api, request, log)?;
        Ok(LineRef::Charge(id).text())
    }

    fn update_charge(
        &self,
        api: &Api,
        state: &RemoteState,
        id: i64,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let contract = self.contract_id(state, &line.agreement)?;
        let service = self.service(&line.product)?;
        let charge = self.charge_body(Some(id), contract, line, &service);
        let request = Request::with_body(
            Method::Patch,
            format!("/V1.0/Contracts/{contract}/Charges"),
            body(&charge)?,
            true,
        );
        self.send_write(api, request, log)?;
        Ok(LineRef::Charge(id).text())
    }

    /// Ends a line without deleting it: a service at 0 units from `first_day`, a charge at
    /// quantity 0.
    fn end(
        &self,
        api: &Api,
        state: &RemoteState,
        line: LineRef,
        agreement: &str,
        first_day: NaiveDate,
        log: &dyn WriteLog,
    ) -> Result<(), PsaError> {
        let contract = self.contract_id(state, agreement)?;
        match line {
            LineRef::Service(id) => {
                let service = self.service_of(id, None)?;
                self.adjust(api, contract, id, service, 0, first_day, log)
            }
            LineRef::Charge(id) => {
                let change = wire::ChargeQuantity {
                    id,
                    unit_quantity: exact::number(Decimal::ZERO),
                };
                let request = Request::with_body(
                    Method::Patch,
                    format!("/V1.0/Contracts/{contract}/Charges"),
                    body(&change)?,
                    true,
                );
                self.send_write(api, request, log).map(|_| ())
            }
        }
    }

    fn create(
        &self,
        api: &Api,
        target: &CustomerTarget,
        state: &RemoteState,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        if line.ends.is_some() {
            self.create_charge(api, state, line, log)
        } else {
            self.create_service(api, target, state, line, log)
        }
    }
}

impl Psa for Autotask {
    fn name(&self) -> &'static str {
        NAME
    }

    fn read(&self, target: &CustomerTarget) -> Result<RemoteState, PsaError> {
        let api = self.api()?;
        let mut state = RemoteState::default();
        let mut companies: Vec<wire::Company> = self.query(
            &api,
            "Companies",
            vec![condition("eq", "companyName", json!(target.company))],
        )?;
        // Autotask compares text ignoring case; a name that differs otherwise is not this one.
        companies.retain(|c| {
            c.company_name
                .as_deref()
                .is_none_or(|n| n.trim().eq_ignore_ascii_case(target.company.trim()))
        });
        if companies.len() > 1 {
            let ids: Vec<String> = companies.iter().map(|c| c.id.to_string()).collect();
            return Err(PsaError::Config(format!(
                "{NAME}: {} companies are named `{}` (ids {}): rename all but one",
                companies.len(),
                target.company,
                ids.join(", ")
            )));
        }
        let mut service_ids = BTreeSet::new();
        let mut services = Vec::new();
        let mut charges = Vec::new();
        let mut units: BTreeMap<i64, Decimal> = BTreeMap::new();
        let mut contract_names: BTreeMap<i64, String> = BTreeMap::new();
        if let Some(company) = companies.first() {
            let contracts: Vec<wire::Contract> = self.query(
                &api,
                "Contracts",
                vec![
                    condition("eq", "companyID", json!(company.id)),
                    condition("eq", "status", json!(1)),
                ],
            )?;
            for contract in &contracts {
                let name = contract.contract_name.clone().unwrap_or_default();
                state
                    .agreements
                    .entry(name.clone())
                    .or_insert_with(|| contract.id.to_string());
                contract_names.insert(contract.id, name);
            }
            let ids: Vec<i64> = contract_names.keys().copied().collect();
            if !ids.is_empty() {
                services = self.query::<wire::ContractService>(
                    &api,
                    "ContractServices",
                    vec![condition("in", "contractID", json!(ids))],
                )?;
                let start = json!(wire::date_time(target.period_start));
                let found: Vec<wire::ContractServiceUnit> = self.query(
                    &api,
                    "ContractServiceUnits",
                    vec![
                        condition("in", "contractID", json!(ids)),
                        condition("lte", "startDate", start.clone()),
                        condition("gte", "endDate", start.clone()),
                    ],
                )?;
                for unit in found {
                    units
                        .entry(unit.contract_service_id)
                        .or_insert(unit.units.unwrap_or_default());
                }
                charges = self.query::<wire::ContractCharge>(
                    &api,
                    "ContractCharges",
                    vec![
                        condition("in", "contractID", json!(ids)),
                        condition("gte", "datePurchased", start),
                        condition(
                            "lte",
                            "datePurchased",
                            json!(wire::date_time(target.period_end)),
                        ),
                    ],
                )?;
            }
            service_ids.extend(services.iter().map(|s| s.service_id));
        }
        self.load_catalogue(&api, &target.products, &service_ids)?;

        let ended = target
            .period_start
            .checked_sub_days(Days::new(1))
            .unwrap_or(target.period_start);
        let by_id = lock(&self.by_id).clone();
        let mut known = lock(&self.contract_services);
        for service in services {
            known.insert(service.id, (service.contract_id, service.service_id));
            let quantity = units.get(&service.id).copied().unwrap_or_default();
            state.lines.push(RemoteLine {
                external_id: LineRef::Service(service.id).text(),
                agreement: contract_names
                    .get(&service.contract_id)
                    .cloned()
                    .unwrap_or_default(),
                key: service
                    .internal_description
                    .as_deref()
                    .and_then(|d| d.strip_prefix(KEY_PREFIX))
                    .map(str::to_string),
                product: by_id
                    .get(&service.service_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| format!("service {}", service.service_id)),
                description: service.invoice_description.unwrap_or_default(),
                quantity,
                unit_price: service.unit_price,
                effective: None,
                // A service at 0 units bills nothing: it is not active.
                ends: (quantity == Decimal::ZERO).then_some(ended),
            });
        }
        drop(known);
        for charge in charges {
            let quantity = charge.unit_quantity.unwrap_or_default();
            state.lines.push(RemoteLine {
                external_id: LineRef::Charge(charge.id).text(),
                agreement: contract_names
                    .get(&charge.contract_id)
                    .cloned()
                    .unwrap_or_default(),
                key: charge
                    .description
                    .as_deref()
                    .and_then(|d| d.strip_prefix(KEY_PREFIX))
                    .map(str::to_string),
                product: charge.notes.unwrap_or_default(),
                description: charge.name.unwrap_or_default(),
                quantity,
                unit_price: charge.unit_price,
                effective: wire::day(charge.date_purchased.as_deref()),
                // A charge bills once, in its period; at quantity 0 it was cancelled.
                ends: Some(if quantity == Decimal::ZERO {
                    ended
                } else {
                    target.period_end
                }),
            });
        }
        let by_name = lock(&self.by_name);
        state.catalogue = target
            .products
            .iter()
            .filter_map(|p| {
                by_name.get(p).cloned().flatten().map(|s| {
                    (
                        p.clone(),
                        CatalogueItem {
                            external_id: s.id.to_string(),
                            price: s.price,
                        },
                    )
                })
            })
            .collect();
        Ok(state)
    }

    fn write(
        &self,
        target: &CustomerTarget,
        state: &RemoteState,
        change: &Change,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let api = self.api()?;
        let existing = change.external_id.as_deref().and_then(LineRef::parse);
        match (change.action, &change.desired, existing) {
            (Action::Create, Some(line), _) => self.create(&api, target, state, line, log),
            (Action::Update | Action::Adopt, Some(line), Some(existing)) => {
                match (existing, line.ends.is_some()) {
                    (LineRef::Service(id), false) => {
                        self.update_service(&api, target, state, id, change, log)
                    }
                    (LineRef::Charge(id), true) => self.update_charge(&api, state, id, line, log),
                    // A recurring line becomes a one-off or back: the old one ends, the new
                    // one starts.
                    (other, _) => {
                        let agreement = state
                            .lines
                            .iter()
                            .find(|l| l.external_id == other.text())
                            .map(|l| l.agreement.clone())
                            .unwrap_or_else(|| line.agreement.clone());
                        self.end(&api, state, other, &agreement, target.period_start, log)?;
                        self.create(&api, target, state, line, log)
                    }
                }
            }
            (Action::Cancel, _, Some(existing)) => {
                let last = change
                    .cancel_on
                    .unwrap_or_else(|| cancel_day(target.period_start));
                let first_day = last.checked_add_days(Days::new(1)).unwrap_or(last);
                self.end(&api, state, existing, &change.agreement, first_day, log)?;
                Ok(existing.text())
            }
            _ => Err(PsaError::Config(format!(
                "{NAME}: nothing to write for `{}` ({})",
                change.key,
                change.action.word()
            ))),
        }
    }

    fn max_attempts(&self) -> u32 {
        self.settings.max_attempts
    }

    fn pause_before(&self, attempt: u32) {
        self.zone
            .pause(self.zone.backoff(attempt), "before trying a write again");
    }
}
