//! `collection where predicate`, with the record of which condition excluded whom.

use super::groups::text_field;
use super::ops::{same_text, truth};
use super::{Ctx, Evaluator, InModule, Result, expected, unexpected};
use crate::trace::{Exclusion, Filter, Step};
use crate::value::Value;
use std::borrow::Cow;
use std::rc::Rc;
use tally_ir::{BinaryOp, Field, Source, TExpr, TExprKind};

impl Evaluator<'_> {
    pub(super) fn filter(
        &mut self,
        collection: &TExpr,
        predicate: &TExpr,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        // `m365.users where …` straight from the tenant: its users are visited by index, not
        // first copied into a list (a million users, once per line).
        let (items, steps) = match &collection.kind {
            TExprKind::Source(Source::Users) => (None, Vec::new()),
            _ => {
                let (items, steps) = self.eval(collection, ctx)?;
                let Value::List(items) = items else {
                    return Err(unexpected("a list to filter", &items, expr.span)).in_module(ctx);
                };
                (Some(items), steps)
            }
        };
        let total = items.as_ref().map_or(self.tenant.users.len(), Vec::len);
        let visit = |i: usize| match &items {
            Some(items) => items.get(i).map(Cow::Borrowed),
            None => Some(Cow::Owned(Value::User(i))),
        };
        let conditions = conjuncts(predicate);
        let mut excluded: Vec<Exclusion> = conditions
            .iter()
            .map(|c| Exclusion {
                condition: self.program.text(ctx.module, c.span).to_string(),
                count: 0,
                who: Vec::new(),
            })
            .collect();
        // Names cost a string per record: only an explanation shows them.
        let names = ctx.trace && self.names;
        // A first condition `field == "text"` on the tenant's users is answered by the users'
        // groups: only its members are visited, and everyone else failed it. An explanation
        // names whom it excluded, so it visits everyone.
        let grouped = match (&items, conditions.first()) {
            (None, Some(first)) if !names => self.group_of(first),
            _ => None,
        };
        let candidates: Box<dyn Iterator<Item = usize>> = match &grouped {
            Some(members) => Box::new(members.iter().copied()),
            None => Box::new(0..total),
        };
        let decided = match (&grouped, excluded.first_mut()) {
            (Some(members), Some(first)) => {
                first.count = total.saturating_sub(members.len());
                1
            }
            _ => 0,
        };
        let rest = conditions.get(decided..).unwrap_or_default();
        let mut kept = Vec::new();
        for index in candidates {
            let Some(item) = visit(index) else {
                break;
            };
            let Some(failed) = self.first_failed(rest, &item, ctx)? else {
                kept.push(item.into_owned());
                continue;
            };
            let failed = failed + decided;
            match excluded.get_mut(failed) {
                Some(exclusion) => {
                    exclusion.count += 1;
                    if names {
                        exclusion
                            .who
                            .push(self.show(&item, expr.span).in_module(ctx)?);
                    }
                }
                None => {
                    let message =
                        format!("exclusions for condition {failed} of {}", conditions.len());
                    return Err(expected(message, predicate.span)).in_module(ctx);
                }
            }
        }
        let filter = Filter {
            total,
            kept: kept.len(),
            excluded,
        };
        let value = Value::List(kept);
        if !ctx.trace {
            return Ok((value, Vec::new()));
        }
        let mut step = self.step(expr, ctx, &value, steps)?;
        step.filter = Some(filter);
        Ok((value, vec![step]))
    }

    /// The index of the first condition `item` does not meet, if any.
    fn first_failed(
        &mut self,
        conditions: &[&TExpr],
        item: &Value,
        ctx: Ctx<'_>,
    ) -> Result<Option<usize>> {
        let inner = Ctx {
            module: ctx.module,
            element: Some(item),
            trace: false,
        };
        for (i, condition) in conditions.iter().enumerate() {
            let met = match self.at_once(condition, item) {
                Some(met) => met,
                None => {
                    let (value, _) = self.eval(condition, inner)?;
                    truth(&value, condition.span).in_module(ctx)?
                }
            };
            if !met {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// The users meeting `condition` when it is `field == "text"` (either way round) on a text
    /// field of the tenant's users and their groups are worth building; `None` otherwise.
    fn group_of(&mut self, condition: &TExpr) -> Option<Rc<[usize]>> {
        let TExprKind::Binary(BinaryOp::Eq, left, right) = &condition.kind else {
            return None;
        };
        let (field, text) = field_and_text(left, right)?;
        self.user_groups.matching(&self.tenant.users, field, text)
    }

    /// The commonest user conditions (`enabled`, `licensed`, `department == "Sales"`) decided
    /// straight from the user, with no value built: a filter runs them once per user. `None`
    /// for anything else, which is evaluated as usual (to the same answer).
    fn at_once(&self, condition: &TExpr, item: &Value) -> Option<bool> {
        let Value::User(index) = item else {
            return None;
        };
        let user = self.tenant.users.get(*index)?;
        match &condition.kind {
            TExprKind::Field(..) => match field_of_element(condition)? {
                Field::Enabled => Some(user.enabled),
                Field::Licensed => Some(!user.assigned_skus.is_empty()),
                _ => None,
            },
            TExprKind::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), left, right) => {
                let (field, text) = field_and_text(left, right)?;
                let same = same_text(text_field(user, field)?, text);
                Some(if *op == BinaryOp::Eq { same } else { !same })
            }
            _ => None,
        }
    }
}

