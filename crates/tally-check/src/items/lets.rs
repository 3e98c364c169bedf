//! Definitions. They are collected first (a name defined twice, by a used module, or a
//! built-in is reported), then checked each after the definitions it uses, so that checking one
//! never has to check another inside it and a chain thousands long checks without recursing.
//! Definitions in a cycle, or using one, are checked on first use instead, which is how the
//! cycle is found and reported. Each checked definition is measured for the nesting limits.

use crate::expr::Scope;
use crate::limits::{self, LetDepth, MAX_DEFINITION_DEPTH, MAX_NESTING};
use crate::{Checker, LetState};
use std::collections::{BTreeMap, BTreeSet};
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::{TExpr, Type};
use tally_syntax::ast::{self, Expr, ExprKind, Ident, Item};

/// The names no definition may take.
const BUILT_IN: [&str; 3] = ["m365", "azure", "period"];

impl<'a> Checker<'a> {
    pub(super) fn collect_lets(&mut self, file: &'a ast::File) {
        for item in &file.items {
            let Item::Let(decl) = item else { continue };
            if let Some(refusal) = self.name_taken(&decl.name) {
                self.report(refusal);
                continue;
            }
            self.lets.insert(decl.name.name.clone(), decl);
        }
    }

    /// Why a definition may not take this name, if it may not.
    fn name_taken(&self, name: &Ident) -> Option<Diagnostic> {
        let text = &name.name;
        if let Some(first) = self.lets.get(text) {
            return Some(
                Diagnostic::error(
                    Code::DuplicateDefinition,
                    format!("`{text}` is defined twice"),
                    name.span,
                )
                .with_secondary(first.name.span, "first defined here"),
            );
        }
        if let Some(imported) = self.imported.get(text) {
            return Some(
                Diagnostic::error(
                    Code::DuplicateDefinition,
                    format!("`{text}` is already defined by `{}`", imported.module),
                    name.span,
                )
                .with_help("choose another name; drop this definition only if it means the same as the module's"),
            );
        }
        BUILT_IN.contains(&text.as_str()).then(|| {
            Diagnostic::error(
                Code::DuplicateDefinition,
                format!("`{text}` is a built-in name"),
                name.span,
            )
        })
    }

    /// Checks every definition: first those clear of cycles, each after the ones it uses; then
    /// the rest by name, as a line would reach them.
    pub(super) fn check_lets(&mut self) {
        for name in self.dependency_order() {
            self.ensure_let(&name, None);
        }
        let names: Vec<String> = self.lets.keys().cloned().collect();
        for name in &names {
            self.ensure_let(name, None);
        }
    }

    /// The definitions that are not in a cycle and use none that is, each after the ones it
    /// uses. Uses are read from the text: a name inside a filter may turn out to be a field of
    /// the element, which only adds an ordering constraint. Iterative depth-first search.
    fn dependency_order(&self) -> Vec<String> {
        let uses: BTreeMap<&str, Vec<&str>> = self
            .lets
            .iter()
            .map(|(name, decl)| (name.as_str(), self.names_used(&decl.value)))
            .collect();
        let mut open: BTreeSet<&str> = BTreeSet::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut cyclic: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        for root in uses.keys() {
            if done.contains(root) {
                continue;
            }
            let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
            open.insert(root);
            while let Some(&(node, next)) = stack.last() {
                let used = uses.get(node).map_or(&[][..], Vec::as_slice);
                if let Some(&child) = used.get(next) {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    if open.contains(child) {
                        // A cycle: every definition on the path reaches it.
                        cyclic.extend(stack.iter().map(|(n, _)| *n));
                    } else if !done.contains(child) {
                        open.insert(child);
                        stack.push((child, 0));
                    }
                    continue;
                }
                stack.pop();
                open.remove(node);
                done.insert(node);
                if used.iter().any(|u| cyclic.contains(u)) {
                    cyclic.insert(node);
                }
                if !cyclic.contains(node) {
                    order.push(node.to_string());
                }
            }
        }
        order
    }

