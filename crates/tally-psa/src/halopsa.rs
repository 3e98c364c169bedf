//! HaloPSA: recurring invoices and their lines (`docs/psa.md`, "HaloPSA"). Not yet
//! implemented: `adapters.rs` refuses `psa halopsa` customers.