/// The field of the record being filtered that `expr` reads, if that is all it does.
fn field_of_element(expr: &TExpr) -> Option<Field> {
    match &expr.kind {
        TExprKind::Field(base, field) if base.kind == TExprKind::Element => Some(*field),
        _ => None,
    }
}

/// The field and the text of a comparison `field == "text"` or `"text" == field`.
fn field_and_text<'e>(left: &'e TExpr, right: &'e TExpr) -> Option<(Field, &'e str)> {
    match (&left.kind, &right.kind) {
        (_, TExprKind::Text(text)) => Some((field_of_element(left)?, text)),
        (TExprKind::Text(text), _) => Some((field_of_element(right)?, text)),
        _ => None,
    }
}

/// The conditions of a top-level `a and b and c`, so a filter can say which one excluded whom.
fn conjuncts(predicate: &TExpr) -> Vec<&TExpr> {
    match &predicate.kind {
        TExprKind::Binary(BinaryOp::And, l, r) => {
            let mut out = conjuncts(l);
            out.extend(conjuncts(r));
            out
        }
        _ => vec![predicate],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Fixture, code};
    use super::*;
    use tally_diagnostics::{Code, Span};
    use tally_ir::types::Record;
    use tally_ir::{Source, Type};

    /// The filter step of the line's quantity.
    fn filter_of(rules: &str) -> Step {
        let fixture = Fixture::with_rules(rules);
        let evaluation =
            super::super::evaluate_explained(&fixture.program, &fixture.snapshot, &fixture.period)
                .unwrap();
        let result = evaluation.lines[0].clone();
        let (_, step) = result.steps.first().cloned().unwrap();
        let mut found = None;
        step.walk(&mut |s, _| {
            if s.filter.is_some() && found.is_none() {
                found = Some(s.clone());
            }
        });
        found.unwrap()
    }

    #[test]
    fn each_user_is_excluded_by_the_first_condition_they_fail() {
        let step = filter_of(
            "seats qty = count(m365.users where enabled and licensed and department == \"sales\") price 1.00",
        );
        let filter = step.filter.unwrap();
        assert_eq!((filter.total, filter.kept), (4, 1));
        let who: Vec<(&str, usize, Vec<&str>)> = filter
            .excluded
            .iter()
            .map(|e| {
                let names = e.who.iter().map(String::as_str).collect();
                (e.condition.as_str(), e.count, names)
            })
            .collect();
        assert_eq!(
            who,
            [
                ("enabled", 1, vec!["dan@contoso.com"]),
                ("licensed", 1, vec!["cy@contoso.com"]),
                ("department == \"sales\"", 1, vec!["bo@contoso.com"]),
            ]
        );
        assert_eq!(
            filter.summary("users"),
            "1 of 4 users counted; 1 excluded by `enabled`, 1 excluded by `licensed`, 1 excluded by `department == \"sales\"`"
        );
        assert_eq!(step.value, "1 user");
    }

    #[test]
    fn a_condition_that_is_not_an_and_chain_is_one_condition() {
        let step = filter_of(
            "seats qty = count(m365.users where not enabled or department == \"Support\") price 1.00",
        );
        let filter = step.filter.unwrap();
        assert_eq!(filter.excluded.len(), 1);
        assert_eq!(
            filter.excluded[0].who,
            ["ana@contoso.com", "cy@contoso.com"]
        );
        assert_eq!(filter.excluded[0].count, 2);
    }

    #[test]
    fn filters_read_usage_tags_ignoring_case() {
        let fixture = Fixture::with_rules(
            "apollo amount = sum((azure.usage where tag(\"PROJECT\") == \"apollo\").cost)",
        );
        let result = fixture.line(0);
        assert_eq!(
            result.amount.map(|m| m.to_string()).as_deref(),
            Some("12.00 GBP")
        );
    }

    #[test]
    fn has_sku_looks_at_the_user_being_filtered() {
        let fixture = Fixture::with_rules(
            "premium qty = count(m365.users where has_sku(\"SPB\")) price 1.00",
        );
        assert_eq!(fixture.line(0).quantity, Some(2));
    }

    #[test]
    fn a_condition_that_is_not_true_or_false_is_an_internal_error() {
        // `m365.users where 1`, which the checker would refuse.
        let fixture = Fixture::new();
        let node = |kind, ty| TExpr {
            kind,
            ty,
            span: Span::default(),
        };
        let users = node(
            TExprKind::Source(Source::Users),
            Type::List(Box::new(Type::Record(Record::User))),
        );
        let one = node(TExprKind::Int(1), Type::Int);
        let filter = node(
            TExprKind::Where(Box::new(users), Box::new(one)),
            Type::List(Box::new(Type::Record(Record::User))),
        );
        let e = fixture.evaluator().eval(&filter, fixture.ctx());
        assert_eq!(code(e), Some(Code::Internal));
    }

    #[test]
    fn conjuncts_split_the_top_level_and_chain_only() {
        let node = |kind| TExpr {
            kind,
            ty: Type::Bool,
            span: Span::default(),
        };
        let leaf = |b| node(TExprKind::Bool(b));
        let or = node(TExprKind::Binary(
            BinaryOp::Or,
            Box::new(leaf(true)),
            Box::new(leaf(false)),
        ));
        let and = node(TExprKind::Binary(
            BinaryOp::And,
            Box::new(leaf(false)),
            Box::new(or.clone()),
        ));
        let chain = node(TExprKind::Binary(
            BinaryOp::And,
            Box::new(and),
            Box::new(leaf(true)),
        ));
        let found = conjuncts(&chain);
        assert_eq!(found, [&leaf(false), &or, &leaf(true)]);
    }

    #[test]
    fn a_plan_counts_whom_a_filter_excluded_without_naming_them() {
        let fixture = Fixture::with_rules(
            "seats qty = count(m365.users where enabled and licensed) price 1.00",
        );
        let result = fixture.line(0);
        let mut excluded = Vec::new();
        for (_, step) in &result.steps {
            step.walk(&mut |s, _| {
                if let Some(filter) = &s.filter {
                    excluded.extend(filter.excluded.iter().map(|e| (e.count, e.who.len())));
                }
            });
        }
        assert_eq!(excluded, [(1, 0), (1, 0)]);
    }

    #[test]
    fn conditions_decided_at_once_agree_with_full_evaluation() {
        // `C or false` is not a shape `at_once` knows, so it is evaluated in full.
        for condition in [
            "enabled",
            "licensed",
            "department == \"sales\"",
            "department != \"SALES\"",
            "\"support\" == department",
            "department == \"\"",
            "upn == \"ANA@contoso.com\"",
            "display_name != \"Cy\"",
            "office == \"\"",
            "city != \"x\"",
        ] {
            let rules = format!(
                "fast qty = count(m365.users where {condition}) price 1.00\n\
                 full qty = count(m365.users where {condition} or false) price 1.00\n"
            );
            let fixture = Fixture::with_rules(&rules);
            let evaluation = super::super::evaluate_explained(
                &fixture.program,
                &fixture.snapshot,
                &fixture.period,
            )
            .unwrap();
            let quantities: Vec<_> = evaluation.lines.iter().map(|l| l.quantity).collect();
            assert_eq!(quantities[0], quantities[1], "{condition}");
        }
    }

    /// Every filter step's summary of whom it kept and excluded, line by line.
    fn filter_summaries(evaluation: &crate::Evaluation) -> Vec<String> {
        let mut summaries = Vec::new();
        for line in &evaluation.lines {
            for (_, step) in &line.steps {
                step.walk(&mut |s, _| {
                    if let Some(filter) = &s.filter {
                        summaries.push(filter.summary("users"));
                    }
                });
            }
        }
        summaries
    }

    #[test]
    fn filters_answered_by_groups_agree_with_visiting_every_user() {
        // The first filter on a field scans; later ones read the field's groups. An
        // explanation (names) always scans, so it is the reference for quantities and counts.
        let conditions = [
            "department == \"sales\"",
            "department == \"SALES\" and enabled",
            "\"Support\" == department and licensed",
            "department == \"\"",
            "department == \" sales \" and licensed and enabled",
            "department == \"nobody\"",
            "upn == \"ANA@contoso.com\"",
            "city == \"\" and not enabled",
        ];
        let rules: String = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| format!("l{i} qty = count(m365.users where {c}) price 1.00\n"))
            .collect();
        let fixture = Fixture::with_rules(&rules);
        let run = |detail| {
            super::super::evaluate_with(
                &fixture.program,
                &fixture.snapshot,
                &fixture.period,
                detail,
            )
            .unwrap()
        };
        let (grouped, scanned) = (
            run(super::super::Detail::Steps),
            run(super::super::Detail::Names),
        );
        let quantities =
            |e: &crate::Evaluation| -> Vec<_> { e.lines.iter().map(|l| l.quantity).collect() };
        assert_eq!(quantities(&grouped), quantities(&scanned));
        assert_eq!(quantities(&grouped)[..3], [Some(2), Some(1), Some(1)]);
        assert_eq!(filter_summaries(&grouped), filter_summaries(&scanned));
        assert_eq!(
            filter_summaries(&grouped)[1],
            "1 of 4 users counted; 2 excluded by `department == \"SALES\"`, 1 excluded by `enabled`"
        );
    }

    #[test]
    fn texts_are_the_same_exactly_when_their_keys_are_equal() {
        use super::super::ops::text_key;
        let texts = [
            "",
            " ",
            "sales",
            "Sales",
            " SALES ",
            "sales\t",
            "Sa les",
            "straße",
            "STRASSE",
            "Straße",
            "\u{212A}",
            "k",
            "K",
            "İstanbul",
            "istanbul",
            "i̇stanbul",
            "ÉCOLE",
            "école",
            "\u{00A0}x\u{00A0}",
            "x",
            "Ω",
            "ω",
            "\u{2126}",
        ];
        for x in texts {
            for y in texts {
                assert_eq!(
                    same_text(x, y),
                    text_key(x) == text_key(y),
                    "{x:?} and {y:?}"
                );
            }
        }
    }
}
