//! The calls that read the tenant's data by a quoted name: `m365.sku("SPB")` (optionally with
//! a term), `has_sku("SPB")` inside a filter of users, `tag("project")` inside a filter of
//! usage rows, and `counter("backup.protected_users")`. SKU names are resolved against
//! Microsoft's SKU table here, so a typo is caught before any data is read.

use super::Scope;
use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Names, Span, list_or};
use tally_ir::{Namespace, Record, TExpr, TExprKind, Term, Type};
use tally_syntax::ast::{Expr, ExprKind, Ident};

impl Checker<'_> {
    /// `receiver.name(args)`: only `m365.sku(...)` exists.
    pub(super) fn method(
        &mut self,
        receiver: &Expr,
        name: &Ident,
        args: &[Expr],
        scope: Scope,
        span: Span,
    ) -> TExpr {
        let receiver = self.expr(receiver, scope);
        match (&receiver.ty, name.name.as_str()) {
            (Type::Error, _) => TExpr::error(span),
            (Type::Namespace(Namespace::M365), "sku") => self.m365_sku(name, args, span),
            (ty, _) => {
                let mut d = Diagnostic::error(
                    Code::UnknownFunction,
                    format!("{} has no function `{}`", ty.describe(), name.name),
                    name.span,
                );
                if *ty == Type::Namespace(Namespace::M365) {
                    d = d.with_help("`m365` has `users`, `skus` and `sku(\"NAME\")`");
                }
                self.report(d);
                TExpr::error(span)
            }
        }
    }

    /// `m365.sku("SPB")`, `m365.sku("SPB", "annual")` or `m365.sku("SPB", "annual",
    /// 2026-02-11)`: one SKU, optionally of one term, optionally the subscription whose first
    /// term started on a day.
    fn m365_sku(&mut self, name: &Ident, args: &[Expr], span: Span) -> TExpr {
        let (args, term_start) = match args {
            [
                first @ ..,
                Expr {
                    kind: ExprKind::Date(day),
                    ..
                },
            ] if args.len() == 3 => (first, Some(*day)),
            [_, _, third] => {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        "the third argument of `m365.sku` is the day the subscription's first term started",
                        third.span,
                    )
                    .with_help("write a date, e.g. `m365.sku(\"SPB\", \"annual\", 2026-02-11)`"),
                );
                return TExpr::error(span);
            }
            _ => (args, None),
        };
        let (first, term) = match args {
            [
                first,
                Expr {
                    kind: ExprKind::Text(term),
                    span: term_span,
                },
            ] => match self.term(term, *term_span) {
                Some(term) => (std::slice::from_ref(first), Some(term)),
                None => return TExpr::error(span),
            },
            _ => (args, None),
        };
        let usage = "m365.sku(\"SPB\"), m365.sku(\"SPB\", \"annual\") or m365.sku(\"SPB\", \"annual\", 2026-02-11)";
        let Some((sku, sku_span)) = self.literal_text(name, first, span, usage) else {
            return TExpr::error(span);
        };
        match self.sku_guids(&sku, sku_span) {
            Some(guids) => TExpr {
                kind: TExprKind::SkuLookup {
                    name: sku,
                    guids,
                    term,
                    term_start,
                },
                ty: Type::Record(Record::Sku),
                span,
            },
            None => TExpr::error(span),
        }
    }

    /// The commitment term of `m365.sku("SPB", "annual")`.
    fn term(&mut self, term: &str, span: Span) -> Option<Term> {
        if let Some(known) = Term::from_name(term) {
            return Some(known);
        }
        let names = Names::new(term, Term::ALL.map(Term::name)).listed_as("the terms are");
        let mut d = Diagnostic::error(Code::BadClause, format!("unknown term `{term}`"), span)
            .with_help(names.help().unwrap_or_default());
        // The replacement is a quoted string, as the term is written.
        if let Some(close) = names.closest() {
            d = d.with_suggestion(
                span,
                format!("{close:?}"),
                format!("replace with `{close}`"),
            );
        }
        self.report(d);
        None
    }

    /// `has_sku("SPB")`: true for a user who has the SKU, inside a filter of users.
    pub(super) fn has_sku(
        &mut self,
        name: &Ident,
        args: &[Expr],
        scope: Scope,
        span: Span,
    ) -> TExpr {
        if scope.element != Some(Record::User) {
            self.report(
                Diagnostic::error(
                    Code::UnknownFunction,
                    "`has_sku` only works inside a filter of users",
                    name.span,
                )
                .with_help("write `m365.users where has_sku(\"SPB\")`"),
            );
            return TExpr::error(span);
        }
        let Some((sku, sku_span)) = self.literal_text(name, args, span, "has_sku(\"SPB\")") else {
            return TExpr::error(span);
        };
        match self.sku_guids(&sku, sku_span) {
            Some(guids) => TExpr {
                kind: TExprKind::HasSku { name: sku, guids },
                ty: Type::Bool,
                span,
            },
            None => TExpr::error(span),
        }
    }

    /// `tag("project")`: a usage row's tag, inside a filter of Azure usage rows.
    pub(super) fn tag(&mut self, name: &Ident, args: &[Expr], scope: Scope, span: Span) -> TExpr {
        if scope.element != Some(Record::Usage) {
            self.report(
                Diagnostic::error(
                    Code::UnknownFunction,
                    "`tag` only works inside a filter of Azure usage rows",
                    name.span,
                )
                .with_help("write `azure.usage where tag(\"project\") == \"Apollo\"`"),
            );
            return TExpr::error(span);
        }
        let Some((tag, _)) = self.literal_text(name, args, span, "tag(\"department\")") else {
            return TExpr::error(span);
        };
        TExpr {
            kind: TExprKind::Tag(tag),
            ty: Type::Text,
            span,
        }
    }

    /// `counter("backup.protected_users")`: a whole number from the snapshot's counters.
    pub(super) fn counter(&mut self, name: &Ident, args: &[Expr], span: Span) -> TExpr {
        let usage = "counter(\"backup.protected_users\")";
        let Some((counter, counter_span)) = self.literal_text(name, args, span, usage) else {
            return TExpr::error(span);
        };
        if counter.trim().is_empty() {
            self.report(Diagnostic::error(
                Code::TypeMismatch,
                "a counter needs a name",
                counter_span,
            ));
            return TExpr::error(span);
        }
        TExpr {
            kind: TExprKind::Counter(counter),
            ty: Type::Int,
            span,
        }
    }

    /// A string-literal argument, e.g. the SKU name of `m365.sku("SPB")`.
    fn literal_text(
        &mut self,
        name: &Ident,
        args: &[Expr],
        span: Span,
        usage: &str,
    ) -> Option<(String, Span)> {
        if let [
            Expr {
                kind: ExprKind::Text(t),
                span,
            },
        ] = args
        {
            return Some((t.clone(), *span));
        }
        self.report(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("`{}` takes one quoted name", name.name),
                span,
            )
            .with_help(format!("write `{usage}`")),
        );
        None
    }

    /// The GUIDs a SKU name stands for (part number, GUID or product name), or a report with
    /// the catalogue's nearest names.
    fn sku_guids(&mut self, sku: &str, span: Span) -> Option<Vec<String>> {
        let catalog = tally_skus::catalog();
        let found = catalog.resolve(sku);
        if found.is_empty() {
            let suggestions = catalog.suggest(sku);
            let mut d = Diagnostic::error(Code::UnknownSku, format!("unknown SKU `{sku}`"), span)
                .with_label_message("not in Microsoft's SKU table");
            d = if suggestions.is_empty() {
                d.with_help("use the part number (e.g. `SPB`), the GUID or the product name from Microsoft's licensing table")
            } else {
                // The catalogue searches product names as well as part numbers, so it may
                // offer several; each is a fix of its own.
                let names: Vec<&str> = suggestions.iter().map(String::as_str).collect();
                let mut d = d.with_help(format!("did you mean {}?", list_or(&names)));
                for name in names {
                    d = d.with_suggestion(
                        span,
                        format!("{name:?}"),
                        format!("replace with `{name}`"),
                    );
                }
                d
            };
            self.report(d);
            return None;
        }
        let mut guids: Vec<String> = found.iter().map(|s| s.guid.to_lowercase()).collect();
        guids.sort();
        guids.dedup();
        Some(guids)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{fix, messages, module, only};
    use tally_diagnostics::Code;

    #[test]
    fn data_functions_work_only_where_their_data_is() {
        let checked = module(
            "let a = has_sku(\"SPB\")\nlet b = tag(\"project\")\nlet c = m365.users where has_sku(\"SPB\")\nlet d = azure.usage where tag(\"project\") == \"Apollo\"\nlet e = counter(\"\")\n",
        );
        assert_eq!(
            messages(&checked),
            [
                (
                    Code::UnknownFunction,
                    "`has_sku` only works inside a filter of users".into()
                ),
                (
                    Code::UnknownFunction,
                    "`tag` only works inside a filter of Azure usage rows".into()
                ),
                (Code::TypeMismatch, "a counter needs a name".into()),
            ]
        );
    }

    #[test]
    fn an_unknown_term_suggests_the_quoted_term() {
        let source = "let x = m365.sku(\"SPB\", \"anual\")\n";
        let d = only(&module(source)).clone();
        assert_eq!(d.message, "unknown term `anual`");
        assert_eq!(d.help.as_deref(), Some("did you mean `annual`?"));
        assert_eq!(fix(source, &d.suggestions[0]), ("\"anual\"", "\"annual\""));
    }

    #[test]
    fn a_sku_name_must_be_quoted_and_known() {
        let checked = module("let x = m365.sku(spb)\nlet y = m365.skus(\"SPB\")\n");
        assert_eq!(
            messages(&checked),
            [
                (Code::TypeMismatch, "`sku` takes one quoted name".into()),
                (
                    Code::UnknownFunction,
                    "the `m365` data has no function `skus`".into()
                ),
            ]
        );
        let source = "let x = m365.sku(\"SPE_E5X\")\n";
        let d = only(&module(source)).clone();
        assert_eq!(d.code, Code::UnknownSku);
        assert!(!d.suggestions.is_empty());
        assert!(
            d.suggestions
                .iter()
                .all(|s| fix(source, s).0 == "\"SPE_E5X\"")
        );
    }
}
