//! The expectation language of `tally test` (`expect.tallytest`): one statement a line, in the
//! manner of the rule language: `//` comments, line names as written in the rules, money as
//! `1234.50 GBP`. See `docs/testing.md`.
//!
//! ```text
//! rules "../../northwind.tally"      // optional: which rule files (default: the customer's)
//! period 2026-10                     // optional: the month (default: the snapshot's)
//! customer "northwindtraders.onmicrosoft.com"   // when the rules plan several customers
//!
//! expect support.quantity == 50
//! expect support["Sales"].amount == 422.50 GBP
//! expect total == 4365.01 GBP
//! expect lines == 27
//! expect email_archiving.unit_price == none
//! expect no warnings
//! expect warning "outside Microsoft's 7-day window"
//! expect error T0504
//! expect line backup absent
//! ```
//!
//! Parsing stops at nothing: every line is read, and each broken line gives one error located
//! at the text it is about.

use rust_decimal::Decimal;
use serde::Serialize;
use std::str::FromStr;
use tally_diagnostics::Names;

/// A parsed expectation file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestFile {
    /// `rules "path"` statements: rule files or directories, relative to the case's folder.
    pub rules: Vec<String>,
    /// `period YYYY-MM`.
    pub period: Option<String>,
    pub expectations: Vec<Expectation>,
}

/// One `expect` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The 1-based line it is written on.
    pub line: usize,
    /// The statement as written, without its comment.
    pub text: String,
    /// The customer named by the last `customer` statement before it, if any.
    pub customer: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    NoWarnings,
    NoErrors,
    /// Some warning has this code or contains this text.
    Warning(Pattern),
    /// Some error has this code or contains this text (the rules did not plan).
    Error(Pattern),
    /// `line NAME present` / `line NAME absent`.
    Line {
        target: Target,
        present: bool,
    },
    /// `total OP MONEY`: the customer's total.
    Total {
        op: Op,
        value: Value,
    },
    /// `lines OP N`: how many invoice lines the customer has.
    LineCount {
        op: Op,
        value: Decimal,
    },
    /// `NAME.field OP VALUE`.
    Field {
        target: Target,
        field: Field,
        op: Op,
        value: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// A diagnostic code such as `T0504`.
    Code(String),
    /// Text the message contains.
    Text(String),
}

