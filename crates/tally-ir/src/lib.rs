//! The typed intermediate representation: data only. The checker builds it (types, the typed
//! expression tree, the line vocabulary, the linked [`Program`]); the evaluator and the plan
//! read it. Nothing here parses, checks or evaluates, and nothing depends on the syntax.
//!
//! API boundary: everything below `tally-check` in the crate graph (`tally-eval`, `tally-plan`,
//! the pipeline, the language server's hover) talks about rules in these types only.

pub mod expr;
pub mod fields;
pub mod line;
pub mod program;
pub mod types;

pub use expr::{BinaryOp, Builtin, LetId, ModuleKey, TExpr, TExprKind, UnaryOp};
pub use fields::{Field, FieldType, Source};
pub use line::{
    Billing, Cadence, DatedPrice, LineKind, LineRounding, Measure, Prorate, Psa, PsaKind, SplitKey,
    Term, TierMode, Tiers, Trueup,
};
pub use program::{Customer, Line, Program, Resold, SkuSelect, Sources, Split};
pub use types::{CurrencyRef, Namespace, Record, Type};
