//! The canonical layout: the syntax tree and its trivia as a [`Doc`]. `docs/fmt.md` describes
//! the layout in words; this file is the definition.
//!
//! Literals (numbers, percentages, dates, strings with their escapes) are copied from the source
//! as written, so their meaning cannot change; names are printed from the tree. Brackets the
//! user wrote are kept (once: `((x))` becomes `(x)`), and brackets the grouping needs are added.

use crate::comments::{Share, Slot, distribute, same_line};
use crate::doc::{
    Doc, align, concat, group, hard_line, if_broken, line, nest, soft_line, text, trailing,
};
use std::collections::HashMap;
use tally_diagnostics::Span;
use tally_syntax::Precedence;
use tally_syntax::ast::{
    Clause, ClauseKind, Customer, CustomerField, Expr, ExprKind, File, Ident, Item, Let, Line,
    LineKind, Psa, StringLit, UnaryOp, Use, UseTarget,
};
use tally_syntax::trivia::{Comment, Trivia};

/// How far blocks and clauses are indented.
pub(crate) const INDENT: usize = 2;

/// A line with more clauses than this is written one clause per line even when it would fit.
pub(crate) const FLAT_CLAUSES: usize = 3;

/// A laid-out slot: its document, and the comments that must be printed before it.
struct Placed {
    doc: Doc,
    before: Vec<Comment>,
}

pub(crate) struct Layout<'s> {
    source: &'s str,
    trivia: &'s Trivia,
    /// Expressions written in brackets: node span → the span with the brackets.
    parens: HashMap<Span, Span>,
}

