//! Document symbols (the customer, `use`s, definitions, lines) and semantic tokens: a small
//! lexer finds comments, strings, numbers and words; the syntax tree and the typed tree say
//! what each word is (a definition, a line, a field, a function, a namespace, a clause word).

use crate::analysis;
use crate::convert::Lines;
use crate::world::{World, is_std};
use lsp_server::ErrorCode;
use lsp_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, SemanticToken,
    SemanticTokenModifier, SemanticTokenType, SemanticTokens, SemanticTokensLegend,
    SemanticTokensParams, SemanticTokensResult, SymbolKind,
};
use std::collections::BTreeMap;
use tally_diagnostics::Span;
use tally_ir::TExprKind;
use tally_syntax::ast::{ClauseKind, CustomerField, ExprKind, Item};

type Reply<T> = Result<T, (ErrorCode, String)>;

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be given
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    lines: &Lines<'_>,
    span: Span,
    name_span: Span,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: lines.range(span),
        selection_range: lines.range(name_span),
        children: None,
    }
}

pub(crate) fn document_symbols(
    world: &mut World,
    params: DocumentSymbolParams,
) -> Reply<Option<DocumentSymbolResponse>> {
    let Some(file) = world
        .key_of_uri(params.text_document.uri.as_str())
        .and_then(|k| world.file(&k))
    else {
        return Ok(None);
    };
    let text = file.text(&world.db).clone();
    let lines = Lines::new(&text);
    let checked = tally_db::check(&world.db, file);
    let mut out = Vec::new();
    for item in &tally_db::parse(&world.db, file).file.items {
        match item {
            Item::Customer(c) => out.push(symbol(
                c.name.value.clone(),
                checked
                    .customer
                    .as_ref()
                    .map(|d| format!("customer, tenant {}", d.tenant)),
                SymbolKind::NAMESPACE,
                &lines,
                c.span,
                c.name.span,
            )),
            Item::Use(u) => {
                let span = analysis::use_span(&u.target);
                out.push(symbol(
                    format!("use {}", span.text(&text)),
                    None,
                    SymbolKind::MODULE,
                    &lines,
                    u.span,
                    span,
                ));
            }
            Item::Let(l) => out.push(symbol(
                l.name.name.clone(),
                checked.lets.get(&l.name.name).map(|t| t.ty.describe()),
                SymbolKind::VARIABLE,
                &lines,
                l.span,
                l.name.span,
            )),
            Item::Line(l) => out.push(symbol(
                l.name.name.clone(),
                Some(
                    match l.kind {
                        tally_syntax::ast::LineKind::Qty => "qty line",
                        tally_syntax::ast::LineKind::Amount => "amount line",
                    }
                    .into(),
                ),
                SymbolKind::FUNCTION,
                &lines,
                l.span,
                l.name.span,
            )),
        }
    }
    Ok(Some(DocumentSymbolResponse::Nested(out)))
}

const TYPES: [SemanticTokenType; 10] = [
    SemanticTokenType::KEYWORD,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::TYPE,
    SemanticTokenType::ENUM_MEMBER,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Keyword = 0,
    Variable = 1,
    Property = 2,
    Function = 3,
    Namespace = 4,
    String = 5,
    Number = 6,
    Comment = 7,
    Type = 8,
    EnumMember = 9,
}

const DECLARATION: u32 = 1;
const DEFAULT_LIBRARY: u32 = 2;

pub(crate) fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: vec![
            SemanticTokenModifier::DECLARATION,
            SemanticTokenModifier::DEFAULT_LIBRARY,
        ],
    }
}

pub(crate) fn semantic_tokens(
    world: &mut World,
    params: SemanticTokensParams,
) -> Reply<Option<SemanticTokensResult>> {
    let Some(file) = world
        .key_of_uri(params.text_document.uri.as_str())
        .and_then(|k| world.file(&k))
    else {
        return Ok(None);
    };
    let text = file.text(&world.db).clone();
    let lines = Lines::new(&text);
    let words = classify(world, file);
    let mut data = Vec::new();
    let (mut last_line, mut last_start) = (0u32, 0u32);
    for (span, kind, modifiers) in lex(&text, &words) {
        let start = lines.position(span.start as usize);
        let end = lines.position(span.end as usize);
        if end.line != start.line {
            continue; // tokens never span lines in Tally, but be safe
        }
        let delta_line = start.line - last_line;
        let delta_start = if delta_line == 0 {
            start.character - last_start
        } else {
            start.character
        };
        data.push(SemanticToken {
            delta_line,
            delta_start,
            length: end.character - start.character,
            token_type: kind as u32,
            token_modifiers_bitset: modifiers,
        });
        last_line = start.line;
        last_start = start.character;
    }
    Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
        result_id: None,
        data,
    })))
}

