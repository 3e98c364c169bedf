//! The pipeline as a library. Everything between "the files and the snapshot are in memory"
//! and "here is the plan (or the explanation)": which billing period, which customers, linking,
//! evaluation, assembly, input hashes. The CLI (`tally plan`, `tally explain`), the language
//! server (live values on hover) and the PSA push all call this; none re-implements it.
//!
//! Invariants: no I/O (callers read files and pass text), no terminal, no printing. Problems
//! come back as located diagnostics per file ([`FileDiagnostic`]), or as a [`Refusal`] when the
//! request itself cannot be met.

mod explain;
mod period;
mod run;
mod usage_reads;

pub use explain::{Explanation, MinimumNote, Pricing, explain};
pub use period::{customer_period, month, plan_period};
pub use run::{PlanRun, diagnostics, input_file, plan, plan_with};
pub use tally_eval::Detail;
pub use usage_reads::UsageReads;

use tally_diagnostics::Diagnostic;

/// A diagnostic and the file (database key) it points into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiagnostic {
    pub file: String,
    pub diagnostic: Diagnostic,
}

/// Why a pipeline call produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The rules or the data have problems, each located in a file.
    Problems(Vec<FileDiagnostic>),
    /// The request cannot be met as asked (no such line, a period the snapshot does not
    /// cover, no customer file): a sentence for the person who asked.
    Refusal(String),
}
