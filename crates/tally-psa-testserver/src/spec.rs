//! A vendor's own API document (OpenAPI 3 or Swagger 2), loaded from the copy under `specs/`,
//! and the checks every request to a test server goes through: the path and method exist, the
//! required headers are there, the query names only declared parameters of the right type, and
//! a JSON body is valid against the document's schema (`$ref`s resolved inside the document).

use jsonschema::Validator;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

pub struct Spec {
    pub name: &'static str,
    doc: Value,
    /// `#/components/schemas` (OpenAPI 3) or `#/definitions` (Swagger 2).
    schemas_pointer: &'static str,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// The operation a request matched.
pub struct Operation<'a> {
    pub template: &'a str,
    pub method: String,
    pub op: Option<&'a Value>,
}

fn specs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

fn load(name: &'static str, file: &str, schemas_pointer: &'static str) -> Result<Spec, String> {
    let path = specs_dir().join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Spec {
        name,
        doc,
        schemas_pointer,
        validators: Mutex::new(HashMap::new()),
    })
}

/// ConnectWise Manage's OpenAPI document (GET operations; component schemas for writes).
pub fn connectwise() -> Result<&'static Spec, String> {
    static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();
    SPEC.get_or_init(|| {
        load(
            "ConnectWise Manage OpenAPI 2026.4",
            "connectwise/connectwise-manage-openapi-2026.4-get-subset.json",
            "/components/schemas",
        )
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Autotask's Swagger 2.0 document (`#/definitions`; paths under `/V1.0`). It spells
/// properties in PascalCase where the live API speaks camelCase: matching is case-insensitive.
pub fn autotask() -> Result<&'static Spec, String> {
    static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();
    SPEC.get_or_init(|| {
        load(
            "Autotask REST API v1 (Swagger 2.0)",
            "autotask/autotask-rest-v1-swagger.json",
            "/definitions",
        )
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// HaloPSA's OpenAPI 3 document (paths relative to the `/api` server).
pub fn halopsa() -> Result<&'static Spec, String> {
    static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();
    SPEC.get_or_init(|| {
        load(
            "HaloPSA API v2 (OpenAPI 3.0.1)",
            "halopsa/halopsa-api-v2-openapi.json",
            "/components/schemas",
        )
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn segments_match(template: &str, path: &str) -> Option<usize> {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (a, b) in t.iter().zip(&p) {
        if a.starts_with('{') && a.ends_with('}') {
            if b.is_empty() {
                return None;
            }
        } else if a.eq_ignore_ascii_case(b) {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

impl Spec {
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The path template a request path matches (the most literal one), and its operation for
    /// the method if the document has it.
    pub fn operation(&self, method: &str, path: &str) -> Result<Operation<'_>, String> {
        let paths = self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no paths")?;
        let best = paths
            .iter()
            .filter_map(|(template, item)| {
                segments_match(template, path).map(|n| (n, template, item))
            })
            .max_by_key(|(n, _, _)| *n);
        let Some((_, template, item)) = best else {
            return Err(format!("`{path}` is not a path of {}", self.name));
        };
        Ok(Operation {
            template,
            method: method.to_lowercase(),
            op: item.get(method.to_lowercase()),
        })
    }

    /// Checks query parameters and required headers against an operation's parameters.
    pub fn check_parameters(
        &self,
        op: &Value,
        query: &[(String, String)],
        headers: &[(String, String)],
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let params: Vec<&Value> = op
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|p| self.deref(p)).collect())
            .unwrap_or_default();
        for (name, value) in query {
            let declared = params.iter().find(|p| {
                p.get("in").and_then(Value::as_str) == Some("query")
                    && p.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            match declared {
                None => problems.push(format!("query parameter `{name}` is not declared")),
                Some(p) => {
                    let ty = p
                        .get("schema")
                        .and_then(|s| s.get("type"))
                        .or_else(|| p.get("type"))
                        .and_then(Value::as_str);
                    if ty == Some("integer") && value.parse::<i64>().is_err() {
                        problems.push(format!(
                            "query parameter `{name}` must be an integer, not `{value}`"
                        ));
                    }
                }
            }
        }
        for p in &params {
            let required = p.get("required").and_then(Value::as_bool) == Some(true);
            if required && p.get("in").and_then(Value::as_str) == Some("header") {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
                if !headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_empty())
                {
                    problems.push(format!("required header `{name}` is missing"));
                }
            }
        }
        problems
    }

    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix('#')
                .and_then(|p| self.doc.pointer(p))
                .unwrap_or(value),
            None => value,
        }
    }

    /// A named schema of the document (`Addition`, `ContractServiceAdjustment`).
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.doc
            .pointer(&format!("{}/{name}", self.schemas_pointer))
    }

    /// The schema of one property of a named schema, `$ref` resolved.
    pub fn property(&self, schema: &str, property: &str) -> Option<&Value> {
        let properties = self.schema(schema)?.get("properties")?.as_object()?;
        properties
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(property))
            .map(|(_, v)| self.deref(v))
    }

    /// The exact property name (the document's spelling) for a name matched ignoring case.
    pub fn property_name(&self, schema: &str, property: &str) -> Option<String> {
        let properties = self.schema(schema)?.get("properties")?.as_object()?;
        properties
            .keys()
            .find(|name| name.eq_ignore_ascii_case(property))
            .cloned()
    }

    /// Validates `instance` against a schema given as a JSON value whose `$ref`s point into the
    /// document (`{"$ref": "#/components/schemas/Addition"}`).
    pub fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let key = schema.to_string();
        let validator = {
            let cached = self
                .validators
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned();
            match cached {
                Some(v) => v,
                None => match self.build(schema) {
                    Ok(v) => {
                        let v = Arc::new(v);
                        self.validators
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(key, v.clone());
                        v
                    }
                    Err(e) => return vec![format!("the schema cannot be compiled: {e}")],
                },
            }
        };
        validator
            .iter_errors(instance)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("at `{at}`: {e}")
                }
            })
            .collect()
    }

    fn build(&self, schema: &Value) -> Result<Validator, String> {
        // The schema travels with the document's schemas beside it, so `#/…` pointers resolve
        // inside the same resource.
        let mut root = Map::new();
        let pointer: Vec<&str> = self
            .schemas_pointer
            .trim_start_matches('/')
            .split('/')
            .collect();
        let schemas = self
            .doc
            .pointer(self.schemas_pointer)
            .cloned()
            .unwrap_or(json!({}));
        match pointer.as_slice() {
            [outer, inner] => {
                root.insert((*outer).to_string(), json!({ *inner: schemas }));
            }
            [only] => {
                root.insert((*only).to_string(), schemas);
            }
            _ => {}
        }
        root.insert("allOf".into(), json!([schema]));
        jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| e.to_string())
    }

    /// Validates a body against a named schema, also refusing properties the schema does not
    /// have (a misspelt field is silently dropped by a real PSA: here it fails the test).
    pub fn validate_named(&self, name: &str, instance: &Value) -> Vec<String> {
        let mut problems = self.validate(
            &json!({ "$ref": format!("#{}/{name}", self.schemas_pointer) }),
            instance,
        );
        if let (Some(object), Some(schema)) = (instance.as_object(), self.schema(name))
            && let Some(properties) = schema.get("properties").and_then(Value::as_object)
        {
            for key in object.keys() {
                if !properties.contains_key(key) {
                    problems.push(format!("`{key}` is not a property of `{name}`"));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_document_loads_and_resolves_the_operations_tally_uses() {
        let connectwise = connectwise().unwrap();
        assert!(
            connectwise
                .operation("GET", "/finance/agreements/12/additions")
                .unwrap()
                .op
                .is_some()
        );
        let autotask = autotask().unwrap();
        let adjust = autotask
            .operation("POST", "/V1.0/ContractServiceAdjustments")
            .unwrap();
        assert!(adjust.op.is_some(), "{}", adjust.template);
        assert!(autotask.schema("ContractServiceAdjustmentModel").is_some());
        let halo = halopsa().unwrap();
        let lines = halo
            .operation("POST", "/RecurringInvoice/updatelines")
            .unwrap();
        assert!(lines.op.is_some(), "{}", lines.template);
        assert!(halo.schema("InvoiceDetail").is_some());
    }
}
