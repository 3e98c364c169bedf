//! Lowers pest pairs of one item into the owned AST, shifting spans by the item's offset in the
//! file. Literal values that the grammar accepts but that do not exist (`2026-02-30`, an integer
//! too large) become diagnostics here.

use crate::ast::*;
use crate::parser::Rule;
use chrono::NaiveDate;
use pest::iterators::Pair;
use rust_decimal::Decimal;
use std::str::FromStr;
use tally_diagnostics::Span;
use tally_diagnostics::{Code, Diagnostic};

pub(crate) struct Lowering {
    offset: usize,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

type P<'i> = Pair<'i, Rule>;

impl Lowering {
    pub(crate) fn new(offset: usize) -> Lowering {
        Lowering {
            offset,
            diagnostics: Vec::new(),
        }
    }

    /// The pair's span without trailing whitespace: pest's implicit whitespace can extend a
    /// rule past its last token when an optional tail did not match.
    fn span(&self, pair: &P<'_>) -> Span {
        let s = pair.as_span();
        let end = s.start() + pair.as_str().trim_end().len();
        Span::new(self.offset + s.start(), self.offset + end)
    }

    fn ident(&self, pair: &P<'_>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    /// Children that carry meaning: punctuation and keyword tokens are dropped.
    fn children<'i>(pair: P<'i>) -> impl Iterator<Item = P<'i>> {
        pair.into_inner().filter(|p| !is_token(p.as_rule()))
    }

    pub(crate) fn item(&mut self, pair: P<'_>) -> Option<Item> {
        let inner = pair.into_inner().next()?;
        Some(match inner.as_rule() {
            Rule::customer => Item::Customer(self.customer(inner)?),
            Rule::use_decl => Item::Use(self.use_decl(inner)?),
            Rule::let_decl => Item::Let(self.let_decl(inner)?),
            Rule::line_item => Item::Line(self.line(inner)?),
            _ => return None,
        })
    }

    fn customer(&mut self, pair: P<'_>) -> Option<Customer> {
        let span = self.span(&pair);
        let keyword = pair
            .clone()
            .into_inner()
            .next()
            .map(|k| self.span(&k))
            .unwrap_or(span);
        let mut children = Self::children(pair);
        let name = self.string(children.next()?);
        let mut fields = Vec::new();
        for field in children {
            let Some(field) = field.into_inner().next() else {
                continue;
            };
            let field_span = self.span(&field);
            let value = Self::children(field.clone()).next();
            match (field.as_rule(), value) {
                (Rule::tenant_field, Some(v)) => fields.push(CustomerField::Tenant {
                    value: self.string(v),
                    span: field_span,
                }),
                (Rule::currency_field, Some(v)) => fields.push(CustomerField::Currency {
                    code: self.ident(&v),
                    span: field_span,
                }),
                (Rule::billing_day_field, Some(v)) => fields.push(CustomerField::BillingDay {
                    day: v.as_str().parse().unwrap_or(0),
                    span: field_span,
                }),
                (Rule::psa_field, Some(_)) => {
                    let mut parts = Self::children(field);
                    let kind = self.ident(&parts.next()?);
                    let settings = parts
                        .filter_map(|setting| {
                            let mut kv = Self::children(setting);
                            let key = self.ident(&kv.next()?);
                            let value = self.string(kv.next()?);
                            Some(PsaSetting { key, value })
                        })
                        .collect();
                    fields.push(CustomerField::Psa(Psa {
                        kind,
                        settings,
                        span: field_span,
                    }));
                }
                _ => {}
            }
        }
        Some(Customer {
            name,
            fields,
            keyword,
            span,
        })
    }

    fn use_decl(&mut self, pair: P<'_>) -> Option<Use> {
        let span = self.span(&pair);
        let target = Self::children(pair).next()?;
        let target = match target.as_rule() {
            Rule::string => UseTarget::File(self.string(target)),
            _ => UseTarget::Module {
                span: self.span(&target),
                path: Self::children(target).map(|p| self.ident(&p)).collect(),
            },
        };
        Some(Use { target, span })
    }

    fn let_decl(&mut self, pair: P<'_>) -> Option<Let> {
        let span = self.span(&pair);
        let mut children = Self::children(pair);
        let name = self.ident(&children.next()?);
        let value = self.expr(children.next()?)?;
        Some(Let { name, value, span })
    }

    fn line(&mut self, pair: P<'_>) -> Option<Line> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident(&inner.next()?);
        let kind_pair = inner.next()?;
        let kind = if kind_pair.as_rule() == Rule::kw_amount {
            LineKind::Amount
        } else {
            LineKind::Qty
        };
        let kind_span = self.span(&kind_pair);
        let mut rest = inner.filter(|p| !is_token(p.as_rule()));
        let value = self.expr(rest.next()?)?;
        let clauses = rest.filter_map(|c| self.clause(c)).collect();
        Some(Line {
            name,
            kind,
            kind_span,
            value,
            clauses,
            span,
        })
    }

