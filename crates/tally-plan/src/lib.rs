//! The plan stage: turns evaluated rule lines into invoice lines (minimums, rounding, exact
//! split allocation, stable ids, provenance) and writes plans as JSON, CSV or a table.

mod assemble;
mod merge;
mod model;
mod proration;
mod read;
mod render;
mod text;
mod tiered;

pub use assemble::{
    PlanError, assemble_customer, drivers, line_id_root, rounded_amount, rounded_unit_price,
};
pub use merge::merge;
pub use model::*;
pub use read::{ReadError, from_json};
pub use render::{to_csv, to_json, to_table};
