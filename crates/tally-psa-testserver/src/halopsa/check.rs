//! What the fake checks: every `/api` request against HaloPSA's document (the operation
//! exists, query parameters are declared and of their declared type, a JSON body is valid
//! against the operation's schema with no unknown property), and what an `updatelines` line
//! does to the state.

use super::{Line, State};
use crate::server::Incoming;
use crate::spec::Spec;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The operation's path template, or the status and why the request is refused.
pub fn request(spec: &Spec, request: &Incoming, path: &str) -> Result<String, (u16, String)> {
    let operation = spec
        .operation(&request.method, path)
        .map_err(|problem| (404, problem))?;
    let template = operation.template.to_string();
    if request.method == "DELETE" {
        // Refused (and recorded) by the router, whatever the document offers.
        return Ok(template);
    }
    let Some(op) = operation.op else {
        return Err((
            405,
            format!(
                "{} {template} is not an operation of {}",
                request.method, spec.name
            ),
        ));
    };
    let mut problems = spec.check_parameters(op, &request.query, &request.headers);
    problems.extend(parameter_types(op, &request.query));
    if request.method != "GET" {
        if !request.query.is_empty() {
            problems.push("a write with query parameters".into());
        }
        problems.extend(body(spec, op, request));
    }
    if problems.is_empty() {
        Ok(template)
    } else {
        Err((400, problems.join("; ")))
    }
}

/// Halo's document types query parameters as `int`, `bool` and `List<int>`.
fn parameter_types(op: &Value, query: &[(String, String)]) -> Vec<String> {
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (name, value) in query {
        let Some(ty) = params
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()))
            .and_then(|p| p.pointer("/schema/type"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let ok = match ty {
            "int" | "integer" => value.parse::<i64>().is_ok(),
            "bool" | "boolean" => matches!(value.as_str(), "true" | "false"),
            "List<int>" => value.split(',').all(|v| v.trim().parse::<i64>().is_ok()),
            _ => true,
        };
        if !ok {
            problems.push(format!(
                "query parameter `{name}` must be of type `{ty}`, not `{value}`"
            ));
        }
    }
    problems
}

/// Validates a JSON body against the operation's `application/json` schema; an array of a
/// named schema is checked item by item, refusing properties the schema does not have. The
/// document is OpenAPI 3.0: a `null` is allowed where the property is `nullable`.
fn body(spec: &Spec, op: &Value, request: &Incoming) -> Vec<String> {
    let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
        return if request.body.trim().is_empty() {
            Vec::new()
        } else {
            vec!["a body where the operation takes none".into()]
        };
    };
    let content_type = request.header("Content-Type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return vec![format!(
            "Content-Type `{content_type}` is not application/json"
        )];
    }
    let value: Value = match serde_json::from_str(&request.body) {
        Ok(v) => v,
        Err(e) => return vec![format!("the body is not JSON: {e}")],
    };
    let named = schema
        .pointer("/items/$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next());
    match (schema.get("type").and_then(Value::as_str), named, &value) {
        (Some("array"), Some(name), Value::Array(items)) => {
            let mut problems = Vec::new();
            if items.is_empty() {
                problems.push("an empty list of lines".into());
            }
            for (i, item) in items.iter().enumerate() {
                let item = without_nullable_nulls(spec, name, item);
                for p in spec.validate_named(name, &item) {
                    problems.push(format!("[{i}] {p}"));
                }
            }
            problems
        }
        (Some("array"), Some(name), _) => vec![format!("the body is not a list of `{name}`")],
        _ => spec.validate(schema, &value),
    }
}

