//! Reviewing plans before they are sent: what changed since the last plan ([`diff`]), rule
//! tests with golden plans and the expectation language ([`expect`]), and the month's billing as
//! one HTML page ([`html`]). Pure: callers read and write the files, run the pipeline
//! (`tally-driver`) and pass plans, outcomes and explanation texts in; this crate returns values
//! and text.

pub mod diff;
pub mod expect;
pub mod html;
mod text;

pub use diff::{Breach, PlanDiff, TooLarge, changes_above};
pub use text::html as escape_html;
