//! The typed expression tree: what the checker proves about each expression. Names are resolved,
//! implicit conversions are explicit nodes, every node knows its type.

use crate::fields::{Field, Source};
use crate::types::Type;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_money::Currency;
use tally_syntax::Span;
use tally_syntax::ast::{BinaryOp, UnaryOp};

/// A module is named by a key: `std.m365` or the path of a shared file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleKey(pub String);

impl std::fmt::Display for ModuleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `let` binding, wherever it lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LetId {
    pub module: ModuleKey,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TExprKind {
    Int(i64),
    Decimal(Decimal),
    Percent(Decimal),
    Money(Decimal, Currency),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    List(Vec<TExpr>),
    Let(LetId),
    /// A snapshot collection: `m365.users`.
    Source(Source),
    /// The billing period record.
    Period,
    /// The element a `where` predicate is looking at.
    Element,
    Field(Box<TExpr>, Field),
    /// `list.field`: the field of every element.
    Project(Box<TExpr>, Field),
    Call(Builtin, Vec<TExpr>),
    /// `m365.sku("SPB")`: the subscribed SKU whose GUID is one of these; `m365.sku("SPB",
    /// "annual")`: only its subscriptions on that term (NCE monthly and annual commitments of
    /// one SKU are different products).
    SkuLookup {
        name: String,
        guids: Vec<String>,
        term: Option<String>,
    },
    /// `has_sku("SPB")` inside a user predicate.
    /// `tag("project")` inside a filter of usage rows: the row's tag, or "".
    Tag(String),
    HasSku {
        name: String,
        guids: Vec<String>,
    },
    /// `counter("backup.protected_users")`.
    Counter(String),
    /// A list of records where a number is wanted: its length.
    Count(Box<TExpr>),
    /// A plain number where money is wanted (`price 25.00`), in the customer's currency.
    ToMoney(Box<TExpr>),
    Unary(UnaryOp, Box<TExpr>),
    Binary(BinaryOp, Box<TExpr>, Box<TExpr>),
    Where(Box<TExpr>, Box<TExpr>),
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    Max,
    Min,
    Count,
    Sum,
    /// `round(x)` to a whole number, `round(x, places)` to decimal places; half-up.
    Round,
    Ceil,
    Floor,
    Abs,
    StartsWith,
    EndsWith,
    Contains,
    /// Whole months from one date to the day after another: `months_between(2021-10-20,
    /// 2022-09-19)` is 11.
    MonthsBetween,
    /// Days from one date to another, both counted.
    DaysBetween,
}

impl Builtin {
    pub const ALL: [(&'static str, Builtin); 13] = [
        ("max", Builtin::Max),
        ("min", Builtin::Min),
        ("count", Builtin::Count),
        ("sum", Builtin::Sum),
        ("round", Builtin::Round),
        ("ceil", Builtin::Ceil),
        ("floor", Builtin::Floor),
        ("abs", Builtin::Abs),
        ("starts_with", Builtin::StartsWith),
        ("ends_with", Builtin::EndsWith),
        ("contains", Builtin::Contains),
        ("months_between", Builtin::MonthsBetween),
        ("days_between", Builtin::DaysBetween),
    ];

    pub fn name(self) -> &'static str {
        Builtin::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("?", |(n, _)| n)
    }
}

impl TExpr {
    pub fn error(span: Span) -> TExpr {
        TExpr {
            kind: TExprKind::Error,
            ty: Type::Error,
            span,
        }
    }

    /// Visits this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a TExpr)) {
        visit(self);
        match &self.kind {
            TExprKind::List(items) | TExprKind::Call(_, items) => {
                items.iter().for_each(|i| i.walk(visit));
            }
            TExprKind::Field(inner, _)
            | TExprKind::Project(inner, _)
            | TExprKind::Count(inner)
            | TExprKind::ToMoney(inner)
            | TExprKind::Unary(_, inner) => inner.walk(visit),
            TExprKind::Binary(_, l, r) | TExprKind::Where(l, r) => {
                l.walk(visit);
                r.walk(visit);
            }
            _ => {}
        }
    }
}