    /// The definitions of this file named in an expression, each once. Iterative.
    fn names_used<'e>(&self, expr: &'e Expr) -> Vec<&'e str> {
        let mut found: Vec<&str> = Vec::new();
        let mut pending = vec![expr];
        while let Some(e) = pending.pop() {
            match &e.kind {
                ExprKind::Name(name)
                    if self.lets.contains_key(&name.name)
                        && !found.contains(&name.name.as_str()) =>
                {
                    found.push(&name.name);
                }
                ExprKind::List(items) => pending.extend(items),
                ExprKind::Field { base, .. } => pending.push(base),
                ExprKind::Call { receiver, args, .. } => {
                    pending.extend(receiver.as_deref());
                    pending.extend(args);
                }
                ExprKind::Unary { operand, .. } => pending.push(operand),
                ExprKind::Binary { left, right, .. } => pending.extend([&**left, &**right]),
                ExprKind::Where {
                    collection,
                    predicate,
                } => pending.extend([&**collection, &**predicate]),
                _ => {}
            }
        }
        found
    }

    /// The type of a local `let` used at `name`, checking its body on first use; marks it used.
    pub(crate) fn let_type(&mut self, name: &Ident) -> Option<Type> {
        if !self.lets.contains_key(&name.name) {
            return None;
        }
        self.used_lets.insert(name.name.clone());
        self.ensure_let(&name.name, Some(name.span))
    }

    /// Checks a definition's body unless done; `used_at` is the use that asked, if any.
    fn ensure_let(&mut self, name: &str, used_at: Option<Span>) -> Option<Type> {
        let decl = *self.lets.get(name)?;
        match self.let_state.get(name) {
            Some(LetState::Done) => return self.let_types.get(name).cloned(),
            Some(LetState::InProgress) => {
                self.report(
                    Diagnostic::error(
                        Code::CyclicDefinition,
                        format!("`{name}` is defined in terms of itself"),
                        decl.name.span,
                    )
                    .with_help("a definition cannot depend on itself, directly or through others"),
                );
                self.let_types.insert(name.to_string(), Type::Error);
                self.let_state.insert(name.to_string(), LetState::Done);
                return Some(Type::Error);
            }
            None => {}
        }
        if self.lets_in_progress >= MAX_DEFINITION_DEPTH {
            // Only reached through a cycle or on demand: it is checked later on its own.
            let label = format!("`{name}` would be checked inside {MAX_DEFINITION_DEPTH} others");
            self.report(limits::definitions_too_deep(
                used_at.unwrap_or(decl.name.span),
                label,
            ));
            return Some(Type::Error);
        }
        self.let_state
            .insert(name.to_string(), LetState::InProgress);
        self.lets_in_progress += 1;
        let typed = self.expr(&decl.value, Scope::default());
        self.lets_in_progress -= 1;
        if self.let_state.get(name) == Some(&LetState::Done) {
            // A cycle through this definition was reported while checking its body.
            return Some(Type::Error);
        }
        self.let_state.insert(name.to_string(), LetState::Done);
        self.record_depth(name, &typed);
        self.let_types.insert(name.to_string(), typed.ty.clone());
        self.typed_lets.insert(name.to_string(), typed.clone());
        Some(typed.ty)
    }

    /// Measures a checked definition and reports it if it builds too deep; what builds on a
    /// definition reported too deep is not reported again.
    fn record_depth(&mut self, name: &str, typed: &TExpr) {
        let measure = self.measure(typed);
        let depth = LetDepth {
            definitions: measure.definitions + 1,
            nesting: measure.nesting,
        };
        self.let_depths.insert(name.to_string(), depth);
        let too_deep = if measure.builds_on_too_deep {
            true
        } else if depth.definitions > MAX_DEFINITION_DEPTH {
            let (at, used) = measure
                .deepest_definition
                .clone()
                .unwrap_or((typed.span, name.to_string()));
            let label = format!(
                "`{used}` is already {} definitions deep",
                measure.definitions
            );
            self.report(limits::definitions_too_deep(at, label));
            true
        } else {
            depth.nesting > MAX_NESTING && !self.within_nesting(&measure, typed.span)
        };
        if too_deep {
            self.too_deep.insert(name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, messages, module};
    use tally_diagnostics::{Code, Severity};

    #[test]
    fn names_taken_are_refused() {
        let checked = module("let a = 1\nlet a = 2\nlet period = 3\n");
        assert_eq!(
            messages(&checked),
            [
                (Code::DuplicateDefinition, "`a` is defined twice".into()),
                (
                    Code::DuplicateDefinition,
                    "`period` is a built-in name".into()
                ),
            ]
        );
    }

    #[test]
    fn a_cycle_is_reported_once_at_the_first_definition_in_it() {
        let checked = module("let a = b\nlet b = c + 1\nlet c = a\nlet d = b\nlet e = 1\n");
        assert_eq!(
            messages(&checked),
            [(
                Code::CyclicDefinition,
                "`a` is defined in terms of itself".into()
            )]
        );
        assert!(checked.interface.lets.contains_key("e"));
    }

    #[test]
    fn definitions_are_checked_in_any_order_and_unused_ones_warned_about() {
        let checked = customer(
            "let seats = count(staff) + 1\nlet staff = m365.users\nlet spare = 2\nx qty = seats price 1.00\n",
        );
        let warnings: Vec<&str> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(warnings, ["`spare` is never used"]);
        assert!(!checked.has_errors());
    }

    #[test]
    fn the_order_follows_uses_not_names() {
        // `z9` uses `z8` ... uses `z0`: in name order each would be checked inside the next.
        let source: String = (1..2_000)
            .map(|i| format!("let z{i} = 1 + z{}\n", i - 1))
            .chain(["let z0 = 1\n".to_string()])
            .collect();
        let checked = module(&source);
        let depth = |name: &str| checked.interface.depths.get(name).map(|d| d.definitions);
        assert_eq!(depth("z0"), Some(1));
        assert_eq!(depth("z63"), Some(64));
        assert_eq!(depth("z1999"), Some(2_000));
        assert_eq!(
            messages(&checked),
            [(
                Code::NestingTooDeep,
                "definitions build on one another more than 64 deep".into()
            )]
        );
    }
}