    fn clause(&mut self, pair: P<'_>) -> Option<Clause> {
        let span = self.span(&pair);
        let clause = pair.into_inner().next()?;
        let rule = clause.as_rule();
        let keyword = clause
            .clone()
            .into_inner()
            .next()
            .map(|k| self.span(&k))
            .unwrap_or(span);
        let mut parts = Self::children(clause);
        let first = parts.next()?;
        let kind = match rule {
            Rule::price_clause => ClauseKind::Price(self.expr(first)?),
            Rule::minimum_clause => ClauseKind::Minimum(self.expr(first)?),
            Rule::split_clause => ClauseKind::Split {
                key: self.ident(&first),
                otherwise: parts.next().map(|p| self.string(p)),
            },
            Rule::product_clause => ClauseKind::Product(self.string(first)),
            Rule::description_clause => ClauseKind::Description(self.string(first)),
            Rule::agreement_clause => ClauseKind::Agreement(self.string(first)),
            Rule::billing_clause => ClauseKind::Billing(self.ident(&first)),
            Rule::term_clause => ClauseKind::Term(self.ident(&first)),
            Rule::rounding_clause => ClauseKind::Rounding(self.ident(&first)),
            Rule::prorate_clause => ClauseKind::Prorate(self.ident(&first)),
            Rule::measure_clause => ClauseKind::Measure(self.ident(&first)),
            Rule::trueup_clause => ClauseKind::Trueup(self.ident(&first)),
            Rule::included_clause => ClauseKind::Included(self.expr(first)?),
            Rule::bundle_clause => {
                let mut items = Vec::new();
                for item in std::iter::once(first).chain(parts) {
                    let mut inner = item.into_inner().filter(|p| p.as_rule() != Rule::colon);
                    let product = self.string(inner.next()?);
                    let price = self.expr(inner.next()?)?;
                    items.push((product, price));
                }
                ClauseKind::Bundle(items)
            }
            Rule::dated_price_clause => {
                let from = self.literal(first)?;
                let mut rest: Vec<_> = parts.collect();
                let price = self.expr(rest.pop()?)?;
                let until = match rest.pop() {
                    Some(date) => Some(self.literal(date)?),
                    None => None,
                };
                ClauseKind::DatedPrice { from, until, price }
            }
            Rule::tiers_clause => {
                let mode = self.ident(&first);
                let mut tiers = Vec::new();
                for tier in parts {
                    let mut inner = tier.into_inner().filter(|p| p.as_rule() != Rule::colon);
                    let bound = inner.next()?;
                    let bound_span = self.span(&bound);
                    let up_to = match bound.as_rule() {
                        Rule::integer => Some(bound.as_str().parse().unwrap_or(i64::MAX)),
                        _ => None,
                    };
                    let price = self.expr(inner.next()?)?;
                    tiers.push(Tier {
                        up_to,
                        bound_span,
                        price,
                    });
                }
                ClauseKind::Tiers { mode, tiers }
            }
            _ => return None,
        };
        Some(Clause {
            kind,
            keyword,
            span,
        })
    }

