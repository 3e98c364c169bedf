//! Helpers for the in-crate tests: check a snippet as a customer file (invoiced in GBP) or as a
//! module, and look at what was reported.

use crate::{Checked, Import, Interface, check};
use tally_diagnostics::{Code, Diagnostic, Span, Suggestion};
use tally_ir::ModuleKey;

/// The header the snippets of [`customer`] follow.
pub(crate) const HEADER: &str =
    "customer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency GBP\n}\n";

/// Checks `rules` after a header for a customer invoiced in GBP. The snippet must parse.
pub(crate) fn customer(rules: &str) -> Checked {
    module(&format!("{HEADER}{rules}"))
}

/// Checks `source` as it is (a module if it has no header). It must parse.
pub(crate) fn module(source: &str) -> Checked {
    let parsed = tally_syntax::parse(source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    check(&parsed.file, ModuleKey("test.tally".into()), &[])
}

/// Checks `source` using one module, named `shared`, with the given interface.
pub(crate) fn using(source: &str, interface: Interface) -> Checked {
    let parsed = tally_syntax::parse(source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let span = source
        .find("shared")
        .map_or(Span::default(), |at| Span::new(at, at + "shared".len()));
    let import = Import {
        span,
        module: ModuleKey("shared".into()),
        interface: Some(interface),
        not_found: None,
    };
    check(&parsed.file, ModuleKey("test.tally".into()), &[import])
}

/// The errors and warnings, without the "never used" warnings snippets are full of.
pub(crate) fn reported(checked: &Checked) -> Vec<&Diagnostic> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.code != Code::UnusedDefinition)
        .collect()
}

/// The one diagnostic of `checked` (ignoring unused definitions); fails if there is not one.
pub(crate) fn only(checked: &Checked) -> &Diagnostic {
    match reported(checked).as_slice() {
        [one] => one,
        other => panic!("expected one diagnostic, got {other:#?}"),
    }
}

/// `(code, message)` of each diagnostic, ignoring unused definitions.
pub(crate) fn messages(checked: &Checked) -> Vec<(Code, String)> {
    reported(checked)
        .iter()
        .map(|d| (d.code, d.message.clone()))
        .collect()
}

/// The text of `source` a diagnostic's suggestion would replace, and its replacement.
pub(crate) fn fix<'s>(source: &'s str, suggestion: &'s Suggestion) -> (&'s str, &'s str) {
    (
        suggestion.span.text(source),
        suggestion.replacement.as_str(),
    )
}

/// The full source of a [`customer`] snippet, for reading spans.
pub(crate) fn customer_source(rules: &str) -> String {
    format!("{HEADER}{rules}")
}
