//! The three changes an adapter that keeps one PSA line per plan line writes (ConnectWise,
//! HaloPSA): a create, an update (or adoption), a cancellation; with what each one needs taken
//! from the change, or an error when it is missing.

use crate::desired::cancel_day;
use crate::error::PsaError;
use crate::model::{Action, Change, CustomerTarget, DesiredLine};
use chrono::NaiveDate;

pub(crate) enum LineChange<'a> {
    Create(&'a DesiredLine),
    /// An update or an adoption of the PSA's line `id`.
    Update {
        line: &'a DesiredLine,
        id: &'a str,
    },
    /// The PSA's line `id` ends: `last_day` is the last day it bills.
    Cancel {
        id: &'a str,
        last_day: NaiveDate,
    },
}

impl<'a> LineChange<'a> {
    /// What `change` writes; `psa` names the PSA when there is nothing to write.
    pub(crate) fn of(
        psa: &str,
        change: &'a Change,
        target: &CustomerTarget,
    ) -> Result<LineChange<'a>, PsaError> {
        match change.action {
            Action::Create => match &change.desired {
                Some(line) => Ok(LineChange::Create(line)),
                None => Err(PsaError::Config("a create without a line".into())),
            },
            Action::Update | Action::Adopt => match (&change.desired, &change.external_id) {
                (Some(line), Some(id)) => Ok(LineChange::Update { line, id }),
                _ => Err(PsaError::Config("an update without a line".into())),
            },
            Action::Cancel => match &change.external_id {
                Some(id) => Ok(LineChange::Cancel {
                    id,
                    last_day: last_billed_day(change, target),
                }),
                None => Err(PsaError::Config("a cancellation without a line".into())),
            },
            Action::Unchanged | Action::NotOwned | Action::Refused => Err(PsaError::Config(
                format!("{psa}: nothing to write for `{}`", change.key),
            )),
        }
    }
}

/// The last day a cancelled line bills: the change's own, else the day before the period.
pub(crate) fn last_billed_day(change: &Change, target: &CustomerTarget) -> NaiveDate {
    change
        .cancel_on
        .unwrap_or_else(|| cancel_day(target.period_start))
}
