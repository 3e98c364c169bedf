//! The owned syntax tree. Every node carries the [`Span`] of its source text. The tree is what
//! the user wrote, nothing resolved: names are plain identifiers, clauses are kept in order.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_diagnostics::Span;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StringLit {
    /// The value with escapes resolved.
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct File {
    pub items: Vec<Item>,
    /// Some items failed to parse and are missing: later stages must not report what is absent
    /// (a header, a use of a definition) as if the file were whole.
    pub incomplete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    Customer(Customer),
    Use(Use),
    Let(Let),
    Line(Line),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Customer(c) => c.span,
            Item::Use(u) => u.span,
            Item::Let(l) => l.span,
            Item::Line(l) => l.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Customer {
    pub name: StringLit,
    pub fields: Vec<CustomerField>,
    /// The `customer` keyword.
    pub keyword: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerField {
    Tenant {
        value: StringLit,
        span: Span,
    },
    Currency {
        code: Ident,
        span: Span,
    },
    /// `billing_day 15`: periods run from the 15th to the 14th.
    BillingDay {
        day: i64,
        span: Span,
    },
    Psa(Psa),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Psa {
    /// `connectwise`, `autotask` or `halopsa`.
    pub kind: Ident,
    pub settings: Vec<PsaSetting>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PsaSetting {
    pub key: Ident,
    pub value: StringLit,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Use {
    pub target: UseTarget,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UseTarget {
    /// `use std.m365`: a module of the embedded standard library.
    Module { path: Vec<Ident>, span: Span },
    /// `use "../shared/msp.tally"`: a file, relative to the file that uses it.
    File(StringLit),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Let {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// `name qty = ...`: a quantity times a unit price.
    Qty,
    /// `name amount = ...`: a money amount, e.g. usage.
    Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Line {
    pub name: Ident,
    pub kind: LineKind,
    pub kind_span: Span,
    pub value: Expr,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Clause {
    pub kind: ClauseKind,
    /// The clause's keyword, e.g. `price`.
    pub keyword: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClauseKind {
    Price(Expr),
    Split {
        key: Ident,
        otherwise: Option<StringLit>,
    },
    Minimum(Expr),
    Product(StringLit),
    Description(StringLit),
    Agreement(StringLit),
    Billing(Ident),
    Term(Ident),
    Rounding(Ident),
    /// `prorate daily | none`
    Prorate(Ident),
    /// `measure start | end | max`
    Measure(Ident),
    /// `trueup delta | replace`
    Trueup(Ident),
    /// `included 5`: the first units are free.
    Included(Expr),
    /// `tiers graduated { 5: 0.00, above: 2.99 }`
    Tiers {
        mode: Ident,
        tiers: Vec<Tier>,
    },
    /// `from 2026-07-01 [until 2026-12-31] price 27.00`: the price in force on those days.
    DatedPrice {
        from: Expr,
        until: Option<Expr>,
        price: Expr,
    },
    /// `bundle { "AV": 3.00, "EDR": 4.00 }`: the line's quantity bills each product at its price.
    Bundle(Vec<(StringLit, Expr)>),
    /// `every year starting 2026-02-11`: bill once a cycle, in advance, on its anniversary.
    Every {
        unit: Ident,
        starting: Option<Expr>,
    },
}

impl ClauseKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            ClauseKind::Price(_) => "price",
            ClauseKind::Split { .. } => "split by",
            ClauseKind::Minimum(_) => "minimum",
            ClauseKind::Product(_) => "product",
            ClauseKind::Description(_) => "description",
            ClauseKind::Agreement(_) => "agreement",
            ClauseKind::Billing(_) => "billing",
            ClauseKind::Term(_) => "term",
            ClauseKind::Rounding(_) => "rounding",
            ClauseKind::Prorate(_) => "prorate",
            ClauseKind::Measure(_) => "measure",
            ClauseKind::Trueup(_) => "trueup",
            ClauseKind::Included(_) => "included",
            ClauseKind::Tiers { .. } => "tiers",
            ClauseKind::DatedPrice { .. } => "from",
            ClauseKind::Bundle(_) => "bundle",
            ClauseKind::Every { .. } => "every",
        }
    }
}

/// One tier: units up to `up_to` (inclusive; `None` for `above`) at `price`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tier {
    pub up_to: Option<i64>,
    pub bound_span: Span,
    pub price: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Int(i64),
    Decimal(Decimal),
    Money {
        amount: Decimal,
        currency: Ident,
    },
    /// `12%`, stored as the fraction 0.12.
    Percent(Decimal),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    List(Vec<Expr>),
    Name(Ident),
    Field {
        base: Box<Expr>,
        field: Ident,
    },
    /// `max(a, b)` has no receiver; `m365.sku("SPB")` has `m365` as receiver.
    Call {
        receiver: Option<Box<Expr>>,
        name: Ident,
        args: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// A literal that could not be read; a diagnostic was already given, later stages stay quiet.
    Error,
    /// `collection where predicate`; inside the predicate the element's fields are in scope.
    Where {
        collection: Box<Expr>,
        predicate: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }
}
