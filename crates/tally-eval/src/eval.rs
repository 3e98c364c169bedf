use crate::trace::{Filter, Step};
use crate::value::{Value, show_decimal};
use crate::{Conversion, DayCount, EvalError, Evaluation, History, LineResult, Role, SplitWeights};
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tally_diagnostics::{Code, Diagnostic, Names};
use tally_ir::{
    Billing, BinaryOp, Builtin, CurrencyRef, DatedPrice, Field, LetId, Line, LineKind, Measure,
    ModuleKey, Program, Prorate, Source, TExpr, TExprKind, Term, Type, UnaryOp,
};
use tally_money::{Currency, Money, Rounding};
use tally_snapshot::{Period, Snapshot, SubscribedSku, Tenant, User};

/// Evaluates every line of the program for the period. All lines are evaluated even when one
/// fails, so that every runtime error is reported at once.
pub fn evaluate(
    program: &Program,
    snapshot: &Snapshot,
    period: &Period,
) -> std::result::Result<Evaluation, Vec<EvalError>> {
    let Some(tenant) = snapshot.tenant(&program.customer.tenant) else {
        let names = Names::new(&program.customer.tenant, snapshot.tenant_names())
            .listed_as("the snapshot has")
            .when_none("the snapshot has no tenants");
        let span = program.customer.tenant_span;
        let d = Diagnostic::error(
            Code::MissingTenant,
            format!(
                "tenant `{}` is not in the snapshot",
                program.customer.tenant
            ),
            span,
        )
        .with_label_message("no such tenant in the snapshot")
        .with_name_help(span, &names);
        return Err(vec![EvalError {
            module: program.customer.module.clone(),
            diagnostic: d,
        }]);
    };
    let previous = previous_period(period);
    let changes = tenant.change_dates();
    let mut dates: BTreeSet<NaiveDate> = [period.start, period.end].into_iter().collect();
    if program.lines.iter().any(Line::needs_history) {
        dates.insert(previous.start);
        dates.extend(changes.range(previous.start..=period.end));
    }
    // One view of the tenant per day the rules need, and one evaluator (with its own cache of
    // definitions) per view.
    let views: BTreeMap<NaiveDate, Tenant> = dates.iter().map(|d| (*d, tenant.at(*d))).collect();
    let mut evaluators: BTreeMap<NaiveDate, Evaluator<'_>> = views
        .iter()
        .map(|(date, view)| {
            (
                *date,
                Evaluator {
                    program,
                    tenant: view,
                    period,
                    currency: program.customer.currency,
                    date: *date,
                    snapshot,
                    conversions: std::cell::RefCell::new(Vec::new()),
                    lets: HashMap::new(),
                },
            )
        })
        .collect();
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for line in &program.lines {
        let prorated = line.prorate == Prorate::Daily;
        let main = match (prorated, line.billing, line.measure) {
            (true, Billing::Advance, _) => period.start,
            (true, Billing::Arrears, _) => period.end,
            (false, _, Measure::Start) => period.start,
            (false, _, Measure::End | Measure::Max) => period.end,
        };
        let Some(evaluator) = evaluators.get_mut(&main) else {
            continue;
        };
        let mut result = match evaluator.line(line) {
            Ok(result) => result,
            Err(e) => {
                errors.push(*e);
                continue;
            }
        };
        result.measured_on = main;
        if line.needs_history() {
            let (from, to) = if prorated && line.billing == Billing::Advance {
                (previous.start, previous.end)
            } else {
                (period.start, period.end)
            };
            let mut points = Vec::new();
            let days = std::iter::once(from)
                .chain(changes.range(from..=to).copied().filter(|d| *d > from));
            for day in days {
                let Some(evaluator) = evaluators.get_mut(&day) else {
                    continue;
                };
                match evaluator.counts(line) {
                    Ok((counted, billed)) => points.push(DayCount {
                        from: day,
                        counted,
                        billed,
                    }),
                    Err(e) => errors.push(*e),
                }
            }
            // Only the days on which the billed count changes matter.
            points.dedup_by(|later, earlier| later.billed == earlier.billed);
            result.history = Some(History { from, to, points });
        }
        lines.push(result);
    }
    if errors.is_empty() {
        Ok(Evaluation { lines, previous })
    } else {
        Err(errors)
    }
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

/// Whole months from `from` to the day after `to` (11 from 2021-10-20 to 2022-09-19).
fn whole_months(from: NaiveDate, to: NaiveDate) -> i64 {
    let Some(limit) = to.succ_opt() else {
        return 0;
    };
    let mut months = 0;
    while let Some(next) = from.checked_add_months(Months::new(months + 1)) {
        if next > limit {
            break;
        }
        months += 1;
    }
    i64::from(months)
}

/// The price in force on `date`. A price with an `until` covers its days and overrides the
/// schedule; otherwise the latest `from` on or before the day applies (each lasts until the next
/// one); otherwise the plain `price`. The checker has ruled out ambiguous overlaps.
fn price_in_force(line: &Line, date: NaiveDate) -> (Option<&TExpr>, Option<&DatedPrice>) {
    let dated = &line.dated_prices;
    let bounded = dated
        .iter()
        .find(|d| d.until.is_some_and(|until| d.from <= date && date <= until));
    let scheduled = || {
        dated
            .iter()
            .rev()
            .find(|d| d.until.is_none() && d.from <= date)
    };
    match bounded.or_else(scheduled) {
        Some(d) => (Some(&d.price), Some(d)),
        None => (line.price.as_ref(), None),
    }
}

/// The period before `period`: one month earlier, ending the day before it starts.
pub fn previous_period(period: &Period) -> Period {
    let end = period.start.pred_opt().unwrap_or(period.start);
    let start = period
        .start
        .checked_sub_months(Months::new(1))
        .unwrap_or(end);
    Period { start, end }
}

type Result<T> = std::result::Result<T, Box<EvalError>>;

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
    conversions: std::cell::RefCell<Vec<Conversion>>,
    /// Each definition's value, its steps, and the conversions it made (so that every line
    /// using a cached definition still records them).
    lets: HashMap<LetId, (Value, Vec<Step>, Vec<Conversion>)>,
}

