//! The evaluator. [`driver`] walks the days and the lines; [`line`] reads one rule line clause
//! by clause; [`expr`] evaluates expressions with the help of [`ops`] (operators), [`builtins`]
//! (functions), [`sources`] (snapshot collections, SKUs, tags, counters), [`fields`] (record
//! fields), [`filter`] (`where`), [`convert`] (snapshot money in the customer's currency) and
//! [`quantity`] (whole units and money of a line); [`show`] writes values for the trace.
//!
//! The evaluator never guesses. The checker guarantees the kind of every value; where a value
//! is not of the kind it promised (a record index out of range, text where a number was
//! proved), evaluation stops with an internal error (T0901) at the rule text, rather than bill
//! a zero or an empty text.

mod builtins;
mod convert;
mod driver;
mod expr;
mod fields;
mod filter;
mod groups;
mod line;
mod ops;
mod quantity;
mod show;
mod sources;
mod split;
#[cfg(test)]
mod testing;

pub use driver::{Detail, evaluate, evaluate_explained, evaluate_with, previous_period};

use crate::trace::Step;
use crate::value::{Value, kind};
use crate::{Conversion, EvalError};
use chrono::NaiveDate;
use std::cell::RefCell;
use std::collections::HashMap;
use tally_diagnostics::{Diagnostic, Span};
use tally_ir::{LetId, ModuleKey, Program, TExpr, Type};
use tally_money::Currency;
use tally_snapshot::{Period, Snapshot, SubscribedSku, Tenant, UsageRow, User};

type Result<T> = std::result::Result<T, Box<EvalError>>;

/// What the evaluator's parts that do not know the file return: operators, functions,
/// quantities, record lookups. The caller puts the diagnostic in its file ([`InModule`]).
type Outcome<T> = std::result::Result<T, Diagnostic>;

trait InModule<T> {
    /// The diagnostic in the file `ctx` is evaluating.
    fn in_module(self, ctx: Ctx<'_>) -> Result<T>;
}

impl<T> InModule<T> for Outcome<T> {
    fn in_module(self, ctx: Ctx<'_>) -> Result<T> {
        self.map_err(|diagnostic| {
            Box::new(EvalError {
                module: ctx.module.clone(),
                diagnostic,
            })
        })
    }
}

/// The checker promised `what` here and the evaluator found something else: a bug in Tally,
/// reported as an internal error (T0901) at the rule text rather than guessed around.
fn expected(what: impl std::fmt::Display, span: Span) -> Diagnostic {
    Diagnostic::internal(format!("expected {what}"), span)
}

/// [`expected`], saying what was found instead.
fn unexpected(what: &str, found: &Value, span: Span) -> Diagnostic {
    expected(format!("{what}, found {}", kind(found)), span)
}

struct Evaluator<'p> {
    program: &'p Program,
    tenant: &'p Tenant,
    period: &'p Period,
    currency: Currency,
    /// The day whose data `tenant` shows.
    date: NaiveDate,
    /// For exchange rates.
    snapshot: &'p Snapshot,
    /// Currency conversions made while evaluating the current line.
    conversions: RefCell<Vec<Conversion>>,
    /// Each definition's value, its steps, and the conversions it made (so that every line
    /// using a cached definition still records them).
    lets: HashMap<LetId, (Value, Vec<Step>, Vec<Conversion>)>,
    /// Whether clauses record their steps (rule text and value), for provenance and `explain`.
    steps: bool,
    /// Whether filters record who they excluded (for `explain`), not only how many.
    names: bool,
    /// The users grouped by a text field, for filters on it.
    user_groups: groups::UserGroups,
}

/// Where an expression is evaluated: its file, and the record a `where` is looking at.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    module: &'a ModuleKey,
    element: Option<&'a Value>,
    /// Steps are recorded outside predicates only: per-user steps would drown the explanation.
    trace: bool,
}