/// What each word of the file is, by its span.
fn classify(world: &World, file: tally_db::SourceFile) -> BTreeMap<Span, (Kind, u32)> {
    let mut words = BTreeMap::new();
    let parsed = tally_db::parse(&world.db, file);
    for item in &parsed.file.items {
        match item {
            Item::Let(l) => {
                words.insert(l.name.span, (Kind::Variable, DECLARATION));
            }
            Item::Line(l) => {
                words.insert(l.name.span, (Kind::Function, DECLARATION));
                for clause in &l.clauses {
                    match &clause.kind {
                        ClauseKind::Billing(w)
                        | ClauseKind::Term(w)
                        | ClauseKind::Rounding(w)
                        | ClauseKind::Prorate(w)
                        | ClauseKind::Measure(w)
                        | ClauseKind::Trueup(w)
                        | ClauseKind::Tiers { mode: w, .. }
                        | ClauseKind::Split { key: w, .. } => {
                            words.insert(w.span, (Kind::EnumMember, 0));
                        }
                        _ => {}
                    }
                }
            }
            Item::Customer(c) => {
                for field in &c.fields {
                    match field {
                        CustomerField::Currency { code, .. } => {
                            words.insert(code.span, (Kind::Type, 0));
                        }
                        CustomerField::Psa(psa) => {
                            words.insert(psa.kind.span, (Kind::EnumMember, 0));
                        }
                        _ => {}
                    }
                }
            }
            Item::Use(_) => {}
        }
        for root in analysis::item_exprs(item) {
            analysis::walk_expr(root, false, &mut |e, _| match &e.kind {
                ExprKind::Field { field, .. } => {
                    words.insert(field.span, (Kind::Property, 0));
                }
                ExprKind::Call { name, .. } => {
                    words.insert(name.span, (Kind::Function, DEFAULT_LIBRARY));
                }
                ExprKind::Money { currency, .. } => {
                    words.insert(currency.span, (Kind::Type, 0));
                }
                ExprKind::Name(name)
                    if ["m365", "azure", "period"].contains(&name.name.as_str()) =>
                {
                    words.insert(name.span, (Kind::Namespace, DEFAULT_LIBRARY));
                }
                _ => {}
            });
        }
    }
    for root in analysis::typed_roots(tally_db::check(&world.db, file)) {
        root.walk(&mut |e| match &e.kind {
            TExprKind::Let(id) => {
                let modifiers = if is_std(&id.module.0) {
                    DEFAULT_LIBRARY
                } else {
                    0
                };
                words.insert(e.span, (Kind::Variable, modifiers));
            }
            TExprKind::Field(base, _) if matches!(base.kind, TExprKind::Element) => {
                words.insert(e.span, (Kind::Property, 0));
            }
            _ => {}
        });
    }
    words
}

/// The file's tokens: comments, strings, numbers (with dates and percentages), and words,
/// classified by `words` or as keywords.
fn lex(text: &str, words: &BTreeMap<Span, (Kind, u32)>) -> Vec<(Span, Kind, u32)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while bytes.get(i).is_some_and(|c| *c != b'\n') {
                i += 1;
            }
            out.push((Span::new(start, i), Kind::Comment, 0));
        } else if b == b'"' {
            i += 1;
            while let Some(&c) = bytes.get(i) {
                i += 1;
                match c {
                    b'\\' => i += 1,
                    b'"' => break,
                    b'\n' => {
                        i -= 1;
                        break;
                    }
                    _ => {}
                }
            }
            out.push((Span::new(start, i.min(text.len())), Kind::String, 0));
        } else if b.is_ascii_digit() {
            while bytes.get(i).is_some_and(|c| {
                c.is_ascii_digit() || *c == b'.' || *c == b'-' || *c == b'%' || *c == b','
            }) {
                // a `-` continues a number only inside a date (2026-07-01)
                if bytes.get(i) == Some(&b'-') && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                {
                    break;
                }
                if bytes.get(i) == Some(&b',') {
                    break;
                }
                i += 1;
            }
            out.push((Span::new(start, i), Kind::Number, 0));
        } else if b.is_ascii_alphabetic() || b == b'_' {
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let span = Span::new(start, i);
            let word = span.text(text);
            if let Some((kind, modifiers)) = words.get(&span) {
                out.push((span, *kind, *modifiers));
            } else if tally_syntax::KEYWORDS.contains(&word)
                || word == "above"
                || ["tenant", "currency", "psa", "billing_day", "company"].contains(&word)
            {
                out.push((span, Kind::Keyword, 0));
            }
        } else {
            // Any other character, whole (a multi-byte character is skipped at once).
            i += text
                .get(i..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexer_finds_comments_strings_numbers_and_keywords() {
        let text = "let d = 2026-07-01 // when\nx qty = 12% price \"a\\\"b\" - 3\n";
        let tokens: Vec<(&str, Kind)> = lex(text, &BTreeMap::new())
            .into_iter()
            .map(|(span, kind, _)| (span.text(text), kind))
            .collect();
        assert_eq!(
            tokens,
            vec![
                ("let", Kind::Keyword),
                ("2026-07-01", Kind::Number),
                ("// when", Kind::Comment),
                ("qty", Kind::Keyword),
                ("12%", Kind::Number),
                ("price", Kind::Keyword),
                ("\"a\\\"b\"", Kind::String),
                ("3", Kind::Number),
            ]
        );
    }
}
