//! Lowering of expressions. Every lowered expression carries its depth, and a tree deeper than
//! [`MAX_NESTING`] is refused while it is built: the parts already built are at most that deep,
//! so nothing downstream (nor dropping the parts) recurses further.

use super::{Lowering, P, is_token};
use crate::ast::*;
use crate::depth::{self, MAX_NESTING};
use crate::parser::Rule;
use crate::trivia::Parenthesized;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;
use tally_diagnostics::{Code, Diagnostic, Span};

/// An expression and the depth of its tree (a literal is 1).
pub(super) struct Lowered {
    expr: Expr,
    depth: usize,
}

impl Lowering {
    pub(super) fn expr(&mut self, pair: P<'_>) -> Option<Expr> {
        self.lowered(pair).map(|l| l.expr)
    }

    fn lowered(&mut self, pair: P<'_>) -> Option<Lowered> {
        let (pair, brackets) = innermost(pair);
        let lowered = self.unbracketed(pair)?;
        if let Some(outer) = brackets {
            self.parens.push(Parenthesized {
                expr: lowered.expr.span,
                outer: self.span(&outer),
            });
        }
        Some(lowered)
    }

    fn unbracketed(&mut self, pair: P<'_>) -> Option<Lowered> {
        match pair.as_rule() {
            Rule::expr => self.where_chain(pair),
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr | Rule::cmp_expr => {
                self.binary_chain(pair)
            }
            Rule::not_expr => self.prefixed(pair, UnaryOp::Not),
            Rule::unary => self.prefixed(pair, UnaryOp::Neg),
            Rule::postfix => self.postfix(pair),
            _ => self.literal(pair),
        }
    }

    /// A new node of depth `depth`, or the nesting error at `at` when that is too deep.
    fn node(&mut self, kind: ExprKind, span: Span, depth: usize, at: Span) -> Option<Lowered> {
        if depth > MAX_NESTING {
            self.diagnostics.push(depth::nested_too_deep(at));
            self.too_deep = true;
            return None;
        }
        Some(Lowered {
            expr: Expr { kind, span },
            depth,
        })
    }

    /// `collection where predicate where predicate ...`
    fn where_chain(&mut self, pair: P<'_>) -> Option<Lowered> {
        let mut parts = Self::children(pair);
        let mut collection = self.lowered(parts.next()?)?;
        for predicate in parts {
            let predicate = self.lowered(predicate)?;
            let span = collection.expr.span.to(predicate.expr.span);
            let depth = 1 + collection.depth.max(predicate.depth);
            let at = predicate.expr.span;
            let kind = ExprKind::Where {
                collection: Box::new(collection.expr),
                predicate: Box::new(predicate.expr),
            };
            collection = self.node(kind, span, depth, at)?;
        }
        Some(collection)
    }

    /// `a op b op c`, left-associative.
    fn binary_chain(&mut self, pair: P<'_>) -> Option<Lowered> {
        let mut inner = pair.into_inner();
        let mut left = self.lowered(inner.next()?)?;
        while let Some(op_pair) = inner.next() {
            let op = binary_op(op_pair.as_str())?;
            let right = self.lowered(inner.next()?)?;
            let span = left.expr.span.to(right.expr.span);
            let depth = 1 + left.depth.max(right.depth);
            let at = right.expr.span;
            let kind = ExprKind::Binary {
                op,
                left: Box::new(left.expr),
                right: Box::new(right.expr),
            };
            left = self.node(kind, span, depth, at)?;
        }
        Some(left)
    }

    /// `not not x`, `- -x`: the operators, then the operand; each operator applies to the rest.
    fn prefixed(&mut self, pair: P<'_>, op: UnaryOp) -> Option<Lowered> {
        let end = self.span(&pair).end as usize;
        let mut parts: Vec<P<'_>> = pair.into_inner().collect();
        let mut operand = self.lowered(parts.pop()?)?;
        for operator in parts.iter().rev() {
            let at = self.span(operator);
            let span = Span::new(at.start as usize, end);
            let depth = operand.depth + 1;
            let kind = ExprKind::Unary {
                op,
                operand: Box::new(operand.expr),
            };
            operand = self.node(kind, span, depth, at)?;
        }
        Some(operand)
    }

