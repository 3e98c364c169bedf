//! What the fake Autotask holds, and each entity as the live API writes it (camelCase).

use crate::wire::date_time;
use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub id: i64,
    pub company_id: i64,
    pub name: String,
    /// 1 active, 0 inactive.
    pub status: i64,
    pub start: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: i64,
    pub name: String,
    pub unit_price: Decimal,
    pub billing_code_id: i64,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractService {
    pub id: i64,
    pub contract_id: i64,
    pub service_id: i64,
    pub unit_price: Decimal,
    pub invoice_description: String,
    pub internal_description: String,
    pub created: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub id: i64,
    pub contract_id: i64,
    pub contract_service_id: i64,
    pub service_id: i64,
    pub unit_change: i64,
    pub effective: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub id: i64,
    pub contract_id: i64,
    pub name: String,
    pub description: String,
    pub notes: String,
    pub date_purchased: NaiveDate,
    pub unit_quantity: Decimal,
    pub unit_price: Decimal,
    pub billing_code_id: Option<i64>,
    pub charge_type: i64,
    pub status: i64,
    pub billable: bool,
}

/// One period's units of a contract service, as `ContractServiceUnits` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRecord {
    pub id: i64,
    pub contract_id: i64,
    pub contract_service_id: i64,
    pub service_id: i64,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub units: i64,
    pub price: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct State {
    pub companies: Vec<Company>,
    pub contracts: Vec<Contract>,
    pub services: Vec<Service>,
    pub contract_services: Vec<ContractService>,
    pub adjustments: Vec<Adjustment>,
    pub charges: Vec<Charge>,
    /// A price billed for one month of a contract service (contract service id, the month's
    /// first day) other than its unit price, as `ContractServiceUnits` show it.
    pub period_prices: BTreeMap<(i64, NaiveDate), Decimal>,
    pub next_id: i64,
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

impl State {
    pub fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// A contract service's units on a day: the sum of the adjustments effective by then.
    pub fn units(&self, contract_service: i64, on: NaiveDate) -> i64 {
        self.adjustments
            .iter()
            .filter(|a| a.contract_service_id == contract_service && a.effective <= on)
            .map(|a| a.unit_change)
            .sum()
    }

    /// Unit records for the contract services `keep` chooses, one per month and per stretch of
    /// equal units within it, from each one's first month to a year past `today` or its last
    /// adjustment. Adjustments are grouped by contract
    /// service first, so thousands of services are not each summed over every adjustment.
    pub fn unit_records(
        &self,
        today: NaiveDate,
        keep: impl Fn(&ContractService) -> bool,
    ) -> Vec<UnitRecord> {
        let kept: Vec<&ContractService> = self
            .contract_services
            .iter()
            .filter(|cs| keep(cs))
            .collect();
        let mut by_service: BTreeMap<i64, Vec<&Adjustment>> =
            kept.iter().map(|cs| (cs.id, Vec::new())).collect();
        for a in &self.adjustments {
            if let Some(list) = by_service.get_mut(&a.contract_service_id) {
                list.push(a);
            }
        }
        let mut out = Vec::new();
        for cs in kept {
            let adjustments = by_service
                .get(&cs.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let units = |on: NaiveDate| -> i64 {
                adjustments
                    .iter()
                    .filter(|a| a.effective <= on)
                    .map(|a| a.unit_change)
                    .sum()
            };
            let dates = adjustments.iter().map(|a| a.effective);
            let first = dates
                .clone()
                .chain([cs.created])
                .min()
                .unwrap_or(cs.created);
            let last = dates.chain([today]).max().unwrap_or(today);
            let mut month = month_start(first);
            let stop = month_start(last) + Months::new(12);
            let mut n = 0;
            while month <= stop {
                let next = month + Months::new(1);
                let month_end = next.pred_opt().unwrap_or(month);
                let price = self
                    .period_prices
                    .get(&(cs.id, month))
                    .copied()
                    .unwrap_or(cs.unit_price);
                // One row per stretch of equal units: an adjustment dated within the month
                // starts a new row.
                let mut cuts: Vec<NaiveDate> = adjustments
                    .iter()
                    .map(|a| a.effective)
                    .filter(|d| *d > month && *d <= month_end)
                    .collect();
                cuts.sort();
                cuts.dedup();
                let mut start = month;
                for end in cuts.iter().filter_map(|d| d.pred_opt()).chain([month_end]) {
                    out.push(UnitRecord {
                        id: cs.id * 1000 + n,
                        contract_id: cs.contract_id,
                        contract_service_id: cs.id,
                        service_id: cs.service_id,
                        start,
                        end,
                        units: units(start),
                        price,
                    });
                    n += 1;
                    start = end.succ_opt().unwrap_or(end);
                }
                month = next;
            }
        }
        out
    }
}

pub fn text(s: &str) -> String {
    Value::from(s).to_string()
}

pub fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A JSON object from already-written values, in order.
pub fn object(fields: &[(&str, String)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", text(k)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

impl Company {
    pub fn wire(&self) -> String {
        object(&[
            ("id", self.id.to_string()),
            ("companyName", text(&self.name)),
            ("companyNumber", text(&format!("C{}", self.id))),
            ("isActive", self.active.to_string()),
        ])
    }
}

impl Contract {
    pub fn wire(&self) -> String {
        object(&[
            ("id", self.id.to_string()),
            ("companyID", self.company_id.to_string()),
            ("contractName", text(&self.name)),
            ("contractType", "7".into()),
            ("status", self.status.to_string()),
            ("startDate", text(&date_time(self.start))),
        ])
    }
}

impl Service {
    pub fn wire(&self) -> String {
        object(&[
            ("id", self.id.to_string()),
            ("name", text(&self.name)),
            ("description", text(&self.name)),
            ("invoiceDescription", text(&self.name)),
            ("unitPrice", num(self.unit_price)),
            ("unitCost", "0".into()),
            ("billingCodeID", self.billing_code_id.to_string()),
            ("isActive", self.active.to_string()),
            ("periodType", "3".into()),
        ])
    }
}

impl ContractService {
    pub fn wire(&self) -> String {
        object(&[
            ("id", self.id.to_string()),
            ("contractID", self.contract_id.to_string()),
            ("serviceID", self.service_id.to_string()),
            ("unitPrice", num(self.unit_price)),
            ("unitCost", "0".into()),
            ("invoiceDescription", text(&self.invoice_description)),
            ("internalDescription", text(&self.internal_description)),
            ("userDefinedFields", "[]".into()),
        ])
    }
}

impl UnitRecord {
    pub fn wire(&self) -> String {
        object(&[
            ("id", self.id.to_string()),
            ("contractID", self.contract_id.to_string()),
            ("contractServiceID", self.contract_service_id.to_string()),
            ("serviceID", self.service_id.to_string()),
            ("startDate", text(&date_time(self.start))),
            ("endDate", text(&date_time(self.end))),
            ("units", self.units.to_string()),
            ("price", num(self.price)),
            ("cost", "0".into()),
        ])
    }
}

impl Charge {
    pub fn wire(&self) -> String {
        let mut fields = vec![
            ("id", self.id.to_string()),
            ("contractID", self.contract_id.to_string()),
            ("name", text(&self.name)),
            ("description", text(&self.description)),
            ("notes", text(&self.notes)),
            ("datePurchased", text(&date_time(self.date_purchased))),
            ("unitQuantity", num(self.unit_quantity)),
            ("unitPrice", num(self.unit_price)),
            ("unitCost", "0".into()),
            ("chargeType", self.charge_type.to_string()),
            ("status", self.status.to_string()),
            ("isBillableToCompany", self.billable.to_string()),
            ("isBilled", "false".into()),
        ];
        if let Some(code) = self.billing_code_id {
            fields.push(("billingCodeID", code.to_string()));
        }
        object(&fields)
    }
}

/// An entity as a query answers it: its id, and its JSON as the live API writes it.
pub(super) trait Row {
    fn id(&self) -> i64;
    fn json(&self) -> String;
}

macro_rules! rows {
    ($($entity:ty),*) => {$(
        impl Row for $entity {
            fn id(&self) -> i64 {
                self.id
            }

            fn json(&self) -> String {
                self.wire()
            }
        }
    )*};
}

rows!(
    Company,
    Contract,
    Service,
    ContractService,
    UnitRecord,
    Charge
);
