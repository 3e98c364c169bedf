//! What rules read from the tenant: its collections, its subscriptions to one SKU, a usage
//! row's tags, a user's licences and the vendors' counters.

use super::{Ctx, Evaluator, InModule, Result, expected, unexpected};
use crate::trace::Step;
use crate::value::Value;
use rust_decimal::Decimal;
use tally_diagnostics::{Code, Diagnostic, Names};
use tally_ir::{Source, TExpr, Term};

impl Evaluator<'_> {
    /// `m365.users`, `m365.skus` or `azure.usage` as a list of records.
    pub(super) fn source(&self, source: Source) -> Value {
        let tenant = self.tenant;
        Value::List(match source {
            Source::Users => (0..tenant.users.len()).map(Value::User).collect(),
            Source::Skus => tenant
                .subscribed_skus
                .iter()
                .enumerate()
                .map(|(i, s)| Value::Sku {
                    entries: vec![i],
                    name: s.part_number.clone(),
                })
                .collect(),
            // Usage belongs to the day it happened: only the period's rows count.
            Source::Usage => tenant
                .azure_usage
                .iter()
                .enumerate()
                .filter(|(_, row)| self.period.contains(row.date))
                .map(|(i, _)| Value::Usage(i))
                .collect(),
        })
    }

    /// `m365.sku("SPB")`: the tenant's subscriptions to any of the SKU's GUIDs, on `term` when
    /// one is asked for.
    pub(super) fn sku_lookup(
        &self,
        name: &str,
        guids: &[String],
        term: Option<Term>,
        term_start: Option<chrono::NaiveDate>,
    ) -> Value {
        let entries = self
            .tenant
            .subscribed_skus
            .iter()
            .enumerate()
            .filter(|(_, s)| guids.iter().any(|g| g.eq_ignore_ascii_case(&s.sku_id)))
            .filter(|(_, s)| term.is_none_or(|t| s.term == t))
            .filter(|(_, s)| term_start.is_none_or(|d| s.term_start == Some(d)))
            .map(|(i, _)| i)
            .collect();
        Value::Sku {
            entries,
            name: name.to_string(),
        }
    }

    /// `tag("project")` of the usage row a filter is looking at: its value (whatever the case of
    /// the tag's name), or "" when the row has no such tag.
    pub(super) fn tag(&self, tag: &str, expr: &TExpr, ctx: Ctx<'_>) -> Result<Value> {
        let Some(Value::Usage(i)) = ctx.element else {
            return Err(element_expected("a usage row", ctx, expr)).in_module(ctx);
        };
        let row = self.usage_row(*i, expr.span).in_module(ctx)?;
        let value = row
            .tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(tag))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Ok(Value::Text(value))
    }

    /// `has_sku("SPB")`: whether the user a filter is looking at holds one of the SKU's GUIDs.
    pub(super) fn has_sku(&self, guids: &[String], expr: &TExpr, ctx: Ctx<'_>) -> Result<Value> {
        let Some(Value::User(i)) = ctx.element else {
            return Err(element_expected("a user", ctx, expr)).in_module(ctx);
        };
        let user = self.user(*i, expr.span).in_module(ctx)?;
        let has = user
            .assigned_skus
            .iter()
            .any(|s| guids.iter().any(|g| g.eq_ignore_ascii_case(s)));
        Ok(Value::Bool(has))
    }

    /// `counter("backup.protected_users")`: a vendor's count, never taken as 0 when missing.
    pub(super) fn counter(
        &self,
        name: &str,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let Some(counter) = self.tenant.counter(name) else {
            let names: Vec<&str> = self
                .tenant
                .counters
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let names = Names::new(name, names)
                .listed_as("the tenant's counters are")
                .when_none(
                    "the snapshot has no counters for this tenant; import the vendor's counts",
                );
            let d = Diagnostic::error(
                Code::MissingData,
                format!(
                    "counter `{name}` is not in the snapshot for `{}`",
                    self.tenant.tenant
                ),
                expr.span,
            );
            return Err(d.with_help(names.help().unwrap_or_default())).in_module(ctx);
        };
        let value = Value::Num(Decimal::from(counter.value));
        if !ctx.trace {
            return Ok((value, Vec::new()));
        }
        let mut step = self.step(expr, ctx, &value, Vec::new())?;
        step.notes.push(format!("as of {}", counter.as_of));
        Ok((value, vec![step]))
    }
}

/// A function that reads the record a filter is looking at, where there is none or another.
fn element_expected(record: &str, ctx: Ctx<'_>, expr: &TExpr) -> Diagnostic {
    match ctx.element {
        Some(found) => unexpected(&format!("{record} being filtered"), found, expr.span),
        None => expected(
            format!("{record} being filtered, found no filter"),
            expr.span,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Fixture, code};
    use super::*;
    use tally_ir::{TExprKind, Type};

    #[test]
    fn usage_outside_the_period_does_not_count() {
        let fixture = Fixture::new();
        let Value::List(rows) = fixture.evaluator().source(Source::Usage) else {
            panic!("not a list");
        };
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn sku_lookup_keeps_only_the_term_asked_for() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let guids = ["CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46".to_string()];
        let any = evaluator.sku_lookup("SPB", &guids, None, None);
        let monthly = evaluator.sku_lookup("SPB", &guids, Some(Term::Monthly), None);
        let entries = |v: Value| match v {
            Value::Sku { entries, .. } => entries,
            _ => Vec::new(),
        };
        assert_eq!(entries(any), [0]);
        assert_eq!(entries(monthly), Vec::<usize>::new());
    }

    #[test]
    fn a_missing_counter_is_missing_data_not_zero() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let expr = fixture.leaf();
        assert_eq!(
            code(evaluator.counter("backup.users", &expr, fixture.ctx())),
            Some(Code::MissingData)
        );
        let found = evaluator.counter("rmm.devices", &expr, fixture.ctx());
        assert_eq!(
            found.ok().map(|(v, _)| v),
            Some(Value::Num(Decimal::from(3)))
        );
    }

    #[test]
    fn tag_and_has_sku_outside_their_filter_are_internal_errors() {
        let fixture = Fixture::new();
        let mut evaluator = fixture.evaluator();
        let tag = TExpr {
            kind: TExprKind::Tag("project".into()),
            ty: Type::Text,
            span: Default::default(),
        };
        assert_eq!(
            code(evaluator.eval(&tag, fixture.ctx())),
            Some(Code::Internal)
        );
        let user = Value::User(0);
        let in_users = Ctx {
            element: Some(&user),
            ..fixture.ctx()
        };
        assert_eq!(code(evaluator.eval(&tag, in_users)), Some(Code::Internal));
        let has_sku = TExpr {
            kind: TExprKind::HasSku {
                name: "SPB".into(),
                guids: Vec::new(),
            },
            ty: Type::Bool,
            span: Default::default(),
        };
        assert_eq!(
            code(evaluator.eval(&has_sku, fixture.ctx())),
            Some(Code::Internal)
        );
    }
}
