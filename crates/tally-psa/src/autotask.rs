//! Autotask: contract services and their adjustments (`docs/psa.md`, "Autotask"). Not yet
//! implemented: `adapters.rs` refuses `psa autotask` customers.
