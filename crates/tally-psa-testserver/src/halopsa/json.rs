//! The fake's answers, written as Halo writes them; numbers exactly as the decimals hold them.

use super::{Client, Invoice, Item, Line};
use crate::wire::{date_time, number as num};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;

pub fn client(c: &Client) -> String {
    serde_json::json!({"id": c.id, "name": c.name, "inactive": c.inactive, "toplevel_id": 1})
        .to_string()
}

#[derive(Serialize)]
struct ItemJson<'a> {
    id: i64,
    name: &'a str,
    description: &'a str,
    baseprice: Box<RawValue>,
    recurringprice: Box<RawValue>,
    costprice: Box<RawValue>,
    isrecurringitem: bool,
}

pub fn item(i: &Item) -> String {
    serde_json::to_string(&ItemJson {
        id: i.id,
        name: &i.name,
        description: &i.name,
        baseprice: num(i.price),
        recurringprice: num(i.price),
        costprice: num(Decimal::ZERO),
        isrecurringitem: true,
    })
    .unwrap_or_default()
}

#[derive(Serialize)]
struct LineJson<'a> {
    id: i64,
    ihid: i64,
    #[serde(rename = "_itemid")]
    item_id: i64,
    item_code: &'a str,
    item_shortdescription: &'a str,
    qty_order: Box<RawValue>,
    unit_price: Box<RawValue>,
    net_amount: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    startdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enddate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_external_reference: Option<&'a str>,
    recurring_invoice_id: i64,
}

pub fn line(l: &Line) -> String {
    serde_json::to_string(&LineJson {
        id: l.id,
        ihid: l.ihid,
        item_id: l.item_id,
        item_code: &l.item_code,
        item_shortdescription: &l.description,
        qty_order: num(l.quantity),
        unit_price: num(l.unit_price),
        net_amount: num(l.quantity * l.unit_price),
        startdate: l.start.map(date_time),
        enddate: l.end.map(date_time),
        item_external_reference: l.external_reference.as_deref(),
        recurring_invoice_id: l.ihid,
    })
    .unwrap_or_default()
}

/// A recurring invoice; `lines` when the request asked for them (`includelines=true`).
pub fn invoice(i: &Invoice, client: Option<&Client>, lines: Option<&[&Line]>) -> String {
    let head = serde_json::json!({
        "id": i.id,
        "client_id": i.client_id,
        "client_name": client.map(|c| c.name.clone()).unwrap_or_default(),
        "reference": i.reference,
        "disabled": i.disabled,
        "is_recurring_invoice": true,
    })
    .to_string();
    match lines {
        None => head,
        Some(lines) => {
            let lines: Vec<String> = lines.iter().map(|l| line(l)).collect();
            let open = head.trim_end_matches('}');
            format!("{open},\"lines\":[{}]}}", lines.join(","))
        }
    }
}
