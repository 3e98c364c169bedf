//! Autotask queries and the document check of bodies: names mapped to the Swagger document's
//! spelling ignoring case (the live API speaks camelCase, the document PascalCase), unknown
//! properties refused, and `filter` conditions evaluated over entities as Autotask does
//! (`eq`, `noteq`, `gt`, `gte`, `lt`, `lte`, `beginsWith`, `endsWith`, `contains`, `exist`,
//! `notExist`, `in`, `notIn`, and `and`/`or` groups of `items`; text compared ignoring case).

use crate::spec::Spec;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// The definition a property refers to (`$ref`, or an array's `items.$ref`), by name.
fn referenced(property: &Value) -> Option<(&str, bool)> {
    fn name(v: &Value) -> Option<&str> {
        v.get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
    }
    if let Some(n) = name(property) {
        return Some((n, false));
    }
    property.get("items").and_then(name).map(|n| (n, true))
}

/// `instance` with every property renamed to the document's spelling of definition `model`,
/// recursively; names the document does not have are problems. A filter's `value` is checked to
/// be a plain value or a list of them and left out: the document types it as a `ValueItem`
/// object, which is not what the API reads (`SOURCE.txt`, "Known inaccuracies").
pub fn canonical(spec: &Spec, model: &str, instance: &Value, problems: &mut Vec<String>) -> Value {
    let Value::Object(object) = instance else {
        return instance.clone();
    };
    let properties = spec
        .schema(model)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    let mut out = Map::new();
    for (key, value) in object {
        let Some(name) = spec.property_name(model, key) else {
            problems.push(format!("`{key}` is not a property of `{model}`"));
            continue;
        };
        if model == "Filter" && name == "value" {
            let plain = |v: &Value| !v.is_object() && !v.is_array();
            let ok = plain(value) || value.as_array().is_some_and(|a| a.iter().all(plain));
            if !ok {
                problems.push(format!(
                    "filter value `{value}` is not a value or a list of values"
                ));
            }
            continue;
        }
        let property = properties.and_then(|p| p.get(&name));
        let mapped = match property.and_then(referenced) {
            Some((inner, false)) => canonical(spec, inner, value, problems),
            Some((inner, true)) => match value {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|item| canonical(spec, inner, item, problems))
                        .collect(),
                ),
                other => other.clone(),
            },
            None => value.clone(),
        };
        out.insert(name, mapped);
    }
    Value::Object(out)
}

/// Checks a body against definition `model`: names as the document spells them, then the
/// document's schema. Returns the problems (empty when valid).
pub fn check(spec: &Spec, model: &str, instance: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mapped = canonical(spec, model, instance, &mut problems);
    problems.extend(spec.validate(&resolvable(spec, model), &mapped));
    problems
}

/// A definition as a schema the validator can compile: the document's read-only
/// `SoapParentPropertyId` refers to definitions named like `Expression[Func[…]]`, which are not
/// valid URI references; such properties are only checked to be absent from what is sent.
fn resolvable(spec: &Spec, model: &str) -> Value {
    let mut schema = spec.schema(model).cloned().unwrap_or(Value::Null);
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for property in properties.values_mut() {
            let unresolvable = property
                .get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| r.contains('['));
            if unresolvable {
                *property = serde_json::json!({"not": {}});
            }
        }
    }
    schema
}

/// A property of an entity's wire object, found ignoring case.
pub fn get<'a>(row: &'a Value, field: &str) -> Option<&'a Value> {
    row.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

fn when(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim_end_matches('Z');
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

fn number(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => Decimal::from_str_exact(&n.to_string()).ok(),
        _ => None,
    }
}

/// How a field's value compares with a filter's value, when they can be compared.
fn compare(field: &Value, wanted: &Value) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (number(field), number(wanted)) {
        return Some(a.cmp(&b));
    }
    match (field, wanted) {
        (Value::String(a), Value::String(b)) => match (when(a), when(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        },
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        // Autotask reads `"1"` and `1` alike for numeric fields.
        (Value::Number(_), Value::String(s)) => {
            let b = Decimal::from_str_exact(s).ok()?;
            Some(number(field)?.cmp(&b))
        }
        _ => None,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

/// Whether `row` (an entity's wire object, of definition `model`) passes one filter condition.
pub fn matches(spec: &Spec, model: &str, condition: &Value, row: &Value) -> Result<bool, String> {
    let op = get(condition, "op")
        .and_then(Value::as_str)
        .ok_or("a filter condition without `op`")?
        .to_ascii_lowercase();
    if op == "and" || op == "or" {
        let items = get(condition, "items")
            .and_then(Value::as_array)
            .filter(|i| !i.is_empty())
            .ok_or(format!("`{op}` without `items`"))?;
        let mut results = Vec::new();
        for item in items {
            results.push(matches(spec, model, item, row)?);
        }
        return Ok(if op == "and" {
            results.iter().all(|r| *r)
        } else {
            results.iter().any(|r| *r)
        });
    }
    let field = get(condition, "field")
        .and_then(Value::as_str)
        .ok_or(format!("`{op}` without `field`"))?;
    if spec.property_name(model, field).is_none() {
        return Err(format!("`{field}` is not a field of `{model}`"));
    }
    let actual = get(row, field).cloned().unwrap_or(Value::Null);
    let wanted = get(condition, "value").cloned().unwrap_or(Value::Null);
    let present = !actual.is_null();
    let ordered = |test: fn(Ordering) -> bool| -> Result<bool, String> {
        if wanted.is_null() {
            return Err(format!("`{op}` on `{field}` without `value`"));
        }
        Ok(present && compare(&actual, &wanted).is_some_and(test))
    };
    match op.as_str() {
        "eq" => ordered(|o| o == Ordering::Equal),
        "noteq" => ordered(|o| o != Ordering::Equal).map(|m| m || !present),
        "gt" => ordered(|o| o == Ordering::Greater),
        "gte" => ordered(|o| o != Ordering::Less),
        "lt" => ordered(|o| o == Ordering::Less),
        "lte" => ordered(|o| o != Ordering::Greater),
        "in" | "notin" => {
            let list = wanted
                .as_array()
                .filter(|l| !l.is_empty() && l.len() <= 500)
                .ok_or(format!(
                    "`{op}` on `{field}` takes a list of 1 to 500 values"
                ))?;
            let found = present
                && list
                    .iter()
                    .any(|v| compare(&actual, v) == Some(Ordering::Equal));
            Ok(if op == "in" { found } else { !found })
        }
        "beginswith" => Ok(present && text(&actual).starts_with(&text(&wanted))),
        "endswith" => Ok(present && text(&actual).ends_with(&text(&wanted))),
        "contains" => Ok(present && text(&actual).contains(&text(&wanted))),
        "exist" => Ok(present),
        "notexist" => Ok(!present),
        other => Err(format!("`{other}` is not a filter operator")),
    }
}
