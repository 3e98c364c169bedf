//! Autotask's wire format: the entities Tally reads (camelCase on the wire, PascalCase in the
//! Swagger document; Autotask matches names ignoring case), the query body, the wrapped answers
//! (`{"items":[…],"pageDetails":{…}}`, `{"itemId":N}`, `{"errors":[…]}`), and write bodies.

use crate::error::excerpt;
use crate::exact;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Records per page (Autotask's maximum for `MaxRecords`).
pub const MAX_RECORDS: u32 = 500;

/// A query's answer: one page of entities and where the next one is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page_details: Option<PageDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageDetails {
    pub next_page_url: Option<String>,
}

/// What a create or an update answers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemId {
    pub item_id: i64,
}

/// Autotask's error body.
#[derive(Deserialize)]
pub struct Errors {
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// What Autotask's error body says, in one line: its `errors`, else an excerpt.
pub fn error_detail(body: &str) -> String {
    match serde_json::from_str::<Errors>(body) {
        Ok(body) if !body.errors.is_empty() => body
            .errors
            .iter()
            .map(|e| match e.as_str() {
                Some(text) => text.to_string(),
                None => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => excerpt(body, 120),
    }
}

/// `GET …/ZoneInformation?user=`: where this user's database lives.
#[derive(Deserialize)]
pub struct Zone {
    pub url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    pub company_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: i64,
    pub contract_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractService {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(default, with = "exact::opt")]
    pub unit_price: Option<Decimal>,
    pub invoice_description: Option<String>,
    pub internal_description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractServiceUnit {
    #[serde(rename = "contractServiceID")]
    pub contract_service_id: i64,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    #[serde(default, with = "exact::opt")]
    pub units: Option<Decimal>,
    /// The price billed for the period (`ContractServiceUnitModel.Price`).
    #[serde(default, with = "exact::opt")]
    pub price: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: i64,
    pub name: Option<String>,
    #[serde(default, with = "exact::opt")]
    pub unit_price: Option<Decimal>,
    pub is_active: Option<bool>,
    #[serde(rename = "billingCodeID")]
    pub billing_code_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractCharge {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub date_purchased: Option<String>,
    #[serde(default, with = "exact::opt")]
    pub unit_quantity: Option<Decimal>,
    #[serde(default, with = "exact::opt")]
    pub unit_price: Option<Decimal>,
}

/// One condition of a query's `filter`.
pub fn condition(op: &str, field: &str, value: Value) -> Value {
    json!({"op": op, "field": field, "value": value})
}

/// `{"op":"or","items":[…]}`.
pub fn any_of(items: Vec<Value>) -> Value {
    json!({"op": "or", "items": items})
}

/// `{"op":"and","items":[…]}`.
pub fn all_of(items: Vec<Value>) -> Value {
    json!({"op": "and", "items": items})
}

/// A query body: every condition must hold.
pub fn query(filter: Vec<Value>) -> String {
    json!({"filter": filter, "MaxRecords": MAX_RECORDS}).to_string()
}

/// `POST /V1.0/Contracts/{id}/Services`: a service on a contract. Units are not part of it:
/// they change only through adjustments.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewContractService<'a> {
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    pub unit_price: Box<RawValue>,
    pub invoice_description: &'a str,
    pub internal_description: String,
}

/// `PATCH /V1.0/Contracts/{id}/Services`: the price and texts of a contract service.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractServiceChange<'a> {
    pub id: i64,
    pub unit_price: Box<RawValue>,
    pub invoice_description: &'a str,
    pub internal_description: String,
}

/// `POST /V1.0/ContractServiceAdjustments`: a signed change of units from a day on.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adjustment {
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "contractServiceID")]
    pub contract_service_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    pub unit_change: i64,
    pub effective_date: String,
}

/// `POST`/`PATCH /V1.0/Contracts/{id}/Charges`: a one-time charge on a contract.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    pub name: &'a str,
    pub description: String,
    pub notes: &'a str,
    pub date_purchased: String,
    pub unit_quantity: Box<RawValue>,
    pub unit_price: Box<RawValue>,
    #[serde(rename = "billingCodeID", skip_serializing_if = "Option::is_none")]
    pub billing_code_id: Option<i64>,
    /// 1: operational.
    pub charge_type: i32,
    /// 1: ready to bill.
    pub status: i32,
    pub is_billable_to_company: bool,
}

/// A quantity change on a charge (a cancellation sets it to 0).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeQuantity {
    pub id: i64,
    pub unit_quantity: Box<RawValue>,
}
