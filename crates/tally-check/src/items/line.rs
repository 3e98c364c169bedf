//! One line: its quantity or amount, then each clause once (a dated price may repeat), then the
//! clauses that need or exclude one another, then the nesting limit.

use crate::expr::Scope;
use crate::{Checker, Every, LineDecl};
use std::collections::BTreeMap;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{
    Billing, BinaryOp, Cadence, Field, LineKind, LineRounding, Measure, Prorate, TExpr, TExprKind,
    Term, Trueup,
};
use tally_syntax::ast::{self, ClauseKind};

impl Checker<'_> {
    pub(super) fn line(&mut self, line: &ast::Line) {
        let value = self.expr(&line.value, Scope::default());
        let (kind, value) = match line.kind {
            ast::LineKind::Qty => (LineKind::Qty, self.quantity(value)),
            ast::LineKind::Amount => (LineKind::Amount, self.money(value, "an amount")),
        };
        let mut decl = new_decl(line, kind, value);
        let mut seen: BTreeMap<&'static str, Span> = BTreeMap::new();
        for clause in &line.clauses {
            let keyword = clause.kind.keyword();
            // A price schedule has one `from` clause per change.
            let repeatable = matches!(clause.kind, ClauseKind::DatedPrice { .. });
            if let Some(first) = seen.get(keyword).filter(|_| !repeatable) {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        format!("`{keyword}` is given twice"),
                        clause.keyword,
                    )
                    .with_secondary(*first, "first given here"),
                );
                continue;
            }
            seen.insert(keyword, clause.keyword);
            self.clause(line, clause, &mut decl);
        }
        self.clause_combinations(&decl, line);
        self.monthly_cost_on_a_longer_cycle(&decl);
        self.line_nesting(&decl);
        self.lines.push(decl);
    }

    /// One clause, checked into the line's declaration.
    fn clause(&mut self, line: &ast::Line, clause: &ast::Clause, decl: &mut LineDecl) {
        match &clause.kind {
            ClauseKind::Price(e) => decl.price = self.price(line, clause, e),
            ClauseKind::Minimum(e) => decl.minimum = self.minimum(line, clause, e),
            ClauseKind::Included(e) => decl.included = self.included(line, clause, e),
            ClauseKind::Tiers { mode, tiers } => {
                self.quantity_only(line, clause, "tiers");
                decl.tiers = self.tiers(mode, tiers);
            }
            ClauseKind::Bundle(items) => decl.bundle = self.bundle(line, clause, items),
            ClauseKind::DatedPrice { from, until, price } => {
                let dated = self.dated_price(line, clause, from, until.as_ref(), price);
                decl.dated_prices.extend(dated);
            }
            ClauseKind::Split { key, otherwise } => {
                decl.split = self.split_clause(key, otherwise.as_ref(), &decl.value);
            }
            ClauseKind::Product(s) => decl.product = self.non_empty(s, "product"),
            ClauseKind::Description(s) => decl.description = self.non_empty(s, "description"),
            ClauseKind::Agreement(s) => decl.agreement = self.non_empty(s, "agreement"),
            ClauseKind::Billing(word) => {
                decl.billing = self.word(word, "billing", &Billing::ALL, Billing::name);
            }
            ClauseKind::Term(word) => decl.term = self.word(word, "term", &Term::ALL, Term::name),
            ClauseKind::Rounding(word) => {
                decl.rounding = self.word(word, "rounding", &LineRounding::ALL, LineRounding::name);
            }
            ClauseKind::Prorate(word) => {
                decl.prorate = self.word(word, "proration", &Prorate::ALL, Prorate::name);
                self.quantity_only(line, clause, "prorate");
            }
            ClauseKind::Measure(word) => {
                decl.measure = self.word(word, "measure", &Measure::ALL, Measure::name);
                self.quantity_only(line, clause, "measure");
            }
            ClauseKind::Trueup(word) => {
                decl.trueup = self.word(word, "true-up", &Trueup::ALL, Trueup::name);
            }
            ClauseKind::Every { unit, starting } => {
                self.quantity_only(line, clause, "every");
                let cadence = self.word(unit, "cadence", &Cadence::ALL, Cadence::name);
                let starting = starting.as_ref().and_then(|e| match &e.kind {
                    ast::ExprKind::Date(d) => Some(*d),
                    _ => None,
                });
                decl.every = cadence.map(|cadence| Every {
                    cadence,
                    starting,
                    span: clause.span,
                });
            }
        }
    }

    /// A SKU's `cost` is per month: a line billed once a year or term that prices its units
    /// with it bills a month's cost for the whole cycle. Looks through the line's price and the
    /// definitions of this file it uses; a cost multiplied by a whole number of months
    /// (`cost * 12`) is taken as meant.
    fn monthly_cost_on_a_longer_cycle(&mut self, decl: &LineDecl) {
        let Some(every) = decl
            .every
            .as_ref()
            .filter(|e| matches!(e.cadence, Cadence::Year | Cadence::Term))
        else {
            return;
        };
        let prices = decl
            .price
            .iter()
            .chain(decl.dated_prices.iter().map(|d| &d.price));
        let mut pending: Vec<&TExpr> = prices.collect();
        let mut seen = std::collections::BTreeSet::new();
        let mut found = Vec::new();
        while let Some(node) = pending.pop() {
            match &node.kind {
                TExprKind::Field(_, Field::Cost) => found.push(node.span),
                TExprKind::Binary(BinaryOp::Mul, l, r)
                    if matches!(
                        (&l.kind, &r.kind),
                        (_, TExprKind::Int(2..)) | (TExprKind::Int(2..), _)
                    ) =>
                {
                    continue;
                }
                TExprKind::Let(id) if id.module == self.module && seen.insert(&id.name) => {
                    pending.extend(self.typed_lets.get(&id.name));
                }
                _ => {}
            }
            pending.extend(node.children());
        }
        found.sort_unstable();
        for span in found {
            let mut d = Diagnostic::warning(
                Code::BadClause,
                format!(
                    "`cost` is a seat's cost per month, but `{}` bills once a {}",
                    decl.name,
                    every.cadence.name()
                ),
                span,
            )
            .with_secondary(every.span, "billed once a cycle here");
            let field = Span::new(span.end.saturating_sub(4) as usize, span.end as usize);
            d = d
                .with_help("`term_cost` is a seat's cost for the whole term")
                .with_suggestion(field, "term_cost", "replace with `term_cost`");
            self.report(d);
        }
    }

    /// Every expression of the line, with the definitions it uses counted in place, within the
    /// nesting limit (each expression as written already is: the parser saw to that).
    fn line_nesting(&mut self, decl: &LineDecl) {
        let expressions = std::iter::once(&decl.value)
            .chain(&decl.price)
            .chain(&decl.minimum)
            .chain(&decl.included)
            .chain(
                decl.tiers
                    .iter()
                    .flat_map(|t| t.tiers.iter().map(|(_, p)| p)),
            )
            .chain(decl.dated_prices.iter().map(|d| &d.price))
            .chain(decl.bundle.iter().map(|(_, p)| p));
        let measures: Vec<(crate::limits::Measure, Span)> = expressions
            .map(|e: &TExpr| (self.measure(e), e.span))
            .collect();
        for (measure, span) in measures {
            self.within_nesting(&measure, span);
        }
    }
}

/// A line's declaration before its clauses.
fn new_decl(line: &ast::Line, kind: LineKind, value: TExpr) -> LineDecl {
    LineDecl {
        name: line.name.name.clone(),
        name_span: line.name.span,
        span: line.span,
        kind,
        value,
        price: None,
        minimum: None,
        included: None,
        tiers: None,
        dated_prices: Vec::new(),
        bundle: Vec::new(),
        split: None,
        product: None,
        description: None,
        agreement: None,
        billing: None,
        term: None,
        rounding: None,
        prorate: None,
        measure: None,
        trueup: None,
        every: None,
    }
}
