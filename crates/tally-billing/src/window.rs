//! The NCE reduction window.
//!
//! Microsoft lets seats be reduced or cancelled only within 7 days (168
//! hours) of being added or renewed; increases are allowed any time
//! (DOMAIN.md). Neither the documentation nor DOMAIN.md says whether the
//! 168th hour itself is inside, so the boundary is inclusive: a reduction
//! exactly 168 hours later is allowed. Refusing a reduction the customer was
//! entitled to costs them a month or a year of seats; allowing one at the
//! boundary at worst lets Partner Center reject it.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

/// The length of the window.
pub const REDUCTION_WINDOW: TimeDelta = TimeDelta::hours(168);

/// Can seats added or renewed at `changed_at` be reduced at `reduce_at`?
/// True from `changed_at` up to and including `changed_at + 168h`; false
/// after, and false for a `reduce_at` before `changed_at` (seats cannot be
/// reduced before they were added). Both times in the same zone (Partner
/// Center uses UTC).
pub fn reduction_allowed(changed_at: NaiveDateTime, reduce_at: NaiveDateTime) -> bool {
    reduce_at >= changed_at && reduce_at - changed_at <= REDUCTION_WINDOW
}

/// [`reduction_allowed`] for records that carry dates only (snapshots): the 168 hours from
/// some time on `changed_on` end during the seventh day after it, so a reduction dated up to
/// and including that day is taken to be inside (the customer is credited where Microsoft may
/// have credited them); the eighth day is outside.
pub fn reduction_allowed_on(changed_on: NaiveDate, reduce_on: NaiveDate) -> bool {
    reduce_on >= changed_on && (reduce_on - changed_on).num_days() <= 7
}
