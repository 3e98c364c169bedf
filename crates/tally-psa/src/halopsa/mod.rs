//! HaloPSA: recurring invoice lines (`docs/psa.md`, "HaloPSA").
//!
//! - Auth: an OAuth 2 client-credentials token from `/auth/token` ([`token`]), sent as
//!   `Authorization: Bearer …`; an expired token (401) is renewed once and the request sent again.
//! - Read, per customer: the client by name (`GET /api/Client?search=`), its recurring invoices
//!   with their lines (`GET /api/RecurringInvoice?client_id=…&includelines=true`), and the
//!   catalogue (`GET /api/Item`, once per run); every list paged with
//!   `pageinate=true&page_size=…&page_no=…` and followed until `record_count` is reached;
//!   records are de-duplicated by id and a page adding nothing new is a bad answer. Invoices of
//!   another client and disabled ones are left alone; two of one reference are refused; an
//!   invoice answered without `lines` is a bad answer, never "no lines".
//! - Write: `POST /api/RecurringInvoice/updatelines` with one `InvoiceDetail`: without `id` it
//!   creates a line, with `id` it updates one. A line ends by setting `enddate`; nothing is ever
//!   deleted.
//! - Ownership: a line Tally creates carries `tally:<plan line id>` in `item_external_reference`;
//!   the customer reads `item_shortdescription`.

mod token;
pub mod wire;

use crate::adapter_common::answers::{Wording, check_status};
use crate::adapter_common::dates::{date_time, day};
use crate::adapter_common::journaled_write::send_journaled;
use crate::adapter_common::line_change::LineChange;
use crate::adapter_common::{
    self, agreement_id, lock, owned_key, owned_marker, pause_before_retry, request_body,
};
use crate::answer::{encode, parse};
use crate::config::{Credentials, HaloConfig};
use crate::error::{PsaError, Redactor};
use crate::exact;
use crate::http::{Answer, Http, Method, Observer, Request};
use crate::model::{CatalogueItem, Change, CustomerTarget, RemoteLine, RemoteState};
use crate::push::{Psa, WriteLog};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use token::{Asker, TokenState};
use wire::{Client, Invoice, Item, Line, LineWrite};

pub use token::TOKEN_PATH;

const NAME: &str = "HaloPSA";
/// The prefix of the `item_external_reference` of a line Tally owns.
pub const KEY_PREFIX: &str = adapter_common::KEY_PREFIX;
/// Where the API lives below the base URL (the document's server).
pub const API: &str = "/api";
const PAGE_SIZE: u32 = 100;
/// A safety stop for paging that never ends.
const MAX_PAGES: u64 = 10_000;
const UPDATE_LINES: &str = "/api/RecurringInvoice/updatelines";

pub struct Halo {
    http: Http,
    config: HaloConfig,
    secret: String,
    token: TokenState,
    /// Item name → item, read once per run.
    catalogue: Mutex<Option<BTreeMap<String, CatalogueItem>>>,
}

impl Halo {
    /// Builds the adapter; the client secret comes from the variable `tally.toml` names, else
    /// from the credentials file (`[halopsa] client_secret`).
    pub fn from_credentials(
        config: HaloConfig,
        credentials: &Credentials,
        observer: Option<Observer>,
    ) -> Result<Halo, PsaError> {
        let secret =
            credentials.get(NAME, &config.client_secret_env, "halopsa", "client_secret")?;
        Ok(Halo::with_secret(config, secret, observer))
    }

    /// Builds the adapter with the client secret given. No request is made until the first read.
    pub fn with_secret(config: HaloConfig, secret: String, observer: Option<Observer>) -> Halo {
        // The token request sends the secret URL-encoded: an endpoint echoing the form in an
        // error would show that form, which the raw secret does not match.
        let redactor = Redactor::new([secret.clone(), encode(&secret)]);
        let http = Http::new(
            NAME,
            &config.base_url,
            config.http.clone(),
            Vec::new(),
            redactor,
            observer,
        );
        Halo {
            http,
            config,
            secret,
            token: TokenState::default(),
            catalogue: Mutex::new(None),
        }
    }

