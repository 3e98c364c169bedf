//! The typed expression tree: what the checker proves about each expression. Names are resolved,
//! implicit conversions are explicit nodes, every node knows its type.

use crate::fields::{Field, Source};
use crate::types::Type;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_billing::Term;
use tally_diagnostics::Span;
use tally_money::Currency;

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
        term: Option<Term>,
        /// `m365.sku("SPB", "annual", 2026-02-11)`: only the subscription whose first term
        /// started on that day (a tenant may hold several of one SKU and term).
        term_start: Option<NaiveDate>,
    },
    /// `tag("project")` inside a filter of usage rows: the row's tag, or "".
    Tag(String),
    /// `has_sku("SPB")` inside a user predicate.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

/// The operators of the typed tree. The checker maps the syntax's operators onto these, so the
/// evaluator never sees the parser's types.
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

impl TExpr {
    pub fn error(span: Span) -> TExpr {
        TExpr {
            kind: TExprKind::Error,
            ty: Type::Error,
            span,
        }
    }

    /// The node's direct children, left to right: the one description of the tree's shape
    /// that every traversal uses.
    pub fn children(&self) -> impl Iterator<Item = &TExpr> {
        let (many, first, second): (&[TExpr], Option<&TExpr>, Option<&TExpr>) = match &self.kind {
            TExprKind::List(items) | TExprKind::Call(_, items) => (items, None, None),
            TExprKind::Field(inner, _)
            | TExprKind::Project(inner, _)
            | TExprKind::Count(inner)
            | TExprKind::ToMoney(inner)
            | TExprKind::Unary(_, inner) => (&[], Some(inner), None),
            TExprKind::Binary(_, l, r) | TExprKind::Where(l, r) => (&[], Some(l), Some(r)),
            TExprKind::Int(_)
            | TExprKind::Decimal(_)
            | TExprKind::Percent(_)
            | TExprKind::Money(..)
            | TExprKind::Text(_)
            | TExprKind::Bool(_)
            | TExprKind::Date(_)
            | TExprKind::Let(_)
            | TExprKind::Source(_)
            | TExprKind::Period
            | TExprKind::Element
            | TExprKind::SkuLookup { .. }
            | TExprKind::Tag(_)
            | TExprKind::HasSku { .. }
            | TExprKind::Counter(_)
            | TExprKind::Error => (&[], None, None),
        };
        many.iter().chain(first).chain(second)
    }

    /// [`TExpr::children`], mutably.
    pub fn children_mut(&mut self) -> impl Iterator<Item = &mut TExpr> {
        let (many, first, second): (&mut [TExpr], Option<&mut TExpr>, Option<&mut TExpr>) =
            match &mut self.kind {
                TExprKind::List(items) | TExprKind::Call(_, items) => (items, None, None),
                TExprKind::Field(inner, _)
                | TExprKind::Project(inner, _)
                | TExprKind::Count(inner)
                | TExprKind::ToMoney(inner)
                | TExprKind::Unary(_, inner) => (&mut [], Some(inner), None),
                TExprKind::Binary(_, l, r) | TExprKind::Where(l, r) => (&mut [], Some(l), Some(r)),
                _ => (&mut [], None, None),
            };
        many.iter_mut().chain(first).chain(second)
    }

    /// Visits this node and every node below it, parents first, left to right. Iterative, so a
    /// deep tree cannot exhaust the stack.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a TExpr)) {
        let mut stack = vec![self];
        while let Some(expr) = stack.pop() {
            visit(expr);
            let before = stack.len();
            stack.extend(expr.children());
            if let Some(added) = stack.get_mut(before..) {
                added.reverse();
            }
        }
    }

    /// Structural equality that ignores where the expressions were written.
    pub fn same_shape(&self, other: &TExpr) -> bool {
        fn without_spans(expr: &TExpr) -> TExpr {
            let mut copy = expr.clone();
            let mut stack = vec![&mut copy];
            while let Some(e) = stack.pop() {
                e.span = Span::default();
                stack.extend(e.children_mut());
            }
            copy
        }
        without_spans(self) == without_spans(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: i64, at: u32) -> TExpr {
        TExpr {
            kind: TExprKind::Int(n),
            ty: Type::Int,
            span: Span {
                start: at,
                end: at + 1,
            },
        }
    }

    fn add(l: TExpr, r: TExpr) -> TExpr {
        let span = l.span.to(r.span);
        TExpr {
            kind: TExprKind::Binary(BinaryOp::Add, Box::new(l), Box::new(r)),
            ty: Type::Int,
            span,
        }
    }

    #[test]
    fn walk_visits_parents_first_left_to_right() {
        let tree = add(add(leaf(1, 0), leaf(2, 4)), leaf(3, 8));
        let mut seen = Vec::new();
        tree.walk(&mut |e| {
            if let TExprKind::Int(n) = e.kind {
                seen.push(n);
            }
        });
        assert_eq!(seen, [1, 2, 3]);
    }

    #[test]
    fn same_shape_ignores_spans_only() {
        let a = add(leaf(1, 0), leaf(2, 4));
        let b = add(leaf(1, 10), leaf(2, 14));
        let c = add(leaf(1, 0), leaf(3, 4));
        assert!(a.same_shape(&b));
        assert!(!a.same_shape(&c));
    }

    #[test]
    fn a_deep_chain_walks_without_recursion() {
        let mut tree = leaf(0, 0);
        for i in 1..200_000 {
            tree = add(tree, leaf(i, 0));
        }
        let mut count = 0;
        tree.walk(&mut |_| count += 1);
        assert_eq!(count, 2 * 200_000 - 1);
        // Dropping the chain recursively would overflow; leak it, it is a test.
        std::mem::forget(tree);
    }
}
