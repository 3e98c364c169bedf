//! Soundness on mutated repository files: every rule file and ```tally doc block, with its
//! layout scrambled (each run of blanks replaced by another: spaces, tabs, line breaks, blank
//! lines), comments added in random places and removed, names put in brackets, and sometimes a
//! second file appended. A mutation may break the syntax (a bracketed name that was a line's
//! name): the formatter must then refuse the text. Each text goes through `common::check`.
//!
//! `TALLY_FMT_CASES=N` sets the number of texts (default 150, a few seconds in a debug build).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod common;

use common::{Outcome, check, corpus_files, markdown_files, tally_blocks};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Anything but blanks, comments and strings.
    Code(String),
    String(String),
    Comment(String),
    Blank(String),
}

/// The text cut into code, strings, comments and runs of blanks.
fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut code = String::new();
    let flush = |code: &mut String, out: &mut Vec<Piece>| {
        if !code.is_empty() {
            out.push(Piece::Code(std::mem::take(code)));
        }
    };
    while let Some((at, c)) = chars.next() {
        if c == '"' {
            flush(&mut code, &mut out);
            let mut s = String::from('"');
            while let Some((_, c)) = chars.next() {
                s.push(c);
                if c == '\\' {
                    if let Some((_, e)) = chars.next() {
                        s.push(e);
                    }
                } else if c == '"' || c == '\n' {
                    break;
                }
            }
            out.push(Piece::String(s));
        } else if c == '/' && text[at..].starts_with("//") {
            flush(&mut code, &mut out);
            let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
            out.push(Piece::Comment(text[at..end].to_string()));
            while chars.peek().is_some_and(|&(i, _)| i < end) {
                chars.next();
            }
        } else if c.is_whitespace() {
            flush(&mut code, &mut out);
            let mut blank = String::from(c);
            while let Some(&(_, c)) = chars.peek().filter(|(_, c)| c.is_whitespace()) {
                blank.push(c);
                chars.next();
            }
            out.push(Piece::Blank(blank));
        } else {
            code.push(c);
        }
    }
    flush(&mut code, &mut out);
    out
}

const BLANKS: &[&str] = &[" ", "\n", "  ", "\n\n", "\t", "\n   ", " \n\n\n "];

/// What comes before an operand.
const OPERATORS: &[&str] = &[
    "=", "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "in", "and", "or", "not", "where",
    "price", "minimum", "included",
];

/// `25.00 GBP`: the blank between a number and a currency code must stay on its line.
fn inside_money(before: Option<&Piece>, after: Option<&Piece>) -> bool {
    let number =
        matches!(before, Some(Piece::Code(c)) if c.ends_with(|c: char| c.is_ascii_digit()));
    let code = matches!(after, Some(Piece::Code(c))
        if c.len() >= 3 && c[..3].bytes().all(|b| b.is_ascii_uppercase()));
    number && code
}

fn mutate(text: &str, choices: &[u8]) -> String {
    let pieces = pieces(text);
    let mut choice = choices.iter().cycle().copied();
    let mut next = move || choice.next().unwrap_or(0);
    let mut out = String::new();
    let mut added = 0;
    for (n, piece) in pieces.iter().enumerate() {
        let before = n.checked_sub(1).and_then(|p| pieces.get(p));
        match piece {
            Piece::Blank(blank) => {
                let money = inside_money(before, pieces.get(n + 1));
                let after_comment = matches!(before, Some(Piece::Comment(_)));
                let roll = next();
                let mut replacement = match roll % 4 {
                    0 if !money => BLANKS[next() as usize % BLANKS.len()].to_string(),
                    _ => blank.clone(),
                };
                if after_comment && !replacement.contains('\n') {
                    replacement.push('\n');
                }
                if roll % 9 == 1 && !money {
                    added += 1;
                    replacement = format!(" // added {added}\n{replacement}");
                }
                out.push_str(&replacement);
            }
            // Some comments are removed (their line break stays).
            Piece::Comment(comment) => {
                if next() % 7 != 0 {
                    out.push_str(comment);
                }
            }
            Piece::Code(code) => {
                let word = code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && code.starts_with(|c: char| c.is_ascii_lowercase())
                    && !tally_syntax::KEYWORDS.contains(&code.as_str());
                // An operand: after an operator, before anything but a call, a field or `qty`.
                let code_before = pieces[..n].iter().rev().find_map(|p| match p {
                    Piece::Code(c) => Some(c.as_str()),
                    Piece::String(_) => Some("\""),
                    _ => None,
                });
                let code_after = pieces[n + 1..].iter().find_map(|p| match p {
                    Piece::Code(c) => Some(c.as_str()),
                    Piece::String(_) => Some("\""),
                    _ => None,
                });
                let operand = code_before.is_some_and(|b| OPERATORS.contains(&b))
                    && code_after
                        .is_none_or(|a| !a.starts_with(['(', '.']) && a != "qty" && a != "amount");
                if word && operand && next() % 5 == 0 {
                    out.push_str(&format!("({code})"));
                } else {
                    out.push_str(code);
                }
            }
            Piece::String(s) => out.push_str(s),
        }
    }
    out
}

/// Every rule text of the repository.
fn sources() -> Vec<String> {
    let mut sources: Vec<String> = corpus_files()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    for path in markdown_files() {
        let markdown = std::fs::read_to_string(path).unwrap();
        sources.extend(tally_blocks(&markdown).into_iter().map(|(_, b)| b));
    }
    sources
}

fn cases() -> u32 {
    std::env::var("TALLY_FMT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150)
}

#[test]
fn the_text_is_cut_into_pieces_losslessly() {
    for source in sources() {
        let joined: String = pieces(&source)
            .into_iter()
            .map(|p| match p {
                Piece::Code(s) | Piece::String(s) | Piece::Comment(s) | Piece::Blank(s) => s,
            })
            .collect();
        assert_eq!(joined, source);
    }
}

#[test]
fn mutated_files_format_soundly() {
    let sources = sources();
    let sound = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..sources.len(),
        prop::option::weighted(0.2, 0..sources.len()),
        prop::collection::vec(any::<u8>(), 1..256),
    );
    runner
        .run(&strategy, |(first, second, choices)| {
            let mut text = mutate(&sources[first], &choices);
            if let Some(second) = second {
                text.push('\n');
                text.push_str(&mutate(&sources[second], &choices[1..]));
            }
            match check(&text) {
                Outcome::Sound => sound.fetch_add(1, Ordering::Relaxed),
                Outcome::Refused => refused.fetch_add(1, Ordering::Relaxed),
            };
            Ok(())
        })
        .unwrap();
    let (sound, refused) = (sound.into_inner(), refused.into_inner());
    eprintln!("mutated files: {sound} formatted soundly, {refused} refused (syntax errors)");
    assert!(
        sound * 2 >= cases as usize,
        "only {sound} of {cases} mutated files parsed"
    );
}
