//! Microsoft Graph responses: `GET /users` and `GET /subscribedSkus`.
//!
//! A file holds one page (`{"value": [...]}`), a JSON array of pages, or JSON Lines. Without
//! `$select`, Graph leaves out `accountEnabled`, `department` and `assignedLicenses`, and a
//! user without `accountEnabled` cannot be billed correctly (disabled users still hold
//! licences), so by default their absence is an error that says how to fetch the file.
//! Lenient mode takes a missing `accountEnabled` as `true` (one warning per user) and a
//! missing `department` or `assignedLicenses` as unset (one warning per file).

use std::collections::HashMap;

use serde_json::{Map, Value};
use tally_snapshot::User;

use crate::detect::{FileKind, wrong_kind};
use crate::error::{ImportError, Warning, code_list};
use crate::json::{self, Item};
use crate::source::Source;

/// The `$select` that gives everything a snapshot needs.
pub const USERS_SELECT: &str = "id,userPrincipalName,displayName,department,officeLocation,city,accountEnabled,assignedLicenses";

/// One entry of `GET /subscribedSkus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphSku {
    pub sku_id: String,
    pub part_number: String,
    /// `prepaidUnits.enabled`: seats bought and active.
    pub enabled: u32,
    /// `prepaidUnits.suspended`, `warning`, `lockedOut` (0 when absent).
    pub suspended: u32,
    pub warning: u32,
    pub locked_out: u32,
    /// `consumedUnits`: seats assigned to users.
    pub consumed: u32,
    /// `capabilityStatus`: `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    pub capability_status: Option<String>,
    pub file: String,
    pub line: Option<u64>,
}

/// One item of a Graph file, as a JSON object, with what is needed to report on it.
struct Record<'a> {
    file: &'a str,
    item: &'a Item<'a>,
    map: Map<String, Value>,
}

impl Record<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> ImportError {
        ImportError::file(self.file, message)
            .at_line(self.item.line)
            .at_record(Some(self.item.record))
            .in_column(field)
    }

    fn warning(&self, message: impl Into<String>) -> Warning {
        Warning::at(self.file, self.item.line, Some(self.item.record), message)
    }

    /// A string field that must be present and not null.
    fn string(&self, field: &str, who: &str) -> Result<String, ImportError> {
        match self.map.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) | None => Err(self.error(field, format!("{who} has no `{field}`"))),
            Some(other) => Err(self.error(field, format!("expected a string, found {other}"))),
        }
    }

    /// An optional text field: absent and null both give `None`.
    fn optional_string(&self, field: &str) -> Result<Option<String>, ImportError> {
        match self.map.get(field) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Null) | None => Ok(None),
            Some(other) => Err(self.error(field, format!("expected a string, found {other}"))),
        }
    }

    /// A whole number; Graph writes numbers, but a hand-edited file may quote them.
    fn whole(&self, field: &str, value: Option<&Value>, who: &str) -> Result<u32, ImportError> {
        let text = match value {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => {
                return Err(self.error(field, format!("{who} has no `{field}`")));
            }
            Some(other) => other.to_string(),
        };
        crate::values::whole(&text).map_err(|m| self.error(field, m))
    }
}

fn records<'a>(file: &'a str, items: &'a [Item<'a>]) -> Result<Vec<Record<'a>>, ImportError> {
    items
        .iter()
        .map(|item| {
            let map: Map<String, Value> = serde_json::from_str(item.raw.get()).map_err(|e| {
                ImportError::file(file, format!("expected a JSON object: {e}"))
                    .at_line(item.line)
                    .at_record(Some(item.record))
            })?;
            Ok(Record { file, item, map })
        })
        .collect()
}

/// Parse a Graph file's pages, checking it is the expected kind. Returns the items and the
/// last page's `@odata.nextLink`, if any.
fn read_pages<'t>(
    source: &Source,
    text: &'t str,
    expected: FileKind,
    what: &str,
) -> Result<(Vec<Item<'t>>, Option<String>), ImportError> {
    let file = source.name();
    let kind = crate::detect::detect(source.path(), text.as_bytes());
    if !matches!(kind, FileKind::Unknown | FileKind::OtherJson) && kind != expected {
        return Err(wrong_kind(&file, &kind, what));
    }
    let collection = json::collection(&file, text)?;
    Ok((collection.items, collection.next_link))
}

