//! Reading one customer: the company, its contracts, their services, units and charges, and
//! the catalogue.

use super::api::Api;
use super::wire::{self, all_of, any_of, condition};
use super::{Autotask, CHUNK, LineRef, NAME, ServiceInfo};
use crate::adapter_common::dates;
use crate::adapter_common::{agreement_id, lock, owned_key, owned_marker};
use crate::desired::cancel_day;
use crate::error::PsaError;
use crate::model::{CatalogueItem, CustomerTarget, RemoteLine, RemoteState};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

impl Autotask {
    /// The services the plan names, and the names of services already on contracts.
    pub(super) fn load_catalogue(
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

    pub(super) fn service(&self, name: &str) -> Result<ServiceInfo, PsaError> {
        lock(&self.by_name)
            .get(name)
            .cloned()
            .flatten()
            .ok_or_else(|| {
                PsaError::Config(format!("{NAME}: service `{name}` is not in the catalogue"))
            })
    }

    pub(super) fn contract_id(&self, state: &RemoteState, name: &str) -> Result<i64, PsaError> {
        agreement_id(state, NAME, "contract", name)
    }

    pub(super) fn read_state(&self, target: &CustomerTarget) -> Result<RemoteState, PsaError> {
        let api = self.api()?;
        let mut state = RemoteState {
            needs_price: true,
            ..RemoteState::default()
        };
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
        let mut rows: BTreeMap<i64, Vec<wire::ContractServiceUnit>> = BTreeMap::new();
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
                if let Some(other) = state.agreements.get(&name) {
                    // Lines must never go to, or be read from, the wrong one of two.
                    return Err(PsaError::Config(format!(
                        "{NAME}: company `{}` has two active contracts named `{name}` (ids {other} and {}): rename or end one, Tally will not guess",
                        target.company, contract.id
                    )));
                }
                state
                    .agreements
                    .insert(name.clone(), contract.id.to_string());
                contract_names.insert(contract.id, name);
            }
            let ids: Vec<i64> = contract_names.keys().copied().collect();
            if !ids.is_empty() {
                services = self.query::<wire::ContractService>(
                    &api,
                    "ContractServices",
                    vec![condition("in", "contractID", json!(ids))],
                )?;
                let start = json!(dates::date_time(target.period_start));
                let end = json!(dates::date_time(target.period_end));
                // Every unit row that touches the period: a change on a later day of it shows
                // as a second row.
                let found: Vec<wire::ContractServiceUnit> = self.query(
                    &api,
                    "ContractServiceUnits",
                    vec![
                        condition("in", "contractID", json!(ids)),
                        condition("lte", "startDate", end.clone()),
                        condition("gte", "endDate", start.clone()),
                    ],
                )?;
                for unit in found {
                    rows.entry(unit.contract_service_id).or_default().push(unit);
                }
                // The charges dated in the period, and Tally's charges by key wherever they
                // are dated: one whose date was moved out of the period is still found, and
                // never added a second time.
                let keys: Vec<String> = target.keys.iter().map(|k| owned_marker(k)).collect();
                let mut chunks = keys.chunks(CHUNK);
                let window = vec![
                    condition("gte", "datePurchased", start),
                    condition("lte", "datePurchased", end),
                ];
                let dated = match chunks.next() {
                    Some(some) => any_of(vec![
                        all_of(window),
                        condition("in", "description", json!(some)),
                    ]),
                    None => all_of(window),
                };
                charges = self.query::<wire::ContractCharge>(
                    &api,
                    "ContractCharges",
                    vec![condition("in", "contractID", json!(ids)), dated],
                )?;
                for some in chunks {
                    let keyed: Vec<wire::ContractCharge> = self.query(
                        &api,
                        "ContractCharges",
                        vec![
                            condition("in", "contractID", json!(ids)),
                            condition("in", "description", json!(some)),
                        ],
                    )?;
                    for charge in keyed {
                        if !charges.iter().any(|c| c.id == charge.id) {
                            charges.push(charge);
                        }
                    }
                }
            }
            service_ids.extend(services.iter().map(|s| s.service_id));
        }
        self.load_catalogue(&api, &target.products, &service_ids)?;

