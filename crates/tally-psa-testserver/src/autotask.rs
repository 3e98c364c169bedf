//! A fake Autotask REST API (not yet written).
