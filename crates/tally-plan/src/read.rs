//! Reading a plan back (reconciliation, the PSA push, plan diffs). Strict: a malformed amount,
//! currency or word is an error naming its JSON path, never a silent zero. Version 1 plans,
//! whose line ids began with the customer's display name, are upgraded to version 2 ids.

use crate::assemble::{line_id_root, slug};
use crate::model::{PLAN_VERSION, Plan};

/// Why a plan could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Where in the JSON, e.g. `customers[0].lines[3].amount`; empty for the whole document.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() || self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "at `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ReadError {}

/// Parses a plan written by `tally plan --format json`, of this version or an earlier one.
pub fn from_json(text: &str) -> Result<Plan, ReadError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    let mut plan: Plan = serde_path_to_error::deserialize(deserializer).map_err(|e| ReadError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    match plan.version {
        1 => upgrade_ids(&mut plan),
        PLAN_VERSION => {}
        other => {
            return Err(ReadError {
                path: "version".into(),
                message: format!(
                    "plan version {other} is newer than this Tally reads ({PLAN_VERSION}); upgrade Tally"
                ),
            });
        }
    }
    Ok(plan)
}

/// Version 1 ids were `slug(customer name)/line…`; version 2 ids are `tenant/line…`.
fn upgrade_ids(plan: &mut Plan) {
    for customer in &mut plan.customers {
        let old = format!("{}/", slug(&customer.customer));
        let new = format!("{}/", line_id_root(&customer.tenant));
        for line in &mut customer.lines {
            if let Some(rest) = line.id.strip_prefix(&old) {
                line.id = format!("{new}{rest}");
            }
        }
    }
    plan.version = PLAN_VERSION;
}
