//! Diagnostics are plain values: every stage returns them, the CLI renders them with miette, the
//! language server turns them into LSP diagnostics. Style: a short lowercase message with the
//! user's text in backticks, labels on the offending text, advice in `help`.

use crate::Span;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Every diagnostic Tally can produce has a stable code. `docs/errors.md` documents each one; a
/// test keeps the two in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Code {
    /// The text does not follow the grammar.
    Syntax,
    /// A number, date or string literal that is malformed (e.g. `2026-02-30`).
    BadLiteral,
    /// A name that is not defined.
    UnknownName,
    /// A field that the record does not have.
    UnknownField,
    /// A function or method that does not exist.
    UnknownFunction,
    /// A SKU name not in Microsoft's official SKU table.
    UnknownSku,
    /// A `use` of a module or file that cannot be found.
    UnknownModule,
    /// An operand or argument of the wrong type.
    TypeMismatch,
    /// Money of two different currencies combined.
    CurrencyMismatch,
    /// A seat quantity that is not a whole number.
    NonIntegerQuantity,
    /// A function called with the wrong number of arguments.
    WrongArity,
    /// Two lines with the same name.
    DuplicateLine,
    /// Two definitions with the same name.
    DuplicateDefinition,
    /// A definition that depends on itself.
    CyclicDefinition,
    /// `split by` a key that is not a user attribute, or a split with no users to split over.
    BadSplit,
    /// The `customer` header is missing, repeated or incomplete.
    BadCustomer,
    /// A clause given twice on one line, or a clause value that is not one of the allowed words.
    BadClause,
    /// A currency code that is not ISO 4217.
    UnknownCurrency,
    /// A definition that is never used (warning).
    UnusedDefinition,
    /// Division by zero during evaluation.
    DivisionByZero,
    /// A quantity or minimum that evaluates below zero (negative prices and amounts are credits).
    NegativeQuantity,
    /// The customer's tenant is not in the snapshot.
    MissingTenant,
    /// Data the rules need is missing from the snapshot (a SKU, a counter, a currency).
    MissingData,
    /// A number too large for exact decimal arithmetic.
    Overflow,
    /// Expressions or definitions nested deeper than Tally evaluates.
    NestingTooDeep,
    /// A plan was asked of rules that do not check.
    RulesHaveErrors,
    /// The checker and a later stage disagree: a bug in Tally, never in the rules.
    Internal,
}

impl Code {
    pub const ALL: [Code; 27] = [
        Code::Syntax,
        Code::BadLiteral,
        Code::UnknownName,
        Code::UnknownField,
        Code::UnknownFunction,
        Code::UnknownSku,
        Code::UnknownModule,
        Code::TypeMismatch,
        Code::CurrencyMismatch,
        Code::NonIntegerQuantity,
        Code::WrongArity,
        Code::DuplicateLine,
        Code::DuplicateDefinition,
        Code::CyclicDefinition,
        Code::BadSplit,
        Code::BadCustomer,
        Code::BadClause,
        Code::UnknownCurrency,
        Code::UnusedDefinition,
        Code::DivisionByZero,
        Code::NegativeQuantity,
        Code::MissingTenant,
        Code::MissingData,
        Code::Overflow,
        Code::NestingTooDeep,
        Code::RulesHaveErrors,
        Code::Internal,
    ];

    /// The stable identifier shown to users, e.g. `T0101`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "T0001",
            Code::BadLiteral => "T0002",
            Code::UnknownName => "T0101",
            Code::UnknownField => "T0102",
            Code::UnknownFunction => "T0103",
            Code::UnknownSku => "T0104",
            Code::UnknownModule => "T0105",
            Code::TypeMismatch => "T0201",
            Code::CurrencyMismatch => "T0202",
            Code::NonIntegerQuantity => "T0203",
            Code::WrongArity => "T0204",
            Code::DuplicateLine => "T0301",
            Code::DuplicateDefinition => "T0302",
            Code::CyclicDefinition => "T0303",
            Code::BadSplit => "T0304",
            Code::BadCustomer => "T0305",
            Code::BadClause => "T0306",
            Code::UnknownCurrency => "T0307",
            Code::UnusedDefinition => "T0401",
            Code::DivisionByZero => "T0501",
            Code::NegativeQuantity => "T0502",
            Code::MissingTenant => "T0503",
            Code::MissingData => "T0504",
            Code::Overflow => "T0505",
            Code::NestingTooDeep => "T0003",
            Code::RulesHaveErrors => "T0601",
            Code::Internal => "T0901",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The file the span is in, when it is not the diagnostic's own (a definition in a module
    /// the file uses). `None`: the diagnostic's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A fix as data: replace the text under `span` with `replacement`. An editor offers it as a
/// quick fix; the terminal shows the diagnostic's `help` instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Suggestion {
    /// What the fix does, e.g. "replace with `department`".
    pub message: String,
    pub span: Span,
    pub replacement: String,
}

/// One problem in one file. The file is known from context: every query that returns
/// diagnostics returns them for the file it was asked about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The first label is the primary one: the text the message is about.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: vec![Label {
                span,
                message: String::new(),
                file: None,
            }],
            help: None,
            suggestions: Vec::new(),
        }
    }

    pub fn warning(code: Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// A disagreement between Tally's own stages, at the rule text being worked on. The
    /// message says what was expected; the help asks for a report.
    pub fn internal(message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::error(
            Code::Internal,
            format!("internal error: {}", message.into()),
            span,
        )
        .with_help("this is a bug in Tally, not in your rules: please report it with the rule file and the command you ran")
    }

    /// Sets the message under the primary label.
    pub fn with_label_message(mut self, message: impl Into<String>) -> Diagnostic {
        if let Some(first) = self.labels.first_mut() {
            first.message = message.into();
        }
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            file: None,
        });
        self
    }

    /// A label in another file, e.g. where a module defines the name this diagnostic is about.
    pub fn with_secondary_in(
        mut self,
        file: impl Into<String>,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            file: Some(file.into()),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Offers replacing the text under `span` with `replacement`.
    pub fn with_suggestion(
        mut self,
        span: Span,
        replacement: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        self.suggestions.push(Suggestion {
            message: message.into(),
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// Help for a name that is not one of `candidates`: "did you mean `x`?" with the
    /// replacement of `span` as a suggestion when one is close, else [`Names::list`]'s sentence.
    pub fn with_name_help(mut self, span: Span, names: &Names<'_>) -> Diagnostic {
        match names.closest() {
            Some(close) => {
                self.help = Some(format!("did you mean `{close}`?"));
                self.with_suggestion(span, close, format!("replace with `{close}`"))
            }
            None => {
                self.help = names.list();
                self
            }
        }
    }

    pub fn primary_span(&self) -> Span {
        self.labels.first().map(|l| l.span).unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

use crate::suggest::Names;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(
                seen.insert(code.as_str()),
                "{code:?} reuses {}",
                code.as_str()
            );
        }
    }
}
