//! The mapping file: which snapshot tenant (the name rule files use) a Microsoft tenant id,
//! Partner Center customer id or domain belongs to.
//!
//! ```text
//! microsoft_id,tenant
//! 0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0,northwind.onmicrosoft.com
//! northwind.co.uk,northwind.onmicrosoft.com
//! ```
//!
//! Ids are matched ignoring case and surrounding space, and a Partner Center `org:` prefix
//! (seen on some customer ids in the API) is ignored.

use std::collections::HashMap;

use crate::csvfile::CsvFile;
use crate::detect::FileKind;
use crate::error::ImportError;
use crate::source::Source;
use crate::table::{columns, require_columns};

columns! {
    enum Col {
        MicrosoftId = "microsoft_id" | "microsoftid" | "id",
        Tenant = "tenant" | "tenant_name",
    }
}

/// Microsoft ids to snapshot tenant names.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Normalised id → (tenant, file, line).
    entries: HashMap<String, (String, String, u64)>,
}

/// How an id is compared: trimmed, lower case, without `org:`.
pub(crate) fn normalize_id(id: &str) -> String {
    let t = id.trim();
    let t = match t.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("org:") => t.get(4..).unwrap_or_default(),
        _ => t,
    };
    t.trim().to_lowercase()
}

/// Whether an id has the shape of a GUID (a tenant or customer id rather than a domain).
pub(crate) fn is_guid(id: &str) -> bool {
    let id = normalize_id(id);
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

impl Mapping {
    /// Read a mapping CSV. Errors on a missing header, an empty cell, or one id mapped to two
    /// different tenants (naming both lines).
    pub fn read(source: &Source) -> Result<Mapping, ImportError> {
        let file = source.name();
        let text = source.read_text_as(FileKind::MappingCsv, "a tenant mapping file")?;
        let mut csv = CsvFile::from_text::<Col>(&file, &text)?;
        require_columns(
            &file,
            &csv.columns,
            &[Col::MicrosoftId, Col::Tenant],
            "a mapping file needs `microsoft_id,tenant`",
        )?;
        let mut mapping = Mapping::default();
        csv.for_each_row(|row| {
            let id = row.required(Col::MicrosoftId)?;
            let tenant = row.required(Col::Tenant)?;
            let line = row.line.unwrap_or(0);
            let key = normalize_id(id);
            match mapping.entries.get(&key) {
                Some((other, other_file, other_line)) if !other.eq_ignore_ascii_case(tenant) => {
                    Err(row.error(
                        Col::MicrosoftId,
                        format!(
                            "`{id}` is mapped to `{tenant}` here and to `{other}` at \
                             {other_file}:{other_line}"
                        ),
                    ))
                }
                // The same id mapped to the same tenant again: the first line is kept.
                Some(_) => Ok(()),
                None => {
                    mapping
                        .entries
                        .insert(key, (tenant.to_string(), file.clone(), line));
                    Ok(())
                }
            }
        })?;
        Ok(mapping)
    }

    /// Add the entries of another mapping file; an id mapped to two tenants is an error.
    pub fn merge(&mut self, other: Mapping, file: &str) -> Result<(), ImportError> {
        for (key, (tenant, other_file, line)) in other.entries {
            match self.entries.get(&key) {
                Some((existing, first_file, first_line))
                    if !existing.eq_ignore_ascii_case(&tenant) =>
                {
                    return Err(ImportError::file(
                        file,
                        format!(
                            "`{key}` is mapped to `{tenant}` here and to `{existing}` at \
                             {first_file}:{first_line}"
                        ),
                    )
                    .at_line(Some(line)));
                }
                Some(_) => {}
                None => {
                    self.entries.insert(key, (tenant, other_file, line));
                }
            }
        }
        Ok(())
    }

    /// Add one entry in code (an id and the tenant it belongs to).
    pub fn insert(&mut self, microsoft_id: &str, tenant: &str) {
        self.entries.insert(
            normalize_id(microsoft_id),
            (tenant.to_string(), String::new(), 0),
        );
    }

    /// The tenant an id (tenant id, customer id or domain) is mapped to.
    pub fn lookup(&self, microsoft_id: &str) -> Option<&str> {
        self.entries
            .get(&normalize_id(microsoft_id))
            .map(|(t, _, _)| t.as_str())
    }

    /// The single GUID mapped to a tenant, if exactly one is: it becomes the snapshot's
    /// `tenant_id` (a Partner Center customer id is the customer's Entra tenant id).
    pub fn tenant_id_of(&self, tenant: &str) -> Option<String> {
        let mut ids = self
            .entries
            .iter()
            .filter(|(id, (t, _, _))| t.eq_ignore_ascii_case(tenant) && is_guid(id))
            .map(|(id, _)| id.clone());
        let first = ids.next()?;
        ids.next().is_none().then_some(first)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