        let ended = cancel_day(target.period_start);
        let agreement_of = |contract_id: i64| {
            contract_names
                .get(&contract_id)
                .cloned()
                .unwrap_or_default()
        };
        let by_id = lock(&self.by_id).clone();
        let mut known = lock(&self.contract_services);
        for service in services {
            known.insert(service.id, (service.contract_id, service.service_id));
            let external_id = LineRef::Service(service.id).text();
            let found = rows.remove(&service.id).unwrap_or_default();
            let (quantity, ends) =
                match units_over(&found, target.period_start, Some(target.period_end)) {
                    Err(problem) => {
                        return Err(self.bad_answer(
                            &api,
                            "ContractServiceUnits",
                            &format!("contract service {}: {problem}", service.id),
                        ));
                    }
                    Ok(Units::Steady { units, price }) => {
                        if let Some(price) = price
                            && Some(price) != service.unit_price
                        {
                            state.billed_prices.insert(external_id.clone(), price);
                        }
                        let units = Decimal::from(units);
                        // A service at 0 units bills nothing: it is not active.
                        (units, (units == Decimal::ZERO).then_some(ended))
                    }
                    Ok(Units::Changes { first, note }) => {
                        state.refused.insert(external_id.clone(), note);
                        (Decimal::from(first), None)
                    }
                };
            state.lines.push(RemoteLine {
                external_id,
                agreement: agreement_of(service.contract_id),
                key: owned_key(service.internal_description.as_deref()),
                product: by_id
                    .get(&service.service_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| format!("service {}", service.service_id)),
                description: service.invoice_description.unwrap_or_default(),
                quantity,
                unit_price: service.unit_price,
                effective: None,
                ends,
            });
        }
        drop(known);
        for charge in charges {
            let quantity = charge.unit_quantity.unwrap_or_default();
            let external_id = LineRef::Charge(charge.id).text();
            let dated = dates::day(charge.date_purchased.as_deref());
            let in_period =
                dated.is_some_and(|d| d >= target.period_start && d <= target.period_end);
            if !in_period && quantity != Decimal::ZERO {
                state.refused.insert(
                    external_id.clone(),
                    format!(
                        "contract charge {} carries this key but is dated {}, outside {}..{}: Tally will neither add a second charge nor move this one; date it in the period or set its quantity to 0 by hand",
                        charge.id,
                        dated.map(|d| d.to_string()).unwrap_or_else(|| "nowhere".into()),
                        target.period_start,
                        target.period_end
                    ),
                );
            }
            state.lines.push(RemoteLine {
                external_id,
                agreement: agreement_of(charge.contract_id),
                key: owned_key(charge.description.as_deref()),
                product: charge.notes.unwrap_or_default(),
                description: charge.name.unwrap_or_default(),
                quantity,
                unit_price: charge.unit_price,
                effective: dated,
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
}

/// What a contract service's unit rows say about a stretch of days.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Units {
    /// The same units (and price, when the rows give one) on every day.
    Steady { units: i64, price: Option<Decimal> },
    /// The units or the price change on a later day: a change posted from the first day would
    /// also change the later ones, so nothing may be posted. `first` is the first day's units.
    Changes { first: i64, note: String },
}

/// The units of the rows over `from..=to` (`to` `None`: every row from `from` on). A day no row
/// covers, or a row without whole units, is a bad answer.
pub(super) fn units_over(
    rows: &[wire::ContractServiceUnit],
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> Result<Units, String> {
    let mut dated = Vec::new();
    for row in rows {
        let (Some(start), Some(end)) = (
            dates::day(row.start_date.as_deref()),
            dates::day(row.end_date.as_deref()),
        ) else {
            return Err("a unit row without its startDate or endDate".into());
        };
        if end < from || to.is_some_and(|to| start > to) {
            continue;
        }
        let units = row
            .units
            .filter(|u| u.fract().is_zero())
            .and_then(|u| u.to_i64())
            .ok_or_else(|| format!("the unit row from {start} has no whole units"))?;
        dated.push((start, end, units, row.price));
    }
    dated.sort_by_key(|(start, end, ..)| (*start, *end));
    let Some(last) = to.or_else(|| dated.iter().map(|(_, end, ..)| *end).max()) else {
        return Err(format!("no unit row covers {from}"));
    };
    // Every day from `from` to `last` is covered.
    let mut day = from;
    while day <= last {
        let Some(reach) = dated
            .iter()
            .filter(|(start, end, ..)| *start <= day && day <= *end)
            .map(|(_, end, ..)| *end)
            .max()
        else {
            return Err(format!("no unit row covers {day}"));
        };
        match reach.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    let first = dated
        .iter()
        .find(|(start, end, ..)| *start <= from && from <= *end)
        .map(|(_, _, units, _)| *units)
        .unwrap_or_default();
    let units: BTreeSet<i64> = dated.iter().map(|(_, _, units, _)| *units).collect();
    let prices: BTreeSet<Decimal> = dated.iter().filter_map(|(.., price)| *price).collect();
    let when = |start: NaiveDate| start.max(from);
    if units.len() > 1 {
        let stretches: Vec<String> = dated
            .iter()
            .map(|(start, _, units, _)| format!("{units} units from {}", when(*start)))
            .collect();
        return Ok(Units::Changes {
            first,
            note: format!(
                "its units change after {from} ({}): a change posted from one day on would alter the later ones too; settle the units by hand",
                stretches.join(", ")
            ),
        });
    }
    if prices.len() > 1 {
        let stretches: Vec<String> = dated
            .iter()
            .map(|(start, _, _, price)| {
                let price = price
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "no price".into());
                format!("{price} from {}", when(*start))
            })
            .collect();
        return Ok(Units::Changes {
            first,
            note: format!(
                "its billed price changes after {from} ({}); settle it by hand",
                stretches.join(", ")
            ),
        });
    }
    Ok(Units::Steady {
        units: first,
        price: prices.first().copied(),
    })
}