    fn postfix(&mut self, pair: P<'_>) -> Option<Lowered> {
        let mut inner = pair.into_inner();
        let mut expr = self.lowered(inner.next()?)?;
        for suffix in inner {
            let suffix_span = self.span(&suffix);
            let span = expr.expr.span.to(suffix_span);
            expr = match suffix.as_rule() {
                Rule::field_access => {
                    let field = self.ident(&Self::children(suffix).next()?);
                    let kind = ExprKind::Field {
                        base: Box::new(expr.expr),
                        field,
                    };
                    self.node(kind, span, expr.depth + 1, suffix_span)?
                }
                Rule::call_args => self.call(expr, suffix, span)?,
                _ => expr,
            };
        }
        Some(expr)
    }

    /// `callee(args)`: a function by name, or a method of a value (`m365.sku("SPB")`).
    fn call(&mut self, callee: Lowered, args: P<'_>, span: Span) -> Option<Lowered> {
        let suffix_span = self.span(&args);
        let (args, args_depth) = self.items(args)?;
        let depth = 1 + callee.depth.max(args_depth);
        let kind = match callee.expr.kind {
            ExprKind::Name(name) => ExprKind::Call {
                receiver: None,
                name,
                args,
            },
            ExprKind::Field { base, field } => ExprKind::Call {
                receiver: Some(base),
                name: field,
                args,
            },
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(Code::Syntax, "only functions can be called", suffix_span)
                        .with_help("calls look like `max(a, b)` or `m365.sku(\"SPB\")`"),
                );
                return None;
            }
        };
        self.node(kind, span, depth, suffix_span)
    }

    /// The expressions of a list or of call arguments, and the depth of the deepest.
    fn items(&mut self, pair: P<'_>) -> Option<(Vec<Expr>, usize)> {
        let pairs: Vec<P<'_>> = Self::children(pair).collect();
        self.thousands_separators(&pairs);
        let mut items = Vec::with_capacity(pairs.len());
        let mut depth = 0;
        for item in pairs {
            let item = self.lowered(item)?;
            depth = depth.max(item.depth);
            items.push(item.expr);
        }
        Some((items, depth))
    }

    /// `max(staff, 1,000)` reads as three arguments, `1`, `000`... : a comma directly between a
    /// number and three digits is a thousands separator, and the bill would silently differ.
    fn thousands_separators(&mut self, items: &[P<'_>]) {
        let mut n = 0;
        while n + 1 < items.len() {
            let (Some(first), rest) = (items.get(n), items.get(n + 1..).unwrap_or(&[])) else {
                break;
            };
            let groups = rest
                .iter()
                .scan(end_of(first), |end, next| {
                    let adjacent =
                        next.as_span().start() == *end + 1 && is_group(next.as_str().trim_end());
                    *end = end_of(next);
                    adjacent.then_some(next)
                })
                .count();
            let leading = trailing_digits(first.as_str().trim_end());
            if groups == 0 || leading.is_empty() {
                n += 1;
                continue;
            }
            let start = end_of(first) - leading.len();
            let last = rest.get(groups - 1).map_or(start, end_of);
            let span = Span::new(self.offset + start, self.offset + last);
            let written = first
                .get_input()
                .get(start..last)
                .unwrap_or_default()
                .to_string();
            self.diagnostics
                .push(crate::hints::thousands_separator(span, &written));
            n += groups + 1;
        }
    }

    fn literal(&mut self, pair: P<'_>) -> Option<Lowered> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::integer => match text.parse::<i64>() {
                Ok(n) => ExprKind::Int(n),
                Err(_) => return self.bad_literal(span, format!("`{text}` is too large")),
            },
            Rule::decimal => match Decimal::from_str(text) {
                Ok(d) => ExprKind::Decimal(d),
                Err(_) => {
                    return self.bad_literal(span, format!("`{text}` is not a valid decimal"));
                }
            },
            Rule::percent => {
                let digits = text.trim_end_matches('%');
                match Decimal::from_str(digits) {
                    Ok(d) => ExprKind::Percent(d / Decimal::ONE_HUNDRED),
                    Err(_) => {
                        return self
                            .bad_literal(span, format!("`{text}` is not a valid percentage"));
                    }
                }
            }
            Rule::money => return self.money(pair),
            Rule::date => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) => ExprKind::Date(d),
                Err(_) => {
                    return self.bad_literal(span, format!("`{text}` is not a calendar date"));
                }
            },
            Rule::string => ExprKind::Text(self.string(pair).value),
            Rule::boolean => ExprKind::Bool(text == "true"),
            Rule::ident => ExprKind::Name(self.ident(&pair)),
            Rule::list => {
                let (items, depth) = self.items(pair)?;
                return self.node(ExprKind::List(items), span, depth + 1, span);
            }
            _ => return None,
        };
        Some(Lowered {
            expr: Expr { kind, span },
            depth: 1,
        })
    }

    /// `25.00 GBP`
    fn money(&mut self, pair: P<'_>) -> Option<Lowered> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let amount = parts.next()?;
        let code = parts.next()?;
        let kind = match Decimal::from_str(amount.as_str()) {
            Ok(d) => ExprKind::Money {
                amount: d,
                currency: self.ident(&code),
            },
            Err(_) => {
                return self
                    .bad_literal(span, format!("`{}` is not a valid amount", amount.as_str()));
            }
        };
        Some(Lowered {
            expr: Expr { kind, span },
            depth: 1,
        })
    }

    fn bad_literal(&mut self, span: Span, message: String) -> Option<Lowered> {
        self.diagnostics
            .push(Diagnostic::error(Code::BadLiteral, message, span));
        Some(Lowered {
            expr: Expr {
                kind: ExprKind::Error,
                span,
            },
            depth: 1,
        })
    }
}

