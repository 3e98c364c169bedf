//! `.field` on namespaces (`m365.users`), records (`bp.cost`) and lists of records
//! (`staff.upn`), and `where` filters with their true/false conditions.

use super::Scope;
use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Names, Span};
use tally_ir::types::record_name;
use tally_ir::{Namespace, Record, TExpr, TExprKind, Type, fields};
use tally_syntax::ast::{Expr, Ident};

impl Checker<'_> {
    pub(super) fn field(&mut self, base: &Expr, field: &Ident, scope: Scope, span: Span) -> TExpr {
        let base = self.expr(base, scope);
        match base.ty.clone() {
            Type::Error => TExpr::error(span),
            Type::Namespace(ns) => self.namespace_member(ns, &base, field, span),
            Type::Record(record) => match fields::field(record, &field.name) {
                Some((f, ty)) => TExpr {
                    kind: TExprKind::Field(Box::new(base), f),
                    ty: self.localise(&ty),
                    span,
                },
                None => self.no_such_field(record, field, span),
            },
            Type::List(inner) => match *inner {
                // `staff.upn`: the field of every element.
                Type::Record(record) => match fields::field(record, &field.name) {
                    Some((f, ty)) => TExpr {
                        kind: TExprKind::Project(Box::new(base), f),
                        ty: Type::List(Box::new(self.localise(&ty))),
                        span,
                    },
                    None => self.no_such_field(record, field, span),
                },
                other => {
                    let what = Type::List(Box::new(other)).describe();
                    self.unknown_field(what, field, Vec::new(), span)
                }
            },
            other => {
                self.report(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("{} has no fields", other.describe()),
                        field.span,
                    )
                    .with_secondary(base.span, format!("this is {}", other.describe())),
                );
                TExpr::error(span)
            }
        }
    }

    /// `m365.users`, `azure.usage`.
    fn namespace_member(
        &mut self,
        ns: Namespace,
        base: &TExpr,
        field: &Ident,
        span: Span,
    ) -> TExpr {
        let members = fields::namespace_members(ns);
        if let Some((_, source)) = members.iter().find(|(n, _)| *n == field.name) {
            return TExpr {
                kind: TExprKind::Source(*source),
                ty: Type::List(Box::new(Type::Record(source.element()))),
                span,
            };
        }
        if ns == Namespace::M365 && field.name == "sku" {
            self.report(
                Diagnostic::error(
                    Code::UnknownField,
                    "`m365.sku` needs the SKU's name",
                    field.span,
                )
                .with_help("write `m365.sku(\"SPB\")`"),
            );
            return TExpr::error(span);
        }
        let names = members.iter().map(|m| m.0).collect();
        self.unknown_field(base.ty.describe(), field, names, span)
    }

    fn no_such_field(&mut self, record: Record, field: &Ident, span: Span) -> TExpr {
        let names = fields::fields_of(record).iter().map(|f| f.0).collect();
        self.unknown_field(format!("a {}", record_name(record)), field, names, span)
    }

    /// "`what` has no field `x`", with the fields there are.
    fn unknown_field(
        &mut self,
        what: String,
        field: &Ident,
        names: Vec<&str>,
        span: Span,
    ) -> TExpr {
        let name = field.name.as_str();
        let names = Names::new(name, names).listed_as("the fields are");
        self.report(
            Diagnostic::error(
                Code::UnknownField,
                format!("{what} has no field `{name}`"),
                field.span,
            )
            .with_label_message("unknown field")
            .with_name_help(field.span, &names),
        );
        TExpr::error(span)
    }

    /// `collection where predicate`: inside the predicate, the element's fields are names.
    pub(super) fn where_(
        &mut self,
        collection: &Expr,
        predicate: &Expr,
        scope: Scope,
        span: Span,
    ) -> TExpr {
        let collection = self.expr(collection, scope);
        let element = match &collection.ty {
            Type::List(inner) => match **inner {
                Type::Record(r) => Some(r),
                _ => None,
            },
            _ => None,
        };
        let Some(record) = element else {
            if !collection.ty.is_error() {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "`where` filters a list of records, but this is {}",
                            collection.ty.describe()
                        ),
                        collection.span,
                    )
                    .with_help("filter a collection such as `m365.users where enabled`"),
                );
            }
            let _ = self.expr(predicate, scope);
            return TExpr::error(span);
        };
        let element = Scope {
            element: Some(record),
        };
        let predicate = self.expr(predicate, element);
        self.expect_bool(&predicate, "a `where` condition");
        TExpr {
            ty: collection.ty.clone(),
            kind: TExprKind::Where(Box::new(collection), Box::new(predicate)),
            span,
        }
    }

    pub(crate) fn expect_bool(&mut self, expr: &TExpr, what: &str) {
        if expr.ty != Type::Bool && !expr.ty.is_error() {
            self.report(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "{what} must be true or false, but this is {}",
                        expr.ty.describe()
                    ),
                    expr.span,
                )
                .with_help("compare it, e.g. `department == \"Sales\"`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{fix, messages, module, only};
    use tally_diagnostics::Code;
    use tally_ir::{Record, Type};

    #[test]
    fn fields_of_namespaces_records_and_lists() {
        let checked = module(
            "let users = m365.users\nlet upns = m365.users.upn\nlet cost = m365.sku(\"SPB\").cost\nlet start = period.start\n",
        );
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let ty = |name: &str| checked.interface.lets.get(name).cloned();
        assert_eq!(
            ty("users"),
            Some(Type::List(Box::new(Type::Record(Record::User))))
        );
        assert_eq!(ty("upns"), Some(Type::List(Box::new(Type::Text))));
        assert_eq!(ty("start"), Some(Type::Date));
    }

    #[test]
    fn an_unknown_field_suggests_the_nearest_or_lists_them() {
        let source = "let x = m365.user\nlet y = m365.sku(\"SPB\").asigned\n";
        let checked = module(source);
        assert_eq!(
            messages(&checked),
            [
                (
                    Code::UnknownField,
                    "the `m365` data has no field `user`".into()
                ),
                (
                    Code::UnknownField,
                    "a subscribed SKU has no field `asigned`".into()
                ),
            ]
        );
        assert_eq!(
            fix(source, &checked.diagnostics[0].suggestions[0]),
            ("user", "users")
        );
        assert_eq!(
            fix(source, &checked.diagnostics[1].suggestions[0]),
            ("asigned", "assigned")
        );
        let d = only(&module("let x = m365.sku\n")).clone();
        assert_eq!(d.message, "`m365.sku` needs the SKU's name");
        assert_eq!(d.help.as_deref(), Some("write `m365.sku(\"SPB\")`"));
    }

    #[test]
    fn a_filter_needs_records_and_a_condition() {
        let checked = module("let x = [1, 2] where true\nlet y = m365.users where department\n");
        assert_eq!(
            messages(&checked),
            [
                (
                    Code::TypeMismatch,
                    "`where` filters a list of records, but this is a list of a whole number"
                        .into()
                ),
                (
                    Code::TypeMismatch,
                    "a `where` condition must be true or false, but this is text".into()
                ),
            ]
        );
    }
}