    fn string(&mut self, pair: P<'_>) -> StringLit {
        let span = self.span(&pair);
        let raw = pair.as_str();
        let body = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        let mut value = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(c @ ('"' | '\\')) => value.push(c),
                other => {
                    let shown = other.map(String::from).unwrap_or_default();
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::BadLiteral,
                            format!("unknown escape `\\{shown}` in string"),
                            span,
                        )
                        .with_help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`"),
                    );
                }
            }
        }
        StringLit { value, span }
    }

    // ---- expressions -------------------------------------------------------------------

    fn expr(&mut self, pair: P<'_>) -> Option<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let mut parts = Self::children(pair);
                let mut collection = self.expr(parts.next()?)?;
                for predicate in parts {
                    let predicate = self.expr(predicate)?;
                    let span = collection.span.to(predicate.span);
                    collection = Expr {
                        kind: ExprKind::Where {
                            collection: Box::new(collection),
                            predicate: Box::new(predicate),
                        },
                        span,
                    };
                }
                Some(collection)
            }
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr | Rule::cmp_expr => {
                self.binary_chain(pair)
            }
            Rule::not_expr => {
                let mut inner = pair.into_inner();
                let first = inner.next()?;
                if first.as_rule() == Rule::kw_not {
                    let operand = self.expr(inner.next()?)?;
                    Some(Expr {
                        kind: ExprKind::Unary {
                            op: UnaryOp::Not,
                            operand: Box::new(operand),
                        },
                        span,
                    })
                } else {
                    self.expr(first)
                }
            }
            Rule::unary => {
                let mut inner = pair.into_inner();
                let first = inner.next()?;
                if first.as_rule() == Rule::neg {
                    let operand = self.expr(inner.next()?)?;
                    Some(Expr {
                        kind: ExprKind::Unary {
                            op: UnaryOp::Neg,
                            operand: Box::new(operand),
                        },
                        span,
                    })
                } else {
                    self.expr(first)
                }
            }
            Rule::postfix => self.postfix(pair),
            Rule::primary | Rule::paren => {
                let inner = Self::children(pair).next()?;
                self.expr(inner)
            }
            _ => self.literal(pair),
        }
    }

    /// `a op b op c`, left-associative.
    fn binary_chain(&mut self, pair: P<'_>) -> Option<Expr> {
        let mut inner = pair.into_inner();
        let mut left = self.expr(inner.next()?)?;
        while let Some(op_pair) = inner.next() {
            let op = binary_op(op_pair.as_str())?;
            let right = self.expr(inner.next()?)?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
        }
        Some(left)
    }

    fn postfix(&mut self, pair: P<'_>) -> Option<Expr> {
        let mut inner = pair.into_inner();
        let mut expr = self.expr(inner.next()?)?;
        for suffix in inner {
            let suffix_span = self.span(&suffix);
            let span = expr.span.to(suffix_span);
            match suffix.as_rule() {
                Rule::field_access => {
                    let field = self.ident(&Self::children(suffix).next()?);
                    expr = Expr {
                        kind: ExprKind::Field {
                            base: Box::new(expr),
                            field,
                        },
                        span,
                    };
                }
                Rule::call_args => {
                    let args = Self::children(suffix)
                        .map(|a| self.expr(a))
                        .collect::<Option<Vec<_>>>()?;
                    expr = match expr.kind {
                        ExprKind::Name(name) => Expr {
                            kind: ExprKind::Call {
                                receiver: None,
                                name,
                                args,
                            },
                            span,
                        },
                        ExprKind::Field { base, field } => Expr {
                            kind: ExprKind::Call {
                                receiver: Some(base),
                                name: field,
                                args,
                            },
                            span,
                        },
                        _ => {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    Code::Syntax,
                                    "only functions can be called",
                                    suffix_span,
                                )
                                .with_help("calls look like `max(a, b)` or `m365.sku(\"SPB\")`"),
                            );
                            return None;
                        }
                    };
                }
                _ => {}
            }
        }
        Some(expr)
    }

    fn literal(&mut self, pair: P<'_>) -> Option<Expr> {
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
            Rule::money => {
                let mut parts = pair.into_inner();
                let amount = parts.next()?;
                let code = parts.next()?;
                match Decimal::from_str(amount.as_str()) {
                    Ok(d) => ExprKind::Money {
                        amount: d,
                        currency: self.ident(&code),
                    },
                    Err(_) => {
                        return self.bad_literal(
                            span,
                            format!("`{}` is not a valid amount", amount.as_str()),
                        );
                    }
                }
            }
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
                let items = Self::children(pair)
                    .map(|p| self.expr(p))
                    .collect::<Option<Vec<_>>>()?;
                ExprKind::List(items)
            }
            _ => return None,
        };
        Some(Expr { kind, span })
    }

    fn bad_literal(&mut self, span: Span, message: String) -> Option<Expr> {
        self.diagnostics
            .push(Diagnostic::error(Code::BadLiteral, message, span));
        Some(Expr {
            kind: ExprKind::Error,
            span,
        })
    }
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

/// Keyword and punctuation tokens: structure only, no content.
fn is_token(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_customer
            | Rule::kw_use
            | Rule::kw_let
            | Rule::kw_qty
            | Rule::kw_amount
            | Rule::kw_price
            | Rule::kw_split
            | Rule::kw_by
            | Rule::kw_otherwise
            | Rule::kw_minimum
            | Rule::kw_product
            | Rule::kw_description
            | Rule::kw_agreement
            | Rule::kw_billing
            | Rule::kw_term
            | Rule::kw_rounding
            | Rule::kw_prorate
            | Rule::kw_measure
            | Rule::kw_trueup
            | Rule::kw_included
            | Rule::kw_tiers
            | Rule::kw_from
            | Rule::kw_bundle
            | Rule::kw_until
            | Rule::kw_billing_day
            | Rule::kw_where
            | Rule::kw_tenant
            | Rule::kw_currency
            | Rule::kw_psa
            | Rule::lbrace
            | Rule::rbrace
            | Rule::lparen
            | Rule::rparen
            | Rule::lbracket
            | Rule::rbracket
            | Rule::comma
            | Rule::dot
            | Rule::assign
    )
}
