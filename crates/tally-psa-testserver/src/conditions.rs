//! ConnectWise `conditions`: the subset a fake needs, parsed strictly so a malformed filter
//! fails the test instead of silently matching everything. `field = value`, `!=`, `<`, `<=`,
//! `>`, `>=`, `field in (v, …)`, joined by `and`; values are `"text"` (with `\"`), numbers,
//! `true`/`false`, `null` and `[dates]`.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text(String),
    Num(Decimal),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub field: String,
    pub op: String,
    pub values: Vec<Field>,
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        while self.chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn word(&mut self) -> String {
        self.skip_space();
        let mut out = String::new();
        while let Some((_, c)) = self.chars.peek() {
            if c.is_alphanumeric() || matches!(c, '/' | '_' | '.' | '-') {
                out.push(*c);
                self.chars.next();
            } else {
                break;
            }
        }
        out
    }

    fn op(&mut self) -> Result<String, String> {
        self.skip_space();
        let mut out = String::new();
        while let Some((_, c)) = self.chars.peek() {
            if matches!(c, '=' | '!' | '<' | '>') {
                out.push(*c);
                self.chars.next();
            } else {
                break;
            }
        }
        if out.is_empty() {
            let word = self.word();
            if word.eq_ignore_ascii_case("in") || word.eq_ignore_ascii_case("like") {
                return Ok(word.to_lowercase());
            }
            return Err(format!("expected an operator, found `{word}`"));
        }
        match out.as_str() {
            "=" | "!=" | "<" | "<=" | ">" | ">=" => Ok(out),
            other => Err(format!("unknown operator `{other}`")),
        }
    }

    fn value(&mut self) -> Result<Field, String> {
        self.skip_space();
        match self.chars.peek().map(|(_, c)| *c) {
            Some('"') => {
                self.chars.next();
                let mut out = String::new();
                loop {
                    match self.chars.next() {
                        Some((_, '\\')) => match self.chars.next() {
                            Some((_, c)) => out.push(c),
                            None => return Err("unterminated string".into()),
                        },
                        Some((_, '"')) => return Ok(Field::Text(out)),
                        Some((_, c)) => out.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
            }
            Some('[') => {
                self.chars.next();
                let mut out = String::new();
                loop {
                    match self.chars.next() {
                        Some((_, ']')) => return Ok(Field::Text(out)),
                        Some((_, c)) => out.push(c),
                        None => return Err("unterminated date".into()),
                    }
                }
            }
            _ => {
                let word = self.word();
                match word.to_lowercase().as_str() {
                    "true" => Ok(Field::Bool(true)),
                    "false" => Ok(Field::Bool(false)),
                    "null" => Ok(Field::Null),
                    _ => word.parse::<Decimal>().map(Field::Num).map_err(|_| {
                        format!("`{word}` is not a value (text goes in double quotes)")
                    }),
                }
            }
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        self.skip_space();
        match self.chars.next() {
            Some((_, c)) if c == wanted => Ok(()),
            Some((i, c)) => Err(format!("expected `{wanted}` at {i}, found `{c}`")),
            None => Err(format!("expected `{wanted}` at the end of `{}`", self.text)),
        }
    }
}

pub fn parse(text: &str) -> Result<Vec<Clause>, String> {
    let mut lexer = Lexer {
        chars: text.char_indices().peekable(),
        text,
    };
    let mut clauses = Vec::new();
    loop {
        let field = lexer.word();
        if field.is_empty() {
            return Err(format!("expected a field name in `{text}`"));
        }
        let op = lexer.op()?;
        let values = if op == "in" {
            lexer.expect('(')?;
            let mut values = vec![lexer.value()?];
            loop {
                lexer.skip_space();
                match lexer.chars.peek().map(|(_, c)| *c) {
                    Some(',') => {
                        lexer.chars.next();
                        values.push(lexer.value()?);
                    }
                    _ => break,
                }
            }
            lexer.expect(')')?;
            values
        } else {
            vec![lexer.value()?]
        };
        clauses.push(Clause { field, op, values });
        lexer.skip_space();
        if lexer.chars.peek().is_none() {
            return Ok(clauses);
        }
        let joiner = lexer.word();
        if !joiner.eq_ignore_ascii_case("and") {
            return Err(format!("only `and` joins clauses here, found `{joiner}`"));
        }
    }
}

fn equal(a: &Field, b: &Field) -> bool {
    match (a, b) {
        (Field::Text(x), Field::Text(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    }
}

/// Whether a record passes every clause; a field the record does not have is an error.
pub fn matches(clauses: &[Clause], field: &dyn Fn(&str) -> Option<Field>) -> Result<bool, String> {
    for clause in clauses {
        let Some(actual) = field(&clause.field) else {
            return Err(format!("unknown field `{}` in conditions", clause.field));
        };
        let first = clause.values.first().cloned().unwrap_or(Field::Null);
        let pass = match clause.op.as_str() {
            "=" => equal(&actual, &first),
            "!=" => !equal(&actual, &first),
            "in" => clause.values.iter().any(|v| equal(&actual, v)),
            op => match (&actual, &first) {
                (Field::Num(a), Field::Num(b)) => match op {
                    "<" => a < b,
                    "<=" => a <= b,
                    ">" => a > b,
                    ">=" => a >= b,
                    _ => return Err(format!("`{op}` is not supported by the fake")),
                },
                _ => {
                    return Err(format!(
                        "`{op}` on `{}` is not supported by the fake",
                        clause.field
                    ));
                }
            },
        };
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}