    fn asker(&self) -> Asker<'_> {
        Asker {
            http: &self.http,
            client_id: &self.config.client_id,
            secret: &self.secret,
            secret_env: &self.config.client_secret_env,
        }
    }

    /// Sends an API request with a token: fetched on first use, renewed once when the PSA
    /// answers 401 (an expired token), after which the request is sent again. A request
    /// answered 401 was not carried out, so sending a write again is safe.
    fn send(&self, request: &Request) -> Result<Answer, PsaError> {
        if !self.token.fresh() {
            self.token.renew(&self.asker())?;
        }
        let answer = self.http.send(request)?;
        if answer.status != 401 {
            return Ok(answer);
        }
        self.token.renew(&self.asker())?;
        let answer = self.http.send(request)?;
        if answer.status == 401 {
            return Err(PsaError::Credential(self.http.clean(&format!(
                "{NAME} refused a fresh token (401) for `{}`: check `{}` and the API application's permissions (client_id `{}`)",
                self.http.describe(request),
                self.config.client_secret_env,
                self.config.client_id
            ))));
        }
        Ok(answer)
    }

    /// Sends an API request and turns a non-2xx answer into an error quoting Halo's body (a
    /// 401 is [`Halo::send`]'s: the token is renewed first).
    fn send_checked(&self, request: &Request) -> Result<Answer, PsaError> {
        let answer = self.send(request)?;
        let wording = Wording {
            refused: None,
            detail: wire::error_detail,
        };
        check_status(&self.http, request, answer, &wording)
    }

    /// Every page of a list: `records` names the list in Halo's answer (`clients`). Records are
    /// de-duplicated by id; a page that adds nothing new (a server ignoring `page_no`) is a bad
    /// answer rather than a reason to read on until `record_count`.
    fn list<T: DeserializeOwned + wire::Record>(
        &self,
        path: &str,
        records: &str,
        expected: &str,
    ) -> Result<Vec<T>, PsaError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut seen = BTreeSet::new();
        let mut page_no = 0u64;
        loop {
            page_no += 1;
            let request = Request::get(format!(
                "{path}{separator}pageinate=true&page_size={PAGE_SIZE}&page_no={page_no}"
            ));
            if page_no > MAX_PAGES {
                return Err(self
                    .http
                    .error(
                        &request,
                        "more than 10000 pages: `record_count` never reached",
                    )
                    .into());
            }
            let answer = self.send_checked(&request)?;
            let page: wire::Page<T> = wire::page(answer.status, &answer.body, records, expected)
                .map_err(|problem| PsaError::from(self.http.error(&request, problem)))?;
            let empty = page.records.is_empty();
            let before = all.len();
            all.extend(page.records.into_iter().filter(|r| seen.insert(r.id())));
            if empty || all.len() as u64 >= page.record_count {
                return Ok(all);
            }
            if all.len() == before {
                return Err(self
                    .http
                    .error(
                        &request,
                        format!(
                            "page {page_no} holds only records already read ({} of `record_count` {}): the server seems to ignore `page_no`",
                            all.len(),
                            page.record_count
                        ),
                    )
                    .into());
            }
        }
    }

    /// The catalogue by item name, read once per run (items are not per customer).
    fn catalogue(&self) -> Result<BTreeMap<String, CatalogueItem>, PsaError> {
        if let Some(cached) = lock(&self.catalogue).clone() {
            return Ok(cached);
        }
        let items: Vec<Item> = self.list(&format!("{API}/Item"), "items", "a list of items")?;
        let mut by_name = BTreeMap::new();
        for item in items {
            if let Some(name) = item.name {
                by_name.entry(name).or_insert(CatalogueItem {
                    external_id: item.id.to_string(),
                    price: item.recurringprice.or(item.baseprice),
                });
            }
        }
        *lock(&self.catalogue) = Some(by_name.clone());
        Ok(by_name)
    }

    /// The client Tally bills, by exact name; `None` when Halo has no such client. Two clients
    /// of one name are refused: a line must never go to the wrong one.
    fn client(&self, name: &str) -> Result<Option<i64>, PsaError> {
        let clients: Vec<Client> = self.list(
            &format!("{API}/Client?search={}", encode(name)),
            "clients",
            "a list of clients",
        )?;
        let named: Vec<&Client> = clients
            .iter()
            .filter(|c| c.name.as_deref() == Some(name) && c.inactive != Some(true))
            .collect();
        match named.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.id)),
            many => Err(PsaError::Config(format!(
                "{NAME}: {} clients are named `{name}` (ids {}): rename one, Tally will not guess",
                many.len(),
                many.iter()
                    .map(|c| c.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Sends one `updatelines` write through the journal and returns the line Halo answered
    /// with. A 2xx whose body is not the line proves nothing: the write may or may not have
    /// been carried out, so the caller reads the lines again before repeating it.
    fn send_write(
        &self,
        request: Request,
        log: &dyn WriteLog,
        key: &str,
    ) -> Result<String, PsaError> {
        let send_checked = |request: &Request| self.send_checked(request);
        send_journaled(&self.http, &request, log, send_checked, |answer| {
            let lines: Vec<Line> = parse(answer.status, &answer.body, "the lines written")?;
            let reference = owned_marker(key);
            let line = lines
                .iter()
                .find(|l| l.item_external_reference.as_deref() == Some(reference.as_str()))
                .ok_or_else(|| {
                    format!(
                        "status {}: the answer does not hold the line `{reference}`",
                        answer.status
                    )
                })?;
            Ok(line.id.to_string())
        })
    }

    fn invoice_id(&self, state: &RemoteState, name: &str) -> Result<i64, PsaError> {
        agreement_id(state, NAME, "recurring invoice", name)
    }

    fn write_lines(&self, line: &LineWrite<'_>, idempotent: bool) -> Result<Request, PsaError> {
        Ok(Request::with_body(
            Method::Post,
            UPDATE_LINES,
            request_body(NAME, &[line])?,
            idempotent,
        ))
    }
}

/// The id an update or cancellation sends. Without an `id` `updatelines` creates a line, so an id
/// that is not a number is an error, never an update sent without one.
fn line_id(id: &str, key: &str) -> Result<i64, PsaError> {
    id.parse().map_err(|_| {
        PsaError::Config(format!(
            "{NAME}: the line id `{id}` of `{key}` is not a number: Tally will not send an update without an id (Halo would create a line)"
        ))
    })
}

impl Psa for Halo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn read(&self, target: &CustomerTarget) -> Result<RemoteState, PsaError> {
        let mut state = RemoteState {
            catalogue: self.catalogue()?,
            ..RemoteState::default()
        };
        // Only the products the plan needs, as the diff expects.
        state
            .catalogue
            .retain(|name, _| target.products.contains(name));
        let Some(client) = self.client(&target.company)? else {
            // No invoices: every line is refused as "not found for company".
            return Ok(state);
        };
        let path = format!("{API}/RecurringInvoice?client_id={client}&includelines=true");
        let invoices: Vec<Invoice> =
            self.list(&path, "invoices", "a list of recurring invoices")?;
        // By reference: only the client's own invoices that still bill. Two of one reference
        // are refused: Tally would not know which one a line belongs to.
        let mut by_reference: BTreeMap<String, Vec<Invoice>> = BTreeMap::new();
        for invoice in invoices {
            if invoice.client_id != Some(client) || invoice.disabled == Some(true) {
                continue;
            }
            let Some(reference) = invoice.reference.clone().filter(|r| !r.is_empty()) else {
                continue;
            };
            by_reference.entry(reference).or_default().push(invoice);
        }
        if let Some((reference, many)) = by_reference.iter().find(|(_, v)| v.len() > 1) {
            return Err(PsaError::Config(format!(
                "{NAME}: client `{}` (id {client}) has {} recurring invoices with the reference `{reference}` (ids {}): disable or rename all but one, Tally will not guess",
                target.company,
                many.len(),
                many.iter()
                    .map(|i| i.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let item_names: BTreeMap<String, String> = self
            .catalogue()?
            .into_iter()
            .map(|(name, item)| (item.external_id, name))
            .collect();
        for (reference, invoice) in by_reference
            .into_iter()
            .filter_map(|(reference, mut one)| one.pop().map(|i| (reference, i)))
        {
            state
                .agreements
                .insert(reference.clone(), invoice.id.to_string());
            // Asked for with `includelines=true`: an answer without them says nothing about
            // the lines, and reading it as "none" would create every line again.
            let Some(lines) = invoice.lines else {
                return Err(self
                    .http
                    .error(
                        &Request::get(path.clone()),
                        format!(
                            "recurring invoice {} (`{reference}`) comes without `lines` although `includelines=true` asked for them",
                            invoice.id
                        ),
                    )
                    .into());
            };
            for line in lines {
                let product = line
                    .item_id
                    .and_then(|id| item_names.get(&id.to_string()).cloned())
                    .or(line.item_code)
                    .unwrap_or_default();
                state.lines.push(RemoteLine {
                    external_id: line.id.to_string(),
                    agreement: reference.clone(),
                    key: owned_key(line.item_external_reference.as_deref()),
                    product,
                    description: line.item_shortdescription.unwrap_or_default(),
                    quantity: line.qty_order.unwrap_or_default(),
                    unit_price: line.unit_price,
                    effective: day(line.startdate.as_deref()),
                    ends: day(line.enddate.as_deref()),
                });
            }
        }
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
                let ihid = self.invoice_id(state, &line.agreement)?;
                let item_id = state
                    .catalogue
                    .get(&line.product)
                    .and_then(|item| item.external_id.parse().ok());
                let write = LineWrite {
                    ihid,
                    item_id,
                    item_code: Some(&line.product),
                    item_shortdescription: Some(&line.description),
                    qty_order: Some(exact::number(line.quantity)),
                    unit_price: line.unit_price.map(exact::number),
                    startdate: Some(date_time(line.effective)),
                    enddate: line.ends.map(|d| Some(date_time(d))),
                    item_external_reference: Some(owned_marker(&line.key)),
                    ..LineWrite::default()
                };
                // A create is not idempotent: after a lost answer the lines are read again.
                let request = self.write_lines(&write, false)?;
                self.send_write(request, log, &line.key)
            }
            LineChange::Update { line, id } => {
                let ihid = self.invoice_id(state, &line.agreement)?;
                let had_end = change.before.as_ref().is_some_and(|b| b.ends.is_some());
                let write = LineWrite {
                    id: Some(line_id(id, &line.key)?),
                    ihid,
                    item_shortdescription: Some(&line.description),
                    qty_order: Some(exact::number(line.quantity)),
                    unit_price: line.unit_price.map(exact::number),
                    enddate: match line.ends {
                        Some(d) => Some(Some(date_time(d))),
                        None if had_end => Some(None),
                        None => None,
                    },
                    item_external_reference: Some(owned_marker(&line.key)),
                    ..LineWrite::default()
                };
                // Every value is set, not added to: sending it twice leaves the same line.
                let request = self.write_lines(&write, true)?;
                self.send_write(request, log, &line.key)
            }
            LineChange::Cancel { id, last_day } => {
                let ihid = self.invoice_id(state, &change.agreement)?;
                let write = LineWrite {
                    id: Some(line_id(id, &change.key)?),
                    ihid,
                    enddate: Some(Some(date_time(last_day))),
                    // The key stays as it is: the answer is recognised by it.
                    item_external_reference: Some(owned_marker(&change.key)),
                    ..LineWrite::default()
                };
                let request = self.write_lines(&write, true)?;
                self.send_write(request, log, &change.key)
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
