//! The program without its positions: two texts mean the same when their trees are equal once
//! every span is erased. Every node is destructured in full (no `..`), so a field added to the
//! tree is a compile error here until it is compared too.

use tally_diagnostics::Span;
use tally_syntax::ast::{
    Clause, ClauseKind, Customer, CustomerField, Expr, ExprKind, File, Ident, Item, Let, Line, Psa,
    PsaSetting, StringLit, Tier, Use, UseTarget,
};

/// `file` with every span set to zero.
pub fn erase_spans(file: &File) -> File {
    let File { items, incomplete } = file;
    File {
        items: items.iter().map(item).collect(),
        incomplete: *incomplete,
    }
}

const NO_SPAN: Span = Span { start: 0, end: 0 };

fn ident(i: &Ident) -> Ident {
    let Ident { name, span: _ } = i;
    Ident {
        name: name.clone(),
        span: NO_SPAN,
    }
}

fn string(s: &StringLit) -> StringLit {
    let StringLit { value, span: _ } = s;
    StringLit {
        value: value.clone(),
        span: NO_SPAN,
    }
}

fn item(i: &Item) -> Item {
    match i {
        Item::Customer(Customer {
            name,
            fields,
            keyword: _,
            span: _,
        }) => Item::Customer(Customer {
            name: string(name),
            fields: fields.iter().map(field).collect(),
            keyword: NO_SPAN,
            span: NO_SPAN,
        }),
        Item::Use(Use { target, span: _ }) => Item::Use(Use {
            target: match target {
                UseTarget::Module { path, span: _ } => UseTarget::Module {
                    path: path.iter().map(ident).collect(),
                    span: NO_SPAN,
                },
                UseTarget::File(s) => UseTarget::File(string(s)),
            },
            span: NO_SPAN,
        }),
        Item::Let(Let {
            name,
            value,
            span: _,
        }) => Item::Let(Let {
            name: ident(name),
            value: expr(value),
            span: NO_SPAN,
        }),
        Item::Line(Line {
            name,
            kind,
            kind_span: _,
            value,
            clauses,
            span: _,
        }) => Item::Line(Line {
            name: ident(name),
            kind: *kind,
            kind_span: NO_SPAN,
            value: expr(value),
            clauses: clauses.iter().map(clause).collect(),
            span: NO_SPAN,
        }),
    }
}

fn field(f: &CustomerField) -> CustomerField {
    match f {
        CustomerField::Tenant { value, span: _ } => CustomerField::Tenant {
            value: string(value),
            span: NO_SPAN,
        },
        CustomerField::Currency { code, span: _ } => CustomerField::Currency {
            code: ident(code),
            span: NO_SPAN,
        },
        CustomerField::BillingDay { day, span: _ } => CustomerField::BillingDay {
            day: *day,
            span: NO_SPAN,
        },
        CustomerField::Psa(Psa {
            kind,
            settings,
            span: _,
        }) => CustomerField::Psa(Psa {
            kind: ident(kind),
            settings: settings
                .iter()
                .map(|PsaSetting { key, value }| PsaSetting {
                    key: ident(key),
                    value: string(value),
                })
                .collect(),
            span: NO_SPAN,
        }),
    }
}

fn clause(c: &Clause) -> Clause {
    let Clause {
        kind,
        keyword: _,
        span: _,
    } = c;
    let kind = match kind {
        ClauseKind::Price(e) => ClauseKind::Price(expr(e)),
        ClauseKind::Split { key, otherwise } => ClauseKind::Split {
            key: ident(key),
            otherwise: otherwise.as_ref().map(string),
        },
        ClauseKind::Minimum(e) => ClauseKind::Minimum(expr(e)),
        ClauseKind::Product(s) => ClauseKind::Product(string(s)),
        ClauseKind::Description(s) => ClauseKind::Description(string(s)),
        ClauseKind::Agreement(s) => ClauseKind::Agreement(string(s)),
        ClauseKind::Billing(i) => ClauseKind::Billing(ident(i)),
        ClauseKind::Term(i) => ClauseKind::Term(ident(i)),
        ClauseKind::Rounding(i) => ClauseKind::Rounding(ident(i)),
        ClauseKind::Prorate(i) => ClauseKind::Prorate(ident(i)),
        ClauseKind::Measure(i) => ClauseKind::Measure(ident(i)),
        ClauseKind::Trueup(i) => ClauseKind::Trueup(ident(i)),
        ClauseKind::Included(e) => ClauseKind::Included(expr(e)),
        ClauseKind::Tiers { mode, tiers } => ClauseKind::Tiers {
            mode: ident(mode),
            tiers: tiers
                .iter()
                .map(
                    |Tier {
                         up_to,
                         bound_span: _,
                         price,
                     }| Tier {
                        up_to: *up_to,
                        bound_span: NO_SPAN,
                        price: expr(price),
                    },
                )
                .collect(),
        },
        ClauseKind::DatedPrice { from, until, price } => ClauseKind::DatedPrice {
            from: expr(from),
            until: until.as_ref().map(expr),
            price: expr(price),
        },
        ClauseKind::Bundle(items) => {
            ClauseKind::Bundle(items.iter().map(|(s, e)| (string(s), expr(e))).collect())
        }
        ClauseKind::Every { unit, starting } => ClauseKind::Every {
            unit: ident(unit),
            starting: starting.as_ref().map(expr),
        },
    };
    Clause {
        kind,
        keyword: NO_SPAN,
        span: NO_SPAN,
    }
}

fn boxed(e: &Expr) -> Box<Expr> {
    Box::new(expr(e))
}

fn expr(e: &Expr) -> Expr {
    let Expr { kind, span: _ } = e;
    let kind = match kind {
        ExprKind::Int(n) => ExprKind::Int(*n),
        ExprKind::Decimal(d) => ExprKind::Decimal(*d),
        ExprKind::Money { amount, currency } => ExprKind::Money {
            amount: *amount,
            currency: ident(currency),
        },
        ExprKind::Percent(p) => ExprKind::Percent(*p),
        ExprKind::Text(t) => ExprKind::Text(t.clone()),
        ExprKind::Bool(b) => ExprKind::Bool(*b),
        ExprKind::Date(d) => ExprKind::Date(*d),
        ExprKind::List(items) => ExprKind::List(items.iter().map(expr).collect()),
        ExprKind::Name(i) => ExprKind::Name(ident(i)),
        ExprKind::Field { base, field } => ExprKind::Field {
            base: boxed(base),
            field: ident(field),
        },
        ExprKind::Call {
            receiver,
            name,
            args,
        } => ExprKind::Call {
            receiver: receiver.as_deref().map(boxed),
            name: ident(name),
            args: args.iter().map(expr).collect(),
        },
        ExprKind::Unary { op, operand } => ExprKind::Unary {
            op: *op,
            operand: boxed(operand),
        },
        ExprKind::Binary { op, left, right } => ExprKind::Binary {
            op: *op,
            left: boxed(left),
            right: boxed(right),
        },
        ExprKind::Error => ExprKind::Error,
        ExprKind::Where {
            collection,
            predicate,
        } => ExprKind::Where {
            collection: boxed(collection),
            predicate: boxed(predicate),
        },
    };
    Expr {
        kind,
        span: NO_SPAN,
    }
}
