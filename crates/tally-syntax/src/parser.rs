//! Item-by-item parsing with recovery. pest parses one top-level item at a time; when an item
//! fails, its first error is recorded and parsing resumes at the next line that starts an item,
//! so a missing `}` in the header does not hide a misspelt field further down.

use crate::ast::File;
use crate::trivia::{self, Parenthesized, Trivia};
use crate::words::{CLAUSE_WORDS, KEYWORDS};
use crate::{depth, hints, lower};
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use tally_diagnostics::{Code, Diagnostic, LineIndex, Names, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../../../grammar/tally.pest"]
pub(crate) struct TallyParser;

/// The result of parsing one file: every item that parsed, and every syntax error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole file. Never fails: errors are values in [`Parsed::diagnostics`].
pub fn parse(source: &str) -> Parsed {
    parse_items(source, &mut Vec::new())
}

/// Parses a whole file as [`parse`] does, and also returns what the tree leaves out: comments,
/// blank lines and brackets, for a formatter.
pub fn parse_with_trivia(source: &str) -> (Parsed, Trivia) {
    let mut parens = Vec::new();
    let parsed = parse_items(source, &mut parens);
    let (comments, blank_lines) = trivia::scan(source);
    let trivia = Trivia {
        comments,
        blank_lines,
        parens,
    };
    (parsed, trivia)
}

/// The parser: every item that parses, and the brackets written in them into `parens`.
fn parse_items(source: &str, parens: &mut Vec<Parenthesized>) -> Parsed {
    let index = LineIndex::new(source);
    let mut parsed = Parsed::default();
    let mut deep = depth::deep_brackets(source).into_iter().peekable();
    let mut at = skip_trivia(source, 0);
    while at < source.len() {
        // Brackets nested past the limit: pest would recurse once per bracket, so the item is
        // reported and skipped before pest sees it.
        while deep.next_if(|p| *p < at).is_some() {}
        if let Some(&p) = deep.peek()
            && p < next_item_start(source, &index, at, at)
        {
            parsed.diagnostics.push(depth::too_many_brackets(p));
            parsed.file.incomplete = true;
            at = next_item_start(source, &index, at, p);
            continue;
        }
        let rest = source.get(at..).unwrap_or("");
        match TallyParser::parse(Rule::item_full, rest) {
            Ok(mut pairs) => {
                let Some(pair) = pairs.next().and_then(|full| full.into_inner().next()) else {
                    break;
                };
                let consumed = pair.as_span().end();
                let mut lowering = lower::Lowering::new(at);
                let item = lowering.item(pair);
                parsed.diagnostics.append(&mut lowering.diagnostics);
                parens.append(&mut lowering.parens);
                if lowering.too_deep {
                    parsed.file.incomplete = true;
                } else if let Some(item) = item {
                    parsed.file.items.push(item);
                }
                at = skip_trivia(source, at + consumed.max(1));
            }
            Err(error) => {
                let error = clause_error(rest).unwrap_or(error);
                let diagnostic = describe(source, &index, at, &error);
                parsed.file.incomplete = true;
                let error_at = diagnostic.primary_span().start as usize;
                parsed.diagnostics.push(diagnostic);
                at = next_item_start(source, &index, at, error_at);
            }
        }
    }
    parsed
}

/// Where a file can be cut into pieces that parse on their own as they parse in the whole file:
/// the starts of text lines that begin an item which no item before can run into (`customer`,
/// `use`, `let`, or a name that is not a keyword followed by `qty` or `amount`), with 0 first.
/// An item that parses never runs past such a line (the grammar wants an item start right
/// after each item), so a piece differs from the whole file only when its last item is cut off
/// (an error at its end): the caller then parses it together with the next piece.
pub fn piece_starts(source: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut line_start = 0;
    while let Some(newline) = source.get(line_start..).and_then(|s| s.find('\n')) {
        line_start += newline + 1;
        let first = skip_blanks(source, line_start);
        let text = source.get(first..).unwrap_or("");
        let (word, rest) = split_word(text);
        let begins = match word {
            "customer" | "use" | "let" => true,
            "" => false,
            _ if KEYWORDS.contains(&word) || word.starts_with(|c: char| c.is_ascii_digit()) => {
                false
            }
            _ => {
                let (second, _) = split_word(rest.trim_start_matches([' ', '\t']));
                matches!(second, "qty" | "amount")
            }
        };
        if begins && first > 0 {
            starts.push(first);
        }
    }
    starts
}

/// A line's clause that failed to parse ends the line early, and the parse then fails at the
/// clause keyword as if it began an item. Parsing the clause alone gives the error that matters
/// ("expected an expression" after `price`).
fn clause_error(rest: &str) -> Option<pest::error::Error<Rule>> {
    let (word, _) = split_word(rest);

    if !CLAUSE_WORDS.contains(&word) {
        return None;
    }
    TallyParser::parse(Rule::line_clause, rest).err()
}

fn skip_trivia(source: &str, mut at: usize) -> usize {
    let bytes = source.as_bytes();
    while at < bytes.len() {
        match bytes.get(at) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => at += 1,
            Some(b'/') if bytes.get(at + 1) == Some(&b'/') => {
                while at < bytes.len() && bytes.get(at) != Some(&b'\n') {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

/// Where to resume after an error at `error_at` in the item that began at `item_start`: the first
/// line at or after the error's line that begins an item, or the end of the file.
fn next_item_start(source: &str, index: &LineIndex, item_start: usize, error_at: usize) -> usize {
    let mut line_start = index.line_start(error_at);
    while line_start < source.len() {
        let first = skip_blanks(source, line_start);
        if first > item_start && starts_item(source.get(first..).unwrap_or("")) {
            return first;
        }
        line_start = match source.get(line_start..).and_then(|s| s.find('\n')) {
            Some(newline) => line_start + newline + 1,
            None => source.len(),
        };
    }
    source.len()
}

fn skip_blanks(source: &str, mut at: usize) -> usize {
    while matches!(source.as_bytes().get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// Does this text begin a top-level item: `customer`, `use`, `let`, or `name qty|amount =`?
pub(crate) fn starts_item(text: &str) -> bool {
    let (first, rest) = split_word(text);
    match first {
        "customer" | "use" | "let" => true,
        "" => false,
        _ => {
            let (second, _) = split_word(rest.trim_start_matches([' ', '\t']));
            matches!(second, "qty" | "amount")
        }
    }
}

fn split_word(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Turns a pest error into a diagnostic with friendly words for what was expected.
fn describe(
    source: &str,
    index: &LineIndex,
    item_start: usize,
    error: &pest::error::Error<Rule>,
) -> Diagnostic {
    let offset = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut at = item_start + offset;
    if let ErrorVariant::CustomError { message } = &error.variant
        && message.ends_with("limit reached")
    {
        return depth::parser_out_of_stack(Span::new(at, at + 1));
    }
    let mut found = found_token(source, at);
    // An error at the start of the next item is really "something missing at the end of this
    // one": point after the last token, not at the next line.
    let wanted_brace = matches!(&error.variant, ErrorVariant::ParsingError { positives, .. } if positives.contains(&Rule::rbrace));
    // The file's index, built once: one per error made many errors cost the square of the file.
    let line_start = index.line_start(at);
    let before_on_line = source.get(line_start..at).unwrap_or("");
    // The grammar refuses `name qty` as an operand; pest then reports the error at `qty`.
    let at_next_line_kind = matches!(found, "qty" | "amount")
        && line_start > item_start
        && starts_item(source.get(line_start..).unwrap_or("").trim_start());
    if at_next_line_kind {
        at = line_start + (before_on_line.len() - before_on_line.trim_start().len());
    }
    let line_begins_item = !wanted_brace
        && at > item_start
        && source
            .get(line_start..at)
            .is_some_and(|p| p.trim().is_empty())
        && starts_item(source.get(at..).unwrap_or(""));
    if line_begins_item {
        at = source
            .get(..at)
            .map_or(at, |before| before.trim_end().len());
        found = "";
    }
    let span = Span::new(at, at + found.len());
    let mut expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_words(positives),
        ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    if at_next_line_kind && expected.is_empty() {
        expected.push("an expression".to_string());
    }
    let found_text = if line_begins_item {
        "the end of the line".to_string()
    } else if found.is_empty() {
        "the end of the file".to_string()
    } else {
        format!("`{found}`")
    };
    let mut message = format!("expected {}, found {found_text}", join_or(&expected));
    if expected.is_empty() {
        message = format!("unexpected {found_text}");
    }
    let diagnostic = Diagnostic::error(Code::Syntax, message, span);
    // pest names the rules it tried, not the strings: `in` stands for every comparison.
    let comparison_expected = matches!(&error.variant, ErrorVariant::ParsingError { positives, .. }
        if positives.iter().any(|r| matches!(r, Rule::cmp_op | Rule::kw_in)));
    let expected = Expected {
        brace: wanted_brace,
        comparison: comparison_expected,
    };
    advise(diagnostic, source, item_start, at, expected)
}

/// What the grammar would have accepted where it failed, as far as the advice needs it.
#[derive(Debug, Clone, Copy)]
struct Expected {
    /// A `}`.
    brace: bool,
    /// A comparison operator.
    comparison: bool,
}

/// The help for a syntax error at `at`: the block left open, a common slip, a misspelt
/// keyword, or what a file holds.
fn advise(
    diagnostic: Diagnostic,
    source: &str,
    item_start: usize,
    at: usize,
    expected: Expected,
) -> Diagnostic {
    if expected.brace
        && let Some(open) = unclosed_brace(source, item_start, at)
    {
        diagnostic
            .with_label_message("expected `}` before this")
            .with_secondary(Span::new(open, open + 1), "this `{` is never closed")
            .with_help("add `}` to close the block")
    } else if let Some(slip) = hints::slip(source, item_start, at, expected.comparison) {
        slip.apply(diagnostic)
    } else if let Some((word, span)) = misspelt_keyword(source, item_start, at) {
        let candidates: Vec<&str> = keywords().collect();
        diagnostic.with_name_help(span, &Names::new(word, candidates))
    } else if item_start == at {
        diagnostic.with_help(
            "a rule file holds `customer { ... }`, `use ...`, `let name = ...` and lines like `support qty = count(staff) price 25.00`",
        )
    } else {
        diagnostic
    }
}

/// The word just before the error and its span, when it looks like a misspelt keyword
/// (`pricee`).
fn misspelt_keyword(source: &str, item_start: usize, at: usize) -> Option<(&str, Span)> {
    let before = source.get(item_start..at)?.trim_end();
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let word = before.get(start..)?;
    if word.len() <= 2 || keywords().any(|k| k == word) {
        return None;
    }
    let candidates: Vec<&str> = keywords().collect();
    Names::new(word, candidates).closest()?;
    let start = item_start + start;
    Some((word, Span::new(start, start + word.len())))
}

/// The keywords a misspelt word is compared with: the clause words and the header's.
fn keywords() -> impl Iterator<Item = &'static str> + Clone {
    CLAUSE_WORDS
        .into_iter()
        .chain(["customer", "tenant", "currency", "where"])
}

/// The token at `at`, for "found `...`": a word, a quoted string, or one character.
fn found_token(source: &str, at: usize) -> &str {
    let rest = source.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "";
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        rest.get(..end).unwrap_or("")
    } else if first == '"' {
        let end = rest
            .get(1..)
            .and_then(|r| r.find(['"', '\n']))
            .map_or(rest.len(), |e| e + 2);
        rest.get(..end.min(rest.len())).unwrap_or("")
    } else if first == '\n' || first == '\r' {
        ""
    } else {
        rest.get(..first.len_utf8()).unwrap_or("")
    }
}

/// The last `{` between `from` and `to` with no matching `}`, ignoring strings and comments.
fn unclosed_brace(source: &str, from: usize, to: usize) -> Option<usize> {
    let text = source.get(from..to)?;
    let mut open = Vec::new();
    let mut in_string = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek().map(|p| p.1) == Some('/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '{' if !in_string => open.push(from + i),
            '}' if !in_string => {
                open.pop();
            }
            _ => {}
        }
    }
    open.last().copied()
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Friendly descriptions of what pest expected, deduplicated, in a stable order.
fn expected_words(rules: &[Rule]) -> Vec<String> {
    let mut words: Vec<&'static str> = rules.iter().filter_map(|r| rule_word(*r)).collect();
    words.sort_unstable();
    words.dedup();
    // An expression already covers the literal kinds; say it once.
    if words.contains(&"an expression") {
        words.retain(|w| !LITERAL_WORDS.contains(w));
    }
    // After a complete operand almost anything may follow; name only what would finish it.
    if words.iter().any(|w| !CONTINUATION_WORDS.contains(w)) {
        words.retain(|w| !CONTINUATION_WORDS.contains(w));
    }
    words.into_iter().map(str::to_string).collect()
}

const CONTINUATION_WORDS: [&str; 5] = ["`(`", "`.`", "`and`", "`or`", "`where`"];

const LITERAL_WORDS: [&str; 9] = [
    "a number",
    "a decimal number",
    "a date",
    "a percentage",
    "a money amount",
    "a quoted string",
    "`true` or `false`",
    "a name",
    "a list",
];

fn rule_word(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::item => "an item (`customer`, `use`, `let` or a line)",
        Rule::customer | Rule::kw_customer => "`customer`",
        Rule::use_decl | Rule::kw_use => "`use`",
        Rule::let_decl | Rule::kw_let => "`let`",
        Rule::line_item => "a line (`name qty = ...`)",
        Rule::ident => "a name",
        Rule::field_name => "a name",
        Rule::string => "a quoted string",
        Rule::integer | Rule::integer_digits => "a number",
        Rule::decimal | Rule::decimal_digits => "a decimal number",
        Rule::date => "a date",
        Rule::percent => "a percentage",
        Rule::money => "a money amount",
        Rule::currency_code => "a currency code like `GBP`",
        Rule::boolean => "`true` or `false`",
        Rule::list => "a list",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::unary
        | Rule::postfix
        | Rule::primary
        | Rule::paren => "an expression",
        Rule::kw_qty => "`qty`",
        Rule::kw_amount => "`amount`",
        Rule::kw_by => "`by`",
        Rule::kw_tenant | Rule::tenant_field => "`tenant`",
        Rule::kw_currency | Rule::currency_field => "`currency`",
        Rule::kw_psa | Rule::psa_field => "`psa`",
        Rule::customer_field => "a customer setting (`tenant`, `currency`, `psa`, `billing_day`)",
        Rule::psa_setting => "a PSA setting like `company \"ACME\"`",
        Rule::line_clause => "a clause (`price`, `split by`, `minimum`, ...)",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::comma => "`,`",
        Rule::assign => "`=`",
        Rule::colon => "`:`",
        Rule::tier => "a tier like `5: 0.00` or `above: 2.99`",
        Rule::kw_above => "`above`",
        Rule::dot => "`.`",
        Rule::module_path => "a module like `std.m365`",
        Rule::cmp_op | Rule::add_op | Rule::mul_op => "an operator",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_where => "`where`",
        _ => return None,
    })
}
