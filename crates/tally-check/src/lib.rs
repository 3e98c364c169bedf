//! Semantic checking of one Tally file: names, types, clauses, the customer header. The result
//! is plain data ([`Checked`]): typed expressions for the IR stage and diagnostics as values.
//!
//! A file is checked against the interfaces of the modules it `use`s; which file a `use` names
//! is decided by the caller (the salsa database), so this crate does no I/O.

mod expr;
pub mod fields;
mod items;
pub mod typed;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};
use tally_money::{Currency, Rounding};
use tally_syntax::ast::{self, LineKind};
use tally_syntax::{Diagnostic, Span};
pub use typed::{Builtin, LetId, ModuleKey, TExpr, TExprKind};
pub use types::{CurrencyRef, Namespace, Record, Type};

/// What a module offers to the files that use it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Interface {
    pub lets: BTreeMap<String, Type>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PsaKind {
    ConnectWise,
    Autotask,
    HaloPsa,
}

impl PsaKind {
    pub fn name(self) -> &'static str {
        match self {
            PsaKind::ConnectWise => "connectwise",
            PsaKind::Autotask => "autotask",
            PsaKind::HaloPsa => "halopsa",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PsaDecl {
    pub kind: PsaKind,
    pub company: String,
    pub agreement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerDecl {
    pub name: String,
    pub tenant: String,
    pub tenant_span: Span,
    pub currency: Option<Currency>,
    pub psa: Option<PsaDecl>,
    /// The day of the month billing periods start on (1 = calendar months).
    pub billing_day: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Billing {
    Advance,
    Arrears,
}

impl Billing {
    pub fn name(self) -> &'static str {
        match self {
            Billing::Advance => "advance",
            Billing::Arrears => "arrears",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Term {
    Monthly,
    Annual,
    Triennial,
}

impl Term {
    pub fn name(self) -> &'static str {
        match self {
            Term::Monthly => "monthly",
            Term::Annual => "annual",
            Term::Triennial => "triennial",
        }
    }
}

/// How a line rounds: its unit price (to the currency's minor unit) and, when prorated, each
/// prorated charge. `truncate_product` and `truncate_unit` are Microsoft's two formulas (R1:
/// truncate `unit / cycle × days × qty`; R2: truncate `unit / cycle × days`, then × qty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LineRounding {
    #[default]
    HalfUp,
    HalfEven,
    Truncate,
    TruncateProduct,
    TruncateUnit,
}

impl LineRounding {
    pub const ALL: [LineRounding; 5] = [
        LineRounding::HalfUp,
        LineRounding::HalfEven,
        LineRounding::Truncate,
        LineRounding::TruncateProduct,
        LineRounding::TruncateUnit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LineRounding::HalfUp => "half_up",
            LineRounding::HalfEven => "half_even",
            LineRounding::Truncate => "truncate",
            LineRounding::TruncateProduct => "truncate_product",
            LineRounding::TruncateUnit => "truncate_unit",
        }
    }

    /// The rounding of a unit price or an amount to the minor unit.
    pub fn money(self) -> Rounding {
        match self {
            LineRounding::HalfUp => Rounding::HalfUp,
            LineRounding::HalfEven => Rounding::HalfEven,
            _ => Rounding::Truncate,
        }
    }
}

/// `prorate daily | none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Prorate {
    #[default]
    None,
    Daily,
}

/// Which count a line bills when it is not prorated: `measure start | end | max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Start,
    End,
    Max,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Start => "start",
            Measure::End => "end",
            Measure::Max => "max",
        }
    }
}

/// How a prorated advance line bills last period's changes: one line per change for the
/// difference (`delta`, the PSA convention), or Microsoft's refund of the old quantity and
/// charge of the new (`replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Trueup {
    #[default]
    Delta,
    Replace,
}

/// `graduated`: each unit at the price of the tier it falls in; `volume`: every unit at the price
/// of the tier the whole quantity falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TierMode {
    Graduated,
    Volume,
}

impl TierMode {
    pub fn name(self) -> &'static str {
        match self {
            TierMode::Graduated => "graduated",
            TierMode::Volume => "volume",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TiersDecl {
    pub mode: TierMode,
    /// (units up to, inclusive; `None` for `above`) and the unit price of each tier, in order.
    pub tiers: Vec<(Option<u64>, TExpr)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatedPrice {
    pub from: chrono::NaiveDate,
    /// The last day, inclusive; `None`: until the next dated price, or for good.
    pub until: Option<chrono::NaiveDate>,
    pub price: TExpr,
    pub span: Span,
}

/// The user attribute a split groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitKey {
    Department,
    Office,
    City,
}

impl SplitKey {
    pub fn name(self) -> &'static str {
        match self {
            SplitKey::Department => "department",
            SplitKey::Office => "office",
            SplitKey::City => "city",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SplitDecl {
    pub key: SplitKey,
    pub key_span: Span,
    /// Where users with no value for the key go.
    pub otherwise: Option<String>,
    /// The users whose counts the split follows.
    pub population: TExpr,
}

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
    pub tiers: Option<TiersDecl>,
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
}

/// Checks one parsed file. `imports` must hold one entry per `use` in the file, in order.
pub fn check(file: &ast::File, module: ModuleKey, imports: &[Import]) -> Checked {
    let mut checker = Checker::new(module);
    checker.run(file, imports);
    checker.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LetState {
    InProgress,
    Done,
}

pub(crate) struct Checker<'a> {
    module: ModuleKey,
    diagnostics: Vec<Diagnostic>,
    lets: BTreeMap<String, &'a ast::Let>,
    let_state: BTreeMap<String, LetState>,
    let_types: BTreeMap<String, Type>,
    typed_lets: BTreeMap<String, TExpr>,
    imported: BTreeMap<String, (ModuleKey, Type)>,
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
