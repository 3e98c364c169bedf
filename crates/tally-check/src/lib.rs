//! Semantic checking of one Tally file: names, types, clauses, the customer header. The result
//! is plain data ([`Checked`]): typed expressions for the IR stage and diagnostics as values.
//!
//! A file is checked against the interfaces of the modules it `use`s; which file a `use` names
//! is decided by the caller (the salsa database), so this crate does no I/O.
//!
//! The work is split by what is checked: [`items`] (the header, `use`, `let`, lines and their
//! clauses) and [`expr`] (names, fields, operators, functions). [`limits`] bounds how deep
//! definitions and expressions may nest, so that no later stage can run out of stack.

mod expr;
mod items;
mod limits;
mod lower;
#[cfg(test)]
mod testing;

use std::collections::{BTreeMap, BTreeSet};
use tally_diagnostics::{Diagnostic, Span};
use tally_ir::{
    Billing, Cadence, DatedPrice, LineKind, LineRounding, Measure, ModuleKey, Prorate, Psa,
    SplitKey, TExpr, Term, Tiers, Trueup, Type,
};
use tally_money::Currency;
use tally_syntax::ast;

pub use limits::{LetDepth, MAX_DEFINITION_DEPTH, MAX_NESTING};
pub use lower::{humanise, link};

/// What a module offers to the files that use it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Interface {
    pub lets: BTreeMap<String, Type>,
    /// How deep each definition builds, so that a chain through several modules is bounded too.
    pub depths: BTreeMap<String, LetDepth>,
}

/// A `use` as resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The span of the `use` target, for errors.
    pub span: Span,
    pub module: ModuleKey,
    /// `None` when nothing was found under that name.
    pub interface: Option<Interface>,
    /// Why it was not found, e.g. "no file at `shared/msp.tally`", and what exists instead.
    pub not_found: Option<(String, Option<String>)>,
}

/// One file, checked: its diagnostics, what it offers to files that use it, and its typed
/// definitions, header and lines for lowering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub module: ModuleKey,
    pub diagnostics: Vec<Diagnostic>,
    pub interface: Interface,
    /// This file's `let` bodies, typed.
    pub lets: BTreeMap<String, TExpr>,
    pub customer: Option<CustomerDecl>,
    pub lines: Vec<LineDecl>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The `customer { ... }` header, checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerDecl {
    pub name: String,
    pub tenant: String,
    pub tenant_span: Span,
    pub currency: Option<Currency>,
    pub psa: Option<Psa>,
    /// The day of the month billing periods start on (1 = calendar months).
    pub billing_day: u32,
    pub span: Span,
}

/// `split by KEY [otherwise "BUCKET"]`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SplitDecl {
    pub key: SplitKey,
    pub key_span: Span,
    /// Where users with no value for the key go.
    pub otherwise: Option<String>,
    /// The users whose counts the split follows.
    pub population: TExpr,
}

/// One line with its clauses, checked; defaults are decided later, when lowering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineDecl {
    pub name: String,
    pub name_span: Span,
    pub span: Span,
    pub kind: LineKind,
    pub value: TExpr,
    pub price: Option<TExpr>,
    pub minimum: Option<TExpr>,
    /// Units included in the contract at no charge.
    pub included: Option<TExpr>,
    /// Tiered prices instead of one `price`.
    pub tiers: Option<Tiers>,
    /// `from DATE [until DATE] price ...`: prices in force on given days, over the plain `price`.
    pub dated_prices: Vec<DatedPrice>,
    /// `bundle { "product": price, ... }`: each product billed for the line's quantity.
    pub bundle: Vec<(String, TExpr)>,
    pub split: Option<SplitDecl>,
    pub product: Option<String>,
    pub description: Option<String>,
    pub agreement: Option<String>,
    pub billing: Option<Billing>,
    pub term: Option<Term>,
    pub rounding: Option<LineRounding>,
    pub prorate: Option<Prorate>,
    pub measure: Option<Measure>,
    pub trueup: Option<Trueup>,
    /// `every ... [starting DATE]`, with the span of its keyword.
    pub every: Option<Every>,
}

/// `every year starting 2026-02-11`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Every {
    pub cadence: Cadence,
    pub starting: Option<chrono::NaiveDate>,
    pub span: Span,
}

/// Checks one parsed file. `imports` must hold one entry per `use` in the file, in order.
pub fn check(file: &ast::File, module: ModuleKey, imports: &[Import]) -> Checked {
    let mut checker = Checker::new(module);
    checker.run(file, imports);
    checker.finish()
}

/// Where the checking of a `let` body stands (each body is checked once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LetState {
    InProgress,
    Done,
}

/// A definition from a module this file uses.
#[derive(Debug, Clone)]
struct ImportedLet {
    module: ModuleKey,
    ty: Type,
    depth: LetDepth,
}

/// The state of checking one file.
pub(crate) struct Checker<'a> {
    module: ModuleKey,
    diagnostics: Vec<Diagnostic>,
    /// This file's definitions, by name.
    lets: BTreeMap<String, &'a ast::Let>,
    let_state: BTreeMap<String, LetState>,
    let_types: BTreeMap<String, Type>,
    typed_lets: BTreeMap<String, TExpr>,
    /// How deep each checked definition builds (see [`limits`]).
    let_depths: BTreeMap<String, LetDepth>,
    /// Definitions already reported as too deep: what builds on them is not reported again.
    too_deep: BTreeSet<String>,
    /// How many definitions are being checked inside one another right now.
    lets_in_progress: usize,
    /// How deep the expression being checked is, counting the definitions checked inside it.
    depth: usize,
    /// The expression-depth guard has fired: once is enough.
    nesting_reported: bool,
    imported: BTreeMap<String, ImportedLet>,
    used_imports: BTreeSet<String>,
    used_lets: BTreeSet<String>,
    customer_currency: Option<Currency>,
    customer: Option<CustomerDecl>,
    lines: Vec<LineDecl>,
}

impl<'a> Checker<'a> {
    fn new(module: ModuleKey) -> Checker<'a> {
        Checker {
            module,
            diagnostics: Vec::new(),
            lets: BTreeMap::new(),
            let_state: BTreeMap::new(),
            let_types: BTreeMap::new(),
            typed_lets: BTreeMap::new(),
            let_depths: BTreeMap::new(),
            too_deep: BTreeSet::new(),
            lets_in_progress: 0,
            depth: 0,
            nesting_reported: false,
            imported: BTreeMap::new(),
            used_imports: BTreeSet::new(),
            used_lets: BTreeSet::new(),
            customer_currency: None,
            customer: None,
            lines: Vec::new(),
        }
    }

    pub(crate) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn finish(mut self) -> Checked {
        self.diagnostics
            .sort_by_key(|d| (d.primary_span().start, d.primary_span().end));
        let interface = Interface {
            lets: self.let_types.clone(),
            depths: self.let_depths.clone(),
        };
        Checked {
            module: self.module,
            diagnostics: self.diagnostics,
            interface,
            lets: self.typed_lets,
            customer: self.customer,
            lines: self.lines,
        }
    }
}
