//! Moving a parse by a number of bytes: a file parsed in pieces (the database parses each
//! top-level piece of a file on its own, so an edit re-parses only its piece) gets every span of
//! a piece moved to where the piece is in the file.

use crate::Parsed;
use crate::ast::*;
use tally_diagnostics::Span;

impl Parsed {
    /// This parse with every span (tree and diagnostics) `by` bytes later.
    pub fn shifted(mut self, by: u32) -> Parsed {
        if by == 0 {
            return self;
        }
        let mut shift = Shift(by);
        for item in &mut self.file.items {
            shift.item(item);
        }
        for diagnostic in &mut self.diagnostics {
            for label in &mut diagnostic.labels {
                shift.span(&mut label.span);
            }
            for suggestion in &mut diagnostic.suggestions {
                shift.span(&mut suggestion.span);
            }
        }
        self
    }
}

struct Shift(u32);

impl Shift {
    fn span(&mut self, span: &mut Span) {
        span.start = span.start.saturating_add(self.0);
        span.end = span.end.saturating_add(self.0);
    }

    fn ident(&mut self, ident: &mut Ident) {
        self.span(&mut ident.span);
    }

    fn string(&mut self, s: &mut StringLit) {
        self.span(&mut s.span);
    }

    fn item(&mut self, item: &mut Item) {
        match item {
            Item::Customer(c) => {
                self.string(&mut c.name);
                self.span(&mut c.keyword);
                self.span(&mut c.span);
                for field in &mut c.fields {
                    match field {
                        CustomerField::Tenant { value, span } => {
                            self.string(value);
                            self.span(span);
                        }
                        CustomerField::Currency { code, span } => {
                            self.ident(code);
                            self.span(span);
                        }
                        CustomerField::BillingDay { span, .. } => self.span(span),
                        CustomerField::Psa(psa) => {
                            self.ident(&mut psa.kind);
                            self.span(&mut psa.span);
                            for setting in &mut psa.settings {
                                self.ident(&mut setting.key);
                                self.string(&mut setting.value);
                            }
                        }
                    }
                }
            }
            Item::Use(u) => {
                self.span(&mut u.span);
                match &mut u.target {
                    UseTarget::Module { path, span } => {
                        self.span(span);
                        for part in path {
                            self.ident(part);
                        }
                    }
                    UseTarget::File(s) => self.string(s),
                }
            }
            Item::Let(l) => {
                self.ident(&mut l.name);
                self.expr(&mut l.value);
                self.span(&mut l.span);
            }
            Item::Line(l) => {
                self.ident(&mut l.name);
                self.span(&mut l.kind_span);
                self.expr(&mut l.value);
                self.span(&mut l.span);
                for clause in &mut l.clauses {
                    self.clause(clause);
                }
            }
        }
    }

    fn clause(&mut self, clause: &mut Clause) {
        self.span(&mut clause.keyword);
        self.span(&mut clause.span);
        match &mut clause.kind {
            ClauseKind::Price(e) | ClauseKind::Minimum(e) | ClauseKind::Included(e) => self.expr(e),
            ClauseKind::Split { key, otherwise } => {
                self.ident(key);
                if let Some(s) = otherwise {
                    self.string(s);
                }
            }
            ClauseKind::Product(s) | ClauseKind::Description(s) | ClauseKind::Agreement(s) => {
                self.string(s);
            }
            ClauseKind::Billing(i)
            | ClauseKind::Term(i)
            | ClauseKind::Rounding(i)
            | ClauseKind::Prorate(i)
            | ClauseKind::Measure(i)
            | ClauseKind::Trueup(i) => self.ident(i),
            ClauseKind::Tiers { mode, tiers } => {
                self.ident(mode);
                for tier in tiers {
                    self.span(&mut tier.bound_span);
                    self.expr(&mut tier.price);
                }
            }
            ClauseKind::DatedPrice { from, until, price } => {
                self.expr(from);
                if let Some(until) = until {
                    self.expr(until);
                }
                self.expr(price);
            }
            ClauseKind::Bundle(products) => {
                for (name, price) in products {
                    self.string(name);
                    self.expr(price);
                }
            }
            ClauseKind::Every { unit, starting } => {
                self.ident(unit);
                if let Some(date) = starting {
                    self.expr(date);
                }
            }
        }
    }

    /// Iterative, so that no nesting exhausts the stack.
    fn expr(&mut self, root: &mut Expr) {
        let mut stack = vec![root];
        while let Some(expr) = stack.pop() {
            self.span(&mut expr.span);
            match &mut expr.kind {
                ExprKind::Money { currency, .. } => self.ident(currency),
                ExprKind::List(items) => stack.extend(items.iter_mut()),
                ExprKind::Name(name) => self.ident(name),
                ExprKind::Field { base, field } => {
                    self.ident(field);
                    stack.push(base);
                }
                ExprKind::Call {
                    receiver,
                    name,
                    args,
                } => {
                    self.ident(name);
                    if let Some(r) = receiver {
                        stack.push(r);
                    }
                    stack.extend(args.iter_mut());
                }
                ExprKind::Unary { operand, .. } => stack.push(operand),
                ExprKind::Binary { left, right, .. } => {
                    stack.push(left);
                    stack.push(right);
                }
                ExprKind::Where {
                    collection,
                    predicate,
                } => {
                    stack.push(collection);
                    stack.push(predicate);
                }
                ExprKind::Int(_)
                | ExprKind::Decimal(_)
                | ExprKind::Percent(_)
                | ExprKind::Text(_)
                | ExprKind::Bool(_)
                | ExprKind::Date(_)
                | ExprKind::Error => {}
            }
        }
    }
}
