//! `split by KEY`: the line's quantity is split by a user attribute, following the users it
//! counts (one list of users, however often it appears).

use crate::{Checker, SplitDecl};
use tally_diagnostics::{Code, Diagnostic, Names};
use tally_ir::{Record, SplitKey, TExpr, Type};
use tally_syntax::ast;

impl Checker<'_> {
    /// The split of a line whose quantity is `value`, or `None` after a report.
    pub(super) fn split(
        &mut self,
        key: &ast::Ident,
        otherwise: Option<&ast::StringLit>,
        value: &TExpr,
    ) -> Option<SplitDecl> {
        let Some(split_key) = SplitKey::from_name(&key.name) else {
            let names = Names::new(&key.name, SplitKey::ALL.map(SplitKey::name))
                .listed_as("a line can be split by");
            self.report(
                Diagnostic::error(
                    Code::BadSplit,
                    format!("cannot split by `{}`: it is not a user attribute", key.name),
                    key.span,
                )
                .with_name_help(key.span, &names),
            );
            return None;
        };
        if value.ty.is_error() {
            return None;
        }
        let mut populations = Vec::new();
        user_lists(value, &mut populations);
        let mut distinct: Vec<&TExpr> = Vec::new();
        for p in populations {
            if !distinct.iter().any(|d| d.same_shape(p)) {
                distinct.push(p);
            }
        }
        match distinct.as_slice() {
            [one] => Some(SplitDecl {
                key: split_key,
                key_span: key.span,
                otherwise: otherwise.map(|o| o.value.clone()),
                population: (*one).clone(),
            }),
            [] => {
                self.report(
                    Diagnostic::error(Code::BadSplit, "nothing to split: the quantity counts no users", key.span)
                        .with_secondary(value.span, "this does not count users")
                        .with_help("a split follows the users the line counts, e.g. `qty = count(staff) split by department`"),
                );
                None
            }
            [first, second, ..] => {
                self.report(
                    Diagnostic::error(
                        Code::BadSplit,
                        "cannot tell which users to split by",
                        key.span,
                    )
                    .with_secondary(first.span, "these users")
                    .with_secondary(second.span, "or these")
                    .with_help("define the users once with `let` and count only them"),
                );
                None
            }
        }
    }
}

/// The outermost lists of users in an expression (the users a line counts).
fn user_lists<'e>(expr: &'e TExpr, out: &mut Vec<&'e TExpr>) {
    if expr.ty == Type::List(Box::new(Type::Record(Record::User))) {
        out.push(expr);
        return;
    }
    for child in expr.children() {
        user_lists(child, out);
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{customer, customer_source, fix, messages};
    use tally_diagnostics::Code;

    #[test]
    fn a_split_follows_one_list_of_users() {
        let checked = customer(
            "let staff = m365.users where enabled\na qty = count(staff) + count(staff) price 1.00 split by department otherwise \"X\"\n",
        );
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        assert!(checked.lines[0].split.is_some());
        assert_eq!(
            messages(&customer(
                "a qty = 1 price 1.00 split by department otherwise \"X\"\n"
            )),
            [(
                Code::BadSplit,
                "nothing to split: the quantity counts no users".into()
            )]
        );
        assert_eq!(
            messages(&customer(
                "a qty = count(m365.users) + count(m365.users where enabled) price 1.00 split by department otherwise \"X\"\n"
            )),
            [(Code::BadSplit, "cannot tell which users to split by".into())]
        );
    }

    #[test]
    fn an_unknown_key_suggests_a_user_attribute() {
        let rules = "a qty = count(m365.users) price 1.00 split by departmnt otherwise \"X\"\n";
        let checked = customer(rules);
        assert_eq!(
            messages(&checked),
            [(
                Code::BadSplit,
                "cannot split by `departmnt`: it is not a user attribute".into()
            )]
        );
        let source = customer_source(rules);
        assert_eq!(
            fix(&source, &checked.diagnostics[0].suggestions[0]),
            ("departmnt", "department")
        );
    }
}
