//! The plan stage: turns evaluated rule lines into invoice lines (minimums, rounding, exact
//! split allocation, stable ids, provenance) and writes plans as JSON, CSV or a table.

mod assemble;
mod model;
mod proration;
mod render;
mod tiered;

pub use assemble::{PlanError, assemble_customer, drivers};
pub use model::*;
pub use render::{to_csv, to_json, to_table};