/// Where an expression is evaluated: its file, and the record a `where` is looking at.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    module: &'a ModuleKey,
    element: Option<&'a Value>,
    /// Steps are recorded outside predicates only: per-user steps would drown the explanation.
    trace: bool,
}

impl<'p> Evaluator<'p> {
    fn line(&mut self, line: &Line) -> Result<LineResult> {
        let ctx = Ctx {
            module: &line.module,
            element: None,
            trace: true,
        };
        let mut steps = Vec::new();
        let (value, value_steps) = self.eval(&line.value, ctx)?;
        let role = if line.kind == LineKind::Qty {
            Role::Quantity
        } else {
            Role::Amount
        };
        steps.push((role, self.root_step(&line.value, ctx, &value, value_steps)));
        let mut result = LineResult {
            measured_on: self.period.start,
            history: None,
            included: None,
            tiers: None,
            conversions: Vec::new(),
            bundle: Vec::new(),
            subscriptions: Vec::new(),
            sku_ids: Vec::new(),
            azure: false,
            name: line.name.clone(),
            quantity: None,
            minimum: None,
            unit_price: None,
            amount: None,
            split: None,
            steps: Vec::new(),
        };
        match line.kind {
            LineKind::Qty => {
                result.quantity =
                    Some(self.whole(&value, &line.value, ctx, "quantity", &line.name)?)
            }
            LineKind::Amount => result.amount = Some(self.money(value, &line.value, ctx)?),
        }
        let (price, dated) = price_in_force(line, self.date);
        if let Some(price) = price {
            let (value, price_steps) = self.eval(price, ctx)?;
            let mut step = self.root_step(price, ctx, &value, price_steps);
            if let Some(dated) = dated {
                step.notes.push(match dated.until {
                    Some(until) => format!("the price from {} until {until}", dated.from),
                    None => format!("the price from {}", dated.from),
                });
            }
            steps.push((Role::Price, step));
            result.unit_price = Some(self.money(value, price, ctx)?);
        } else if !line.dated_prices.is_empty() {
            return Err(self.error(
                ctx,
                Diagnostic::error(
                    Code::MissingData,
                    format!("no price of `{}` is in force on {}", line.name, self.date),
                    line.span,
                )
                .with_help("add a plain `price` for the days no `from ... price` covers"),
            ));
        }
        if let Some(minimum) = &line.minimum {
            let (value, minimum_steps) = self.eval(minimum, ctx)?;
            steps.push((
                Role::Minimum,
                self.root_step(minimum, ctx, &value, minimum_steps),
            ));
            result.minimum = Some(self.whole(&value, minimum, ctx, "minimum", &line.name)?);
        }
        for (product, price) in &line.bundle {
            let (value, price_steps) = self.eval(price, ctx)?;
            steps.push((Role::Price, self.root_step(price, ctx, &value, price_steps)));
            result
                .bundle
                .push((product.clone(), self.money(value, price, ctx)?));
        }
        if let Some(tiers) = &line.tiers {
            let mut prices = Vec::new();
            for (up_to, price) in &tiers.tiers {
                let (value, price_steps) = self.eval(price, ctx)?;
                steps.push((Role::Price, self.root_step(price, ctx, &value, price_steps)));
                prices.push((*up_to, self.money(value, price, ctx)?));
            }
            result.tiers = Some(prices);
        }
        if let Some(included) = &line.included {
            let (value, _) = self.eval(included, ctx)?;
            result.included =
                Some(self.whole(&value, included, ctx, "included quantity", &line.name)?);
        }
        if let Some(split) = &line.split {
            let (users, _) = self.eval(
                &split.population,
                Ctx {
                    trace: false,
                    ..ctx
                },
            )?;
            // Grouped ignoring case and spaces; each group is labelled with its smallest spelling
            // so the label does not depend on the order of users in the snapshot.
            let mut groups: BTreeMap<String, (String, u64)> = BTreeMap::new();
            let mut unassigned = 0u64;
            if let Value::List(users) = users {
                for user in users {
                    let Value::User(i) = user else { continue };
                    match self.user(i).and_then(|u| u.attribute(split.key.name())) {
                        Some(value) => {
                            let value = value.trim();
                            let entry = groups
                                .entry(value.to_lowercase())
                                .or_insert_with(|| (value.to_string(), 0));
                            if value < entry.0.as_str() {
                                entry.0 = value.to_string();
                            }
                            entry.1 += 1;
                        }
                        None => unassigned += 1,
                    }
                }
            }
            let mut groups: Vec<(String, u64)> = groups.into_values().collect();
            if unassigned > 0 || groups.is_empty() {
                groups.push((split.otherwise.clone(), unassigned));
            }
            result.split = Some(SplitWeights {
                key: split.key.name(),
                groups,
                otherwise: split.otherwise.clone(),
            });
        }
        result.subscriptions = self
            .tenant
            .subscribed_skus
            .iter()
            .filter(|s| {
                line.quantity_skus.iter().any(|(guid, term)| {
                    guid.eq_ignore_ascii_case(s.sku_id.trim()) && term.is_none_or(|t| s.term == t)
                })
            })
            .cloned()
            .collect();
        result.sku_ids = line.resells.sku_ids.clone();
        result.azure = line.resells.azure;
        result.steps = steps;
        result.conversions = std::mem::take(&mut *self.conversions.borrow_mut());
        Ok(result)
    }

