//! Typing of expressions: each syntax node becomes a typed node, or an error node after a
//! diagnostic (errors do not cascade: an operand of type `Error` makes no further reports).
//!
//! - [`names`]: bare names (definitions, imports, `m365`, fields inside a filter);
//! - [`fields`]: `.field`, `where` and conditions;
//! - [`operators`]: `not`, `-`, and the binary operators with their type rules;
//!   [`money_help`]: the help for money mixed with a plain number or a percentage;
//! - [`calls`]: function calls and their arity; [`builtins`]: the type of each built-in;
//! - [`methods`]: `m365.sku(...)`, `has_sku`, `tag`, `counter`.

mod builtins;
mod calls;
mod fields;
mod methods;
mod money_help;
mod names;
mod operators;

use crate::Checker;
use crate::limits;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{CurrencyRef, Record, TExpr, TExprKind, Type};
use tally_money::Currency;
use tally_syntax::ast::{Expr, ExprKind, Ident};

/// What a bare name can see besides definitions: the element of a `where` predicate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope {
    pub element: Option<Record>,
}

impl Checker<'_> {
    /// Types one expression. Recursion is bounded: the parser refuses trees deeper than
    /// [`limits::MAX_NESTING`], and definitions checked on demand inside an expression count
    /// towards the same limit.
    pub(crate) fn expr(&mut self, expr: &Expr, scope: Scope) -> TExpr {
        if self.depth >= limits::MAX_NESTING {
            if !self.nesting_reported {
                self.nesting_reported = true;
                self.report(limits::nested_too_deep(expr.span));
            }
            return TExpr::error(expr.span);
        }
        self.depth += 1;
        let typed = self.expr_kind(expr, scope);
        self.depth -= 1;
        typed
    }

    fn expr_kind(&mut self, expr: &Expr, scope: Scope) -> TExpr {
        let span = expr.span;
        let typed = |kind, ty| TExpr { kind, ty, span };
        match &expr.kind {
            ExprKind::Int(n) => typed(TExprKind::Int(*n), Type::Int),
            ExprKind::Decimal(d) => typed(TExprKind::Decimal(*d), Type::Decimal),
            ExprKind::Percent(p) => typed(TExprKind::Percent(*p), Type::Percent),
            ExprKind::Text(t) => typed(TExprKind::Text(t.clone()), Type::Text),
            ExprKind::Bool(b) => typed(TExprKind::Bool(*b), Type::Bool),
            ExprKind::Date(d) => typed(TExprKind::Date(*d), Type::Date),
            ExprKind::Money { amount, currency } => match self.currency(currency) {
                Some(c) => typed(
                    TExprKind::Money(*amount, c),
                    Type::Money(CurrencyRef::Fixed(c)),
                ),
                None => TExpr::error(span),
            },
            ExprKind::List(items) => self.list(items, scope, span),
            ExprKind::Name(name) => self.name(name, scope),
            ExprKind::Field { base, field } => self.field(base, field, scope, span),
            ExprKind::Call {
                receiver,
                name,
                args,
            } => self.call(receiver.as_deref(), name, args, scope, span),
            ExprKind::Unary { op, operand } => self.unary(*op, operand, scope, span),
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right, scope, span),
            ExprKind::Where {
                collection,
                predicate,
            } => self.where_(collection, predicate, scope, span),
            ExprKind::Error => TExpr::error(span),
        }
    }

    /// An ISO 4217 code, e.g. `GBP` in `25.00 GBP` or in the header's `currency GBP`.
    pub(crate) fn currency(&mut self, code: &Ident) -> Option<Currency> {
        match Currency::from_code(&code.name) {
            Ok(c) => Some(c),
            Err(e) => {
                self.report(
                    Diagnostic::error(Code::UnknownCurrency, e.to_string(), code.span)
                        .with_label_message("not an ISO 4217 currency code")
                        .with_help("write a three-letter code such as `GBP`, `EUR` or `USD`"),
                );
                None
            }
        }
    }

    /// `[a, b, ...]`: every element of one type.
    fn list(&mut self, items: &[Expr], scope: Scope, span: Span) -> TExpr {
        let items: Vec<TExpr> = items.iter().map(|i| self.expr(i, scope)).collect();
        let mut element = Type::Error;
        for item in &items {
            if element.is_error() {
                element = item.ty.clone();
            } else if !item.ty.is_error() && item.ty != element {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "a list holds one type, but this is {} after {}",
                            item.ty.describe(),
                            element.describe()
                        ),
                        item.span,
                    )
                    .with_help("write every element of the list the same way"),
                );
            }
        }
        TExpr {
            kind: TExprKind::List(items),
            ty: Type::List(Box::new(element)),
            span,
        }
    }

    /// Money "in the customer's currency" becomes the header's currency in a customer file.
    pub(crate) fn localise(&self, ty: &Type) -> Type {
        ty.with_customer_currency(self.customer_currency)
    }

    /// Lists of records used as numbers become their count.
    pub(crate) fn numeric(&self, expr: TExpr) -> TExpr {
        if expr.ty.is_countable() {
            let span = expr.span;
            TExpr {
                kind: TExprKind::Count(Box::new(expr)),
                ty: Type::Int,
                span,
            }
        } else {
            expr
        }
    }
}
