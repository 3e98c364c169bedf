//! The fields of records: users, subscribed SKUs, usage rows and the billing period.

use super::show::catalog_name;
use super::{Ctx, Evaluator, InModule, Outcome, Result, expected, unexpected};
use crate::value::Value;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_ir::fields::fields_of;
use tally_ir::types::Record;
use tally_ir::{Field, TExpr, Term};
use tally_snapshot::{Period, SubscribedSku, User};

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

impl Evaluator<'_> {
    /// `field` of the record `base`; `expr` is the field access, where errors point.
    pub(super) fn field(
        &self,
        base: &Value,
        field: Field,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<Value> {
        let span = expr.span;
        match base {
            Value::User(i) => {
                let user = self.user(*i, span).in_module(ctx)?;
                user_field(user, field, span).in_module(ctx)
            }
            Value::Sku { entries, name } => {
                let subscriptions = self.subscriptions(entries, span).in_module(ctx)?;
                match subscriptions.first() {
                    Some(first) => self.sku_field(first, &subscriptions, field, expr, ctx),
                    None => self.unsubscribed_field(name, field, span).in_module(ctx),
                }
            }
            Value::Usage(i) => self.usage_field(*i, field, expr, ctx),
            Value::Period => period_field(self.period, field, span).in_module(ctx),
            other => Err(unexpected(
                &format!("a record with the field `{}`", field_name(field)),
                other,
                span,
            ))
            .in_module(ctx),
        }
    }

    fn usage_field(&self, index: usize, field: Field, expr: &TExpr, ctx: Ctx<'_>) -> Result<Value> {
        let row = self.usage_row(index, expr.span).in_module(ctx)?;
        Ok(match field {
            Field::UsageDate => Value::Date(row.date),
            Field::SubscriptionId => text(&row.subscription_id),
            Field::ResourceGroup => text(&row.resource_group),
            Field::MeterCategory => text(&row.meter_category),
            Field::MeterName => text(&row.meter_name),
            Field::UsageQuantity => Value::Num(row.quantity),
            Field::UsageCost => {
                Value::Money(self.customer_money(row.cost, "a usage row's cost", expr, ctx)?)
            }
            other => return Err(not_a_field(other, Record::Usage, expr.span)).in_module(ctx),
        })
    }

    /// A SKU the tenant does not subscribe to has no seats and a name, but no cost, term or id.
    fn unsubscribed_field(&self, name: &str, field: Field, span: Span) -> Outcome<Value> {
        match field {
            Field::Purchased | Field::Assigned | Field::Available => Ok(Value::Num(Decimal::ZERO)),
            Field::PartNumber => Ok(text(name)),
            Field::SkuName => Ok(text(
                &tally_skus::catalog()
                    .resolve(name)
                    .first()
                    .map_or_else(|| name.to_string(), |s| s.display_name.clone()),
            )),
            Field::SkuId
            | Field::Cost
            | Field::TermCost
            | Field::Term
            | Field::BillingPlan
            | Field::TermStart
            | Field::TermEnd => Err(Diagnostic::error(
                Code::MissingData,
                format!(
                    "tenant `{}` has no subscription to `{name}`, so it has no {}",
                    self.tenant.tenant,
                    field_word(field)
                ),
                span,
            )
            .with_help("check the SKU name, or add the subscription to the snapshot")),
            other => Err(not_a_field(other, Record::Sku, span)),
        }
    }

    /// A field of the tenant's subscriptions to one SKU (`sku` is the first of `all`). Seats add
    /// up over every subscription to the SKU; a cost or term is only meaningful when all of them
    /// agree.
    fn sku_field(
        &self,
        sku: &SubscribedSku,
        all: &[&SubscribedSku],
        field: Field,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<Value> {
        let seats = |f: fn(&SubscribedSku) -> u32| -> Value {
            Value::Num(all.iter().map(|s| Decimal::from(f(s))).sum())
        };
        let agreed = |what: &str, same: fn(&SubscribedSku, &SubscribedSku) -> bool| {
            agreed(sku, all, what, same, expr.span).in_module(ctx)
        };
        Ok(match field {
            Field::SkuId => text(&sku.sku_id),
            Field::PartNumber => text(&sku.part_number),
            Field::SkuName => {
                text(&catalog_name(&sku.sku_id).unwrap_or_else(|| sku.part_number.clone()))
            }
            Field::Purchased => seats(|s| s.purchased),
            Field::Assigned => seats(|s| s.assigned),
            Field::Available => seats(|s| s.purchased.saturating_sub(s.assigned)),
            Field::Cost => {
                agreed("cost", |s, first| s.unit_cost == first.unit_cost)?;
                let what = format!("`{}`'s cost", sku.part_number);
                Value::Money(self.customer_money(sku.unit_cost, &what, expr, ctx)?)
            }
            Field::TermCost => {
                agreed("term cost", |s, first| {
                    s.term_cost() == first.term_cost() && s.term == first.term
                })?;
                let what = format!("`{}`'s term cost", sku.part_number);
                let cost = sku.term_cost().ok_or_else(|| {
                    Diagnostic::error(Code::Overflow, format!("{what} overflows"), expr.span)
                });
                Value::Money(self.customer_money(cost.in_module(ctx)?, &what, expr, ctx)?)
            }
            Field::Term => {
                agreed("term", |s, first| s.term == first.term)?;
                text(sku.term.name())
            }
            Field::TermStart | Field::TermEnd => {
                agreed("term start", |s, first| {
                    s.term_start == first.term_start && s.term == first.term
                })?;
                let start = term_start(sku, expr.span).in_module(ctx)?;
                Value::Date(match field {
                    Field::TermStart => start,
                    _ => current_term_end(start, sku.term, self.date),
                })
            }
            Field::BillingPlan => {
                agreed("billing plan", |s, first| {
                    s.billing_plan == first.billing_plan
                })?;
                text(sku.billing_plan.name())
            }
            other => return Err(not_a_field(other, Record::Sku, expr.span)).in_module(ctx),
        })
    }
}

fn user_field(user: &User, field: Field, span: Span) -> Outcome<Value> {
    Ok(match field {
        Field::UserId => text(&user.id),
        Field::Upn => text(&user.upn),
        Field::DisplayName => text(&user.display_name),
        Field::Department => text(user.department.as_deref().unwrap_or("")),
        Field::Office => text(user.office.as_deref().unwrap_or("")),
        Field::City => text(user.city.as_deref().unwrap_or("")),
        Field::Enabled => Value::Bool(user.enabled),
        Field::Licensed => Value::Bool(!user.assigned_skus.is_empty()),
        other => return Err(not_a_field(other, Record::User, span)),
    })
}

fn period_field(period: &Period, field: Field, span: Span) -> Outcome<Value> {
    Ok(match field {
        Field::Start => Value::Date(period.start),
        Field::End => Value::Date(period.end),
        Field::Days => Value::Num(Decimal::from(period.days())),
        other => return Err(not_a_field(other, Record::Period, span)),
    })
}

/// Nothing when every subscription agrees with the first on `what`; else the error saying the
/// SKU has no single one.
fn agreed(
    sku: &SubscribedSku,
    all: &[&SubscribedSku],
    what: &str,
    same: fn(&SubscribedSku, &SubscribedSku) -> bool,
    span: Span,
) -> Outcome<()> {
    if all.iter().all(|s| same(s, sku)) {
        return Ok(());
    }
    Err(Diagnostic::error(
        Code::MissingData,
        format!(
            "`{}` is held on {} subscriptions with different {what}s, so it has no single {what}",
            sku.part_number,
            all.len()
        ),
        span,
    )
    .with_help(format!(
        "bill each term on its own line, e.g. `m365.sku(\"{}\", \"annual\")`",
        sku.part_number
    )))
}

fn term_start(sku: &SubscribedSku, span: Span) -> Outcome<NaiveDate> {
    sku.term_start.ok_or_else(|| {
        Diagnostic::error(
            Code::MissingData,
            format!(
                "the snapshot gives no `term_start` for `{}`",
                sku.part_number
            ),
            span,
        )
        .with_help("add the subscription's term start to the snapshot")
    })
}

/// The last day of the term (or renewal) in force on `date`, for a term that first started on
/// `start`: terms follow one another, each ending per Microsoft's month-end rule.
fn current_term_end(start: NaiveDate, term: Term, date: NaiveDate) -> NaiveDate {
    let mut term_start = start;
    loop {
        let Some(end) = tally_billing::term_end(term_start, term) else {
            return term_start;
        };
        match end.succ_opt() {
            Some(next) if end < date => term_start = next,
            _ => return end,
        }
    }
}

/// What an unsubscribed SKU lacks, in its error message.
fn field_word(field: Field) -> &'static str {
    match field {
        Field::Cost => "cost",
        Field::TermCost => "term cost",
        Field::Term => "term",
        Field::BillingPlan => "billing plan",
        Field::SkuId => "SKU id",
        _ => "value",
    }
}