    /// The counted quantity of a `qty` line on this evaluator's day, and what is billed after
    /// its minimum.
    fn counts(&mut self, line: &Line) -> Result<(u64, u64)> {
        let ctx = Ctx {
            module: &line.module,
            element: None,
            trace: false,
        };
        let (value, _) = self.eval(&line.value, ctx)?;
        let counted = self.whole(&value, &line.value, ctx, "quantity", &line.name)?;
        let minimum = match &line.minimum {
            Some(minimum) => {
                let (value, _) = self.eval(minimum, ctx)?;
                self.whole(&value, minimum, ctx, "minimum", &line.name)?
            }
            None => 0,
        };
        let included = match &line.included {
            Some(included) => {
                let (value, _) = self.eval(included, ctx)?;
                self.whole(&value, included, ctx, "included quantity", &line.name)?
            }
            None => 0,
        };
        Ok((counted, counted.max(minimum).saturating_sub(included)))
    }

    /// The step for a whole clause: the clause's own text, even when it is a bare literal.
    fn root_step(&self, expr: &TExpr, ctx: Ctx<'_>, value: &Value, children: Vec<Step>) -> Step {
        if let [only] = children.as_slice()
            && only.span == expr.span
        {
            return only.clone();
        }
        self.step(expr, ctx, value, children)
    }

    fn step(&self, expr: &TExpr, ctx: Ctx<'_>, value: &Value, children: Vec<Step>) -> Step {
        Step {
            module: ctx.module.clone(),
            span: expr.span,
            text: self.program.text(ctx.module, expr.span).to_string(),
            value: match (value, &expr.ty) {
                // An empty list still says what it is a list of.
                (Value::List(items), Type::List(inner)) if items.is_empty() => match **inner {
                    Type::Record(r) => {
                        format!("0 {}", tally_ir::types::record_plural(r))
                    }
                    _ => "0 items".to_string(),
                },
                _ => self.show(value),
            },
            filter: None,
            notes: Vec::new(),
            children,
        }
    }

    fn error(&self, ctx: Ctx<'_>, diagnostic: Diagnostic) -> Box<EvalError> {
        Box::new(EvalError {
            module: ctx.module.clone(),
            diagnostic,
        })
    }

