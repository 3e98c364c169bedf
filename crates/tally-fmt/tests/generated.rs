//! Soundness on generated rule files: a generator over the syntax tree (every item, header
//! setting, clause kind and expression form; tiers, bundles, dated prices, lists, filters,
//! percentages, money, dates, strings with escapes), printed with random layout between the
//! tokens (spaces, tabs, line breaks, blank lines, none where that is safe) and comments in
//! random places, user brackets and trailing commas. Each file goes through `common::check`.
//!
//! `TALLY_FMT_CASES=N` sets the number of files (default 200, a few seconds in a debug build).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

mod common;

use common::{Outcome, check};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An expression, as the grammar has them; `Paren` is brackets the user wrote.
#[derive(Debug, Clone)]
enum E {
    Lit(&'static str),
    Name(&'static str),
    List(Vec<E>, bool),
    Field(Box<E>, &'static str),
    Call(Option<Box<E>>, &'static str, Vec<E>, bool),
    Neg(Box<E>),
    Not(Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    Where(Box<E>, Box<E>),
    Paren(Box<E>),
}

#[derive(Debug, Clone)]
enum Field {
    Tenant(&'static str),
    Currency(&'static str),
    BillingDay(&'static str),
    Psa(&'static str, Vec<(&'static str, &'static str)>),
}

#[derive(Debug, Clone)]
enum Clause {
    Expr(&'static str, E),
    Split(&'static str, Option<&'static str>),
    Text(&'static str, &'static str),
    Word(&'static str, &'static str),
    Tiers(&'static str, Vec<(&'static str, E)>, bool),
    Dated(&'static str, Option<&'static str>, E),
    Bundle(Vec<(&'static str, E)>, bool),
    Every(&'static str, Option<&'static str>),
}

#[derive(Debug, Clone)]
enum Item {
    Customer(&'static str, Vec<Field>),
    UseModule(Vec<&'static str>),
    UseFile(&'static str),
    Let(&'static str, E),
    Line(&'static str, &'static str, E, Vec<Clause>),
}

const STRINGS: &[&str] = &[
    "\"Sales\"",
    "\"\"",
    "\"say \\\"hi\\\"\"",
    "\"a\\\\b\"",
    "\"tab\\tnew\\nline\"",
    "\"// not a comment\"",
    "\"£ é 漢\"",
    "\"Shared\"",
];
const LITERALS: &[&str] = &[
    "0",
    "7",
    "42",
    "007",
    "1000000",
    "9223372036854775807",
    "1.5",
    "25.00",
    "0.001",
    "12%",
    "12.5%",
    "115%",
    "25.00 GBP",
    "3\tEUR",
    "1.5  USD",
    "true",
    "false",
    "2026-07-01",
    "2024-02-29",
    "\"Sales\"",
    "\"say \\\"hi\\\"\"",
    "\"£ é\"",
];
/// Names: none is a keyword; `term`, `above` and `tenant` are words the grammar uses elsewhere.
const NAMES: &[&str] = &[
    "a",
    "b",
    "staff",
    "users",
    "x1",
    "_tmp",
    "above",
    "tenant",
    "term",
    "cost",
    "m365",
    "azure",
    "period",
    "licensed_users",
];
const FUNCTIONS: &[&str] = &["max", "min", "count", "sum", "round", "has_sku", "f"];
/// Field names may be keywords.
const FIELDS: &[&str] = &["users", "sku", "cost", "upn", "where", "price", "qty", "x"];
const OPERATORS: &[&str] = &[
    "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/",
];
const DATES: &[&str] = &["2026-01-01", "2026-06-30", "2027-02-28"];
/// Line names: not `term`, which after a line would read as its `term` clause.
const LINE_NAMES: &[&str] = &["support", "backup", "m365_bp", "above", "x"];

fn level(op: &str) -> u8 {
    match op {
        "or" => 1,
        "and" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" => 4,
        "+" | "-" => 5,
        _ => 6,
    }
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        3 => select(LITERALS).prop_map(E::Lit),
        2 => select(NAMES).prop_map(E::Name),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            1 => (prop::collection::vec(inner.clone(), 0..4), any::<bool>())
                .prop_map(|(items, comma)| E::List(items, comma)),
            1 => (inner.clone(), select(FIELDS)).prop_map(|(e, f)| E::Field(Box::new(e), f)),
            1 => (
                prop::option::of(inner.clone()),
                select(FUNCTIONS),
                prop::collection::vec(inner.clone(), 0..4),
                any::<bool>()
            )
                .prop_map(|(r, name, args, comma)| {
                    // A method's name is a field name; a function's is a name.
                    E::Call(r.map(Box::new), name, args, comma)
                }),
            1 => inner.clone().prop_map(|e| E::Neg(Box::new(e))),
            1 => inner.clone().prop_map(|e| E::Not(Box::new(e))),
            3 => (select(OPERATORS), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| E::Bin(op, Box::new(l), Box::new(r))),
            1 => (inner.clone(), inner.clone())
                .prop_map(|(c, p)| E::Where(Box::new(c), Box::new(p))),
            1 => inner.prop_map(|e| E::Paren(Box::new(e))),
        ]
    })
}

fn clause() -> impl Strategy<Value = Clause> {
    let entries = |key: BoxedStrategy<&'static str>| {
        (prop::collection::vec((key, expr()), 1..4), any::<bool>())
    };
    prop_oneof![
        (select(&["price", "minimum", "included"][..]), expr())
            .prop_map(|(k, e)| Clause::Expr(k, e)),
        (
            select(&["department", "office", "city", "x"][..]),
            prop::option::of(select(STRINGS))
        )
            .prop_map(|(k, o)| Clause::Split(k, o)),
        (
            select(&["product", "description", "agreement"][..]),
            select(STRINGS)
        )
            .prop_map(|(k, s)| Clause::Text(k, s)),
        (
            select(
                &[
                    "billing", "term", "rounding", "prorate", "measure", "trueup"
                ][..]
            ),
            select(
                &[
                    "advance",
                    "annual",
                    "half_even",
                    "daily",
                    "max",
                    "delta",
                    "x"
                ][..]
            )
        )
            .prop_map(|(k, w)| Clause::Word(k, w)),
        (
            select(&["graduated", "volume"][..]),
            entries(select(&["5", "10", "100", "above"][..]).boxed())
        )
            .prop_map(|(mode, (tiers, comma))| Clause::Tiers(mode, tiers, comma)),
        (select(DATES), prop::option::of(select(DATES)), expr())
            .prop_map(|(from, until, price)| Clause::Dated(from, until, price)),
        entries(select(STRINGS).boxed()).prop_map(|(items, comma)| Clause::Bundle(items, comma)),
        (
            select(&["month", "quarter", "year", "term", "x"][..]),
            prop::option::of(select(DATES))
        )
            .prop_map(|(unit, starting)| Clause::Every(unit, starting)),
    ]
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        select(STRINGS).prop_map(Field::Tenant),
        select(&["GBP", "EUR", "usd"][..]).prop_map(Field::Currency),
        select(&["1", "15", "028"][..]).prop_map(Field::BillingDay),
        (
            select(&["connectwise", "autotask", "halopsa"][..]),
            prop::collection::vec(
                (
                    select(&["company", "agreement", "other"][..]),
                    select(STRINGS)
                ),
                0..3
            )
        )
            .prop_map(|(kind, settings)| Field::Psa(kind, settings)),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        1 => (select(STRINGS), prop::collection::vec(field(), 0..5))
            .prop_map(|(name, fields)| Item::Customer(name, fields)),
        1 => prop::collection::vec(select(&["std", "m365", "shared"][..]), 1..4)
            .prop_map(Item::UseModule),
        1 => Just(Item::UseFile("\"../shared/msp.tally\"")),
        2 => (select(NAMES), expr()).prop_map(|(n, e)| Item::Let(n, e)),
        4 => (
            select(LINE_NAMES),
            select(&["qty", "amount"][..]),
            expr(),
            prop::collection::vec(clause(), 0..6)
        )
            .prop_map(|(n, k, e, c)| Item::Line(n, k, e, c)),
    ]
}

/// The tokens of a file, in order.
#[derive(Default)]
struct Tokens(Vec<String>);

impl Tokens {
    fn push(&mut self, token: &str) {
        self.0.push(token.to_string());
    }

    fn expr(&mut self, e: &E, at_least: u8) {
        let own = match e {
            E::Where(..) => 0,
            E::Bin(op, ..) => level(op),
            E::Not(_) => 3,
            E::Neg(_) => 7,
            _ => 8,
        };
        let bracketed = own < at_least;
        if bracketed {
            self.push("(");
        }
        match e {
            E::Lit(text) | E::Name(text) => self.push(text),
            E::List(items, comma) => {
                self.push("[");
                self.list(items, *comma);
                self.push("]");
            }
            E::Field(base, field) => {
                self.expr(base, 8);
                self.push(".");
                self.push(field);
            }
            E::Call(receiver, name, args, comma) => {
                if let Some(receiver) = receiver {
                    self.expr(receiver, 8);
                    self.push(".");
                }
                self.push(name);
                self.push("(");
                self.list(args, *comma);
                self.push(")");
            }
            E::Neg(operand) => {
                self.push("-");
                self.expr(operand, 7);
            }
            E::Not(operand) => {
                self.push("not");
                self.expr(operand, 3);
            }
            E::Bin(op, left, right) => {
                let l = level(op);
                let (left_at, right_at) = if l == 4 { (5, 5) } else { (l, l + 1) };
                self.expr(left, left_at);
                self.push(op);
                self.expr(right, right_at);
            }
            E::Where(collection, predicate) => {
                self.expr(collection, 0);
                self.push("where");
                self.expr(predicate, 1);
            }
            E::Paren(inner) => {
                self.push("(");
                self.expr(inner, 0);
                self.push(")");
            }
        }
        if bracketed {
            self.push(")");
        }
    }

    fn list(&mut self, items: &[E], trailing_comma: bool) {
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                self.push(",");
            }
            self.expr(item, 0);
        }
        if trailing_comma && !items.is_empty() {
            self.push(",");
        }
    }

    fn entries(&mut self, entries: &[(&'static str, E)], trailing_comma: bool) {
        self.push("{");
        for (n, (key, price)) in entries.iter().enumerate() {
            if n > 0 {
                self.push(",");
            }
            self.push(key);
            self.push(":");
            self.expr(price, 0);
        }
        if trailing_comma {
            self.push(",");
        }
        self.push("}");
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Customer(name, fields) => {
                self.push("customer");
                self.push(name);
                self.push("{");
                for field in fields {
                    match field {
                        Field::Tenant(s) => {
                            self.push("tenant");
                            self.push(s);
                        }
                        Field::Currency(c) => {
                            self.push("currency");
                            self.push(c);
                        }
                        Field::BillingDay(d) => {
                            self.push("billing_day");
                            self.push(d);
                        }
                        Field::Psa(kind, settings) => {
                            self.push("psa");
                            self.push(kind);
                            self.push("{");
                            for (k, v) in settings {
                                self.push(k);
                                self.push(v);
                            }
                            self.push("}");
                        }
                    }
                }
                self.push("}");
            }
            Item::UseModule(path) => {
                self.push("use");
                for (n, part) in path.iter().enumerate() {
                    if n > 0 {
                        self.push(".");
                    }
                    self.push(part);
                }
            }
            Item::UseFile(file) => {
                self.push("use");
                self.push(file);
            }
            Item::Let(name, value) => {
                self.push("let");
                self.push(name);
                self.push("=");
                self.expr(value, 0);
            }
            Item::Line(name, kind, value, clauses) => {
                self.push(name);
                self.push(kind);
                self.push("=");
                self.expr(value, 0);
                for clause in clauses {
                    self.clause(clause);
                }
            }
        }
    }

    fn clause(&mut self, clause: &Clause) {
        match clause {
            Clause::Expr(keyword, e) => {
                self.push(keyword);
                self.expr(e, 0);
            }
            Clause::Split(key, otherwise) => {
                self.push("split");
                self.push("by");
                self.push(key);
                if let Some(o) = otherwise {
                    self.push("otherwise");
                    self.push(o);
                }
            }
            Clause::Text(keyword, s) | Clause::Word(keyword, s) => {
                self.push(keyword);
                self.push(s);
            }
            Clause::Tiers(mode, tiers, comma) => {
                self.push("tiers");
                self.push(mode);
                self.entries(tiers, *comma);
            }
            Clause::Dated(from, until, price) => {
                self.push("from");
                self.push(from);
                if let Some(until) = until {
                    self.push("until");
                    self.push(until);
                }
                self.push("price");
                self.expr(price, 0);
            }
            Clause::Bundle(items, comma) => {
                self.push("bundle");
                self.entries(items, *comma);
            }
            Clause::Every(unit, starting) => {
                self.push("every");
                self.push(unit);
                if let Some(date) = starting {
                    self.push("starting");
                    self.push(date);
                }
            }
        }
    }
}

const COMMENTS: &[&str] = &[
    "// c",
    "//no space",
    "// with \"quote\" and // slashes",
    "// trailing blanks   ",
    "// £ unicode",
    "//",
    "// ---- a section ----",
];

fn is_punctuation(token: &str) -> bool {
    matches!(token, "(" | ")" | "[" | "]" | "{" | "}" | "," | ":" | ".")
}

/// The tokens joined by the layout `gaps` choose, with `comments` in some gaps.
fn render(tokens: &[String], gaps: &[u8], comments: &[u8]) -> String {
    let mut out = String::new();
    let pick = |choices: &[u8], n: usize| choices.get(n % choices.len().max(1)).copied();
    for n in 0..=tokens.len() {
        let before = n.checked_sub(1).and_then(|p| tokens.get(p));
        let after = tokens.get(n);
        let comment = COMMENTS
            .get(pick(comments, n).unwrap_or(0) as usize % COMMENTS.len())
            .unwrap_or(&"//");
        // No gap only beside punctuation, and never after a comma (`1,000` reads as a number).
        let may_touch = before.is_some_and(|b| is_punctuation(b) && b != ",")
            || after.is_some_and(|a| is_punctuation(a));
        let gap = match pick(gaps, n).unwrap_or(0) % 16 {
            0..=4 => " ".to_string(),
            5 | 6 => "\n".to_string(),
            7 => "\n\n".to_string(),
            8 => "\t".to_string(),
            9 => "\n    ".to_string(),
            10 => " \n\n\n  ".to_string(),
            11 | 12 if may_touch => String::new(),
            11 | 12 => "  ".to_string(),
            13 => format!(" {comment}\n"),
            14 => format!("\n{comment}\n"),
            _ => format!("\n\n  {comment}\n\n"),
        };
        out.push_str(&gap);
        if let Some(token) = after {
            out.push_str(token);
        }
    }
    out
}

fn cases() -> u32 {
    std::env::var("TALLY_FMT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

#[test]
fn generated_files_format_soundly() {
    let sound = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(item(), 1..7),
        prop::collection::vec(any::<u8>(), 1..64),
        prop::collection::vec(any::<u8>(), 1..8),
    );
    runner
        .run(&strategy, |(items, gaps, comments)| {
            let mut tokens = Tokens::default();
            for item in &items {
                tokens.item(item);
            }
            let text = render(&tokens.0, &gaps, &comments);
            match check(&text) {
                Outcome::Sound => sound.fetch_add(1, Ordering::Relaxed),
                Outcome::Refused => refused.fetch_add(1, Ordering::Relaxed),
            };
            Ok(())
        })
        .unwrap();
    let (sound, refused) = (sound.into_inner(), refused.into_inner());
    eprintln!("generated files: {sound} formatted soundly, {refused} refused (syntax errors)");
    // The generator writes valid syntax but for the rare clash (a name that makes `25 GBP`).
    assert!(
        sound * 10 >= (cases as usize) * 9,
        "only {sound} of {cases} generated files parsed"
    );
}
