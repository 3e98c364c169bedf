//! Function calls: methods (`m365.sku(...)`), the functions that read data (`has_sku`, `tag`,
//! `counter`), and the built-ins of [`Builtin`], whose types are in [`super::builtins`].

use super::Scope;
use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Names, Span};
use tally_ir::{Builtin, TExpr, TExprKind};
use tally_syntax::ast::{Expr, Ident};

/// The functions that are not [`Builtin`]s: they take a quoted name and read data.
pub(super) const DATA_FUNCTIONS: [&str; 3] = ["has_sku", "counter", "tag"];

impl Checker<'_> {
    pub(super) fn call(
        &mut self,
        receiver: Option<&Expr>,
        name: &Ident,
        args: &[Expr],
        scope: Scope,
        span: Span,
    ) -> TExpr {
        if let Some(receiver) = receiver {
            return self.method(receiver, name, args, scope, span);
        }
        match name.name.as_str() {
            "has_sku" => return self.has_sku(name, args, scope, span),
            "tag" => return self.tag(name, args, scope, span),
            "counter" => return self.counter(name, args, span),
            _ => {}
        }
        let Some((_, builtin)) = Builtin::ALL.iter().find(|(n, _)| *n == name.name) else {
            return self.unknown_function(name, args, scope, span);
        };
        let args: Vec<TExpr> = args.iter().map(|a| self.expr(a, scope)).collect();
        let ty = self.builtin_type(*builtin, name, &args, span);
        let args = match builtin {
            Builtin::Count | Builtin::Sum => args,
            _ => args.into_iter().map(|a| self.numeric(a)).collect(),
        };
        TExpr {
            kind: TExprKind::Call(*builtin, args),
            ty,
            span,
        }
    }

    /// A call of a function that does not exist; its arguments are still checked.
    fn unknown_function(&mut self, name: &Ident, args: &[Expr], scope: Scope, span: Span) -> TExpr {
        let mut names: Vec<&str> = Builtin::ALL.iter().map(|(n, _)| *n).collect();
        names.extend(DATA_FUNCTIONS);
        let names = Names::new(&name.name, names).listed_as("the functions are");
        self.report(
            Diagnostic::error(
                Code::UnknownFunction,
                format!("unknown function `{}`", name.name),
                name.span,
            )
            .with_name_help(name.span, &names),
        );
        for arg in args {
            let _ = self.expr(arg, scope);
        }
        TExpr::error(span)
    }

    /// Whether `args` has a count in `range`; if not, reports it with an example of the call.
    pub(super) fn arity(
        &mut self,
        name: &Ident,
        args: &[TExpr],
        range: std::ops::RangeInclusive<usize>,
        span: Span,
        usage: &str,
    ) -> bool {
        if range.contains(&args.len()) {
            return true;
        }
        let takes = if range.start() == range.end() {
            plural(*range.start(), "argument")
        } else if *range.end() == usize::MAX {
            format!("at least {}", plural(*range.start(), "argument"))
        } else {
            format!("{} to {} arguments", range.start(), range.end())
        };
        let given = if args.len() == 1 {
            "1 was".to_string()
        } else {
            format!("{} were", args.len())
        };
        self.report(
            Diagnostic::error(
                Code::WrongArity,
                format!("`{}` takes {takes}, but {given} given", name.name),
                span,
            )
            .with_help(format!("write `{usage}`")),
        );
        false
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{fix, messages, module, only};
    use tally_diagnostics::Code;

    #[test]
    fn arity_says_what_the_function_takes_and_how_to_call_it() {
        let checked =
            module("let a = max(1)\nlet b = round(1, 2, 3)\nlet c = count()\nlet d = abs(1, 2)\n");
        assert_eq!(
            messages(&checked),
            [
                (
                    Code::WrongArity,
                    "`max` takes at least 2 arguments, but 1 was given".into()
                ),
                (
                    Code::WrongArity,
                    "`round` takes 1 to 2 arguments, but 3 were given".into()
                ),
                (
                    Code::WrongArity,
                    "`count` takes 1 argument, but 0 were given".into()
                ),
                (
                    Code::WrongArity,
                    "`abs` takes 1 argument, but 2 were given".into()
                ),
            ]
        );
        assert_eq!(
            checked.diagnostics[0].help.as_deref(),
            Some("write `max(count(staff), 10)`")
        );
    }

    #[test]
    fn an_unknown_function_suggests_the_nearest_and_still_checks_its_arguments() {
        let source = "let staff = m365.users\nlet a = cout(staff, nothing)\n";
        let checked = module(source);
        assert_eq!(
            messages(&checked),
            [
                (Code::UnknownFunction, "unknown function `cout`".into()),
                (Code::UnknownName, "unknown name `nothing`".into()),
            ]
        );
        let d = &checked.diagnostics[0];
        assert_eq!(d.help.as_deref(), Some("did you mean `count`?"));
        assert_eq!(fix(source, &d.suggestions[0]), ("cout", "count"));
        let checked = module("let a = frobnicate(1)\n");
        let help = only(&checked).help.clone().unwrap_or_default();
        assert!(help.starts_with("the functions are `max`"), "{help}");
        assert!(only(&checked).suggestions.is_empty());
    }
}