    fn whole(
        &self,
        value: &Value,
        expr: &TExpr,
        ctx: Ctx<'_>,
        what: &str,
        line: &str,
    ) -> Result<u64> {
        let Value::Num(n) = value else {
            return Err(self.error(
                ctx,
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("the {what} is not a number"),
                    expr.span,
                ),
            ));
        };
        if n.is_sign_negative() && !n.is_zero() {
            return Err(self.error(
                ctx,
                Diagnostic::error(
                    Code::NegativeQuantity,
                    format!("the {what} of `{line}` is {}", show_decimal(*n)),
                    expr.span,
                )
                .with_label_message(format!("this came to {}", show_decimal(*n)))
                .with_help(
                    "a quantity cannot be negative; bill a credit as a negative price instead",
                ),
            ));
        }
        n.trunc()
            .to_u64()
            .filter(|_| n.fract().is_zero())
            .ok_or_else(|| {
                self.error(
                    ctx,
                    Diagnostic::error(
                        Code::Overflow,
                        format!(
                            "the {what} {} is not a whole number of units",
                            show_decimal(*n)
                        ),
                        expr.span,
                    ),
                )
            })
    }

    fn money(&self, value: Value, expr: &TExpr, ctx: Ctx<'_>) -> Result<Money> {
        match value {
            Value::Money(m) => Ok(m),
            Value::Num(n) => Ok(Money::new(n, self.currency)),
            _ => Err(self.error(
                ctx,
                Diagnostic::error(Code::TypeMismatch, "this is not money", expr.span),
            )),
        }
    }

    fn subscriptions(&self, entries: &[usize]) -> Vec<&'p SubscribedSku> {
        entries
            .iter()
            .filter_map(|i| self.tenant.subscribed_skus.get(*i))
            .collect()
    }

    fn user(&self, index: usize) -> Option<&'p User> {
        self.tenant.users.get(index)
    }

    fn show(&self, value: &Value) -> String {
        match value {
            Value::Num(n) => show_decimal(*n),
            Value::Money(m) => m.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Text(t) => format!("{t:?}"),
            Value::Date(d) => d.to_string(),
            Value::List(items) => {
                let noun = match items.first() {
                    Some(Value::User(_)) => "users",
                    Some(Value::Sku { .. }) => "SKUs",
                    Some(Value::Usage(_)) => "usage rows",
                    _ => "items",
                };
                if items.len() == 1 && noun == "users" {
                    "1 user".into()
                } else {
                    format!("{} {noun}", items.len())
                }
            }
            Value::User(i) => self
                .user(*i)
                .map_or_else(|| "a user".into(), |u| u.upn.clone()),
            Value::Sku { entries, name } => {
                let subscriptions = self.subscriptions(entries);
                let Some(first) = subscriptions.first() else {
                    return format!("{name} (not subscribed)");
                };
                let assigned: u64 = subscriptions.iter().map(|s| u64::from(s.assigned)).sum();
                let purchased: u64 = subscriptions.iter().map(|s| u64::from(s.purchased)).sum();
                let cost = if subscriptions.iter().all(|s| s.unit_cost == first.unit_cost) {
                    format!(", {} per seat", first.unit_cost)
                } else {
                    String::new()
                };
                let product = tally_skus_name(&first.sku_id)
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                format!(
                    "{}{product} ({assigned} assigned of {purchased} purchased{cost})",
                    first.part_number
                )
            }
            Value::Usage(i) => self.tenant.azure_usage.get(*i).map_or_else(
                || "a usage row".into(),
                |u| format!("{} {} {}", u.date, u.meter_category, u.cost),
            ),
            Value::Period => format!("{} to {}", self.period.start, self.period.end),
        }
    }

    /// Evaluates an expression, returning its value and the steps worth showing beneath it.
    fn eval(&mut self, expr: &TExpr, ctx: Ctx<'_>) -> Result<(Value, Vec<Step>)> {
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
                let mut values = Vec::with_capacity(items.len());
                let mut steps = Vec::new();
                for item in items {
                    let (v, s) = self.eval(item, ctx)?;
                    values.push(v);
                    steps.extend(s);
                }
                Ok((Value::List(values), steps))
            }
            TExprKind::Let(id) => self.let_value(id, expr, ctx),
            TExprKind::Source(source) => {
                let value = Value::List(match source {
                    Source::Users => (0..self.tenant.users.len()).map(Value::User).collect(),
                    Source::Skus => (0..self.tenant.subscribed_skus.len())
                        .map(|i| Value::Sku {
                            entries: vec![i],
                            name: self
                                .tenant
                                .subscribed_skus
                                .get(i)
                                .map(|s| s.part_number.clone())
                                .unwrap_or_default(),
                        })
                        .collect(),
                    // Usage belongs to the day it happened: only the period's rows count.
                    Source::Usage => (0..self.tenant.azure_usage.len())
                        .filter(|i| {
                            self.tenant
                                .azure_usage
                                .get(*i)
                                .is_some_and(|row| self.period.contains(row.date))
                        })
                        .map(Value::Usage)
                        .collect(),
                });
                Ok((value, Vec::new()))
            }
            TExprKind::Period => leaf(Value::Period),
            TExprKind::Element => match ctx.element {
                Some(v) => leaf(v.clone()),
                None => Err(self.error(
                    ctx,
                    Diagnostic::error(
                        Code::UnknownName,
                        "a record field outside a filter",
                        expr.span,
                    ),
                )),
            },
            TExprKind::Field(base, field) => {
                let (base_value, steps) = self.eval(base, ctx)?;
                let value = self.field(&base_value, *field, expr, ctx)?;
                self.traced(expr, ctx, value, steps)
            }
            TExprKind::Project(base, field) => {
                let (base_value, steps) = self.eval(base, ctx)?;
                let Value::List(items) = base_value else {
                    return leaf(Value::List(Vec::new()));
                };
                let values = items
                    .iter()
                    .map(|item| self.field(item, *field, expr, ctx))
                    .collect::<Result<Vec<_>>>()?;
                Ok((Value::List(values), steps))
            }
            TExprKind::Call(builtin, args) => {
                let mut values = Vec::with_capacity(args.len());
                let mut steps = Vec::new();
                for arg in args {
                    let (v, s) = self.eval(arg, ctx)?;
                    values.push(v);
                    steps.extend(s);
                }
                let value = self.builtin(*builtin, values, expr, ctx)?;
                self.traced(expr, ctx, value, steps)
            }
            TExprKind::SkuLookup { name, guids, term } => {
                let matches: Vec<usize> = self
                    .tenant
                    .subscribed_skus
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| guids.iter().any(|g| g.eq_ignore_ascii_case(&s.sku_id)))
                    .filter(|(_, s)| term.is_none_or(|t| s.term == t))
                    .map(|(i, _)| i)
                    .collect();
                let value = Value::Sku {
                    entries: matches,
                    name: name.clone(),
                };
                self.traced(expr, ctx, value, Vec::new())
            }
            TExprKind::Tag(tag) => {
                let value = match ctx.element {
                    Some(Value::Usage(i)) => self
                        .tenant
                        .azure_usage
                        .get(*i)
                        .and_then(|row| {
                            row.tags
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(tag))
                                .map(|(_, v)| v.clone())
                        })
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                leaf(Value::Text(value))
            }
            TExprKind::HasSku { guids, .. } => {
                let has = match ctx.element {
                    Some(Value::User(i)) => self.user(*i).is_some_and(|u| {
                        u.assigned_skus
                            .iter()
                            .any(|s| guids.iter().any(|g| g.eq_ignore_ascii_case(s)))
                    }),
                    _ => false,
                };
                leaf(Value::Bool(has))
            }
            TExprKind::Counter(name) => match self.tenant.counter(name) {
                Some(counter) => {
                    let value = Value::Num(Decimal::from(counter.value));
                    let mut step = self.step(expr, ctx, &value, Vec::new());
                    step.notes.push(format!("as of {}", counter.as_of));
                    Ok((value, if ctx.trace { vec![step] } else { Vec::new() }))
                }
                None => {
                    let names: Vec<&str> = self
                        .tenant
                        .counters
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    let names = Names::new(name, names)
                        .listed_as("the tenant's counters are")
                        .when_none("the snapshot has no counters for this tenant; import the vendor's counts");
                    let d = Diagnostic::error(
                        Code::MissingData,
                        format!(
                            "counter `{name}` is not in the snapshot for `{}`",
                            self.tenant.tenant
                        ),
                        expr.span,
                    );
                    Err(self.error(ctx, d.with_help(names.help().unwrap_or_default())))
                }
            },
            TExprKind::Count(inner) => {
                let (value, steps) = self.eval(inner, ctx)?;
                let n = match &value {
                    Value::List(items) => items.len(),
                    _ => 0,
                };
                let count = Value::Num(Decimal::from(n));
                // The inner list's own step already says "27 users".
                if steps.is_empty() && ctx.trace {
                    Ok((
                        count.clone(),
                        vec![self.step(inner, ctx, &value, Vec::new())],
                    ))
                } else {
                    Ok((count, steps))
                }
            }
            TExprKind::ToMoney(inner) => {
                let (value, steps) = self.eval(inner, ctx)?;
                let value = match value {
                    Value::Num(n) => Value::Money(Money::new(n, self.currency)),
                    other => other,
                };
                Ok((value, steps))
            }
            TExprKind::Unary(op, operand) => {
                let (value, steps) = self.eval(operand, ctx)?;
                let value = match (op, value) {
                    (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOp::Neg, Value::Num(n)) => Value::Num(-n),
                    (UnaryOp::Neg, Value::Money(m)) => {
                        Value::Money(Money::new(-m.amount(), m.currency()))
                    }
                    (_, other) => other,
                };
                Ok((value, steps))
            }
            TExprKind::Binary(op, left, right) => self.binary(*op, left, right, expr, ctx),
            TExprKind::Where(collection, predicate) => {
                self.filter(collection, predicate, expr, ctx)
            }
            TExprKind::Error => Err(self.error(
                ctx,
                Diagnostic::error(Code::Syntax, "this expression did not check", expr.span),
            )),
        }
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
        let step = self.step(expr, ctx, &value, children);
        Ok((value, vec![step]))
    }

    fn let_value(&mut self, id: &LetId, expr: &TExpr, ctx: Ctx<'_>) -> Result<(Value, Vec<Step>)> {
        if !self.lets.contains_key(id) {
            let Some(body) = self.program.lets.get(id) else {
                return Err(self.error(
                    ctx,
                    Diagnostic::error(
                        Code::UnknownName,
                        format!("`{}` was not linked", id.name),
                        expr.span,
                    ),
                ));
            };
            let body_ctx = Ctx {
                module: &id.module,
                element: None,
                trace: true,
            };
            let before = self.conversions.borrow().len();
            let (value, steps) = self.eval(body, body_ctx)?;
            let mut body_step = self.root_step(body, body_ctx, &value, steps);
            body_step.text = format!("{} = {}", id.name, body_step.text);
            let made: Vec<Conversion> = self
                .conversions
                .borrow()
                .get(before..)
                .map(<[Conversion]>::to_vec)
                .unwrap_or_default();
            self.lets.insert(id.clone(), (value, vec![body_step], made));
        }
        let Some((value, steps, made)) = self.lets.get(id) else {
            return Err(self.error(
                ctx,
                Diagnostic::error(Code::UnknownName, "unknown definition", expr.span),
            ));
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

    fn filter(
        &mut self,
        collection: &TExpr,
        predicate: &TExpr,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let (items, steps) = self.eval(collection, ctx)?;
        let Value::List(items) = items else {
            return Ok((Value::List(Vec::new()), steps));
        };
        let conditions = conjuncts(predicate);
        let mut excluded: Vec<(String, Vec<String>)> = conditions
            .iter()
            .map(|c| {
                (
                    self.program.text(ctx.module, c.span).to_string(),
                    Vec::new(),
                )
            })
            .collect();
        let mut kept = Vec::new();
        for item in &items {
            let inner = Ctx {
                module: ctx.module,
                element: Some(item),
                trace: false,
            };
            let mut failed = None;
            for (i, condition) in conditions.iter().enumerate() {
                if !self.eval(condition, inner)?.0.as_bool() {
                    failed = Some(i);
                    break;
                }
            }
            match failed {
                None => kept.push(item.clone()),
                Some(i) => {
                    if let Some((_, who)) = excluded.get_mut(i) {
                        who.push(self.show(item));
                    }
                }
            }
        }
        let filter = Filter {
            total: items.len(),
            kept: kept.len(),
            excluded,
        };
        let value = Value::List(kept);
        if !ctx.trace {
            return Ok((value, Vec::new()));
        }
        let mut step = self.step(expr, ctx, &value, steps);
        step.filter = Some(filter);
        Ok((value, vec![step]))
    }

    fn field(&self, base: &Value, field: Field, expr: &TExpr, ctx: Ctx<'_>) -> Result<Value> {
        let text = |s: &str| Value::Text(s.to_string());
        let num = |n: u32| Value::Num(Decimal::from(n));
        Ok(match base {
            Value::User(i) => {
                let Some(user) = self.user(*i) else {
                    return Ok(Value::Text(String::new()));
                };
                match field {
                    Field::UserId => text(&user.id),
                    Field::Upn => text(&user.upn),
                    Field::DisplayName => text(&user.display_name),
                    Field::Department => text(user.department.as_deref().unwrap_or("")),
                    Field::Office => text(user.office.as_deref().unwrap_or("")),
                    Field::City => text(user.city.as_deref().unwrap_or("")),
                    Field::Enabled => Value::Bool(user.enabled),
                    Field::Licensed => Value::Bool(!user.assigned_skus.is_empty()),
                    _ => Value::Text(String::new()),
                }
            }
            Value::Sku { entries, name } => {
                let subscriptions = self.subscriptions(entries);
                let Some(sku) = subscriptions.first().copied() else {
                    return match field {
                        Field::Purchased | Field::Assigned | Field::Available => Ok(num(0)),
                        Field::PartNumber => Ok(text(name)),
                        Field::SkuName => Ok(text(
                            &tally_skus::catalog()
                                .resolve(name)
                                .first()
                                .map_or_else(|| name.clone(), |s| s.display_name.clone()),
                        )),
                        _ => Err(self.error(
                            ctx,
                            Diagnostic::error(
                                Code::MissingData,
                                format!(
                                    "tenant `{}` has no subscription to `{name}`, so it has no {}",
                                    self.tenant.tenant,
                                    field_word(field)
                                ),
                                expr.span,
                            )
                            .with_help(
                                "check the SKU name, or add the subscription to the snapshot",
                            ),
                        )),
                    };
                };
                // Seats add up over every subscription to the SKU; a cost or term is only
                // meaningful when all of them agree.
                let seats = |f: fn(&SubscribedSku) -> u32| -> Value {
                    Value::Num(subscriptions.iter().map(|s| Decimal::from(f(s))).sum())
                };
                let agreed = |what: &str, same: bool| -> Result<()> {
                    if same {
                        return Ok(());
                    }
                    Err(self.error(
                        ctx,
                        Diagnostic::error(
                            Code::MissingData,
                            format!(
                                "`{}` is held on {} subscriptions with different {what}s, so it has no single {what}",
                                sku.part_number,
                                subscriptions.len()
                            ),
                            expr.span,
                        )
                        .with_help(format!(
                            "bill each term on its own line, e.g. `m365.sku(\"{}\", \"annual\")`",
                            sku.part_number
                        )),
                    ))
                };
                match field {
                    Field::SkuId => text(&sku.sku_id),
                    Field::PartNumber => text(&sku.part_number),
                    Field::SkuName => text(
                        &tally_skus_name(&sku.sku_id).unwrap_or_else(|| sku.part_number.clone()),
                    ),
                    Field::Purchased => seats(|s| s.purchased),
                    Field::Assigned => seats(|s| s.assigned),
                    Field::Available => seats(|s| s.purchased.saturating_sub(s.assigned)),
                    Field::Cost => Value::Money(self.customer_money(
                        {
                            let same = subscriptions.iter().all(|s| s.unit_cost == sku.unit_cost);
                            agreed("cost", same)?;
                            sku.unit_cost
                        },
                        &format!("`{}`'s cost", sku.part_number),
                        expr,
                        ctx,
                    )?),
                    Field::Term => {
                        agreed("term", subscriptions.iter().all(|s| s.term == sku.term))?;
                        text(sku.term.name())
                    }
                    Field::TermStart | Field::TermEnd => {
                        let same = subscriptions
                            .iter()
                            .all(|s| s.term_start == sku.term_start && s.term == sku.term);
                        agreed("term start", same)?;
                        let Some(start) = sku.term_start else {
                            return Err(self.error(
                                ctx,
                                Diagnostic::error(
                                    Code::MissingData,
                                    format!(
                                        "the snapshot gives no `term_start` for `{}`",
                                        sku.part_number
                                    ),
                                    expr.span,
                                )
                                .with_help("add the subscription's term start to the snapshot"),
                            ));
                        };
                        if field == Field::TermStart {
                            Value::Date(start)
                        } else {
                            Value::Date(current_term_end(start, sku.term, self.date))
                        }
                    }
                    Field::BillingPlan => {
                        let same = subscriptions
                            .iter()
                            .all(|s| s.billing_plan == sku.billing_plan);
                        agreed("billing plan", same)?;
                        text(sku.billing_plan.name())
                    }
                    _ => Value::Text(String::new()),
                }
            }
            Value::Usage(i) => {
                let Some(row) = self.tenant.azure_usage.get(*i) else {
                    return Ok(Value::Text(String::new()));
                };
                match field {
                    Field::UsageDate => Value::Date(row.date),
                    Field::SubscriptionId => text(&row.subscription_id),
                    Field::ResourceGroup => text(&row.resource_group),
                    Field::MeterCategory => text(&row.meter_category),
                    Field::MeterName => text(&row.meter_name),
                    Field::UsageQuantity => Value::Num(row.quantity),
                    Field::UsageCost => Value::Money(self.customer_money(
                        row.cost,
                        "a usage row's cost",
                        expr,
                        ctx,
                    )?),
                    _ => Value::Text(String::new()),
                }
            }
            Value::Period => match field {
                Field::Start => Value::Date(self.period.start),
                Field::End => Value::Date(self.period.end),
                Field::Days => Value::Num(Decimal::from(self.period.days())),
                _ => Value::Text(String::new()),
            },
            _ => Value::Text(String::new()),
        })
    }

    /// Snapshot money must already be in the customer's currency: Tally never converts.
    /// Snapshot money in the customer's currency: as it is, or converted at a rate the snapshot
    /// gives (never fetched). Each conversion is recorded for the line's provenance.
    fn customer_money(
        &self,
        money: Money,
        what: &str,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<Money> {
        if money.currency() == self.currency {
            return Ok(money);
        }
        let Some(rate) = self
            .snapshot
            .rate(money.currency(), self.currency, self.date)
        else {
            return Err(self.error(
                ctx,
                Diagnostic::error(
                    Code::CurrencyMismatch,
                    format!(
                        "no rate from {} to {} for {what}",
                        money.currency(),
                        self.currency
                    ),
                    expr.span,
                )
                .with_help(format!(
                    "add the rate to the snapshot's `rates`, e.g. {{ \"from\": \"{}\", \"to\": \"{}\", \"rate\": \"0.79\", \"date\": \"{}\" }}; Tally never fetches rates",
                    money.currency(),
                    self.currency,
                    self.date
                )),
            ));
        };
        let converted = money
            .checked_mul(rate.rate)
            .map(|m| Money::new(m.amount(), self.currency))
            .map_err(|e| {
                self.error(
                    ctx,
                    Diagnostic::error(Code::Overflow, e.to_string(), expr.span),
                )
            })?;
        let conversion = Conversion {
            from: money,
            to: converted,
            rate: rate.rate,
            date: rate.date,
        };
        let mut conversions = self.conversions.borrow_mut();
        if !conversions.contains(&conversion) {
            conversions.push(conversion);
        }
        Ok(converted)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        left: &TExpr,
        right: &TExpr,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<(Value, Vec<Step>)> {
        let (l, mut steps) = self.eval(left, ctx)?;
        if op == BinaryOp::And && !l.as_bool() {
            return Ok((Value::Bool(false), steps));
        }
        if op == BinaryOp::Or && l.as_bool() {
            return Ok((Value::Bool(true), steps));
        }
        let (r, right_steps) = self.eval(right, ctx)?;
        steps.extend(right_steps);
        let overflow = || {
            self.error(
                ctx,
                Diagnostic::error(
                    Code::Overflow,
                    "the result is too large for exact arithmetic",
                    expr.span,
                ),
            )
        };
        let money_err = |e: tally_money::MoneyError| {
            let code = if e == tally_money::MoneyError::DivisionByZero {
                Code::DivisionByZero
            } else {
                Code::Overflow
            };
            self.error(ctx, Diagnostic::error(code, e.to_string(), expr.span))
        };
        let div_zero = || {
            self.error(
                ctx,
                Diagnostic::error(Code::DivisionByZero, "division by zero", right.span)
                    .with_label_message("this is 0")
                    .with_help("guard the divisor, e.g. `max(count(staff), 1)`"),
            )
        };
        use BinaryOp::*;
        let value = match (op, l, r) {
            (Add, Value::Num(a), Value::Num(b)) => {
                Value::Num(a.checked_add(b).ok_or_else(overflow)?)
            }
            (Sub, Value::Num(a), Value::Num(b)) => {
                Value::Num(a.checked_sub(b).ok_or_else(overflow)?)
            }
            (Mul, Value::Num(a), Value::Num(b)) => {
                Value::Num(a.checked_mul(b).ok_or_else(overflow)?)
            }
            (Div, Value::Num(_), Value::Num(b)) if b.is_zero() => return Err(div_zero()),
            (Div, Value::Num(a), Value::Num(b)) => {
                Value::Num(a.checked_div(b).ok_or_else(overflow)?)
            }
            (Add, Value::Money(a), Value::Money(b)) => {
                Value::Money(a.checked_add(b).map_err(money_err)?)
            }
            (Sub, Value::Money(a), Value::Money(b)) => {
                Value::Money(a.checked_sub(b).map_err(money_err)?)
            }
            (Mul, Value::Money(m), Value::Num(n)) | (Mul, Value::Num(n), Value::Money(m)) => {
                Value::Money(m.checked_mul(n).map_err(money_err)?)
            }
            (Div, Value::Money(_), Value::Num(b)) if b.is_zero() => return Err(div_zero()),
            (Div, Value::Money(m), Value::Num(n)) => {
                Value::Money(m.checked_div(n).map_err(money_err)?)
            }
            (Div, Value::Money(_), Value::Money(b)) if b.amount().is_zero() => {
                return Err(div_zero());
            }
            (Div, Value::Money(a), Value::Money(b)) => {
                Value::Num(a.amount().checked_div(b.amount()).ok_or_else(overflow)?)
            }
            (Eq, a, b) => Value::Bool(same(&a, &b)),
            (Ne, a, b) => Value::Bool(!same(&a, &b)),
            (Lt | Le | Gt | Ge, a, b) => {
                let ordering = match (&a, &b) {
                    (Value::Num(x), Value::Num(y)) => x.cmp(y),
                    (Value::Money(x), Value::Money(y)) => x.amount().cmp(&y.amount()),
                    (Value::Date(x), Value::Date(y)) => x.cmp(y),
                    _ => std::cmp::Ordering::Equal,
                };
                Value::Bool(match op {
                    Lt => ordering.is_lt(),
                    Le => ordering.is_le(),
                    Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                })
            }
            (In, a, Value::List(items)) => Value::Bool(items.iter().any(|i| same(&a, i))),
            (And | Or, _, b) => Value::Bool(b.as_bool()),
            (_, a, _) => a,
        };
        if matches!(op, Add | Sub | Mul | Div) {
            return self.traced(expr, ctx, value, steps);
        }
        Ok((value, steps))
    }

    fn builtin(
        &self,
        builtin: Builtin,
        args: Vec<Value>,
        expr: &TExpr,
        ctx: Ctx<'_>,
    ) -> Result<Value> {
        let first = args.first().cloned().unwrap_or(Value::Num(Decimal::ZERO));
        let number = |v: &Value| match v {
            Value::Num(n) => *n,
            Value::Money(m) => m.amount(),
            _ => Decimal::ZERO,
        };
        Ok(match builtin {
            Builtin::Max | Builtin::Min => {
                let mut best = first;
                for candidate in args.into_iter().skip(1) {
                    let better = if builtin == Builtin::Max {
                        number(&candidate) > number(&best)
                    } else {
                        number(&candidate) < number(&best)
                    };
                    if better {
                        best = candidate;
                    }
                }
                best
            }
            Builtin::Count => match first {
                Value::List(items) => Value::Num(Decimal::from(items.len())),
                _ => Value::Num(Decimal::ZERO),
            },
            Builtin::Sum => {
                let Value::List(items) = first else {
                    return Ok(Value::Num(Decimal::ZERO));
                };
                let overflow = || {
                    self.error(
                        ctx,
                        Diagnostic::error(
                            Code::Overflow,
                            "the sum is too large for exact arithmetic",
                            expr.span,
                        ),
                    )
                };
                match expr.ty {
                    Type::Money(currency) => {
                        let currency = match currency {
                            CurrencyRef::Fixed(c) => c,
                            CurrencyRef::Customer => self.currency,
                        };
                        let mut total = Money::zero(currency);
                        for item in items {
                            if let Value::Money(m) = item {
                                total = total.checked_add(m).map_err(|_| overflow())?;
                            }
                        }
                        Value::Money(total)
                    }
                    _ => {
                        let mut total = Decimal::ZERO;
                        for item in items {
                            total = total.checked_add(number(&item)).ok_or_else(overflow)?;
                        }
                        Value::Num(total)
                    }
                }
            }
            Builtin::Round => {
                let places = args.get(1).map(|p| number(p).to_u32().unwrap_or(0));
                match (first, places) {
                    (Value::Money(m), None) => Value::Money(m.round(Rounding::HalfUp)),
                    (Value::Money(m), Some(p)) => Value::Money(m.round_dp(p, Rounding::HalfUp)),
                    (v, p) => Value::Num(Rounding::HalfUp.apply(number(&v), p.unwrap_or(0))),
                }
            }
            Builtin::Ceil => Value::Num(number(&first).ceil()),
            Builtin::Floor => Value::Num(number(&first).floor()),
            Builtin::Abs => match first {
                Value::Money(m) => Value::Money(Money::new(m.amount().abs(), m.currency())),
                v => Value::Num(number(&v).abs()),
            },
            Builtin::MonthsBetween | Builtin::DaysBetween => {
                let date = |v: Option<&Value>| match v {
                    Some(Value::Date(d)) => Some(*d),
                    _ => None,
                };
                let (Some(from), Some(to)) = (date(args.first()), date(args.get(1))) else {
                    return Ok(Value::Num(Decimal::ZERO));
                };
                Value::Num(Decimal::from(if builtin == Builtin::DaysBetween {
                    tally_billing::inclusive_days(from, to)
                } else {
                    whole_months(from, to)
                }))
            }
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                let text = |v: Option<&Value>| match v {
                    Some(Value::Text(t)) => t.to_lowercase(),
                    _ => String::new(),
                };
                let (haystack, needle) = (text(args.first()), text(args.get(1)));
                Value::Bool(match builtin {
                    Builtin::StartsWith => haystack.starts_with(&needle),
                    Builtin::EndsWith => haystack.ends_with(&needle),
                    _ => haystack.contains(&needle),
                })
            }
        })
    }
}

/// The conditions of a top-level `a and b and c`, so a filter can say which one excluded whom.
/// Equality as rules mean it: text ignores case and surrounding spaces, because directory data
/// spells departments and addresses inconsistently ("Sales", "sales ").
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x.trim().to_lowercase() == y.trim().to_lowercase(),
        _ => a == b,
    }
}

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

fn field_word(field: Field) -> &'static str {
    match field {
        Field::Cost => "cost",
        Field::Term => "term",
        Field::BillingPlan => "billing plan",
        Field::SkuId => "SKU id",
        _ => "value",
    }
}

/// The product name from Microsoft's SKU table.
fn tally_skus_name(guid: &str) -> Option<String> {
    tally_skus::catalog()
        .by_guid(guid)
        .map(|s| s.display_name.clone())
}
