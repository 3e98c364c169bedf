//! Checking of top-level items, in the order they depend on one another: the customer header
//! (its currency types the money in everything else), the `use`s, the `let`s, then the lines.
//!
//! - [`header`]: `customer { tenant, currency, psa, billing_day }`;
//! - [`imports`]: what the used modules define; [`lets`]: definitions, in dependency order;
//! - [`line`] and [`clauses`]: a line and each of its clauses; [`tiers`], [`schedule`] (dated
//!   prices) and [`split`] for the clauses with rules of their own; [`combinations`] for
//!   clauses that need or exclude one another;
//! - [`coerce`]: a line's quantity must be whole, its prices money in the customer's currency.

mod clauses;
mod coerce;
mod combinations;
mod header;
mod imports;
mod lets;
mod line;
mod schedule;
mod split;
mod tiers;

use crate::{Checker, Import};
use std::collections::BTreeMap;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_syntax::ast::{self, Item};

impl<'a> Checker<'a> {
    pub(crate) fn run(&mut self, file: &'a ast::File, imports: &[Import]) {
        let customers: Vec<&ast::Customer> = file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Customer(c) => Some(c),
                _ => None,
            })
            .collect();
        self.customers(&customers);
        self.imports(file, imports);
        self.collect_lets(file);
        self.check_lets();
        let lines: Vec<&ast::Line> = file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Line(l) => Some(l),
                _ => None,
            })
            .collect();
        if customers.is_empty()
            && !file.incomplete
            && let Some(first) = lines.first()
        {
            self.report(
                Diagnostic::error(Code::BadCustomer, "lines need a `customer` header", first.name.span)
                    .with_help("start the file with `customer \"Name\" { tenant \"...\" currency GBP }`, or move the lines into a customer file"),
            );
        }
        self.lines(&lines);
        if !customers.is_empty() && !file.incomplete {
            self.unused_lets();
        }
    }

    /// The first header is the customer; any other is an error.
    fn customers(&mut self, customers: &[&ast::Customer]) {
        let Some(first) = customers.first() else {
            return;
        };
        self.customer(first);
        for extra in customers.iter().skip(1) {
            self.report(
                Diagnostic::error(
                    Code::BadCustomer,
                    "a file describes one customer",
                    extra.keyword,
                )
                .with_secondary(first.keyword, "the customer is declared here")
                .with_help("put each customer in its own file"),
            );
        }
    }

    /// Each line once: a second line of the same name is reported, not checked.
    fn lines(&mut self, lines: &[&ast::Line]) {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for line in lines {
            if let Some(first) = seen.get(&line.name.name) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateLine,
                        format!("line `{}` is defined twice", line.name.name),
                        line.name.span,
                    )
                    .with_secondary(*first, "first defined here")
                    .with_help("give each line its own name: it becomes the line's id in the plan"),
                );
                continue;
            }
            seen.insert(line.name.name.clone(), line.name.span);
            self.line(line);
        }
    }

    /// In a customer file, a definition no line uses is a warning (a module's are for others).
    fn unused_lets(&mut self) {
        let unused: Vec<(String, Span)> = self
            .lets
            .iter()
            .filter(|(name, _)| !self.used_lets.contains(*name))
            .map(|(name, decl)| (name.clone(), decl.name.span))
            .collect();
        for (name, span) in unused {
            self.report(
                Diagnostic::warning(
                    Code::UnusedDefinition,
                    format!("`{name}` is never used"),
                    span,
                )
                .with_help("remove it, or use it in a line"),
            );
        }
    }
}