impl<'s> Layout<'s> {
    pub(crate) fn new(source: &'s str, trivia: &'s Trivia) -> Layout<'s> {
        let parens = trivia.parens.iter().map(|p| (p.expr, p.outer)).collect();
        Layout {
            source,
            trivia,
            parens,
        }
    }

    fn text_of(&self, span: Span) -> &'s str {
        span.text(self.source)
    }

    fn comment(&self, comment: Comment) -> Doc {
        text(comment.text(self.source).to_string())
    }

    /// Comments on lines of their own, each followed by a line break.
    fn own_lines(&self, comments: &[Comment]) -> Doc {
        concat(
            comments
                .iter()
                .flat_map(|c| [self.comment(*c), hard_line()]),
        )
    }

    fn trailing(&self, comment: Option<Comment>) -> Doc {
        match comment {
            Some(c) => trailing(c.text(self.source)),
            None => concat([]),
        }
    }

    // ---- the file ----------------------------------------------------------------------------

    /// The whole file: items in order, each with the comments before and after it, and at most
    /// one blank line wherever the source has one or more between two of them.
    pub(crate) fn file(&self, file: &File) -> Doc {
        // (where it starts and ends in the source, its document)
        let mut elements: Vec<(usize, usize, Doc)> = Vec::new();
        let comments = &self.trivia.comments;
        let mut next = 0;
        let extents: Vec<(usize, usize)> = file.items.iter().map(|i| self.item_extent(i)).collect();
        for (n, item) in file.items.iter().enumerate() {
            let (start, end) = extents.get(n).copied().unwrap_or_default();
            // The next item may begin on this item's last line.
            let next_start = extents.get(n + 1).map_or(usize::MAX, |e| e.0);
            // A comment on the previous item's last line was taken as its trailing comment.
            while let Some(c) = comments
                .get(next)
                .filter(|c| (c.span.start as usize) < start)
            {
                elements.push((c.span.start as usize, c.span.end as usize, self.comment(*c)));
                next += 1;
            }
            let first_inside = next;
            while comments
                .get(next)
                .is_some_and(|c| (c.span.start as usize) < end)
            {
                next += 1;
            }
            let inside = comments
                .get(first_inside..next)
                .unwrap_or_default()
                .to_vec();
            let placed = self.item(item, inside);
            let mut doc = concat([self.own_lines(&placed.before), placed.doc]);
            let mut element_end = end;
            if let Some(c) = comments.get(next).filter(|c| {
                let at = c.span.start as usize;
                at < next_start && same_line(self.source, end, at)
            }) {
                doc = concat([doc, self.trailing(Some(*c))]);
                element_end = c.span.end as usize;
                next += 1;
            }
            elements.push((start, element_end, doc));
        }
        for c in comments.get(next..).unwrap_or_default() {
            elements.push((c.span.start as usize, c.span.end as usize, self.comment(*c)));
        }
        let mut parts = Vec::new();
        let mut before: Option<usize> = None;
        for (start, end, doc) in elements {
            if let Some(previous) = before {
                parts.push(hard_line());
                if self.trivia.blank_line_between(previous, start) {
                    parts.push(hard_line());
                }
            }
            parts.push(doc);
            before = Some(end);
        }
        concat(parts)
    }

    /// The text an item spans, from its first token to its last (without trailing comments).
    pub(crate) fn item_extent(&self, item: &Item) -> (usize, usize) {
        match item {
            Item::Customer(c) => range(c.span),
            Item::Use(u) => (u.span.start as usize, use_end(u)),
            Item::Let(l) => (l.span.start as usize, self.extent(&l.value).1),
            Item::Line(l) => {
                let end = l
                    .clauses
                    .last()
                    .map_or(self.extent(&l.value).1, |c| self.clause_extent(c).1);
                (l.name.span.start as usize, end)
            }
        }
    }

    fn item(&self, item: &Item, comments: Vec<Comment>) -> Placed {
        match item {
            Item::Customer(c) => self.customer(c, comments),
            Item::Use(u) => self.use_item(u, comments),
            Item::Let(l) => self.let_item(l, comments),
            Item::Line(l) => self.line_item(l, comments),
        }
    }

    // ---- the header --------------------------------------------------------------------------

    /// The customer header: one setting per line, in the order written.
    fn customer(&self, customer: &Customer, comments: Vec<Comment>) -> Placed {
        let open = self.next_token(customer.name.span.end as usize);
        let close = (customer.span.end as usize).saturating_sub(1);
        let mut slots = vec![Slot::new((customer.span.start as usize, open + 1), false)];
        slots.extend(
            customer
                .fields
                .iter()
                .map(|f| Slot::new(self.field_extent(f), true)),
        );
        slots.push(Slot::new((close, close + 1), true));
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let mut shares = shares.into_iter();
        let head = shares.next().unwrap_or_default();
        left.extend(head.inner);
        let mut body = Vec::new();
        for (field, share) in customer.fields.iter().zip(shares.by_ref()) {
            let placed = self.customer_field(field, share.inner);
            body.push(hard_line());
            body.push(self.own_lines_before(&share.leading, &placed.before));
            body.push(placed.doc);
            body.push(self.trailing(share.trailing));
        }
        let close_share = shares.next().unwrap_or_default();
        left.extend(close_share.inner);
        for c in &close_share.leading {
            body.push(hard_line());
            body.push(self.comment(*c));
        }
        let name = self.string(&customer.name);
        // `{}` when there is nothing to put between the braces, not even a comment after `{`.
        let doc = if body.is_empty() && head.trailing.is_none() {
            concat([
                text("customer "),
                name,
                text(" {}"),
                self.trailing(head.trailing),
                self.trailing(close_share.trailing),
            ])
        } else {
            concat([
                text("customer "),
                name,
                text(" {"),
                self.trailing(head.trailing),
                nest(INDENT, concat(body)),
                hard_line(),
                text("}"),
                self.trailing(close_share.trailing),
            ])
        };
        left.sort_by_key(|c| c.span.start);
        Placed { doc, before: left }
    }

    /// Own-line comments: those before a slot, then those the slot could not place itself.
    fn own_lines_before(&self, leading: &[Comment], before: &[Comment]) -> Doc {
        concat([self.own_lines(leading), self.own_lines(before)])
    }

    fn field_extent(&self, field: &CustomerField) -> (usize, usize) {
        match field {
            CustomerField::Tenant { value, span } => (span.start as usize, value.span.end as usize),
            CustomerField::Currency { code, span } => (span.start as usize, code.span.end as usize),
            CustomerField::BillingDay { span, .. } | CustomerField::Psa(Psa { span, .. }) => {
                range(*span)
            }
        }
    }

    fn customer_field(&self, field: &CustomerField, comments: Vec<Comment>) -> Placed {
        match field {
            CustomerField::Tenant { value, .. } => Placed {
                doc: concat([text("tenant "), self.string(value)]),
                before: comments,
            },
            CustomerField::Currency { code, .. } => Placed {
                doc: text(format!("currency {}", code.name)),
                before: comments,
            },
            CustomerField::BillingDay { day, span } => {
                // The number as written (a value too large for the tree is not silently changed).
                let written = self.text_of(*span);
                let digits = written.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                let number = written
                    .get(digits..)
                    .filter(|d| !d.is_empty())
                    .map_or_else(|| day.to_string(), str::to_string);
                Placed {
                    doc: text(format!("billing_day {number}")),
                    before: comments,
                }
            }
            CustomerField::Psa(psa) => self.psa(psa, comments),
        }
    }

    /// `psa kind { company "..." agreement "..." }`, on one line if it fits.
    fn psa(&self, psa: &Psa, comments: Vec<Comment>) -> Placed {
        let open = self.next_token(psa.kind.span.end as usize);
        let close = (psa.span.end as usize).saturating_sub(1);
        let mut slots = vec![Slot::new((psa.span.start as usize, open + 1), false)];
        slots.extend(
            psa.settings
                .iter()
                .map(|s| Slot::new((s.key.span.start as usize, s.value.span.end as usize), true)),
        );
        slots.push(Slot::new((close, close + 1), true));
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let mut shares = shares.into_iter();
        let head = shares.next().unwrap_or_default();
        left.extend(head.inner);
        let entries = psa
            .settings
            .iter()
            .zip(shares.by_ref())
            .map(|(setting, share)| {
                let doc = concat([
                    text(format!("{} ", setting.key.name)),
                    self.string(&setting.value),
                ]);
                (doc, share)
            })
            .collect();
        let close_share = shares.next().unwrap_or_default();
        let doc = self.block(
            text(format!("psa {} {{", psa.kind.name)),
            head.trailing,
            entries,
            close_share,
            ("", false),
            &mut left,
        );
        left.sort_by_key(|c| c.span.start);
        Placed { doc, before: left }
    }

    /// `head entry entry }` with `{ a, b }` spacing when flat, one entry per line (each followed
    /// by `separator`, the last one too) when broken or `one_per_line`. Comments before an entry
    /// or the closing brace go on lines of their own; comments within an entry are left in
    /// `left`.
    fn block(
        &self,
        head: Doc,
        head_trailing: Option<Comment>,
        entries: Vec<(Doc, Share)>,
        close: Share,
        (separator, one_per_line): (&'static str, bool),
        left: &mut Vec<Comment>,
    ) -> Doc {
        let sep = || if one_per_line { hard_line() } else { line() };
        left.extend(close.inner);
        if entries.is_empty() && close.leading.is_empty() {
            let inside = match head_trailing {
                Some(c) => concat([self.trailing(Some(c)), hard_line()]),
                None => concat([]),
            };
            return concat([head, inside, text("}"), self.trailing(close.trailing)]);
        }
        let count = entries.len();
        let mut body = Vec::new();
        for (n, (doc, share)) in entries.into_iter().enumerate() {
            left.extend(share.inner);
            body.push(sep());
            body.push(self.own_lines(&share.leading));
            body.push(doc);
            if n + 1 < count {
                body.push(text(separator));
            } else {
                body.push(if_broken(text(separator)));
            }
            body.push(self.trailing(share.trailing));
        }
        for c in &close.leading {
            body.push(hard_line());
            body.push(self.comment(*c));
        }
        concat([
            group(concat([
                head,
                self.trailing(head_trailing),
                nest(INDENT, concat(body)),
                sep(),
                text("}"),
            ])),
            self.trailing(close.trailing),
        ])
    }

    // ---- use and let -------------------------------------------------------------------------

    fn use_item(&self, item: &Use, comments: Vec<Comment>) -> Placed {
        let target = match &item.target {
            UseTarget::Module { path, .. } => text(
                path.iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            UseTarget::File(file) => self.string(file),
        };
        Placed {
            doc: concat([text("use "), target]),
            before: comments,
        }
    }

    fn let_item(&self, item: &Let, comments: Vec<Comment>) -> Placed {
        let value = self.top_expr(&item.value, comments);
        Placed {
            doc: concat([text(format!("let {} = ", item.name.name)), value.doc]),
            before: value.before,
        }
    }

    /// An expression in a position that takes any expression (a `let`'s or clause's value).
    fn top_expr(&self, expr: &Expr, comments: Vec<Comment>) -> Placed {
        let slots = [Slot::new(self.extent(expr), false)];
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let share = shares.into_iter().next().unwrap_or_default();
        let placed = self.operand(expr, Precedence::Where, share.inner);
        left.extend(share.leading);
        left.extend(placed.before);
        // A comment after the expression on its line (but inside the slot's parent): keep it
        // last on the line.
        let doc = concat([placed.doc, self.trailing(share.trailing)]);
        left.sort_by_key(|c| c.span.start);
        Placed { doc, before: left }
    }

    // ---- lines -------------------------------------------------------------------------------

    /// `name qty = value` and its clauses: on one line when it fits, has at most
    /// [`FLAT_CLAUSES`] clauses and at most one dated price (`from ... price`: two or more are a
    /// price schedule, read as a table); else one clause per line, indented.
    fn line_item(&self, item: &Line, comments: Vec<Comment>) -> Placed {
        let mut slots = vec![Slot::new(
            (item.name.span.start as usize, self.extent(&item.value).1),
            false,
        )];
        slots.extend(
            item.clauses
                .iter()
                .map(|c| Slot::new(self.clause_extent(c), true)),
        );
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let mut shares = shares.into_iter();
        let head_share = shares.next().unwrap_or_default();
        let value = self.top_expr(&item.value, head_share.inner);
        left.extend(value.before);
        let kind = match item.kind {
            LineKind::Qty => "qty",
            LineKind::Amount => "amount",
        };
        let dated = item
            .clauses
            .iter()
            .filter(|c| matches!(c.kind, ClauseKind::DatedPrice { .. }))
            .count();
        let broken = item.clauses.len() > FLAT_CLAUSES || dated > 1;
        let mut clauses = Vec::new();
        for (clause, share) in item.clauses.iter().zip(shares) {
            let placed = self.clause(clause, share.inner);
            for c in share.leading.iter().chain(&placed.before) {
                clauses.push(hard_line());
                clauses.push(self.comment(*c));
            }
            clauses.push(if broken { hard_line() } else { line() });
            clauses.push(placed.doc);
            clauses.push(self.trailing(share.trailing));
        }
        let doc = group(concat([
            text(format!("{} {kind} = ", item.name.name)),
            value.doc,
            self.trailing(head_share.trailing),
            nest(INDENT, concat(clauses)),
        ]));
        left.sort_by_key(|c| c.span.start);
        Placed { doc, before: left }
    }

    fn clause_extent(&self, clause: &Clause) -> (usize, usize) {
        let start = clause.keyword.start as usize;
        let end = match &clause.kind {
            ClauseKind::Price(e) | ClauseKind::Minimum(e) | ClauseKind::Included(e) => {
                self.extent(e).1
            }
            ClauseKind::DatedPrice { price, .. } => self.extent(price).1,
            ClauseKind::Split { key, otherwise } => {
                otherwise.as_ref().map_or(key.span.end, |o| o.span.end) as usize
            }
            ClauseKind::Product(s) | ClauseKind::Description(s) | ClauseKind::Agreement(s) => {
                s.span.end as usize
            }
            ClauseKind::Billing(i)
            | ClauseKind::Term(i)
            | ClauseKind::Rounding(i)
            | ClauseKind::Prorate(i)
            | ClauseKind::Measure(i)
            | ClauseKind::Trueup(i) => i.span.end as usize,
            // Both end with their `}`.
            ClauseKind::Tiers { .. } | ClauseKind::Bundle(_) => clause.span.end as usize,
            ClauseKind::Every { unit, starting } => starting
                .as_ref()
                .map_or(unit.span.end as usize, |date| self.extent(date).1),
        };
        (start, end)
    }

    fn clause(&self, clause: &Clause, comments: Vec<Comment>) -> Placed {
        let keyword = clause.kind.keyword();
        let plain = |doc: Doc, comments: Vec<Comment>| Placed {
            doc,
            before: comments,
        };
        match &clause.kind {
            ClauseKind::Price(e) | ClauseKind::Minimum(e) | ClauseKind::Included(e) => {
                let value = self.top_expr(e, comments);
                Placed {
                    doc: concat([text(format!("{keyword} ")), value.doc]),
                    before: value.before,
                }
            }
            ClauseKind::Split { key, otherwise } => {
                let mut doc = vec![text(format!("split by {}", key.name))];
                if let Some(o) = otherwise {
                    doc.push(text(" otherwise "));
                    doc.push(self.string(o));
                }
                plain(concat(doc), comments)
            }
            ClauseKind::Product(s) | ClauseKind::Description(s) | ClauseKind::Agreement(s) => {
                plain(
                    concat([text(format!("{keyword} ")), self.string(s)]),
                    comments,
                )
            }
            ClauseKind::Billing(i)
            | ClauseKind::Term(i)
            | ClauseKind::Rounding(i)
            | ClauseKind::Prorate(i)
            | ClauseKind::Measure(i)
            | ClauseKind::Trueup(i) => plain(text(format!("{keyword} {}", i.name)), comments),
            ClauseKind::Every { unit, starting } => {
                let mut doc = vec![text(format!("every {}", unit.name))];
                if let Some(date) = starting {
                    doc.push(text(" starting "));
                    doc.push(self.leaf(date));
                }
                plain(concat(doc), comments)
            }
            ClauseKind::DatedPrice { from, until, price } => {
                let mut doc = vec![text("from "), self.leaf(from)];
                if let Some(until) = until {
                    doc.push(text(" until "));
                    doc.push(self.leaf(until));
                }
                doc.push(text(" price "));
                let value = self.top_expr(price, comments);
                doc.push(value.doc);
                Placed {
                    doc: concat(doc),
                    before: value.before,
                }
            }
            ClauseKind::Tiers { mode, tiers } => {
                let entries: Vec<Entry<'_>> = tiers
                    .iter()
                    .map(|t| Entry {
                        start: t.bound_span.start as usize,
                        end: self.extent(&t.price).1,
                        key: text(format!("{}: ", self.text_of(t.bound_span))),
                        price: &t.price,
                    })
                    .collect();
                let head = text(format!("tiers {} {{", mode.name));
                self.entries(
                    clause,
                    mode.span.end as usize,
                    head,
                    entries,
                    comments,
                    false,
                )
            }
            ClauseKind::Bundle(items) => {
                let entries: Vec<Entry<'_>> = items
                    .iter()
                    .map(|(product, price)| Entry {
                        start: product.span.start as usize,
                        end: self.extent(price).1,
                        key: concat([self.string(product), text(": ")]),
                        price,
                    })
                    .collect();
                let head = text("bundle {");
                // A bundle lists one product (one invoice line) per line.
                self.entries(
                    clause,
                    clause.keyword.end as usize,
                    head,
                    entries,
                    comments,
                    true,
                )
            }
        }
    }

    /// The `{ key: price, ... }` of `tiers` and `bundle`; its `{` is the first token after
    /// `brace_after`. `one_per_line`: broken even when it would fit.
    fn entries(
        &self,
        clause: &Clause,
        brace_after: usize,
        head: Doc,
        entries: Vec<Entry<'_>>,
        comments: Vec<Comment>,
        one_per_line: bool,
    ) -> Placed {
        let open = self.next_token(brace_after);
        let close = (clause.span.end as usize).saturating_sub(1);
        let mut slots = vec![Slot::new((clause.keyword.start as usize, open + 1), false)];
        slots.extend(entries.iter().map(|e| Slot::new((e.start, e.end), true)));
        slots.push(Slot::new((close, close + 1), true));
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let mut shares = shares.into_iter();
        let head_share = shares.next().unwrap_or_default();
        left.extend(head_share.inner);
        let mut docs = Vec::new();
        for (entry, share) in entries.into_iter().zip(shares.by_ref()) {
            let value = self.top_expr(entry.price, share.inner);
            let share = Share {
                inner: value.before,
                ..share
            };
            docs.push((concat([entry.key, value.doc]), share));
        }
        let close_share = shares.next().unwrap_or_default();
        let doc = self.block(
            head,
            head_share.trailing,
            docs,
            close_share,
            (",", one_per_line),
            &mut left,
        );
        left.sort_by_key(|c| c.span.start);
        Placed { doc, before: left }
    }

    // ---- expressions -------------------------------------------------------------------------

    /// The text an expression spans, brackets included.
    pub(crate) fn extent(&self, expr: &Expr) -> (usize, usize) {
        if let Some(outer) = self.parens.get(&expr.span) {
            return range(*outer);
        }
        match &expr.kind {
            ExprKind::Field { base, field } => (self.extent(base).0, field.span.end as usize),
            ExprKind::Call { receiver, name, .. } => (
                receiver
                    .as_ref()
                    .map_or(name.span.start as usize, |r| self.extent(r).0),
                expr.span.end as usize,
            ),
            ExprKind::Unary { operand, .. } => (expr.span.start as usize, self.extent(operand).1),
            ExprKind::Binary { left, right, .. } => (self.extent(left).0, self.extent(right).1),
            ExprKind::Where {
                collection,
                predicate,
            } => (self.extent(collection).0, self.extent(predicate).1),
            ExprKind::Int(_)
            | ExprKind::Decimal(_)
            | ExprKind::Money { .. }
            | ExprKind::Percent(_)
            | ExprKind::Text(_)
            | ExprKind::Bool(_)
            | ExprKind::Date(_)
            | ExprKind::List(_)
            | ExprKind::Name(_)
            | ExprKind::Error => range(expr.span),
        }
    }

    /// `expr` where it must bind at least as tightly as `at_least`: in brackets when it binds
    /// looser, or when the user wrote them.
    fn operand(&self, expr: &Expr, at_least: Precedence, comments: Vec<Comment>) -> Placed {
        let bracketed = self.parens.contains_key(&expr.span) || expr.precedence() < at_least;
        let placed = self.expr(expr, comments);
        if bracketed {
            Placed {
                doc: concat([text("("), align(placed.doc), text(")")]),
                before: placed.before,
            }
        } else {
            placed
        }
    }

    fn expr(&self, expr: &Expr, comments: Vec<Comment>) -> Placed {
        match &expr.kind {
            ExprKind::Where { .. } | ExprKind::Binary { .. } => self.chain(expr, comments),
            ExprKind::Unary { op, operand } => {
                let (symbol, level) = match op {
                    UnaryOp::Neg => ("-", Precedence::Negate),
                    UnaryOp::Not => ("not ", Precedence::Not),
                };
                let inner = self.single(operand, level, comments);
                Placed {
                    doc: concat([text(symbol), inner.doc]),
                    before: inner.before,
                }
            }
            ExprKind::Field { base, field } => {
                let inner = self.single(base, Precedence::Postfix, comments);
                Placed {
                    doc: concat([inner.doc, text(format!(".{}", field.name))]),
                    before: inner.before,
                }
            }
            ExprKind::Call {
                receiver,
                name,
                args,
            } => self.call(expr, receiver.as_deref(), name, args, comments),
            ExprKind::List(items) => {
                let mut left = Vec::new();
                let open = ("[", expr.span.start as usize);
                let doc = self.arguments(expr, open, items, "]", comments, &mut left);
                Placed { doc, before: left }
            }
            _ => Placed {
                doc: self.leaf(expr),
                before: comments,
            },
        }
    }

    /// A node with one sub-expression that cannot start a line: comments inside it that the
    /// sub-expression does not place go before the node.
    fn single(&self, inner: &Expr, at_least: Precedence, comments: Vec<Comment>) -> Placed {
        let slots = [Slot::new(self.extent(inner), false)];
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let share = shares.into_iter().next().unwrap_or_default();
        let placed = self.operand(inner, at_least, share.inner);
        left.extend(share.leading);
        left.extend(placed.before);
        left.sort_by_key(|c| c.span.start);
        Placed {
            doc: concat([placed.doc, self.trailing(share.trailing)]),
            before: left,
        }
    }

    fn call(
        &self,
        expr: &Expr,
        receiver: Option<&Expr>,
        name: &Ident,
        args: &[Expr],
        comments: Vec<Comment>,
    ) -> Placed {
        let mut left = Vec::new();
        let mut doc = Vec::new();
        let mut comments = comments;
        if let Some(receiver) = receiver {
            // The receiver's comments, then the arguments'.
            let end = self.extent(receiver).1;
            let rest =
                comments.split_off(comments.partition_point(|c| (c.span.start as usize) < end));
            let placed = self.single(receiver, Precedence::Postfix, comments);
            left.extend(placed.before);
            doc.push(placed.doc);
            doc.push(text("."));
            comments = rest;
        }
        let open = format!("{}(", name.name);
        let open_at = self.next_token(name.span.end as usize);
        doc.push(self.arguments(expr, (&open, open_at), args, ")", comments, &mut left));
        left.sort_by_key(|c| c.span.start);
        Placed {
            doc: concat(doc),
            before: left,
        }
    }

    /// `open a, b close`: on one line if it fits, else one element per line with a trailing
    /// comma.
    fn arguments(
        &self,
        expr: &Expr,
        (open, open_at): (&str, usize),
        items: &[Expr],
        close: &'static str,
        comments: Vec<Comment>,
        left: &mut Vec<Comment>,
    ) -> Doc {
        let end = expr.span.end as usize;
        let close_at = end.saturating_sub(1);
        // The opening bracket: a comment after it on its line stays there.
        let mut slots = vec![Slot::new((open_at, open_at + 1), false)];
        slots.extend(items.iter().map(|e| Slot::new(self.extent(e), true)));
        slots.push(Slot::new((close_at, end), true));
        let (shares, rest) = distribute(self.source, comments, &slots);
        left.extend(rest);
        let mut shares = shares.into_iter();
        let head = shares.next().unwrap_or_default();
        left.extend(head.inner);
        let mut body = Vec::new();
        let count = items.len();
        for (n, (item, share)) in items.iter().zip(shares.by_ref()).enumerate() {
            let placed = self.operand(item, Precedence::Where, share.inner);
            body.push(if n == 0 { soft_line() } else { line() });
            body.push(self.own_lines_before(&share.leading, &placed.before));
            body.push(placed.doc);
            body.push(if n + 1 < count {
                text(",")
            } else {
                if_broken(text(","))
            });
            body.push(self.trailing(share.trailing));
        }
        let close_share = shares.next().unwrap_or_default();
        left.extend(close_share.inner);
        for c in &close_share.leading {
            body.push(hard_line());
            body.push(self.comment(*c));
        }
        let opening = concat([text(open.to_string()), self.trailing(head.trailing)]);
        let after = self.trailing(close_share.trailing);
        if body.is_empty() {
            let inside = if head.trailing.is_some() {
                hard_line()
            } else {
                concat([])
            };
            return concat([opening, inside, text(close), after]);
        }
        concat([
            group(concat([
                opening,
                nest(INDENT, concat(body)),
                soft_line(),
                text(close),
            ])),
            after,
        ])
    }

    /// `a or b or c`, `x + y - z`, `users where a where b`: operators of one level, left to right.
    /// When it breaks, each operand after the first starts a line: `where` indented under the
    /// collection; other operators hanging left of the first operand's column, so the operands
    /// line up.
    fn chain(&self, expr: &Expr, comments: Vec<Comment>) -> Placed {
        let (first, rest, is_where) = self.flatten(expr);
        let (first_at, rest_at) = match &expr.kind {
            ExprKind::Where { .. } => (Precedence::Where, Precedence::Or),
            ExprKind::Binary { op, .. } if op.precedence() == Precedence::Compare => {
                (Precedence::Add, Precedence::Add)
            }
            ExprKind::Binary { op, .. } => (op.precedence(), tighter(op.precedence())),
            _ => (Precedence::Postfix, Precedence::Postfix),
        };
        let mut slots = vec![Slot::new(self.extent(first), false)];
        slots.extend(rest.iter().map(|(_, e)| Slot::new(self.extent(e), true)));
        let (shares, mut left) = distribute(self.source, comments, &slots);
        let mut shares = shares.into_iter();
        let first_share = shares.next().unwrap_or_default();
        let placed = self.operand(first, first_at, first_share.inner);
        left.extend(first_share.leading);
        left.extend(placed.before);
        let mut tail = Vec::new();
        for ((symbol, operand), share) in rest.iter().zip(shares) {
            let placed = self.operand(operand, rest_at, share.inner);
            let outdent = if is_where { 0 } else { symbol.len() + 1 };
            let own_lines: Vec<Comment> = share.leading.into_iter().chain(placed.before).collect();
            tail.push(Doc::Break { flat: " ", outdent });
            for c in &own_lines {
                tail.push(self.comment(*c));
                tail.push(Doc::Hard { outdent });
            }
            tail.push(text(format!("{symbol} ")));
            tail.push(placed.doc);
            tail.push(self.trailing(share.trailing));
        }
        let head = concat([placed.doc, self.trailing(first_share.trailing)]);
        let doc = if is_where {
            group(concat([head, nest(INDENT, concat(tail))]))
        } else {
            group(align(concat([head, concat(tail)])))
        };
        left.sort_by_key(|c| c.span.start);
        Placed { doc, before: left }
    }

    /// The operands of a chain of one level: the first, then each operator and operand, and
    /// whether it is a `where` chain. Operands in brackets are not opened.
    fn flatten<'e>(&self, expr: &'e Expr) -> (&'e Expr, Vec<(&'static str, &'e Expr)>, bool) {
        let mut rest = Vec::new();
        let mut current = expr;
        let level = match &expr.kind {
            ExprKind::Where { .. } => Precedence::Where,
            ExprKind::Binary { op, left, right } if op.precedence() == Precedence::Compare => {
                return (left, vec![(op.symbol(), right)], false);
            }
            ExprKind::Binary { op, .. } => op.precedence(),
            _ => return (expr, rest, false),
        };
        loop {
            let opened = std::ptr::eq(current, expr) || !self.parens.contains_key(&current.span);
            match &current.kind {
                ExprKind::Where {
                    collection,
                    predicate,
                } if opened && level == Precedence::Where => {
                    rest.push(("where", predicate.as_ref()));
                    current = collection;
                }
                ExprKind::Binary { op, left, right } if opened && op.precedence() == level => {
                    rest.push((op.symbol(), right.as_ref()));
                    current = left;
                }
                _ => break,
            }
        }
        rest.reverse();
        (current, rest, level == Precedence::Where)
    }

    /// A literal or a name, as written.
    fn leaf(&self, expr: &Expr) -> Doc {
        match &expr.kind {
            ExprKind::Name(name) => text(name.name.clone()),
            ExprKind::Money { currency, .. } => {
                let written = self.text_of(expr.span);
                let amount = written
                    .split([' ', '\t'])
                    .next()
                    .unwrap_or(written)
                    .to_string();
                text(format!("{amount} {}", currency.name))
            }
            _ => text(self.text_of(expr.span).to_string()),
        }
    }

    fn string(&self, s: &StringLit) -> Doc {
        text(self.text_of(s.span).to_string())
    }

    /// The first position at or after `from` that is neither blank nor in a comment.
    fn next_token(&self, from: usize) -> usize {
        let mut at = from;
        let comments = &self.trivia.comments;
        loop {
            let rest = self.source.get(at..).unwrap_or("");
            let skipped = rest.len() - rest.trim_start().len();
            at += skipped;
            let next = comments.partition_point(|c| (c.span.start as usize) < at);
            match comments.get(next) {
                Some(c) if c.span.start as usize == at => at = c.span.end as usize,
                _ => return at,
            }
        }
    }
}

/// One `key: price` of a `tiers` or `bundle` clause.
struct Entry<'e> {
    start: usize,
    end: usize,
    key: Doc,
    price: &'e Expr,
}

fn range(span: Span) -> (usize, usize) {
    (span.start as usize, span.end as usize)
}

fn use_end(item: &Use) -> usize {
    match &item.target {
        UseTarget::Module { path, span } => path.last().map_or(span.end, |p| p.span.end) as usize,
        UseTarget::File(s) => s.span.end as usize,
    }
}

/// The level just tighter than `level`.
fn tighter(level: Precedence) -> Precedence {
    use Precedence as P;
    match level {
        P::Where => P::Or,
        P::Or => P::And,
        P::And => P::Not,
        P::Not => P::Compare,
        P::Compare => P::Add,
        P::Add => P::Multiply,
        P::Multiply => P::Negate,
        P::Negate | P::Postfix => P::Postfix,
    }
}
