//! Fake PSAs for tests, in-process: each serves HTTP on 127.0.0.1 and an ephemeral port, keeps
//! its state in memory with deterministic ids and a controllable "today", injects faults
//! (429 with `Retry-After`, 500/503, slow answers, a write committed whose answer is lost, a
//! held connection for kill tests, HTML and truncated answers), and checks every request
//! against the vendor's own OpenAPI/Swagger document copied under `specs/` (see
//! `specs/*/SOURCE.txt`). A request the real PSA would reject is recorded as a violation.

pub mod autotask;
pub mod conditions;
pub mod connectwise;
mod fake_core;
pub mod faults;
pub mod halopsa;
pub mod server;
pub mod spec;
mod wire;

pub use faults::{Fault, Faults, RandomFaults};
pub use server::Server;
