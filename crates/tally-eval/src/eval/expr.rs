//! Expressions: what each node of the typed tree evaluates to, and the steps worth showing.

use super::{Ctx, Evaluator, InModule, Result, builtins, expected, unexpected};
use crate::Conversion;
use crate::trace::Step;
use crate::value::Value;
use rust_decimal::Decimal;
use tally_ir::{Builtin, Field, LetId, TExpr, TExprKind};
use tally_money::Money;

impl Evaluator<'_> {
    /// Evaluates an expression, returning its value and the steps worth showing beneath it.
    pub(super) fn eval(&mut self, expr: &TExpr, ctx: Ctx<'_>) -> Result<(Value, Vec<Step>)> {
        let leaf = |v: Value| Ok((v, Vec::new()));
        match &expr.kind {
            TExprKind::Int(n) => leaf(Value::Num(Decimal::from(*n))),
            TExprKind::Decimal(d) | TExprKind::Percent(d) => leaf(Value::Num(*d)),
            TExprKind::Money(amount, currency) => {
                leaf(Value::Money(Money::new(*amount, *currency)))
            }
            TExprKind::Text(t) => leaf(Value::Text(t.clone())),
            TExprKind::Bool(b) => leaf(Value::Bool(*b)),
            TExprKind::Date(d) => leaf(Value::Date(*d)),
            TExprKind::List(items) => {
                let (values, steps) = self.eval_all(items, ctx)?;
                Ok((Value::List(values), steps))
            }
            TExprKind::Let(id) => self.let_value(id, expr, ctx),
            TExprKind::Source(source) => leaf(self.source(*source)),
            TExprKind::Period => leaf(Value::Period),
            TExprKind::Element => match ctx.element {
                Some(v) => leaf(v.clone()),
                None => Err(expected(
                    "a record field inside a filter, found one outside",
                    expr.span,
                ))
                .in_module(ctx),
            },
            TExprKind::Field(base, field) => {
                let (base_value, steps) = self.eval(base, ctx)?;
                let value = self.field(&base_value, *field, expr, ctx)?;
                self.traced(expr, ctx, value, steps)
            }
            TExprKind::Project(base, field) => self.project(base, *field, expr, ctx),
            TExprKind::Call(builtin, args) => self.call(*builtin, args, expr, ctx),
            TExprKind::SkuLookup {
                name,
                guids,
                term,
                term_start,
            } => {
                let value = self.sku_lookup(name, guids, *term, *term_start);
                self.traced(expr, ctx, value, Vec::new())
            }
            TExprKind::Tag(tag) => leaf(self.tag(tag, expr, ctx)?),
            TExprKind::HasSku { guids, .. } => leaf(self.has_sku(guids, expr, ctx)?),
            TExprKind::Counter(name) => self.counter(name, expr, ctx),
            TExprKind::Count(inner) => self.count(inner, expr, ctx),
            TExprKind::ToMoney(inner) => {
                let (value, steps) = self.eval(inner, ctx)?;
                let Value::Num(n) = value else {
                    return Err(unexpected("a number to take as money", &value, expr.span))
                        .in_module(ctx);
                };
                Ok((Value::Money(Money::new(n, self.currency)), steps))
            }
            TExprKind::Unary(op, operand) => self.unary(*op, operand, expr, ctx),
            TExprKind::Binary(op, left, right) => self.binary(*op, left, right, expr, ctx),
            TExprKind::Where(collection, predicate) => {
                self.filter(collection, predicate, expr, ctx)
            }
            TExprKind::Error => {
                Err(expected("an expression that checked", expr.span)).in_module(ctx)
            }
        }
    }

    /// Every expression of a list, in order, with their steps.
    fn eval_all(&mut self, exprs: &[TExpr], ctx: Ctx<'_>) -> Result<(Vec<Value>, Vec<Step>)> {
        let mut values = Vec::with_capacity(exprs.len());
        let mut steps = Vec::new();
        for expr in exprs {
            let (v, s) = self.eval(expr, ctx)?;
            values.push(v);
            steps.extend(s);
        }
        Ok((values, steps))
    }

    /// `list.field`: the field of every element.
    fn project(
        &mut self,
        base: &TExpr,
        field: Field,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let (base_value, steps) = self.eval(base, ctx)?;
        let Value::List(items) = base_value else {
            return Err(unexpected("a list of records", &base_value, expr.span)).in_module(ctx);
        };
        let values = items
            .iter()
            .map(|item| self.field(item, field, expr, ctx))
            .collect::<Result<Vec<_>>>()?;
        Ok((Value::List(values), steps))
    }

    fn call(
        &mut self,
        builtin: Builtin,
        args: &[TExpr],
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let (values, steps) = self.eval_all(args, ctx)?;
        let value = builtins::call(builtin, values, expr, self.currency).in_module(ctx)?;
        self.traced(expr, ctx, value, steps)
    }

    /// A list of records where a number is wanted: its length.
    fn count(&mut self, inner: &TExpr, expr: &TExpr, ctx: Ctx<'_>) -> Result<(Value, Vec<Step>)> {
        let (value, steps) = self.eval(inner, ctx)?;
        let Value::List(items) = &value else {
            return Err(unexpected("a list to count", &value, expr.span)).in_module(ctx);
        };
        let count = Value::Num(Decimal::from(items.len()));
        // The inner list's own step already says "27 users".
        if steps.is_empty() && ctx.trace {
            let step = self.step(inner, ctx, &value, Vec::new())?;
            return Ok((count, vec![step]));
        }
        Ok((count, steps))
    }

    /// A definition's value, evaluated once per day and cached with its steps and conversions.
    fn let_value(&mut self, id: &LetId, expr: &TExpr, ctx: Ctx<'_>) -> Result<(Value, Vec<Step>)> {
        if !self.lets.contains_key(id) {
            let cached = self.define(id, expr, ctx)?;
            self.lets.insert(id.clone(), cached);
        }
        let Some((value, steps, made)) = self.lets.get(id) else {
            let message = format!("`{}` to be cached once evaluated", id.name);
            return Err(expected(message, expr.span)).in_module(ctx);
        };
        let value = value.clone();
        let mut conversions = self.conversions.borrow_mut();
        for conversion in made {
            if !conversions.contains(conversion) {
                conversions.push(conversion.clone());
            }
        }
        if !ctx.trace {
            return Ok((value, Vec::new()));
        }
        Ok((value, steps.clone()))
    }

    /// Evaluates a definition's body in its own file: its value, its step (`name = ...`) and
    /// the conversions it made.
    fn define(
        &mut self,
        id: &LetId,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>, Vec<Conversion>)> {
        let program = self.program;
        let Some(body) = program.lets.get(id) else {
            let message = format!("`{}` to be linked into the program", id.name);
            return Err(expected(message, expr.span)).in_module(ctx);
        };
        let body_ctx = self.clause_ctx(&id.module);
        let before = self.conversions.borrow().len();
        let (value, steps) = self.eval(body, body_ctx)?;
        let body_steps = if body_ctx.trace {
            let mut body_step = self.root_step(body, body_ctx, &value, steps)?;
            body_step.text = format!("{} = {}", id.name, body_step.text);
            vec![body_step]
        } else {
            Vec::new()
        };
        let made: Vec<Conversion> = self
            .conversions
            .borrow()
            .get(before..)
            .map(<[Conversion]>::to_vec)
            .unwrap_or_default();
        Ok((value, body_steps, made))
    }
}