impl<'a> Ctx<'a> {
    /// A whole clause of a line or definition in `module`, traced.
    fn clause(module: &'a ModuleKey) -> Ctx<'a> {
        Ctx {
            module,
            element: None,
            trace: true,
        }
    }

    /// The same place, without recording steps.
    fn untraced(self) -> Ctx<'a> {
        Ctx {
            trace: false,
            ..self
        }
    }
}

impl<'p> Evaluator<'p> {
    /// An evaluator of `program` against the tenant as it was on `date`.
    fn new(
        program: &'p Program,
        tenant: &'p Tenant,
        period: &'p Period,
        snapshot: &'p Snapshot,
        date: NaiveDate,
        detail: Detail,
    ) -> Evaluator<'p> {
        Evaluator {
            program,
            tenant,
            period,
            currency: program.customer.currency,
            date,
            snapshot,
            conversions: RefCell::new(Vec::new()),
            lets: HashMap::new(),
            steps: detail != Detail::Amounts,
            names: detail == Detail::Names,
            user_groups: groups::UserGroups::default(),
        }
    }

    /// The context of a whole clause in `module`: traced when this evaluation keeps steps.
    fn clause_ctx<'a>(&self, module: &'a ModuleKey) -> Ctx<'a> {
        let ctx = Ctx::clause(module);
        if self.steps { ctx } else { ctx.untraced() }
    }

    fn user(&self, index: usize, span: Span) -> Outcome<&'p User> {
        self.tenant.users.get(index).ok_or_else(|| {
            expected(
                format!(
                    "user {index} of the tenant's {} users",
                    self.tenant.users.len()
                ),
                span,
            )
        })
    }

    fn usage_row(&self, index: usize, span: Span) -> Outcome<&'p UsageRow> {
        self.tenant.azure_usage.get(index).ok_or_else(|| {
            expected(
                format!(
                    "usage row {index} of the tenant's {} usage rows",
                    self.tenant.azure_usage.len()
                ),
                span,
            )
        })
    }

    /// The subscriptions a SKU value holds.
    fn subscriptions(&self, entries: &[usize], span: Span) -> Outcome<Vec<&'p SubscribedSku>> {
        let skus = &self.tenant.subscribed_skus;
        entries
            .iter()
            .map(|i| {
                skus.get(*i).ok_or_else(|| {
                    expected(
                        format!(
                            "subscription {i} of the tenant's {} subscriptions",
                            skus.len()
                        ),
                        span,
                    )
                })
            })
            .collect()
    }

    /// The step for a whole clause: the clause's own text, even when it is a bare literal.
    fn root_step(
        &self,
        expr: &TExpr,
        ctx: Ctx<'_>,
        value: &Value,
        children: Vec<Step>,
    ) -> Result<Step> {
        if let [only] = children.as_slice()
            && only.span == expr.span
        {
            return Ok(only.clone());
        }
        self.step(expr, ctx, value, children)
    }

    fn step(&self, expr: &TExpr, ctx: Ctx<'_>, value: &Value, children: Vec<Step>) -> Result<Step> {
        let value = match (value, &expr.ty) {
            // An empty list still says what it is a list of.
            (Value::List(items), Type::List(inner)) if items.is_empty() => match **inner {
                Type::Record(r) => format!("0 {}", tally_ir::types::record_plural(r)),
                _ => "0 items".to_string(),
            },
            _ => self.show(value, expr.span).in_module(ctx)?,
        };
        Ok(Step {
            module: ctx.module.clone(),
            span: expr.span,
            text: self.program.text(ctx.module, expr.span).to_string(),
            value,
            filter: None,
            notes: Vec::new(),
            children,
        })
    }

    /// Records a step for `expr` above `children` when tracing.
    fn traced(
        &self,
        expr: &TExpr,
        ctx: Ctx<'_>,
        value: Value,
        children: Vec<Step>,
    ) -> Result<(Value, Vec<Step>)> {
        if !ctx.trace {
            return Ok((value, Vec::new()));
        }
        let step = self.step(expr, ctx, &value, children)?;
        Ok((value, vec![step]))
    }
}