fn without_nullable_nulls(spec: &Spec, schema: &str, item: &Value) -> Value {
    let Some(object) = item.as_object() else {
        return item.clone();
    };
    let kept: Map<String, Value> = object
        .iter()
        .filter(|(key, value)| {
            !(value.is_null()
                && spec
                    .property(schema, key)
                    .and_then(|p| p.get("nullable"))
                    .and_then(Value::as_bool)
                    == Some(true))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

type Fields = BTreeMap<String, Box<RawValue>>;

/// A property given: absent → `None`, `null` → `Some(None)`.
fn text(fields: &Fields, key: &str) -> Result<Option<Option<String>>, String> {
    match fields.get(key) {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(Some(None)),
        Some(raw) => serde_json::from_str::<String>(raw.get())
            .map(|s| Some(Some(s)))
            .map_err(|_| format!("`{key}` is not text")),
    }
}

fn number(fields: &Fields, key: &str) -> Result<Option<Decimal>, String> {
    match fields.get(key) {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) => {
            let t = raw.get().trim();
            let parsed = if t.contains(['e', 'E']) {
                Decimal::from_scientific(t).ok()
            } else {
                Decimal::from_str_exact(t).ok()
            };
            parsed
                .map(Some)
                .ok_or_else(|| format!("`{key}` is not a number"))
        }
    }
}

fn integer(fields: &Fields, key: &str) -> Result<Option<i64>, String> {
    match fields.get(key) {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) => raw
            .get()
            .parse()
            .map(Some)
            .map_err(|_| format!("`{key}` is not an integer")),
    }
}

fn date(value: Option<String>, key: &str) -> Result<Option<NaiveDate>, String> {
    value
        .map(|v| crate::wire::day(&v).ok_or_else(|| format!("`{key}` `{v}` is not a date")))
        .transpose()
}

/// Carries one `updatelines` line out: creates it (no `id`) or updates the properties given.
/// Returns the line's id.
pub fn apply_line(state: &mut State, fields: &Fields) -> Result<i64, String> {
    let ihid = integer(fields, "ihid")?.ok_or("`ihid` (the recurring invoice) is required")?;
    if !state.invoices.iter().any(|i| i.id == ihid) {
        return Err(format!("recurring invoice {ihid} not found"));
    }
    let item = match (integer(fields, "_itemid")?, text(fields, "item_code")?) {
        (Some(id), _) => Some(
            state
                .items
                .iter()
                .find(|i| i.id == id)
                .cloned()
                .ok_or(format!("item {id} not found"))?,
        ),
        (None, Some(Some(code))) => Some(
            state
                .items
                .iter()
                .find(|i| i.name == code)
                .cloned()
                .ok_or(format!("item `{code}` not found"))?,
        ),
        _ => None,
    };
    let id = integer(fields, "id")?.filter(|id| *id != 0);
    let mut line = match id {
        Some(id) => state
            .lines
            .iter()
            .find(|l| l.id == id && l.ihid == ihid)
            .cloned()
            .ok_or(format!("line {id} not found on recurring invoice {ihid}"))?,
        None => {
            let item = item
                .clone()
                .ok_or("a new line needs `_itemid` or `item_code`")?;
            if !fields.contains_key("qty_order") || !fields.contains_key("startdate") {
                return Err("a new line needs `qty_order` and `startdate`".into());
            }
            state.next_id += 1;
            Line {
                id: state.next_id,
                ihid,
                item_id: item.id,
                item_code: item.name.clone(),
                description: item.name.clone(),
                quantity: Decimal::ONE,
                unit_price: item.price,
                start: None,
                end: None,
                external_reference: None,
            }
        }
    };
    if let Some(item) = item {
        line.item_id = item.id;
        line.item_code = item.name;
    }
    if let Some(q) = number(fields, "qty_order")? {
        line.quantity = q;
    }
    if let Some(p) = number(fields, "unit_price")? {
        line.unit_price = p;
    }
    if let Some(text) = text(fields, "item_shortdescription")? {
        line.description = text.unwrap_or_default();
    }
    if let Some(start) = text(fields, "startdate")? {
        line.start = date(start, "startdate")?;
    }
    if let Some(end) = text(fields, "enddate")? {
        line.end = date(end, "enddate")?;
    }
    if let Some(reference) = text(fields, "item_external_reference")? {
        line.external_reference = reference;
    }
    match state.lines.iter_mut().find(|l| l.id == line.id) {
        Some(existing) => *existing = line.clone(),
        None => state.lines.push(line.clone()),
    }
    Ok(line.id)
}