/// The field's name in rules, e.g. `upn`.
fn field_name(field: Field) -> &'static str {
    [Record::User, Record::Sku, Record::Usage, Record::Period]
        .into_iter()
        .flat_map(fields_of)
        .find(|(_, f, ..)| *f == field)
        .map_or("?", |(name, ..)| name)
}

/// The checker gave a record a field it does not have.
fn not_a_field(field: Field, record: Record, span: Span) -> Diagnostic {
    expected(
        format!(
            "a field of a {}, found `{}`",
            tally_ir::types::record_name(record),
            field_name(field)
        ),
        span,
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Fixture, code, gbp_money};
    use super::*;
    use tally_ir::{TExprKind, Type};

    fn field_of(fixture: &Fixture, base: Value, field: Field) -> Result<Value> {
        let evaluator = fixture.evaluator();
        let expr = fixture.leaf();
        evaluator.field(&base, field, &expr, fixture.ctx())
    }

    #[test]
    fn user_fields() {
        let fixture = Fixture::new();
        let upn = field_of(&fixture, Value::User(0), Field::Upn);
        assert_eq!(upn.ok(), Some(text("ana@contoso.com")));
        let licensed = field_of(&fixture, Value::User(2), Field::Licensed);
        assert_eq!(licensed.ok(), Some(Value::Bool(false)));
        // No department is the empty text.
        let department = field_of(&fixture, Value::User(2), Field::Department);
        assert_eq!(department.ok(), Some(text("")));
    }

    #[test]
    fn period_fields() {
        let fixture = Fixture::new();
        let days = field_of(&fixture, Value::Period, Field::Days);
        assert_eq!(days.ok(), Some(Value::Num(Decimal::from(31))));
    }

    #[test]
    fn subscribed_sku_fields_add_seats_and_convert_cost() {
        let fixture = Fixture::new();
        let spb = Value::Sku {
            entries: vec![0],
            name: "SPB".into(),
        };
        let purchased = field_of(&fixture, spb.clone(), Field::Purchased);
        assert_eq!(purchased.ok(), Some(Value::Num(Decimal::from(5))));
        let cost = field_of(&fixture, spb, Field::Cost);
        assert_eq!(cost.ok(), Some(Value::Money(gbp_money("16.50"))));
    }

    #[test]
    fn an_unsubscribed_sku_has_no_seats_and_no_cost() {
        let fixture = Fixture::new();
        let none = || Value::Sku {
            entries: Vec::new(),
            name: "EXCHANGESTANDARD".into(),
        };
        let purchased = field_of(&fixture, none(), Field::Purchased);
        assert_eq!(purchased.ok(), Some(Value::Num(Decimal::ZERO)));
        let cost = field_of(&fixture, none(), Field::Cost);
        assert_eq!(code(cost), Some(Code::MissingData));
    }

    #[test]
    fn a_field_the_record_does_not_have_is_an_internal_error() {
        let fixture = Fixture::new();
        let cases = [
            (Value::Period, Field::UserId),
            (Value::User(0), Field::Cost),
            (Value::Usage(0), Field::Upn),
            (
                Value::Sku {
                    entries: vec![0],
                    name: "SPB".into(),
                },
                Field::Days,
            ),
            (
                Value::Sku {
                    entries: Vec::new(),
                    name: "SPB".into(),
                },
                Field::City,
            ),
            (Value::Num(Decimal::ONE), Field::Upn),
            (Value::User(99), Field::Upn),
            (Value::Usage(99), Field::UsageCost),
        ];
        for (base, field) in cases {
            let described = format!("{base:?}.{field:?}");
            let e = field_of(&fixture, base, field).err();
            assert_eq!(
                e.as_ref().map(|e| e.diagnostic.code),
                Some(Code::Internal),
                "{described}"
            );
            assert!(
                e.is_some_and(|e| e.diagnostic.message.starts_with("internal error: expected")),
                "{described}"
            );
        }
    }

    #[test]
    fn a_user_field_on_the_period_stops_the_whole_evaluation() {
        // The tree the checker would never build: `period.id`.
        let fixture = Fixture::new();
        let span = Span { start: 4, end: 13 };
        let period = TExpr {
            kind: TExprKind::Period,
            ty: Type::Record(Record::Period),
            span,
        };
        let expr = TExpr {
            kind: TExprKind::Field(Box::new(period), Field::UserId),
            ty: Type::Text,
            span,
        };
        let mut evaluator = fixture.evaluator();
        let e = evaluator.eval(&expr, fixture.ctx()).err();
        let diagnostic = e.map(|e| e.diagnostic);
        assert_eq!(diagnostic.as_ref().map(|d| d.code), Some(Code::Internal));
        assert_eq!(diagnostic.as_ref().map(|d| d.primary_span()), Some(span));
        assert_eq!(
            diagnostic.map(|d| d.message),
            Some("internal error: expected a field of a billing period, found `id`".to_string())
        );
    }

    #[test]
    fn term_ends_follow_renewals() {
        let start: NaiveDate = "2025-03-15".parse().unwrap();
        let on: NaiveDate = "2026-10-31".parse().unwrap();
        let end = current_term_end(start, Term::Annual, on);
        assert_eq!(end, "2027-03-14".parse::<NaiveDate>().unwrap());
    }
}