/// The innermost pair of a chain of single-child expression rules, and the outermost `paren`
/// passed on the way (the brackets the user wrote around it, `((x))` counting once). A bracketed
/// value passes through ten rules (`expr` → `or_expr` → ... → `primary` → `paren` → `expr`),
/// each of which lowers to its child unchanged: skipping them here spends one stack frame per
/// bracket, not ten.
fn innermost(mut pair: P<'_>) -> (P<'_>, Option<P<'_>>) {
    let mut outer = None;
    loop {
        if pair.as_rule() == Rule::paren && outer.is_none() {
            outer = Some(pair.clone());
        }
        let passes_through = matches!(
            pair.as_rule(),
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
                | Rule::paren
        );
        if !passes_through {
            return (pair, outer);
        }
        let mut children = pair.clone().into_inner().filter(|p| !is_token(p.as_rule()));
        match (children.next(), children.next()) {
            (Some(only), None) => pair = only,
            _ => return (pair, outer),
        }
    }
}

/// Where a pair's text ends, without the whitespace pest may have taken after it.
fn end_of(pair: &P<'_>) -> usize {
    pair.as_span().start() + pair.as_str().trim_end().len()
}

/// `000` or `000.50`: what follows a thousands separator.
fn is_group(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "1"));
    whole.len() == 3
        && whole.bytes().all(|b| b.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// The digits `text` ends with (`count(staff) * 1` → `1`), if it ends with a whole number.
fn trailing_digits(text: &str) -> &str {
    let start = text
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let digits = text.get(start..).unwrap_or("");
    // `1.5,000` or `x1,000` is not a number with a separator.
    let before = text.get(..start).and_then(|b| b.chars().next_back());
    if before.is_some_and(|c| c == '.' || c == '_' || c.is_ascii_alphabetic()) {
        return "";
    }
    digits
}

fn binary_op(text: &str) -> Option<BinaryOp> {
    Some(match text {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "in" => BinaryOp::In,
        "and" => BinaryOp::And,
        "or" => BinaryOp::Or,
        _ => return None,
    })
}