/// A last page that still links to a next one: pages are missing. An error, or a warning when
/// lenient.
fn missing_pages(
    file: &str,
    next: &str,
    lenient: bool,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    let message = format!(
        "the last page has `@odata.nextLink` ({next}): later pages are missing from the \
         file; follow the link and add them (as an array of pages or another file)"
    );
    if lenient {
        warnings.push(Warning::file(file, message));
        Ok(())
    } else {
        Err(ImportError::file(file, message))
    }
}

/// Read users from one or more `GET /users` files (pages of the same tenant).
pub fn read_users(
    sources: &[Source],
    lenient: bool,
) -> Result<(Vec<User>, Vec<Warning>), ImportError> {
    let mut users = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<String, (String, u64)> = HashMap::new();
    // Pages may come in several files; exactly one of them ends the chain of nextLinks.
    let mut dangling: Vec<(String, String)> = Vec::new();
    for source in sources {
        let file = source.name();
        let text = source.read_text()?;
        let (items, next) = read_pages(
            source,
            &text,
            FileKind::GraphUsers,
            "a Microsoft Graph users response",
        )?;
        if let Some(next) = next {
            dangling.push((file.clone(), next));
        }
        let mut no_department = 0u64;
        let mut no_licences = 0u64;
        for record in records(&file, &items)? {
            let user = read_user(
                &record,
                lenient,
                &mut warnings,
                &mut no_department,
                &mut no_licences,
            )?;
            let key = user.id.trim().to_lowercase();
            if let Some((other_file, other_record)) = seen.get(&key) {
                return Err(record.error(
                    "id",
                    format!(
                        "user id `{}` appears twice (also {other_file}, record {other_record}); \
                         were pages fetched twice?",
                        user.id
                    ),
                ));
            }
            seen.insert(key, (file.clone(), record.item.record));
            users.push(user);
        }
        if no_department > 0 {
            warnings.push(Warning::file(
                &file,
                format!(
                    "{no_department} user(s) have no `department` field (fetched without \
                     $select?); their department is left unset"
                ),
            ));
        }
        if no_licences > 0 {
            warnings.push(Warning::file(
                &file,
                format!(
                    "{no_licences} user(s) have no `assignedLicenses` field (fetched without \
                     $select?); they are taken to hold no licences"
                ),
            ));
        }
    }
    if !sources.is_empty()
        && dangling.len() == sources.len()
        && let Some((file, next)) = dangling.last()
    {
        missing_pages(file, next, lenient, &mut warnings)?;
    }
    Ok((users, warnings))
}

/// One user. Fields Graph leaves out without `$select` are an error unless lenient; a missing
/// `department` or `assignedLicenses` is counted for one warning per file.
fn read_user(
    r: &Record<'_>,
    lenient: bool,
    warnings: &mut Vec<Warning>,
    no_department: &mut u64,
    no_licences: &mut u64,
) -> Result<User, ImportError> {
    let n = r.item.record;
    let id = r.string("id", &format!("user {n}"))?;
    let upn = r.string("userPrincipalName", &format!("user {n} (`{id}`)"))?;
    let who = format!("user {n} (`{upn}`)");
    if !lenient {
        require_selected(r, &who)?;
    }
    let enabled = account_enabled(r, &who, lenient, warnings)?;
    if !r.map.contains_key("department") {
        *no_department += 1;
    }
    let display_name = match r.optional_string("displayName")? {
        Some(name) => name,
        None => {
            warnings.push(r.warning(format!(
                "{who} has no `displayName`; the user principal name is used instead"
            )));
            upn.clone()
        }
    };
    let assigned_skus = match assigned_licences(r, &who)? {
        Some(skus) => skus,
        None => {
            *no_licences += 1;
            Vec::new()
        }
    };
    Ok(User {
        id,
        upn,
        display_name,
        department: r.optional_string("department")?,
        office: r.optional_string("officeLocation")?,
        city: r.optional_string("city")?,
        enabled,
        assigned_skus,
        created: None,
        deleted: None,
        changes: Vec::new(),
    })
}