/// A rule line, or one part of it (`support["Sales"]`: a split group, tier, bundle product or
/// prorated stretch, matched on the split value or the id's last part, ignoring case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub line: String,
    pub part: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Quantity,
    UnitPrice,
    Amount,
    Description,
    Product,
    Agreement,
    /// How many invoice lines the rule line became.
    Lines,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Quantity,
        Field::UnitPrice,
        Field::Amount,
        Field::Description,
        Field::Product,
        Field::Agreement,
        Field::Lines,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Quantity => "quantity",
            Field::UnitPrice => "unit_price",
            Field::Amount => "amount",
            Field::Description => "description",
            Field::Product => "product",
            Field::Agreement => "agreement",
            Field::Lines => "lines",
        }
    }

    fn kind(self) -> FieldKind {
        match self {
            Field::Quantity | Field::Lines => FieldKind::Count,
            Field::UnitPrice | Field::Amount => FieldKind::Money,
            Field::Description | Field::Product | Field::Agreement => FieldKind::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Count,
    Money,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    pub fn holds<T: PartialOrd>(self, actual: &T, expected: &T) -> bool {
        match self {
            Op::Eq => actual == expected,
            Op::Ne => actual != expected,
            Op::Lt => actual < expected,
            Op::Le => actual <= expected,
            Op::Gt => actual > expected,
            Op::Ge => actual >= expected,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number, with the currency code written after it, if any.
    Number {
        value: Decimal,
        currency: Option<String>,
    },
    Text(String),
    /// `none`: no price (a line priced by the PSA's catalogue).
    None,
}

/// A mistake in an expectation file, located in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyntaxError {
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
    /// Byte offsets in the file.
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Number(String),
    Str(String),
    Month(String),
    Code(String),
    Op(Op),
    /// A single `=`: a slip for `==`.
    Assign,
    Dot,
    Open,
    Close,
    /// Anything else, e.g. `£`.
    Other(char),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Number(n) | Tok::Month(n) | Tok::Code(n) => format!("`{n}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::Assign => "`=`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Open => "`[`".into(),
            Tok::Close => "`]`".into(),
            Tok::Other(c) => format!("`{c}`"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offsets in the line.
    start: usize,
    end: usize,
}

/// One text line being parsed.
struct LineParser<'a> {
    text: &'a str,
    /// Byte offset of the line in the file.
    offset: usize,
    number: usize,
    tokens: Vec<Token>,
    next: usize,
}

type Parsed<T> = Result<T, SyntaxError>;

/// Parses an expectation file. Every line is read; the errors of all broken lines come back
/// together, in order.
pub fn parse(text: &str) -> Result<TestFile, Vec<SyntaxError>> {
    let mut file = TestFile::default();
    let mut errors = Vec::new();
    let mut customer: Option<String> = None;
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_text = raw.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += raw.len();
        let mut parser = match LineParser::new(line_text, start, index + 1) {
            Ok(Some(parser)) => parser,
            Ok(None) => continue,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        match parser.statement(&mut file, &mut customer) {
            Ok(()) => {}
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(file)
    } else {
        Err(errors)
    }
}

const STATEMENTS: [&str; 4] = ["expect", "rules", "period", "customer"];

impl<'a> LineParser<'a> {
    /// Tokenises one line; `None` for a blank or comment-only line.
    fn new(text: &'a str, offset: usize, number: usize) -> Parsed<Option<LineParser<'a>>> {
        let mut parser = LineParser {
            text,
            offset,
            number,
            tokens: Vec::new(),
            next: 0,
        };
        parser.tokens = parser.lex()?;
        Ok((!parser.tokens.is_empty()).then_some(parser))
    }

    fn error(&self, start: usize, end: usize, message: impl Into<String>) -> SyntaxError {
        let column = self
            .text
            .get(..start)
            .map_or(start, |before| before.chars().count())
            + 1;
        SyntaxError {
            line: self.number,
            column,
            start: self.offset + start,
            end: self.offset + end.max(start),
            message: message.into(),
            help: None,
        }
    }

    fn lex(&self) -> Parsed<Vec<Token>> {
        let bytes = self.text.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < self.text.len() {
            let rest = self.text.get(i..).unwrap_or_default();
            let Some(c) = rest.chars().next() else { break };
            let start = i;
            if c.is_whitespace() {
                i += c.len_utf8();
                continue;
            }
            if rest.starts_with("//") {
                break;
            }
            let tok = if c == '"' {
                let (value, end) = self.string(i)?;
                i = end;
                Tok::Str(value)
            } else if c.is_ascii_digit()
                || (c == '-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                let len = rest
                    .char_indices()
                    .skip(1)
                    .find(|(_, ch)| {
                        !(ch.is_ascii_digit() || *ch == '.' || *ch == ',' || *ch == '-')
                    })
                    .map_or(rest.len(), |(at, _)| at);
                let word = rest.get(..len).unwrap_or_default();
                i += len;
                self.number(word, start)?
            } else if c.is_alphabetic() || c == '_' {
                let len = rest
                    .char_indices()
                    .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
                    .map_or(rest.len(), |(at, _)| at);
                let word = rest.get(..len).unwrap_or_default();
                i += len;
                if word.len() == 5
                    && word.starts_with('T')
                    && word.chars().skip(1).all(|d| d.is_ascii_digit())
                {
                    Tok::Code(word.to_string())
                } else {
                    Tok::Word(word.to_string())
                }
            } else {
                let two = rest.get(..2).unwrap_or_default();
                let (tok, len) = match two {
                    "==" => (Tok::Op(Op::Eq), 2),
                    "!=" => (Tok::Op(Op::Ne), 2),
                    "<=" => (Tok::Op(Op::Le), 2),
                    ">=" => (Tok::Op(Op::Ge), 2),
                    _ => match c {
                        '<' => (Tok::Op(Op::Lt), 1),
                        '>' => (Tok::Op(Op::Gt), 1),
                        '=' => (Tok::Assign, 1),
                        '.' => (Tok::Dot, 1),
                        '[' => (Tok::Open, 1),
                        ']' => (Tok::Close, 1),
                        other => (Tok::Other(other), other.len_utf8()),
                    },
                };
                i += len;
                tok
            };
            tokens.push(Token { tok, start, end: i });
        }
        Ok(tokens)
    }

    /// A string starting at `start` (the opening quote): its value and the offset after it.
    fn string(&self, start: usize) -> Parsed<(String, usize)> {
        let mut value = String::new();
        let mut chars = self
            .text
            .get(start + 1..)
            .unwrap_or_default()
            .char_indices();
        while let Some((at, c)) = chars.next() {
            let here = start + 1 + at;
            match c {
                '"' => return Ok((value, here + 1)),
                '\\' => match chars.next() {
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((next, other)) => {
                        let end = start + 1 + next + other.len_utf8();
                        let mut e =
                            self.error(here, end, format!("unknown escape `\\{other}` in string"));
                        e.help = Some("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`".into());
                        return Err(e);
                    }
                    None => break,
                },
                _ => value.push(c),
            }
        }
        let mut e = self.error(start, self.text.len(), "this string has no closing `\"`");
        e.help = Some("a string ends on the line it starts on".into());
        Err(e)
    }

    fn number(&self, word: &str, start: usize) -> Parsed<Tok> {
        let end = start + word.len();
        let is_month = word.len() == 7
            && word.as_bytes().get(4) == Some(&b'-')
            && word
                .char_indices()
                .all(|(i, c)| i == 4 || c.is_ascii_digit());
        if is_month {
            return Ok(Tok::Month(word.to_string()));
        }
        if word.contains(',') {
            let mut e = self.error(start, end, format!("`{word}` is not a number"));
            e.help = Some(format!(
                "write `{}`: numbers have no thousands separators",
                word.replace(',', "")
            ));
            return Err(e);
        }
        if Decimal::from_str(word).is_err()
            || word.ends_with('.')
            || word.get(1..).is_some_and(|r| r.contains('-'))
        {
            return Err(self.error(start, end, format!("`{word}` is not a number")));
        }
        Ok(Tok::Number(word.to_string()))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    /// An error at the next token, or at the end of the line: "expected X, found Y".
    fn expected(&self, what: &str) -> SyntaxError {
        match self.peek() {
            Some(token) => self.error(
                token.start,
                token.end,
                format!("expected {what}, found {}", token.tok.describe()),
            ),
            None => {
                let end = self.text.trim_end().len();
                self.error(
                    end,
                    end,
                    format!("expected {what}, found the end of the line"),
                )
            }
        }
    }

    fn word(&mut self, what: &str) -> Parsed<(String, Token)> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) => {
                let w = w.clone();
                let token = self.bump().ok_or_else(|| self.expected(what))?;
                Ok((w, token))
            }
            _ => Err(self.expected(what)),
        }
    }

    fn string_value(&mut self, what: &str) -> Parsed<String> {
        match self.peek() {
            Some(Token {
                tok: Tok::Str(s), ..
            }) => {
                let s = s.clone();
                self.next += 1;
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn end(&self) -> Parsed<()> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(self.error(
                token.start,
                self.text.trim_end().len().max(token.end),
                format!("unexpected {} after the statement", token.tok.describe()),
            )),
        }
    }

    /// The statement's text as written, without the comment.
    fn written(&self) -> String {
        let end = self.tokens.last().map_or(0, |t| t.end);
        self.text.get(..end).unwrap_or_default().trim().to_string()
    }

    fn statement(&mut self, file: &mut TestFile, customer: &mut Option<String>) -> Parsed<()> {
        let (keyword, token) = match self.peek() {
            Some(Token {
                tok: Tok::Word(_), ..
            }) => self.word("a statement")?,
            _ => {
                let mut e = self.expected("`expect`, `rules`, `period` or `customer`");
                e.help =
                    Some("each line holds one statement, e.g. `expect total == 100.00 GBP`".into());
                return Err(e);
            }
        };
        match keyword.as_str() {
            "rules" => {
                file.rules.push(self.string_value(
                    "the rule file's path as a string, e.g. `\"../../customer.tally\"`",
                )?);
                self.end()
            }
            "period" => {
                match self.peek() {
                    Some(Token {
                        tok: Tok::Month(m), ..
                    }) => {
                        let month = m.clone();
                        self.next += 1;
                        if file.period.is_some() {
                            let Some(t) = self.tokens.first() else {
                                return Ok(());
                            };
                            return Err(self.error(t.start, t.end, "the period is given twice"));
                        }
                        file.period = Some(month);
                    }
                    _ => {
                        let mut e = self.expected("a month, e.g. `2026-10`");
                        e.help = Some("write the month as YYYY-MM".into());
                        return Err(e);
                    }
                }
                self.end()
            }
            "customer" => {
                *customer = Some(self.string_value(
                    "the customer's tenant or name as a string, e.g. `\"contoso.onmicrosoft.com\"`",
                )?);
                self.end()
            }
            "expect" => {
                let kind = self.expectation()?;
                self.end()?;
                let text = self.written();
                file.expectations.push(Expectation {
                    line: self.number,
                    text: text
                        .strip_prefix("expect")
                        .map_or(text.clone(), |t| t.trim().to_string()),
                    customer: customer.clone(),
                    kind,
                });
                Ok(())
            }
            other => {
                let mut e = self.error(
                    token.start,
                    token.end,
                    format!("unknown statement `{other}`"),
                );
                e.help = Names::new(other, STATEMENTS)
                    .listed_as("the statements are")
                    .help();
                Err(e)
            }
        }
    }

    fn expectation(&mut self) -> Parsed<Kind> {
        let what = "what to expect: a line's field (`support.quantity`), `total`, `lines`, `line`, `no`, `warning` or `error`";
        let (word, token) = match self.peek() {
            Some(Token {
                tok: Tok::Word(_), ..
            }) => self.word(what)?,
            _ => return Err(self.expected(what)),
        };
        let followed_by_dot = matches!(
            self.peek(),
            Some(Token {
                tok: Tok::Dot | Tok::Open,
                ..
            })
        );
        match word.as_str() {
            "no" if !followed_by_dot => {
                let (what, token) = self.word("`warnings` or `errors`")?;
                match what.as_str() {
                    "warnings" => Ok(Kind::NoWarnings),
                    "errors" => Ok(Kind::NoErrors),
                    other => {
                        let mut e = self.error(
                            token.start,
                            token.end,
                            format!("expected `warnings` or `errors`, found `{other}`"),
                        );
                        e.help = Names::new(other, ["warnings", "errors"])
                            .listed_as("write")
                            .as_alternatives()
                            .help();
                        Err(e)
                    }
                }
            }
            "warning" | "error" if !followed_by_dot => {
                let pattern = match self.bump() {
                    Some(Token {
                        tok: Tok::Code(code),
                        ..
                    }) => Pattern::Code(code),
                    Some(Token {
                        tok: Tok::Str(text),
                        ..
                    }) => Pattern::Text(text),
                    _ => {
                        self.next -= 1;
                        return Err(self.expected(
                            "a diagnostic code such as `T0504` or the text of the message as a string",
                        ));
                    }
                };
                Ok(if word == "warning" {
                    Kind::Warning(pattern)
                } else {
                    Kind::Error(pattern)
                })
            }
            "warnings" | "errors" if !followed_by_dot => {
                let mut e = self.error(
                    token.start,
                    token.end,
                    format!("expected `no {word}` or `{}`", word.trim_end_matches('s')),
                );
                e.help = Some(format!(
                    "write `expect no {word}`, or `expect {} \"text\"` for one that must be there",
                    word.trim_end_matches('s')
                ));
                Err(e)
            }
            "line" if !followed_by_dot => {
                let target = self.target()?;
                let (state, token) = self.word("`present` or `absent`")?;
                match state.as_str() {
                    "present" => Ok(Kind::Line {
                        target,
                        present: true,
                    }),
                    "absent" => Ok(Kind::Line {
                        target,
                        present: false,
                    }),
                    other => {
                        let mut e = self.error(
                            token.start,
                            token.end,
                            format!("expected `present` or `absent`, found `{other}`"),
                        );
                        e.help = Names::new(other, ["present", "absent"])
                            .listed_as("write")
                            .as_alternatives()
                            .help();
                        Err(e)
                    }
                }
            }
            "total" if !followed_by_dot => {
                let op = self.op()?;
                let value = self.value(FieldKind::Money, "the total")?;
                Ok(Kind::Total { op, value })
            }
            "lines" if !followed_by_dot => {
                let op = self.op()?;
                match self.value(FieldKind::Count, "the number of lines")? {
                    Value::Number { value, .. } => Ok(Kind::LineCount { op, value }),
                    _ => Err(self.expected("a whole number")),
                }
            }
            _ => {
                self.next -= 1;
                let target = self.target()?;
                if !matches!(self.peek(), Some(Token { tok: Tok::Dot, .. })) {
                    let mut e = self.expected("`.` and a field, e.g. `.quantity`");
                    e.help = Some(format!(
                        "write `{}.quantity`, `.unit_price`, `.amount`, … or `line {} absent`",
                        target.line, target.line
                    ));
                    return Err(e);
                }
                self.next += 1;
                let (name, token) = self.word("a field: `quantity`, `unit_price`, `amount`, `description`, `product`, `agreement` or `lines`")?;
                let Some(field) = Field::ALL.into_iter().find(|f| f.name() == name) else {
                    let mut e = self.error(
                        token.start,
                        token.end,
                        format!("a line has no field `{name}`"),
                    );
                    e.help = Names::new(&name, Field::ALL.map(Field::name))
                        .listed_as("the fields are")
                        .help();
                    return Err(e);
                };
                let op = self.op()?;
                if field.kind() == FieldKind::Text && !matches!(op, Op::Eq | Op::Ne) {
                    let token = self.tokens.get(self.next - 1).cloned();
                    let (start, end) = token.map_or((0, 0), |t| (t.start, t.end));
                    let mut e = self.error(
                        start,
                        end,
                        format!(
                            "`{}` is text: it cannot be compared with `{}`",
                            name,
                            op.as_str()
                        ),
                    );
                    e.help = Some("compare text with `==` or `!=`".into());
                    return Err(e);
                }
                let value = self.value(field.kind(), &format!("`{name}`"))?;
                Ok(Kind::Field {
                    target,
                    field,
                    op,
                    value,
                })
            }
        }
    }

    /// `name` or `name["part"]`.
    fn target(&mut self) -> Parsed<Target> {
        let (line, _) = self.word("a line's name, as written in the rules")?;
        let part = if matches!(self.peek(), Some(Token { tok: Tok::Open, .. })) {
            self.next += 1;
            let part = self.string_value("the part as a string, e.g. `[\"Sales\"]`")?;
            match self.peek() {
                Some(Token {
                    tok: Tok::Close, ..
                }) => self.next += 1,
                _ => return Err(self.expected("`]`")),
            }
            Some(part)
        } else {
            None
        };
        Ok(Target { line, part })
    }

    fn op(&mut self) -> Parsed<Op> {
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Op(op), ..
            }) => {
                self.next += 1;
                Ok(op)
            }
            Some(Token {
                tok: Tok::Assign,
                start,
                end,
            }) => {
                let mut e = self.error(start, end, "expected a comparison, found `=`");
                e.help = Some("use `==` to compare".into());
                Err(e)
            }
            _ => Err(self.expected("a comparison: `==`, `!=`, `<`, `<=`, `>` or `>=`")),
        }
    }

    fn value(&mut self, kind: FieldKind, what: &str) -> Parsed<Value> {
        let token = self.peek().cloned();
        match (kind, token) {
            (
                FieldKind::Text,
                Some(Token {
                    tok: Tok::Str(s), ..
                }),
            ) => {
                self.next += 1;
                Ok(Value::Text(s))
            }
            (FieldKind::Text, _) => Err(self.expected(&format!("a string: {what} is text"))),
            (
                FieldKind::Money,
                Some(Token {
                    tok: Tok::Word(w), ..
                }),
            ) if w == "none" => {
                self.next += 1;
                Ok(Value::None)
            }
            (
                _,
                Some(Token {
                    tok: Tok::Number(n),
                    start,
                    end,
                }),
            ) => {
                self.next += 1;
                let value = Decimal::from_str(&n)
                    .map_err(|_| self.error(start, end, format!("`{n}` is not a number")))?;
                let currency = match self.peek().cloned() {
                    Some(Token {
                        tok: Tok::Word(code),
                        start: cs,
                        end: ce,
                    }) if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) => {
                        self.next += 1;
                        if kind == FieldKind::Count {
                            let mut e = self.error(cs, ce, format!("{what} is a count, not money"));
                            e.help = Some(format!("write `{n}`"));
                            return Err(e);
                        }
                        if code != code.to_ascii_uppercase()
                            || tally_money::Currency::from_code(&code).is_err()
                        {
                            let mut e =
                                self.error(cs, ce, format!("`{code}` is not a currency code"));
                            e.help =
                                Some("currency codes are ISO 4217, in capitals, e.g. `GBP`".into());
                            if let Ok(c) =
                                tally_money::Currency::from_code(&code.to_ascii_uppercase())
                            {
                                e.help = Some(format!("write `{}`", c.code()));
                            }
                            return Err(e);
                        }
                        Some(code)
                    }
                    _ => None,
                };
                if kind == FieldKind::Count && !value.fract().is_zero() {
                    let mut e =
                        self.error(start, end, format!("{what} is a whole number, not `{n}`"));
                    e.help = Some("quantities and counts of lines are whole numbers".into());
                    return Err(e);
                }
                Ok(Value::Number { value, currency })
            }
            (
                _,
                Some(Token {
                    tok: Tok::Other(symbol @ ('£' | '$' | '€')),
                    start,
                    ..
                }),
            ) => {
                let code = match symbol {
                    '£' => "GBP",
                    '$' => "USD",
                    _ => "EUR",
                };
                let amount = self
                    .tokens
                    .get(self.next + 1)
                    .and_then(|t| match &t.tok {
                        Tok::Number(n) => Some(n.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "30.00".into());
                let end = self
                    .tokens
                    .get(self.next + 1)
                    .map_or(start + symbol.len_utf8(), |t| t.end);
                let mut e = self.error(start, end, format!("expected a number, found `{symbol}`"));
                e.help = Some(format!(
                    "write the amount, then its currency code: `{amount} {code}`"
                ));
                Err(e)
            }
            (FieldKind::Money, _) => Err(self.expected(&format!(
                "an amount such as `100.00 GBP`, or `none`, for {what}"
            ))),
            (FieldKind::Count, _) => Err(self.expected(&format!("a whole number for {what}"))),
        }
    }
}
