//! Sending a plan to a PSA (`tally push`): the desired-vs-current diff keyed on plan line ids,
//! one adapter per PSA behind the [`Psa`] trait, a journal that makes applying resumable, and
//! the HTTP client they share. See `docs/psa.md`.

mod adapter_common;
pub mod adapters;
pub mod answer;
pub mod autotask;
pub mod config;
pub mod connectwise;
pub mod desired;
pub mod diff;
pub mod error;
pub mod exact;
pub mod halopsa;
pub mod http;
pub mod journal;
pub mod model;
pub mod push;
pub mod render;
mod text;

pub use config::Config;
pub use error::{PsaError, Redactor, RequestError};
pub use model::*;
pub use push::{Psa, PushOptions, PushReport, WriteLog, push};
