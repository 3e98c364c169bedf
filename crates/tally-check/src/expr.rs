//! Typing of expressions: name resolution, fields, calls, operators.

use crate::Checker;
use tally_diagnostics::{Code, Diagnostic, Names, Span, list_or};
use tally_ir::types::record_name;
use tally_ir::{
    BinaryOp, Builtin, CurrencyRef, LetId, Namespace, Record, TExpr, TExprKind, Term, Type,
    UnaryOp, fields,
};
use tally_money::Currency;
use tally_syntax::ast::{self, Expr, ExprKind, Ident};

/// What a bare name can see besides definitions: the element of a `where` predicate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope {
    pub element: Option<Record>,
}

const ROOTS: [&str; 3] = ["m365", "azure", "period"];

impl Checker<'_> {
    pub(crate) fn expr(&mut self, expr: &Expr, scope: Scope) -> TExpr {
        let span = expr.span;
        let typed = |kind, ty| TExpr { kind, ty, span };
        match &expr.kind {
            ExprKind::Int(n) => typed(TExprKind::Int(*n), Type::Int),
            ExprKind::Decimal(d) => typed(TExprKind::Decimal(*d), Type::Decimal),
            ExprKind::Percent(p) => typed(TExprKind::Percent(*p), Type::Percent),
            ExprKind::Text(t) => typed(TExprKind::Text(t.clone()), Type::Text),
            ExprKind::Bool(b) => typed(TExprKind::Bool(*b), Type::Bool),
            ExprKind::Date(d) => typed(TExprKind::Date(*d), Type::Date),
            ExprKind::Money { amount, currency } => match self.currency(currency) {
                Some(c) => typed(
                    TExprKind::Money(*amount, c),
                    Type::Money(CurrencyRef::Fixed(c)),
                ),
                None => TExpr::error(span),
            },
            ExprKind::List(items) => self.list(items, scope, span),
            ExprKind::Name(name) => self.name(name, scope),
            ExprKind::Field { base, field } => self.field(base, field, scope, span),
            ExprKind::Call {
                receiver,
                name,
                args,
            } => self.call(receiver.as_deref(), name, args, scope, span),
            ExprKind::Unary { op, operand } => self.unary(unary_op(*op), operand, scope, span),
            ExprKind::Binary { op, left, right } => {
                self.binary(binary_op(*op), left, right, scope, span)
            }
            ExprKind::Where {
                collection,
                predicate,
            } => self.where_(collection, predicate, scope, span),
            ExprKind::Error => TExpr::error(span),
        }
    }

    pub(crate) fn currency(&mut self, code: &Ident) -> Option<Currency> {
        match Currency::from_code(&code.name) {
            Ok(c) => Some(c),
            Err(e) => {
                self.report(
                    Diagnostic::error(Code::UnknownCurrency, e.to_string(), code.span)
                        .with_label_message("not an ISO 4217 currency code")
                        .with_help("write a three-letter code such as `GBP`, `EUR` or `USD`"),
                );
                None
            }
        }
    }

    fn list(&mut self, items: &[Expr], scope: Scope, span: Span) -> TExpr {
        let items: Vec<TExpr> = items.iter().map(|i| self.expr(i, scope)).collect();
        let mut element = Type::Error;
        for item in &items {
            if element.is_error() {
                element = item.ty.clone();
            } else if !item.ty.is_error() && item.ty != element {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "a list holds one type, but this is {} after {}",
                            item.ty.describe(),
                            element.describe()
                        ),
                        item.span,
                    )
                    .with_help("write every element of the list the same way"),
                );
            }
        }
        TExpr {
            kind: TExprKind::List(items),
            ty: Type::List(Box::new(element)),
            span,
        }
    }

    fn name(&mut self, name: &Ident, scope: Scope) -> TExpr {
        let span = name.span;
        if let Some(record) = scope.element
            && let Some((field, ty)) = fields::field(record, &name.name)
        {
            let element = TExpr {
                kind: TExprKind::Element,
                ty: Type::Record(record),
                span,
            };
            return TExpr {
                kind: TExprKind::Field(Box::new(element), field),
                ty: self.localise(&ty),
                span,
            };
        }
        if let Some(ty) = self.let_type(&name.name) {
            return TExpr {
                kind: TExprKind::Let(LetId {
                    module: self.module.clone(),
                    name: name.name.clone(),
                }),
                ty,
                span,
            };
        }
        if let Some((module, ty)) = self.imported.get(&name.name).cloned() {
            self.used_imports.insert(name.name.clone());
            return TExpr {
                kind: TExprKind::Let(LetId {
                    module,
                    name: name.name.clone(),
                }),
                ty: self.localise(&ty),
                span,
            };
        }
        match name.name.as_str() {
            "m365" => {
                return TExpr {
                    kind: TExprKind::Error,
                    ty: Type::Namespace(Namespace::M365),
                    span,
                };
            }
            "azure" => {
                return TExpr {
                    kind: TExprKind::Error,
                    ty: Type::Namespace(Namespace::Azure),
                    span,
                };
            }
            "period" => {
                return TExpr {
                    kind: TExprKind::Period,
                    ty: Type::Record(Record::Period),
                    span,
                };
            }
            _ => {}
        }
        let mut candidates: Vec<String> = self.visible_names();
        if let Some(record) = scope.element {
            candidates.extend(fields::fields_of(record).iter().map(|f| f.0.to_string()));
        }
        let field_typo = scope.element.filter(|record| {
            let names = fields::fields_of(*record).iter().map(|f| f.0);
            Names::new(&name.name, names).closest().is_some()
        });
        if let Some(record) = field_typo {
            let names = Names::new(&name.name, fields::fields_of(record).iter().map(|f| f.0));
            self.report(
                Diagnostic::error(
                    Code::UnknownField,
                    format!("a {} has no field `{}`", record_name(record), name.name),
                    span,
                )
                .with_label_message("unknown field")
                .with_name_help(span, &names),
            );
            return TExpr::error(span);
        }
        let mut diagnostic = Diagnostic::error(
            Code::UnknownName,
            format!("unknown name `{}`", name.name),
            span,
        )
        .with_label_message("not defined");
        let builtin_function = Builtin::ALL.iter().any(|(n, _)| *n == name.name);
        if builtin_function {
            diagnostic = diagnostic.with_help(format!(
                "`{}` is a function: call it, e.g. `{}(...)`",
                name.name, name.name
            ));
        } else if let Some(close) =
            Names::new(&name.name, candidates.iter().map(String::as_str)).closest()
        {
            let names = Names::new(&name.name, [close]);
            diagnostic = diagnostic.with_name_help(span, &names);
        } else if scope.element.is_none()
            && fields::fields_of(Record::User)
                .iter()
                .any(|f| f.0 == name.name)
        {
            diagnostic = diagnostic.with_help(format!(
                "`{}` is a user field: use it inside a filter, e.g. `m365.users where {}`",
                name.name,
                match fields::field(Record::User, &name.name).map(|f| f.1) {
                    Some(Type::Bool) => name.name.clone(),
                    _ => format!("{} == \"...\"", name.name),
                }
            ));
        } else {
            diagnostic =
                diagnostic.with_help("define it with `let`, or `use` the module that defines it");
        }
        self.report(diagnostic);
        TExpr::error(span)
    }

    fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lets.keys().cloned().collect();
        names.extend(self.imported.keys().cloned());
        names.extend(ROOTS.iter().map(|s| s.to_string()));
        names
    }

    /// Money "in the customer's currency" becomes the header's currency in a customer file.
    pub(crate) fn localise(&self, ty: &Type) -> Type {
        ty.with_customer_currency(self.customer_currency)
    }

    fn field(&mut self, base: &Expr, field: &Ident, scope: Scope, span: Span) -> TExpr {
        let base = self.expr(base, scope);
        let name = field.name.as_str();
        let unknown = |this: &mut Self, what: String, names: Vec<&str>| {
            let d = Diagnostic::error(
                Code::UnknownField,
                format!("{what} has no field `{name}`"),
                field.span,
            )
            .with_label_message("unknown field");
            let names = Names::new(name, names).listed_as("the fields are");
            this.report(d.with_name_help(field.span, &names));
            TExpr::error(span)
        };
        match base.ty.clone() {
            Type::Error => TExpr::error(span),
            Type::Namespace(ns) => {
                let members = fields::namespace_members(ns);
                match members.iter().find(|(n, _)| *n == name) {
                    Some((_, source)) => TExpr {
                        kind: TExprKind::Source(*source),
                        ty: Type::List(Box::new(Type::Record(source.element()))),
                        span,
                    },
                    None => {
                        let names = members.iter().map(|m| m.0).collect();
                        let what = base.ty.describe();
                        if ns == Namespace::M365 && name == "sku" {
                            let d = Diagnostic::error(
                                Code::UnknownField,
                                "`m365.sku` needs the SKU's name".to_string(),
                                field.span,
                            )
                            .with_help("write `m365.sku(\"SPB\")`");
                            self.report(d);
                            return TExpr::error(span);
                        }
                        unknown(self, what, names)
                    }
                }
            }
            Type::Record(record) => match fields::field(record, name) {
                Some((f, ty)) => TExpr {
                    kind: TExprKind::Field(Box::new(base), f),
                    ty: self.localise(&ty),
                    span,
                },
                None => {
                    let names = fields::fields_of(record).iter().map(|f| f.0).collect();
                    unknown(self, format!("a {}", record_name(record)), names)
                }
            },
            Type::List(inner) => match *inner {
                Type::Record(record) => match fields::field(record, name) {
                    Some((f, ty)) => TExpr {
                        kind: TExprKind::Project(Box::new(base), f),
                        ty: Type::List(Box::new(self.localise(&ty))),
                        span,
                    },
                    None => {
                        let names = fields::fields_of(record).iter().map(|f| f.0).collect();
                        unknown(self, format!("a {}", record_name(record)), names)
                    }
                },
                other => unknown(self, Type::List(Box::new(other)).describe(), Vec::new()),
            },
            other => {
                self.report(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("{} has no fields", other.describe()),
                        field.span,
                    )
                    .with_secondary(base.span, format!("this is {}", other.describe())),
                );
                TExpr::error(span)
            }
        }
    }

    fn where_(&mut self, collection: &Expr, predicate: &Expr, scope: Scope, span: Span) -> TExpr {
        let collection = self.expr(collection, scope);
        let element = match &collection.ty {
            Type::List(inner) => match **inner {
                Type::Record(r) => Some(r),
                _ => None,
            },
            _ => None,
        };
        let Some(record) = element else {
            if !collection.ty.is_error() {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "`where` filters a list of records, but this is {}",
                            collection.ty.describe()
                        ),
                        collection.span,
                    )
                    .with_help("filter a collection such as `m365.users where enabled`"),
                );
            }
            let _ = self.expr(predicate, scope);
            return TExpr::error(span);
        };
        let predicate = self.expr(
            predicate,
            Scope {
                element: Some(record),
            },
        );
        self.expect_bool(&predicate, "a `where` condition");
        TExpr {
            ty: collection.ty.clone(),
            kind: TExprKind::Where(Box::new(collection), Box::new(predicate)),
            span,
        }
    }

    pub(crate) fn expect_bool(&mut self, expr: &TExpr, what: &str) {
        if expr.ty != Type::Bool && !expr.ty.is_error() {
            self.report(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "{what} must be true or false, but this is {}",
                        expr.ty.describe()
                    ),
                    expr.span,
                )
                .with_help("compare it, e.g. `department == \"Sales\"`"),
            );
        }
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr, scope: Scope, span: Span) -> TExpr {
        let operand = self.expr(operand, scope);
        let operand = self.numeric(operand);
        let ty = match (op, &operand.ty) {
            (_, Type::Error) => Type::Error,
            (UnaryOp::Not, Type::Bool) => Type::Bool,
            (UnaryOp::Neg, t @ (Type::Int | Type::Decimal | Type::Percent | Type::Money(_))) => {
                t.clone()
            }
            (op, t) => {
                let what = if op == UnaryOp::Not { "`not`" } else { "`-`" };
                self.report(Diagnostic::error(
                    Code::TypeMismatch,
                    format!("{what} cannot apply to {}", t.describe()),
                    operand.span,
                ));
                Type::Error
            }
        };
        TExpr {
            kind: TExprKind::Unary(op, Box::new(operand)),
            ty,
            span,
        }
    }

    /// Lists of records used as numbers become their count.
    pub(crate) fn numeric(&self, expr: TExpr) -> TExpr {
        if expr.ty.is_countable() {
            let span = expr.span;
            TExpr {
                kind: TExprKind::Count(Box::new(expr)),
                ty: Type::Int,
                span,
            }
        } else {
            expr
        }
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        scope: Scope,
        span: Span,
    ) -> TExpr {
        let left = self.expr(left, scope);
        let right = self.expr(right, scope);
        let (left, right) = if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::In) {
            (left, right)
        } else {
            (self.numeric(left), self.numeric(right))
        };
        let ty = if left.ty.is_error() || right.ty.is_error() {
            Type::Error
        } else {
            match self.binary_type(op, &left, &right) {
                Ok(ty) => ty,
                Err(d) => {
                    self.report(*d);
                    Type::Error
                }
            }
        };
        TExpr {
            kind: TExprKind::Binary(op, Box::new(left), Box::new(right)),
            ty,
            span,
        }
    }

    fn binary_type(
        &self,
        op: BinaryOp,
        left: &TExpr,
        right: &TExpr,
    ) -> Result<Type, Box<Diagnostic>> {
        use BinaryOp::*;
        use Type::*;
        let (l, r) = (&left.ty, &right.ty);
        let mismatch = |message: String| {
            Box::new(
                Diagnostic::error(Code::TypeMismatch, message, right.span)
                    .with_label_message(format!("this is {}", r.describe()))
                    .with_secondary(left.span, format!("this is {}", l.describe())),
            )
        };
        let currency_clash = |a: &CurrencyRef, b: &CurrencyRef| {
            Box::new(
                Diagnostic::error(
                    Code::CurrencyMismatch,
                    format!("cannot combine money in {a} with money in {b}"),
                    right.span,
                )
                .with_label_message(format!("this is in {b}"))
                .with_secondary(left.span, format!("this is in {a}"))
                .with_help(
                    "Tally never converts currencies: write both amounts in the same currency",
                ),
            )
        };
        let numeric_result = |a: &Type, b: &Type| match (a, b) {
            (Int, Int) => Int,
            (Percent, Percent) => Percent,
            _ => Decimal,
        };
        match op {
            Add | Sub => match (l, r) {
                (a, b) if a.is_numeric() && b.is_numeric() => Ok(numeric_result(a, b)),
                (Money(a), Money(b)) if a == b => Ok(Money(*a)),
                (Money(a), Money(b)) => Err(currency_clash(a, b)),
                (Money(c), n) | (n, Money(c)) if n.is_numeric() => Err(Box::new(
                    (*mismatch(format!(
                        "cannot {} a plain number and money",
                        if op == Add { "add" } else { "subtract" }
                    )))
                    .with_help(format!(
                        "write the number as money, e.g. `2.00 {}`",
                        match c {
                            CurrencyRef::Fixed(c) => c.code(),
                            CurrencyRef::Customer => "GBP",
                        }
                    )),
                )),
                _ => Err(mismatch(format!(
                    "cannot {} {} and {}",
                    if op == Add { "add" } else { "subtract" },
                    l.describe(),
                    r.describe()
                ))),
            },
            Mul => match (l, r) {
                (a, b) if a.is_numeric() && b.is_numeric() => Ok(numeric_result(a, b)),
                (Money(c), n) | (n, Money(c)) if n.is_numeric() => Ok(Money(*c)),
                (Money(_), Money(_)) => Err(Box::new(
                    (*mismatch("cannot multiply money by money".into()))
                        .with_help("multiply money by a number or a percentage"),
                )),
                _ => Err(mismatch(format!(
                    "cannot multiply {} by {}",
                    l.describe(),
                    r.describe()
                ))),
            },
            Div => match (l, r) {
                (a, b) if a.is_numeric() && b.is_numeric() => Ok(Decimal),
                (Money(c), n) if n.is_numeric() => Ok(Money(*c)),
                (Money(a), Money(b)) if a == b => Ok(Decimal),
                (Money(a), Money(b)) => Err(currency_clash(a, b)),
                _ => Err(mismatch(format!(
                    "cannot divide {} by {}",
                    l.describe(),
                    r.describe()
                ))),
            },
            Eq | Ne | Lt | Le | Gt | Ge => {
                let ordered = matches!(op, Lt | Le | Gt | Ge);
                match (l, r) {
                    (a, b) if a.is_numeric() && b.is_numeric() => Ok(Bool),
                    (Money(a), Money(b)) if a == b => Ok(Bool),
                    (Money(a), Money(b)) => Err(currency_clash(a, b)),
                    (Date, Date) => Ok(Bool),
                    (Text, Text) | (Bool, Bool) if !ordered => Ok(Bool),
                    _ => Err(mismatch(format!(
                        "cannot compare {} with {}",
                        l.describe(),
                        r.describe()
                    ))),
                }
            }
            In => match r {
                List(inner) if **inner == *l || inner.is_error() => Ok(Bool),
                _ => Err(Box::new(
                    (*mismatch(format!(
                        "`in` looks for {} in a list of the same, but the right side is {}",
                        l.describe(),
                        r.describe()
                    )))
                    .with_help("write `department in [\"Sales\", \"Support\"]`"),
                )),
            },
            And | Or => match (l, r) {
                (Bool, Bool) => Ok(Bool),
                _ => Err(mismatch(format!(
                    "`{}` joins true/false conditions, not {} and {}",
                    op.symbol(),
                    l.describe(),
                    r.describe()
                ))),
            },
        }
    }

    fn call(
        &mut self,
        receiver: Option<&Expr>,
        name: &Ident,
        args: &[Expr],
        scope: Scope,
        span: Span,
    ) -> TExpr {
        if let Some(receiver) = receiver {
            return self.method(receiver, name, args, scope, span);
        }
        match name.name.as_str() {
            "has_sku" => return self.has_sku(name, args, scope, span),
            "tag" => return self.tag(name, args, scope, span),
            "counter" => return self.counter(name, args, span),
            _ => {}
        }
        let Some((_, builtin)) = Builtin::ALL.iter().find(|(n, _)| *n == name.name) else {
            let mut names: Vec<&str> = Builtin::ALL.iter().map(|(n, _)| *n).collect();
            names.extend(["has_sku", "counter", "tag"]);
            let d = Diagnostic::error(
                Code::UnknownFunction,
                format!("unknown function `{}`", name.name),
                name.span,
            );
            let names = Names::new(&name.name, names).listed_as("the functions are");
            self.report(d.with_name_help(name.span, &names));
            for arg in args {
                let _ = self.expr(arg, scope);
            }
            return TExpr::error(span);
        };
        let args: Vec<TExpr> = args.iter().map(|a| self.expr(a, scope)).collect();
        let ty = self.builtin_type(*builtin, name, &args, span);
        let args = match builtin {
            Builtin::Count | Builtin::Sum => args,
            _ => args.into_iter().map(|a| self.numeric(a)).collect(),
        };
        TExpr {
            kind: TExprKind::Call(*builtin, args),
            ty,
            span,
        }
    }

    fn arity(
        &mut self,
        name: &Ident,
        args: &[TExpr],
        range: std::ops::RangeInclusive<usize>,
        span: Span,
        usage: &str,
    ) -> bool {
        if range.contains(&args.len()) {
            return true;
        }
        self.report(
            Diagnostic::error(
                Code::WrongArity,
                format!(
                    "`{}` takes {}, but {} given",
                    name.name,
                    if range.start() == range.end() {
                        plural(*range.start(), "argument")
                    } else if *range.end() == usize::MAX {
                        format!("at least {}", plural(*range.start(), "argument"))
                    } else {
                        format!("{} to {} arguments", range.start(), range.end())
                    },
                    if args.len() == 1 {
                        "1 was".to_string()
                    } else {
                        format!("{} were", args.len())
                    }
                ),
                span,
            )
            .with_help(format!("write `{usage}`")),
        );
        false
    }

    fn builtin_type(&mut self, builtin: Builtin, name: &Ident, args: &[TExpr], span: Span) -> Type {
        if args.iter().any(|a| a.ty.is_error()) {
            return Type::Error;
        }
        let wrong = |this: &mut Self, arg: &TExpr, wanted: &str| {
            this.report(Diagnostic::error(
                Code::TypeMismatch,
                format!(
                    "`{}` needs {wanted}, but this is {}",
                    name.name,
                    arg.ty.describe()
                ),
                arg.span,
            ));
            Type::Error
        };
        match builtin {
            Builtin::Count => {
                if !self.arity(name, args, 1..=1, span, "count(m365.users where enabled)") {
                    return Type::Error;
                }
                match &args[0].ty {
                    Type::List(_) => Type::Int,
                    _ => wrong(self, &args[0], "a list"),
                }
            }
            Builtin::Sum => {
                if !self.arity(name, args, 1..=1, span, "sum(azure.usage.cost)") {
                    return Type::Error;
                }
                match &args[0].ty {
                    Type::List(inner)
                        if inner.is_numeric() || matches!(**inner, Type::Money(_)) =>
                    {
                        (**inner).clone()
                    }
                    Type::List(inner) if matches!(**inner, Type::Record(_)) => {
                        self.report(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                format!("`sum` adds numbers or money, but this is {}", args[0].ty.describe()),
                                args[0].span,
                            )
                            .with_help("sum one field of the records, e.g. `sum(azure.usage.cost)`; to count them use `count(...)`"),
                        );
                        Type::Error
                    }
                    _ => wrong(self, &args[0], "a list of numbers or money"),
                }
            }
            Builtin::Max | Builtin::Min => {
                if !self.arity(name, args, 2..=usize::MAX, span, "max(count(staff), 10)") {
                    return Type::Error;
                }
                let types: Vec<Type> = args
                    .iter()
                    .map(|a| {
                        if a.ty.is_countable() {
                            Type::Int
                        } else {
                            a.ty.clone()
                        }
                    })
                    .collect();
                let money: Vec<&CurrencyRef> = types
                    .iter()
                    .filter_map(|t| {
                        if let Type::Money(c) = t {
                            Some(c)
                        } else {
                            None
                        }
                    })
                    .collect();
                if let Some(first) = money.first() {
                    for (arg, ty) in args.iter().zip(&types) {
                        match ty {
                            Type::Money(c) if c == *first => {}
                            Type::Money(c) => {
                                self.report(Diagnostic::error(
                                    Code::CurrencyMismatch,
                                    format!("cannot compare money in {first} with money in {c}"),
                                    arg.span,
                                ));
                                return Type::Error;
                            }
                            _ => return wrong(self, arg, "money like the other arguments"),
                        }
                    }
                    return Type::Money(**first);
                }
                for (arg, ty) in args.iter().zip(&types) {
                    if !ty.is_numeric() {
                        return wrong(self, arg, "numbers");
                    }
                }
                if types.iter().all(|t| *t == Type::Int) {
                    Type::Int
                } else {
                    Type::Decimal
                }
            }
            Builtin::Round => {
                if !self.arity(name, args, 1..=2, span, "round(x) or round(x, 2)") {
                    return Type::Error;
                }
                let value = if args[0].ty.is_countable() {
                    Type::Int
                } else {
                    args[0].ty.clone()
                };
                if let Some(places) = args.get(1) {
                    if !matches!(places.kind, TExprKind::Int(0..=28)) {
                        self.report(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                "the number of decimal places must be a whole number from 0 to 28",
                                places.span,
                            )
                            .with_help("write e.g. `round(x, 2)`"),
                        );
                        return Type::Error;
                    }
                    return match value {
                        Type::Money(c) => Type::Money(c),
                        t if t.is_numeric() => Type::Decimal,
                        _ => wrong(self, &args[0], "a number or money"),
                    };
                }
                match value {
                    Type::Money(c) => Type::Money(c),
                    t if t.is_numeric() => Type::Int,
                    _ => wrong(self, &args[0], "a number or money"),
                }
            }
            Builtin::Ceil | Builtin::Floor => {
                if !self.arity(name, args, 1..=1, span, "ceil(count(staff) / 5)") {
                    return Type::Error;
                }
                if args[0].ty.is_numeric() || args[0].ty.is_countable() {
                    Type::Int
                } else {
                    wrong(self, &args[0], "a number")
                }
            }
            Builtin::Abs => {
                if !self.arity(name, args, 1..=1, span, "abs(x)") {
                    return Type::Error;
                }
                match &args[0].ty {
                    t if t.is_countable() => Type::Int,
                    t if t.is_numeric() || matches!(t, Type::Money(_)) => t.clone(),
                    _ => wrong(self, &args[0], "a number or money"),
                }
            }
            Builtin::MonthsBetween | Builtin::DaysBetween => {
                let usage = format!("{}(period.start, bp.term_end)", name.name);
                if !self.arity(name, args, 2..=2, span, &usage) {
                    return Type::Error;
                }
                for arg in args {
                    if arg.ty != Type::Date {
                        return wrong(self, arg, "dates");
                    }
                }
                Type::Int
            }
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                if !self.arity(
                    name,
                    args,
                    2..=2,
                    span,
                    &format!("{}(upn, \"svc-\")", name.name),
                ) {
                    return Type::Error;
                }
                for arg in args {
                    if arg.ty != Type::Text {
                        return wrong(self, arg, "text");
                    }
                }
                Type::Bool
            }
        }
    }

    /// A string-literal argument, e.g. the SKU name of `m365.sku("SPB")`.
    fn literal_text(
        &mut self,
        name: &Ident,
        args: &[Expr],
        span: Span,
        usage: &str,
    ) -> Option<(String, Span)> {
        match args {
            [
                Expr {
                    kind: ExprKind::Text(t),
                    span,
                },
            ] => Some((t.clone(), *span)),
            _ => {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{}` takes one quoted name", name.name),
                        span,
                    )
                    .with_help(format!("write `{usage}`")),
                );
                None
            }
        }
    }

    fn sku_guids(&mut self, sku: &str, span: Span) -> Option<Vec<String>> {
        let catalog = tally_skus::catalog();
        let found = catalog.resolve(sku);
        if found.is_empty() {
            let suggestions = catalog.suggest(sku);
            let mut d = Diagnostic::error(Code::UnknownSku, format!("unknown SKU `{sku}`"), span)
                .with_label_message("not in Microsoft's SKU table");
            d = if suggestions.is_empty() {
                d.with_help("use the part number (e.g. `SPB`), the GUID or the product name from Microsoft's licensing table")
            } else {
                let names: Vec<&str> = suggestions.iter().map(String::as_str).collect();
                let mut d = d.with_help(format!("did you mean {}?", list_or(&names)));
                for name in names {
                    d = d.with_suggestion(
                        span,
                        format!("{name:?}"),
                        format!("replace with `{name}`"),
                    );
                }
                d
            };
            self.report(d);
            return None;
        }
        let mut guids: Vec<String> = found.iter().map(|s| s.guid.to_lowercase()).collect();
        guids.sort();
        guids.dedup();
        Some(guids)
    }

    fn method(
        &mut self,
        receiver: &Expr,
        name: &Ident,
        args: &[Expr],
        scope: Scope,
        span: Span,
    ) -> TExpr {
        let receiver = self.expr(receiver, scope);
        match (&receiver.ty, name.name.as_str()) {
            (Type::Error, _) => TExpr::error(span),
            (Type::Namespace(Namespace::M365), "sku") => {
                // An optional second argument picks the commitment term.
                let (first, term) = match args {
                    [
                        first,
                        Expr {
                            kind: ExprKind::Text(term),
                            span: term_span,
                        },
                    ] => {
                        let Some(known) = Term::from_name(term) else {
                            let names = Names::new(term, Term::ALL.map(Term::name))
                                .listed_as("the terms are");
                            let mut d = Diagnostic::error(
                                Code::BadClause,
                                format!("unknown term `{term}`"),
                                *term_span,
                            )
                            .with_help(names.help().unwrap_or_default());
                            if let Some(close) = names.closest() {
                                d = d.with_suggestion(
                                    *term_span,
                                    format!("{close:?}"),
                                    format!("replace with `{close}`"),
                                );
                            }
                            self.report(d);
                            return TExpr::error(span);
                        };
                        (std::slice::from_ref(first), Some(known))
                    }
                    _ => (args, None),
                };
                let Some((sku, sku_span)) = self.literal_text(
                    name,
                    first,
                    span,
                    "m365.sku(\"SPB\") or m365.sku(\"SPB\", \"annual\")",
                ) else {
                    return TExpr::error(span);
                };
                match self.sku_guids(&sku, sku_span) {
                    Some(guids) => TExpr {
                        kind: TExprKind::SkuLookup {
                            name: sku,
                            guids,
                            term,
                        },
                        ty: Type::Record(Record::Sku),
                        span,
                    },
                    None => TExpr::error(span),
                }
            }
            (ty, _) => {
                let mut d = Diagnostic::error(
                    Code::UnknownFunction,
                    format!("{} has no function `{}`", ty.describe(), name.name),
                    name.span,
                );
                if *ty == Type::Namespace(Namespace::M365) {
                    d = d.with_help("`m365` has `users`, `skus` and `sku(\"NAME\")`");
                }
                self.report(d);
                TExpr::error(span)
            }
        }
    }

    fn tag(&mut self, name: &Ident, args: &[Expr], scope: Scope, span: Span) -> TExpr {
        if scope.element != Some(Record::Usage) {
            self.report(
                Diagnostic::error(
                    Code::UnknownFunction,
                    "`tag` only works inside a filter of Azure usage rows",
                    name.span,
                )
                .with_help("write `azure.usage where tag(\"project\") == \"Apollo\"`"),
            );
            return TExpr::error(span);
        }
        let Some((tag, _)) = self.literal_text(name, args, span, "tag(\"department\")") else {
            return TExpr::error(span);
        };
        TExpr {
            kind: TExprKind::Tag(tag),
            ty: Type::Text,
            span,
        }
    }

    fn has_sku(&mut self, name: &Ident, args: &[Expr], scope: Scope, span: Span) -> TExpr {
        if scope.element != Some(Record::User) {
            self.report(
                Diagnostic::error(
                    Code::UnknownFunction,
                    "`has_sku` only works inside a filter of users",
                    name.span,
                )
                .with_help("write `m365.users where has_sku(\"SPB\")`"),
            );
            return TExpr::error(span);
        }
        let Some((sku, sku_span)) = self.literal_text(name, args, span, "has_sku(\"SPB\")") else {
            return TExpr::error(span);
        };
        match self.sku_guids(&sku, sku_span) {
            Some(guids) => TExpr {
                kind: TExprKind::HasSku { name: sku, guids },
                ty: Type::Bool,
                span,
            },
            None => TExpr::error(span),
        }
    }

    fn counter(&mut self, name: &Ident, args: &[Expr], span: Span) -> TExpr {
        let Some((counter, counter_span)) =
            self.literal_text(name, args, span, "counter(\"backup.protected_users\")")
        else {
            return TExpr::error(span);
        };
        if counter.trim().is_empty() {
            self.report(Diagnostic::error(
                Code::TypeMismatch,
                "a counter needs a name",
                counter_span,
            ));
            return TExpr::error(span);
        }
        TExpr {
            kind: TExprKind::Counter(counter),
            ty: Type::Int,
            span,
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn unary_op(op: ast::UnaryOp) -> UnaryOp {
    match op {
        ast::UnaryOp::Neg => UnaryOp::Neg,
        ast::UnaryOp::Not => UnaryOp::Not,
    }
}

fn binary_op(op: ast::BinaryOp) -> BinaryOp {
    match op {
        ast::BinaryOp::Add => BinaryOp::Add,
        ast::BinaryOp::Sub => BinaryOp::Sub,
        ast::BinaryOp::Mul => BinaryOp::Mul,
        ast::BinaryOp::Div => BinaryOp::Div,
        ast::BinaryOp::Eq => BinaryOp::Eq,
        ast::BinaryOp::Ne => BinaryOp::Ne,
        ast::BinaryOp::Lt => BinaryOp::Lt,
        ast::BinaryOp::Le => BinaryOp::Le,
        ast::BinaryOp::Gt => BinaryOp::Gt,
        ast::BinaryOp::Ge => BinaryOp::Ge,
        ast::BinaryOp::In => BinaryOp::In,
        ast::BinaryOp::And => BinaryOp::And,
        ast::BinaryOp::Or => BinaryOp::Or,
    }
}
