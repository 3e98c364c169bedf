//! Bare names: a field of the filtered element, a definition of this file, a definition from a
//! module it uses, or one of the built-in roots `m365`, `azure`, `period`.

use super::Scope;
use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Names, Span};
use tally_ir::types::record_name;
use tally_ir::{Builtin, LetId, Namespace, Record, TExpr, TExprKind, Type, fields};
use tally_syntax::ast::Ident;

/// The names every file can use.
pub(crate) const ROOTS: [&str; 3] = ["m365", "azure", "period"];

impl Checker<'_> {
    pub(super) fn name(&mut self, name: &Ident, scope: Scope) -> TExpr {
        let span = name.span;
        if let Some(record) = scope.element
            && let Some((field, ty)) = fields::field(record, &name.name)
        {
            let element = TExpr {
                kind: TExprKind::Element,
                ty: Type::Record(record),
                span,
            };
            return TExpr {
                kind: TExprKind::Field(Box::new(element), field),
                ty: self.localise(&ty),
                span,
            };
        }
        if let Some(ty) = self.let_type(name) {
            let id = LetId {
                module: self.module.clone(),
                name: name.name.clone(),
            };
            return TExpr {
                kind: TExprKind::Let(id),
                ty,
                span,
            };
        }
        if let Some(imported) = self.imported.get(&name.name).cloned() {
            self.used_imports.insert(name.name.clone());
            let id = LetId {
                module: imported.module,
                name: name.name.clone(),
            };
            return TExpr {
                kind: TExprKind::Let(id),
                ty: self.localise(&imported.ty),
                span,
            };
        }
        if let Some(root) = root(&name.name, span) {
            return root;
        }
        if let Some(record) = scope.element.filter(|r| close_to_field(&name.name, *r)) {
            self.misspelt_field(name, record);
        } else {
            self.unknown_name(name, scope);
        }
        TExpr::error(span)
    }

    /// A name inside a filter that is close to one of the element's fields.
    fn misspelt_field(&mut self, name: &Ident, record: Record) {
        let names = Names::new(&name.name, fields::fields_of(record).iter().map(|f| f.0));
        self.report(
            Diagnostic::error(
                Code::UnknownField,
                format!("a {} has no field `{}`", record_name(record), name.name),
                name.span,
            )
            .with_label_message("unknown field")
            .with_name_help(name.span, &names),
        );
    }

    /// A name that is nothing: a function named without a call, a typo of a visible name, a
    /// user field outside a filter, or something never defined.
    fn unknown_name(&mut self, name: &Ident, scope: Scope) {
        let span = name.span;
        let diagnostic = Diagnostic::error(
            Code::UnknownName,
            format!("unknown name `{}`", name.name),
            span,
        )
        .with_label_message("not defined");
        let mut candidates: Vec<String> = self.visible_names();
        if let Some(record) = scope.element {
            candidates.extend(fields::fields_of(record).iter().map(|f| f.0.to_string()));
        }
        let close = Names::new(&name.name, candidates.iter().map(String::as_str)).closest();
        let diagnostic = if Builtin::ALL.iter().any(|(n, _)| *n == name.name) {
            diagnostic.with_help(format!(
                "`{}` is a function: call it, e.g. `{}(...)`",
                name.name, name.name
            ))
        } else if let Some(close) = close {
            diagnostic.with_name_help(span, &Names::new(&name.name, [close]))
        } else if scope.element.is_none() && fields::field(Record::User, &name.name).is_some() {
            diagnostic.with_help(user_field_help(&name.name))
        } else {
            diagnostic.with_help("define it with `let`, or `use` the module that defines it")
        };
        self.report(diagnostic);
    }

    fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lets.keys().cloned().collect();
        names.extend(self.imported.keys().cloned());
        names.extend(ROOTS.iter().map(|s| s.to_string()));
        names
    }
}

/// `m365`, `azure` or `period`.
fn root(name: &str, span: Span) -> Option<TExpr> {
    let (kind, ty) = match name {
        "m365" => (TExprKind::Error, Type::Namespace(Namespace::M365)),
        "azure" => (TExprKind::Error, Type::Namespace(Namespace::Azure)),
        "period" => (TExprKind::Period, Type::Record(Record::Period)),
        _ => return None,
    };
    Some(TExpr { kind, ty, span })
}

fn close_to_field(name: &str, record: Record) -> bool {
    let names = fields::fields_of(record).iter().map(|f| f.0);
    Names::new(name, names).closest().is_some()
}

/// `department` outside a filter: show the filter it belongs in.
fn user_field_help(field: &str) -> String {
    let condition = match fields::field(Record::User, field).map(|f| f.1) {
        Some(Type::Bool) => field.to_string(),
        _ => format!("{field} == \"...\""),
    };
    format!(
        "`{field}` is a user field: use it inside a filter, e.g. `m365.users where {condition}`"
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{fix, module, only};
    use tally_diagnostics::Code;

    #[test]
    fn a_misspelt_name_suggests_the_visible_one() {
        let source = "let staff = m365.users\nlet x = count(staf)\n";
        let d = only(&module(source)).clone();
        assert_eq!(
            (d.code, d.message.as_str()),
            (Code::UnknownName, "unknown name `staf`")
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `staff`?"));
        assert_eq!(fix(source, &d.suggestions[0]), ("staf", "staff"));
        let source = "let x = count(azur.usage)\n";
        let d = only(&module(source)).clone();
        assert_eq!(fix(source, &d.suggestions[0]), ("azur", "azure"));
    }

    #[test]
    fn a_misspelt_field_inside_a_filter_is_an_unknown_field() {
        let source = "let x = m365.users where departmnet == \"Sales\"\n";
        let d = only(&module(source)).clone();
        assert_eq!(d.code, Code::UnknownField);
        assert_eq!(d.message, "a user has no field `departmnet`");
        assert_eq!(fix(source, &d.suggestions[0]), ("departmnet", "department"));
    }

    #[test]
    fn names_that_are_something_else_say_what_they_are() {
        let help = |source: &str| only(&module(source)).help.clone().unwrap_or_default();
        assert_eq!(
            help("let x = count\n"),
            "`count` is a function: call it, e.g. `count(...)`"
        );
        assert_eq!(
            help("let x = department == \"Sales\"\n"),
            "`department` is a user field: use it inside a filter, e.g. `m365.users where department == \"...\"`"
        );
        assert_eq!(
            help("let x = enabled\n"),
            "`enabled` is a user field: use it inside a filter, e.g. `m365.users where enabled`"
        );
        assert_eq!(
            help("let x = zzzz\n"),
            "define it with `let`, or `use` the module that defines it"
        );
        assert!(only(&module("let x = zzzz\n")).suggestions.is_empty());
    }
}
