//! Autotask: contract services, their unit adjustments, and contract charges (`docs/psa.md`,
//! "Autotask").
//!
//! - Zone: `GET {zone_url}?user={username}` answers the database's `url` (unless `base_url` is
//!   set); every path is then `/V1.0/…` under it. Headers `ApiIntegrationCode`, `UserName`,
//!   `Secret` on every request (the document requires them on the zone lookup too).
//! - Read (`read.rs`, through `api.rs`): `POST /V1.0/{Entity}/query` with a `filter` and
//!   `MaxRecords` 500, followed through `pageDetails.nextPageUrl` (same base only, never a page
//!   twice, at most 500 pages). Per customer: the company by name, its active contracts (two of
//!   one name refused), the contract services, every unit row touching the period
//!   (`ContractServiceUnits`: units that change within it, or a period billed at another price,
//!   refuse the line), the contract charges dated in the period or carrying a plan key, and the
//!   catalogue (`Services`, cached across customers): one list per entity, never a request per
//!   line.
//! - Write (`write.rs`): a recurring line is a contract service (`unitPrice`,
//!   `invoiceDescription`, and the key in `internalDescription`); its quantity is its units, changed **only** by posting a signed
//!   `ContractServiceAdjustments` delta computed from the units read immediately before. A
//!   one-off line is a contract charge (`unitQuantity` × `unitPrice`, `name` the invoice text,
//!   the key in `description`, the service name in `notes`). Nothing is ever deleted: a service
//!   ends at 0 units, a charge at quantity 0.

mod api;
mod read;
mod wire;
mod write;

use crate::adapter_common::line_change::last_billed_day;
use crate::adapter_common::{self, pause_before_retry};
use crate::config::{AutotaskConfig, Credentials, HttpSettings};
use crate::error::{PsaError, Redactor};
use crate::http::{Http, Observer};
use crate::model::{Action, Change, CustomerTarget, RemoteState};
use crate::push::{Psa, WriteLog};
use api::{Api, split_version};
use chrono::Days;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const NAME: &str = "Autotask";
/// The prefix of the internal text that marks a line as Tally's.
pub const KEY_PREFIX: &str = adapter_common::KEY_PREFIX;
/// Autotask's documented limit: integrations made after release 2023.1 may run three threads at
/// once per object endpoint and tracking identifier
/// (<https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/General/ThreadLimiting.htm>), so
/// `[autotask.http] concurrency` is capped at 3.
pub const MAX_THREADS: usize = 3;
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
}

impl Psa for Autotask {
    fn name(&self) -> &'static str {
        NAME
    }

    fn read(&self, target: &CustomerTarget) -> Result<RemoteState, PsaError> {
        self.read_state(target)
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
                let last = last_billed_day(change, target);
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
        pause_before_retry(&self.zone, attempt);
    }
}
