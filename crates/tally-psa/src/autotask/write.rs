//! Writing one line: a contract service and its unit adjustments, or a contract charge.

use super::api::Api;
use super::read::{Units, units_over};
use super::wire::{self, condition};
use super::{Autotask, LineRef, NAME, OPERATIONAL, READY_TO_BILL, ServiceInfo, whole_units};
use crate::adapter_common::dates;
use crate::adapter_common::{lock, owned_marker};
use crate::error::PsaError;
use crate::exact;
use crate::http::Method;
use crate::model::{Action, Change, CustomerTarget, DesiredLine, RemoteState};
use crate::push::WriteLog;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::json;

/// The line's price: the plan's, else `otherwise` (the catalogue's); never 0 for want of one.
fn priced(line: &DesiredLine, otherwise: Option<Decimal>) -> Result<Decimal, PsaError> {
    line.unit_price.or(otherwise).ok_or_else(|| {
        PsaError::Config(format!(
            "{NAME}: `{}`: neither the plan nor the catalogue prices `{}`; nothing was sent",
            line.key, line.product
        ))
    })
}

impl Autotask {
    /// The units a contract service has from `day` on, read now: every unit row from that
    /// day, since a change posted from it also changes every later day.
    pub(super) fn units(
        &self,
        api: &Api,
        contract_service: i64,
        day: NaiveDate,
    ) -> Result<Units, PsaError> {
        let found: Vec<wire::ContractServiceUnit> = self.query(
            api,
            "ContractServiceUnits",
            vec![
                condition("eq", "contractServiceID", json!(contract_service)),
                condition("gte", "endDate", json!(dates::date_time(day))),
            ],
        )?;
        // Only the units matter to an adjustment, not the period's price.
        let found: Vec<wire::ContractServiceUnit> = found
            .into_iter()
            .map(|row| wire::ContractServiceUnit { price: None, ..row })
            .collect();
        units_over(&found, day, None).map_err(|problem| {
            self.bad_answer(
                api,
                "ContractServiceUnits",
                &format!("contract service {contract_service}: {problem}"),
            )
        })
    }

    /// Brings a contract service to `wanted` units from `effective` on: reads its units first
    /// and posts the difference, or nothing when they already are what is wanted (after a lost
    /// answer, the delta is never posted twice).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn adjust(
        &self,
        api: &Api,
        contract: i64,
        contract_service: i64,
        service: i64,
        wanted: i64,
        effective: NaiveDate,
        log: &dyn WriteLog,
    ) -> Result<(), PsaError> {
        let current = match self.units(api, contract_service, effective)? {
            Units::Steady { units, .. } => units,
            Units::Changes { first, .. } if first == wanted => return Ok(()),
            Units::Changes { note, .. } => {
                return Err(PsaError::Config(format!(
                    "{NAME}: contract service {contract_service}: {note}; nothing was posted"
                )));
            }
        };
        if current == wanted {
            return Ok(());
        }
        let change = wanted.checked_sub(current).ok_or_else(|| {
            PsaError::Config(format!(
                "{NAME}: contract service {contract_service}: {wanted} − {current} units is out of range"
            ))
        })?;
        let adjustment = wire::Adjustment {
            contract_id: contract,
            contract_service_id: contract_service,
            service_id: service,
            unit_change: change,
            effective_date: dates::date_time(effective),
        };
        self.write_entity(
            api,
            Method::Post,
            "/V1.0/ContractServiceAdjustments",
            &adjustment,
            log,
        )?;
        Ok(())
    }

    pub(super) fn patch_service(
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
            internal_description: owned_marker(&line.key),
        };
        let path = format!("/V1.0/Contracts/{contract}/Services");
        self.write_entity(api, Method::Patch, path, &change, log)?;
        Ok(())
    }

    /// A recurring line: a contract service (a 0-unit one of this key is taken up again), then
    /// its units.
    pub(super) fn create_service(
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
        let price = priced(line, service.price)?;
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
                    internal_description: owned_marker(&line.key),
                };
                let path = format!("/V1.0/Contracts/{contract}/Services");
                self.write_entity(api, Method::Post, path, &new, log)?
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

    pub(super) fn update_service(
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
        let price = priced(
            line,
            remote
                .and_then(|r| r.unit_price)
                .or(catalogue.as_ref().and_then(|c| c.price)),
        )?;
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

    pub(super) fn service_of(
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

    pub(super) fn charge_body<'a>(
        &self,
        id: Option<i64>,
        contract: i64,
        line: &'a DesiredLine,
        service: &ServiceInfo,
    ) -> Result<wire::Charge<'a>, PsaError> {
        Ok(wire::Charge {
            id,
            contract_id: contract,
            name: &line.description,
            description: owned_marker(&line.key),
            notes: &line.product,
            date_purchased: dates::date_time(line.effective),
            unit_quantity: exact::number(line.quantity),
            unit_price: exact::number(priced(line, service.price)?),
            billing_code_id: service.billing_code,
            charge_type: OPERATIONAL,
            status: READY_TO_BILL,
            is_billable_to_company: true,
        })
    }

    /// A one-off line: a contract charge dated the period's first day.
    pub(super) fn create_charge(
        &self,
        api: &Api,
        state: &RemoteState,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let contract = self.contract_id(state, &line.agreement)?;
        let service = self.service(&line.product)?;
        let charge = self.charge_body(None, contract, line, &service)?;
        let path = format!("/V1.0/Contracts/{contract}/Charges");
        let id = self.write_entity(api, Method::Post, path, &charge, log)?;
        Ok(LineRef::Charge(id).text())
    }

    pub(super) fn update_charge(
        &self,
        api: &Api,
        state: &RemoteState,
        id: i64,
        line: &DesiredLine,
        log: &dyn WriteLog,
    ) -> Result<String, PsaError> {
        let contract = self.contract_id(state, &line.agreement)?;
        let service = self.service(&line.product)?;
        let charge = self.charge_body(Some(id), contract, line, &service)?;
        let path = format!("/V1.0/Contracts/{contract}/Charges");
        self.write_entity(api, Method::Patch, path, &charge, log)?;
        Ok(LineRef::Charge(id).text())
    }

    /// Ends a line without deleting it: a service at 0 units from `first_day`, a charge at
    /// quantity 0.
    pub(super) fn end(
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
                let path = format!("/V1.0/Contracts/{contract}/Charges");
                self.write_entity(api, Method::Patch, path, &change, log)
                    .map(|_| ())
            }
        }
    }

    pub(super) fn create(
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
