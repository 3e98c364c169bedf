//! Common slips, recognised where the grammar fails, with the text that was meant: `=` for `==`,
//! a currency symbol (`£30.00`), a thousands separator (`1,000.00`), a unit after a number
//! (`minimum 5 users`). Each gives a help and, as data, the replacement that fixes it.

use tally_diagnostics::{Code, Diagnostic, Span};

/// What a slip changes in a syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slip {
    /// A clearer message and where it points, instead of pest's "expected ...".
    message: Option<(String, Span)>,
    help: String,
    /// Replace the text under the span with this; what the fix does.
    fix: Option<(Span, String, String)>,
}

impl Slip {
    pub(crate) fn apply(self, diagnostic: Diagnostic) -> Diagnostic {
        let mut diagnostic = match self.message {
            Some((message, span)) => Diagnostic::error(diagnostic.code, message, span),
            None => diagnostic,
        };
        diagnostic = diagnostic.with_help(self.help);
        if let Some((span, replacement, message)) = self.fix {
            diagnostic = diagnostic.with_suggestion(span, replacement, message);
        }
        diagnostic
    }
}

/// The slip that explains a syntax error at `at` in the item that starts at `item_start`;
/// `comparison_expected`: a comparison operator could have come at `at`.
pub(crate) fn slip(
    source: &str,
    item_start: usize,
    at: usize,
    comparison_expected: bool,
) -> Option<Slip> {
    comparison_expected
        .then(|| single_equals(source, at))
        .flatten()
        .or_else(|| currency_symbol(source, at))
        .or_else(|| thousands(source, at))
        .or_else(|| unit_after_number(source, item_start, at))
}

/// `where department = "Sales"`: an `=` where a comparison could come.
fn single_equals(source: &str, at: usize) -> Option<Slip> {
    let bytes = source.as_bytes();
    let is_lone_equals = bytes.get(at) == Some(&b'=')
        && bytes.get(at + 1) != Some(&b'=')
        && !at
            .checked_sub(1)
            .and_then(|b| bytes.get(b))
            .is_some_and(|b| b"<>!=".contains(b));
    is_lone_equals.then(|| Slip {
        message: None,
        help: "use `==` to compare".to_string(),
        fix: Some((
            Span::new(at, at + 1),
            "==".to_string(),
            "replace `=` with `==`".to_string(),
        )),
    })
}

/// `£30.00`, `$30`, `€30`: money is written `30.00 GBP`.
fn currency_symbol(source: &str, at: usize) -> Option<Slip> {
    let rest = source.get(at..)?;
    let symbol = rest.chars().next()?;
    let code = match symbol {
        '£' => "GBP",
        '$' => "USD",
        '€' => "EUR",
        _ => return None,
    };
    let after = at + symbol.len_utf8();
    let amount = number_at(source, after)?;
    let digits = amount.replace(',', "");
    let written = format!("{digits} {code}");
    Some(Slip {
        message: None,
        help: format!("write the amount, then its currency code: `{written}`"),
        fix: Some((
            Span::new(at, after + amount.len()),
            written.clone(),
            format!("replace with `{written}`"),
        )),
    })
}

/// `1,000.00` where the grammar stopped at the comma.
fn thousands(source: &str, at: usize) -> Option<Slip> {
    if source.as_bytes().get(at) != Some(&b',') {
        return None;
    }
    let before = source.get(..at)?;
    let start = before
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let preceded_by = before.get(..start).and_then(|b| b.chars().next_back());
    if start == at || preceded_by.is_some_and(|c| c == '.' || c == '_' || c.is_alphanumeric()) {
        return None;
    }
    let written = number_at(source, start)?;
    if !written.contains(',') {
        return None;
    }
    let span = Span::new(start, start + written.len());
    let fixed = written.replace(',', "");
    Some(Slip {
        message: None,
        help: thousands_help(&fixed),
        fix: Some((span, fixed.clone(), format!("replace with `{fixed}`"))),
    })
}