/// Refuse a user without the fields Graph leaves out unless they are selected, naming them all
/// and the `$select` that gives them.
fn require_selected(r: &Record<'_>, who: &str) -> Result<(), ImportError> {
    let missing: Vec<&str> = ["accountEnabled", "department", "assignedLicenses"]
        .into_iter()
        .filter(|f| !r.map.contains_key(*f))
        .collect();
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let list = code_list(&missing);
    Err(r.error(
        first,
        format!(
            "{who} has no {list}: Graph leaves these out unless they are selected, and \
             without accountEnabled a disabled user's licences cannot be billed correctly; \
             fetch /users?$select={USERS_SELECT} (or import leniently to take a missing \
             accountEnabled as enabled)"
        ),
    ))
}

/// `accountEnabled`; when lenient, a missing one is taken as enabled, with a warning.
fn account_enabled(
    r: &Record<'_>,
    who: &str,
    lenient: bool,
    warnings: &mut Vec<Warning>,
) -> Result<bool, ImportError> {
    match r.map.get("accountEnabled") {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => {
            crate::values::boolean(s).map_err(|m| r.error("accountEnabled", m))
        }
        None | Some(Value::Null) if lenient => {
            warnings.push(r.warning(format!("{who} has no `accountEnabled`; taken as enabled")));
            Ok(true)
        }
        None | Some(Value::Null) => Err(r.error(
            "accountEnabled",
            format!("{who} has a null `accountEnabled`"),
        )),
        Some(other) => Err(r.error(
            "accountEnabled",
            format!("expected true or false, found {other}"),
        )),
    }
}

/// The SKU ids of `assignedLicenses`; `None` when the field is absent or null.
fn assigned_licences(r: &Record<'_>, who: &str) -> Result<Option<Vec<String>>, ImportError> {
    match r.map.get("assignedLicenses") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(licences)) => licences
            .iter()
            .map(|l| match l.get("skuId") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(r.error(
                    "assignedLicenses",
                    format!("{who}: expected each licence to have a `skuId` string, found {l}"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(r.error(
            "assignedLicenses",
            format!("expected a list of licences, found {other}"),
        )),
    }
}

/// Read a `GET /subscribedSkus` file.
pub fn read_subscribed_skus(
    source: &Source,
    lenient: bool,
) -> Result<(Vec<GraphSku>, Vec<Warning>), ImportError> {
    let file = source.name();
    let text = source.read_text()?;
    let mut warnings = Vec::new();
    let (items, next) = read_pages(
        source,
        &text,
        FileKind::GraphSubscribedSkus,
        "a Microsoft Graph subscribedSkus response",
    )?;
    if let Some(next) = next {
        missing_pages(&file, &next, lenient, &mut warnings)?;
    }
    let mut skus = Vec::new();
    for r in records(&file, &items)? {
        let n = r.item.record;
        let sku_id = r.string("skuId", &format!("SKU {n}"))?;
        let part_number = r.string("skuPartNumber", &format!("SKU {n} (`{sku_id}`)"))?;
        let who = format!("SKU {n} (`{part_number}`)");
        let prepaid = r.map.get("prepaidUnits");
        if !matches!(prepaid, Some(Value::Object(_))) {
            return Err(r.error(
                "prepaidUnits",
                format!("{who} has no `prepaidUnits` object"),
            ));
        }
        let unit = |name: &str| prepaid.and_then(|p| p.get(name));
        let optional = |name: &str| -> Result<u32, ImportError> {
            match unit(name) {
                None | Some(Value::Null) => Ok(0),
                v => r.whole(&format!("prepaidUnits.{name}"), v, &who),
            }
        };
        let sku = GraphSku {
            enabled: r.whole("prepaidUnits.enabled", unit("enabled"), &who)?,
            suspended: optional("suspended")?,
            warning: optional("warning")?,
            locked_out: optional("lockedOut")?,
            consumed: r.whole("consumedUnits", r.map.get("consumedUnits"), &who)?,
            capability_status: r.optional_string("capabilityStatus")?,
            sku_id,
            part_number,
            file: file.clone(),
            line: r.item.line,
        };
        if let Some(status) = &sku.capability_status
            && !status.eq_ignore_ascii_case("Enabled")
        {
            warnings.push(r.warning(format!(
                "{who} is `{status}`: {} seats enabled, {} in warning, {} suspended, {} locked \
                 out; only enabled seats count as purchased",
                sku.enabled, sku.warning, sku.suspended, sku.locked_out
            )));
        }
        skus.push(sku);
    }
    Ok((skus, warnings))
}
