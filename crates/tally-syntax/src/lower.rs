//! Lowers pest pairs of one item into the owned AST, shifting spans by the item's offset in the
//! file. Literal values that the grammar accepts but that do not exist (`2026-02-30`, an integer
//! too large) become diagnostics here.

mod expr;

use crate::ast::*;
use crate::parser::Rule;
use pest::iterators::Pair;
use tally_diagnostics::Span;
use tally_diagnostics::{Code, Diagnostic};

pub(crate) struct Lowering {
    offset: usize,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// An expression nested deeper than the limit was refused: the item is dropped whole, not
    /// kept without the clause that held it.
    pub(crate) too_deep: bool,
    /// The expressions written in brackets (trivia for the formatter; the tree drops them).
    pub(crate) parens: Vec<crate::trivia::Parenthesized>,
}

type P<'i> = Pair<'i, Rule>;

impl Lowering {
    pub(crate) fn new(offset: usize) -> Lowering {
        Lowering {
            offset,
            diagnostics: Vec::new(),
            too_deep: false,
            parens: Vec::new(),
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
            Rule::bundle_clause => self.bundle(std::iter::once(first).chain(parts))?,
            Rule::dated_price_clause => self.dated_price(first, parts)?,
            Rule::every_clause => ClauseKind::Every {
                unit: self.ident(&first),
                starting: match parts.next() {
                    Some(date) => Some(self.expr(date)?),
                    None => None,
                },
            },
            Rule::tiers_clause => ClauseKind::Tiers {
                mode: self.ident(&first),
                tiers: parts.map(|t| self.tier(t)).collect::<Option<_>>()?,
            },
            _ => return None,
        };
        Some(Clause {
            kind,
            keyword,
            span,
        })
    }

    /// `bundle { "AV": 3.00, "EDR": 4.00 }`
    fn bundle<'i>(&mut self, items: impl Iterator<Item = P<'i>>) -> Option<ClauseKind> {
        let mut bundle = Vec::new();
        for item in items {
            let mut inner = item.into_inner().filter(|p| p.as_rule() != Rule::colon);
            let product = self.string(inner.next()?);
            let price = self.expr(inner.next()?)?;
            bundle.push((product, price));
        }
        Some(ClauseKind::Bundle(bundle))
    }

    /// `from DATE [until DATE] price EXPR`: the pairs after `from`'s date.
    fn dated_price<'i>(
        &mut self,
        from: P<'i>,
        rest: impl Iterator<Item = P<'i>>,
    ) -> Option<ClauseKind> {
        let from = self.expr(from)?;
        let mut rest: Vec<_> = rest.collect();
        let price = self.expr(rest.pop()?)?;
        let until = match rest.pop() {
            Some(date) => Some(self.expr(date)?),
            None => None,
        };
        Some(ClauseKind::DatedPrice { from, until, price })
    }

    /// `5: 0.00` or `above: 2.50`
    fn tier(&mut self, tier: P<'_>) -> Option<Tier> {
        let mut inner = tier.into_inner().filter(|p| p.as_rule() != Rule::colon);
        let bound = inner.next()?;
        let bound_span = self.span(&bound);
        let up_to = match bound.as_rule() {
            Rule::integer => match bound.as_str().parse() {
                Ok(bound) => Some(bound),
                Err(_) => {
                    // Never clamped: a bound that does not fit would bill another tier.
                    self.diagnostics.push(Diagnostic::error(
                        Code::BadLiteral,
                        format!("`{}` is too large", bound.as_str()),
                        bound_span,
                    ));
                    return None;
                }
            },
            _ => None,
        };
        let price = self.expr(inner.next()?)?;
        Some(Tier {
            up_to,
            bound_span,
            price,
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
            | Rule::kw_every
            | Rule::kw_starting
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