/// `1,000` in a list or call arguments, which the grammar reads as `1` and `000`: an error of
/// its own (T0002), since nothing else would stop the rule.
pub(crate) fn thousands_separator(span: Span, written: &str) -> Diagnostic {
    let fixed = written.replace(',', "");
    Diagnostic::error(
        Code::BadLiteral,
        format!("`{written}` is not a number"),
        span,
    )
    .with_label_message("a comma separates values")
    .with_help(thousands_help(&fixed))
    .with_suggestion(span, fixed.clone(), format!("replace with `{fixed}`"))
}

fn thousands_help(fixed: &str) -> String {
    format!("write `{fixed}`: numbers have no thousands separators")
}

/// The number written at `at`: digits, `,000` groups, then `.` and digits; `None` if no digits.
fn number_at(source: &str, at: usize) -> Option<&str> {
    let rest = source.get(at..)?;
    let bytes = rest.as_bytes();
    let digits = |from: usize| {
        bytes
            .get(from..)
            .map_or(0, |b| b.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let mut end = digits(0);
    if end == 0 {
        return None;
    }
    while bytes.get(end) == Some(&b',') && digits(end + 1) == 3 {
        end += 4;
    }
    if bytes.get(end) == Some(&b'.') && digits(end + 1) > 0 {
        end += 1 + digits(end + 1);
    }
    rest.get(..end)
}

/// `minimum 5 users`: a word after a clause's number.
fn unit_after_number(source: &str, item_start: usize, at: usize) -> Option<Slip> {
    let before = source.get(item_start..at)?.trim_end();
    let (word, rest) = last_token(before, |c| c.is_ascii_alphabetic() || c == '_')?;
    let (number, rest) = last_token(rest.trim_end(), |c| c.is_ascii_digit() || c == '.')?;
    let (keyword, _) = last_token(rest.trim_end(), |c| c.is_ascii_alphabetic())?;
    if !matches!(keyword, "minimum" | "included") || rest.len() == rest.trim_end().len() {
        return None;
    }
    let offset = |s: &str| item_start + (s.as_ptr() as usize - before.as_ptr() as usize);
    let word_span = Span::new(offset(word), offset(word) + word.len());
    let number_end = offset(number) + number.len();
    Some(Slip {
        message: Some((
            format!("unexpected `{word}` after `{keyword} {number}`"),
            word_span,
        )),
        help: format!("`{keyword}` takes a number, e.g. `{keyword} {number}`"),
        fix: Some((
            Span::new(number_end, word_span.end as usize),
            String::new(),
            format!("remove `{word}`"),
        )),
    })
}

/// The last token of `text` made of characters `in_token`, and the text before it.
fn last_token(text: &str, in_token: impl Fn(char) -> bool) -> Option<(&str, &str)> {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| in_token(*c))
        .last()
        .map(|(i, _)| i)?;
    Some((text.get(start..)?, text.get(..start)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(slip: Option<Slip>) -> Option<(Span, String)> {
        slip.and_then(|s| s.fix).map(|(span, text, _)| (span, text))
    }

    /// Each diagnostic of parsing `source`: help, and the text its fix replaces with what.
    fn parsed(source: &str) -> Vec<(String, Option<(&str, String)>)> {
        crate::parse(source)
            .diagnostics
            .into_iter()
            .map(|d| {
                let fix = d
                    .suggestions
                    .first()
                    .map(|s| (s.span.text(source), s.replacement.clone()));
                (d.help.unwrap_or_default(), fix)
            })
            .collect()
    }

    #[test]
    fn parse_errors_carry_the_slip_and_its_fix() {
        let source = "let a = m365.users where department = \"Sales\"\nlet b = £30.00\nlet c = 1,000.00\nx qty = 1 price 2.00 minimum 5 users\nlet d = max(1, 2,500,000)\n";
        assert_eq!(
            parsed(source),
            [
                ("use `==` to compare".into(), Some(("=", "==".into()))),
                (
                    "write the amount, then its currency code: `30.00 GBP`".into(),
                    Some(("£30.00", "30.00 GBP".into()))
                ),
                (
                    "write `1000.00`: numbers have no thousands separators".into(),
                    Some(("1,000.00", "1000.00".into()))
                ),
                (
                    "`minimum` takes a number, e.g. `minimum 5`".into(),
                    Some((" users", String::new()))
                ),
                (
                    "write `2500000`: numbers have no thousands separators".into(),
                    Some(("2,500,000", "2500000".into()))
                ),
            ]
        );
    }

    #[test]
    fn commas_between_values_are_not_separators() {
        for source in ["let a = max(1, 000)", "let a = [1,2]", "let a = max(x,100)"] {
            assert!(crate::parse(source).diagnostics.is_empty(), "{source}");
        }
    }

    #[test]
    fn an_equals_where_no_comparison_could_come_is_not_a_comparison() {
        for source in ["x qty = 1 price = 2", "customer \"C\" { tenant = \"c\" }"] {
            let found = parsed(source);
            assert!(
                found.iter().all(|(help, _)| !help.contains("==")),
                "{found:?}"
            );
        }
    }

    #[test]
    fn misspelt_keywords_are_fixed_by_name() {
        let source = "x qty = 1 pricee 4.50";
        assert_eq!(
            parsed(source),
            [(
                "did you mean `price`?".into(),
                Some(("pricee", "price".into()))
            )]
        );
    }

    #[test]
    fn a_single_equals_in_an_expression_is_a_comparison() {
        let source = "let s = m365.users where department = \"Sales\"";
        let at = source.rfind('=').unwrap_or(0);
        let slip = slip(source, 0, at, true);
        assert_eq!(fix(slip), Some((Span::new(at, at + 1), "==".into())));
        // Part of `<=` or `==`, or where no comparison could come: not this slip.
        assert_eq!(single_equals("let s = a <= b", 11), None);
        assert_eq!(single_equals("let s = a == b", 11), None);
        assert_eq!(super::slip("x qty = 1 price = 2", 0, 16, false), None);
    }

    #[test]
    fn currency_symbols_become_codes() {
        let source = "x qty = 1 price £1,030.50";
        let at = source.find('£').unwrap_or(0);
        assert_eq!(
            fix(slip(source, 0, at, false)),
            Some((Span::new(at, source.len()), "1030.50 GBP".into()))
        );
        assert_eq!(
            fix(slip("price $30", 0, 6, false)),
            Some((Span::new(6, 9), "30 USD".into()))
        );
        assert_eq!(
            fix(slip("price €30", 0, 6, false)),
            Some((Span::new(6, 11), "30 EUR".into()))
        );
        assert_eq!(slip("price £x", 0, 6, false), None);
    }

    #[test]
    fn thousands_separators_are_dropped() {
        let source = "x qty = 1 price 1,000,000.00";
        let at = source.find(',').unwrap_or(0);
        assert_eq!(
            fix(slip(source, 0, at, false)),
            Some((Span::new(16, source.len()), "1000000.00".into()))
        );
        // A comma after a name or a decimal is not a separator.
        assert_eq!(slip("max(x1,000)", 0, 6, false), None);
        assert_eq!(slip("max(1.5,000)", 0, 7, false), None);
        assert_eq!(slip("max(1,00)", 0, 5, false), None);
    }

    #[test]
    fn a_unit_after_a_clause_number_is_removed() {
        let source = "f qty = 1 price 2.00 minimum 5 users";
        let slip = slip(source, 0, source.len(), false).unwrap();
        let start = source.find(" users").unwrap_or(0);
        assert_eq!(
            slip.message,
            Some((
                "unexpected `users` after `minimum 5`".to_string(),
                Span::new(start + 1, source.len())
            ))
        );
        assert_eq!(slip.help, "`minimum` takes a number, e.g. `minimum 5`");
        assert_eq!(
            fix(Some(slip)),
            Some((Span::new(start, source.len()), String::new()))
        );
        assert_eq!(unit_after_number("x qty = 1 price 5 users", 0, 23), None);
    }
}
