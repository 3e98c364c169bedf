//! What the rules read of Azure usage rows, so that `tally plan --usage FILE` can add rows up
//! while it reads them, keeping apart only what the rules tell apart: a month of usage for
//! `sum(azure.usage.cost) * 115%` becomes one aggregate per customer, not one per meter per day.
//!
//! Adding rows up first is sound when every use of the rows is a `sum` of `cost` or
//! `quantity`, after `where` filters that read only the parts kept (a sum of sums is the sum).
//! Anything else — counting rows, filtering on one row's cost, a list of costs bound to a name — makes
//! the rules [`UsageReads::additive`] false, and every part is kept, day by day.

use tally_ir::{Builtin, Field, Program, Record, TExpr, TExprKind, Type};

/// The parts of a usage row some rule reads, and whether rows may be added up first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageReads {
    pub date: bool,
    pub subscription: bool,
    pub resource_group: bool,
    pub meter_category: bool,
    pub meter_name: bool,
    pub quantity: bool,
    pub cost: bool,
    /// `tag("…")`.
    pub tags: bool,
    /// Every use of the rows is a sum (see the module's documentation).
    pub additive: bool,
}

impl Default for UsageReads {
    fn default() -> UsageReads {
        UsageReads {
            date: false,
            subscription: false,
            resource_group: false,
            meter_category: false,
            meter_name: false,
            quantity: false,
            cost: false,
            tags: false,
            additive: true,
        }
    }
}

impl UsageReads {
    /// What `programs` read, together.
    pub fn of<'a>(programs: impl IntoIterator<Item = &'a Program>) -> UsageReads {
        let mut reads = UsageReads::default();
        for program in programs {
            for definition in program.lets.values() {
                reads.visit(definition, Parent::Definition);
            }
            for line in &program.lines {
                for expr in line.expressions() {
                    reads.visit(expr, Parent::Root);
                }
            }
        }
        reads
    }

    /// Walks `root` without recursion (rule trees can be long chains), each node with what
    /// holds it.
    fn visit(&mut self, root: &TExpr, parent: Parent) {
        let mut stack = vec![(root, parent)];
        while let Some((expr, parent)) = stack.pop() {
            self.note(expr, parent);
            let holder = Parent::of(expr);
            for (i, child) in expr.children().enumerate() {
                let parent = match holder {
                    Parent::Where if i > 0 => Parent::Predicate,
                    other => other,
                };
                stack.push((child, parent));
            }
        }
    }

    fn note(&mut self, expr: &TExpr, parent: Parent) {
        match &expr.kind {
            TExprKind::Field(_, field) | TExprKind::Project(_, field) => self.read(*field),
            TExprKind::Tag(_) => self.tags = true,
            _ => {}
        }
        // One row's cost or quantity (in a filter: `where cost > 5.00`) differs from an
        // aggregate's.
        if let TExprKind::Field(_, Field::UsageCost | Field::UsageQuantity) = &expr.kind {
            self.additive = false;
        }
        if let TExprKind::Project(list, field) = &expr.kind
            && is_usage_list(&list.ty)
        {
            let summed = matches!(field, Field::UsageCost | Field::UsageQuantity)
                && parent == Parent::SumOfOne;
            self.additive &= summed;
        }
        if is_usage_list(&expr.ty) {
            // A list of rows may be filtered, projected (checked above) or named; anything
            // else (counting it, a line's quantity) depends on how many rows there are.
            self.additive &= matches!(parent, Parent::Where | Parent::Project | Parent::Definition);
        }
    }

    fn read(&mut self, field: Field) {
        match field {
            Field::UsageDate => self.date = true,
            Field::SubscriptionId => self.subscription = true,
            Field::ResourceGroup => self.resource_group = true,
            Field::MeterCategory => self.meter_category = true,
            Field::MeterName => self.meter_name = true,
            Field::UsageQuantity => self.quantity = true,
            Field::UsageCost => self.cost = true,
            _ => {}
        }
    }
}

/// What holds an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// A line's expression itself.
    Root,
    /// A `let`'s definition itself.
    Definition,
    /// The list a `where` filters.
    Where,
    /// A `where`'s predicate (or inside one).
    Predicate,
    Project,
    /// The one argument of `sum(…)`.
    SumOfOne,
    Other,
}

impl Parent {
    fn of(expr: &TExpr) -> Parent {
        match &expr.kind {
            TExprKind::Where(..) => Parent::Where,
            TExprKind::Project(..) => Parent::Project,
            TExprKind::Call(Builtin::Sum, args) if args.len() == 1 => Parent::SumOfOne,
            _ => Parent::Other,
        }
    }
}

fn is_usage_list(ty: &Type) -> bool {
    matches!(ty, Type::List(inner) if **inner == Type::Record(Record::Usage))
}
