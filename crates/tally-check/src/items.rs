//! Checking of top-level items: the customer header, `use`, `let` and lines.

use crate::expr::Scope;
use crate::{Checker, CustomerDecl, Import, LetState, LineDecl, SplitDecl};
use std::collections::BTreeMap;
use tally_diagnostics::{Code, Diagnostic, Names, Span, list_and};
use tally_ir::{
    Billing, CurrencyRef, DatedPrice, LineKind, LineRounding, Measure, Prorate, Psa, PsaKind,
    Record, SplitKey, TExpr, TExprKind, Term, TierMode, Tiers, Trueup, Type,
};
use tally_syntax::ast::{self, ClauseKind, CustomerField, Item};

impl<'a> Checker<'a> {
    pub(crate) fn run(&mut self, file: &'a ast::File, imports: &[Import]) {
        let customers: Vec<&ast::Customer> = file
            .items
            .iter()
            .filter_map(|i| {
                if let Item::Customer(c) = i {
                    Some(c)
                } else {
                    None
                }
            })
            .collect();
        if let Some(first) = customers.first() {
            self.customer(first);
            for extra in customers.iter().skip(1) {
                self.report(
                    Diagnostic::error(
                        Code::BadCustomer,
                        "a file describes one customer",
                        extra.keyword,
                    )
                    .with_secondary(first.keyword, "the customer is declared here")
                    .with_help("put each customer in its own file"),
                );
            }
        }
        self.imports(file, imports);
        self.collect_lets(file);
        let names: Vec<String> = self.lets.keys().cloned().collect();
        for name in &names {
            self.ensure_let(name);
        }
        let lines: Vec<&ast::Line> = file
            .items
            .iter()
            .filter_map(|i| if let Item::Line(l) = i { Some(l) } else { None })
            .collect();
        if customers.is_empty()
            && !file.incomplete
            && let Some(first) = lines.first()
        {
            self.report(
                Diagnostic::error(Code::BadCustomer, "lines need a `customer` header", first.name.span)
                    .with_help("start the file with `customer \"Name\" { tenant \"...\" currency GBP }`, or move the lines into a customer file"),
            );
        }
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for line in lines {
            if let Some(first) = seen.get(&line.name.name) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateLine,
                        format!("line `{}` is defined twice", line.name.name),
                        line.name.span,
                    )
                    .with_secondary(*first, "first defined here")
                    .with_help("give each line its own name: it becomes the line's id in the plan"),
                );
                continue;
            }
            seen.insert(line.name.name.clone(), line.name.span);
            self.line(line);
        }
        if !customers.is_empty() && !file.incomplete {
            for (name, decl) in &self.lets.clone() {
                if !self.used_lets.contains(name) {
                    self.report(
                        Diagnostic::warning(
                            Code::UnusedDefinition,
                            format!("`{name}` is never used"),
                            decl.name.span,
                        )
                        .with_help("remove it, or use it in a line"),
                    );
                }
            }
        }
    }

    fn customer(&mut self, customer: &ast::Customer) {
        let mut tenant: Option<(String, Span)> = None;
        let mut currency_seen = false;
        let mut psa = None;
        let mut billing_day: Option<u32> = None;
        for field in &customer.fields {
            match field {
                CustomerField::Tenant { value, span } => {
                    if tenant.is_some() {
                        self.twice("tenant", *span);
                    } else if value.value.trim().is_empty() {
                        self.report(Diagnostic::error(Code::BadCustomer, "the tenant is empty", value.span)
                            .with_help("write the tenant's domain, e.g. `tenant \"contoso.onmicrosoft.com\"`"));
                    } else {
                        tenant = Some((value.value.clone(), value.span));
                    }
                }
                CustomerField::Currency { code, span } => {
                    if currency_seen {
                        self.twice("currency", *span);
                    } else {
                        currency_seen = true;
                        self.customer_currency = self.currency(code);
                    }
                }
                CustomerField::Psa(p) => {
                    if psa.is_some() {
                        self.twice("psa", p.span);
                    } else {
                        psa = Some(self.psa(p));
                    }
                }
                CustomerField::BillingDay { day, span } => {
                    if billing_day.is_some() {
                        self.twice("billing_day", *span);
                    } else if (1..=28).contains(day) {
                        billing_day = u32::try_from(*day).ok();
                    } else {
                        self.report(
                            Diagnostic::error(
                                Code::BadCustomer,
                                format!("billing day {day} is not a day every month has"),
                                *span,
                            )
                            .with_help("choose a day from 1 to 28; 1 bills calendar months"),
                        );
                    }
                }
            }
        }
        if !currency_seen {
            self.report(
                Diagnostic::error(
                    Code::BadCustomer,
                    format!("customer `{}` has no currency", customer.name.value),
                    customer.keyword,
                )
                .with_help("add `currency GBP` (the currency the customer is invoiced in)"),
            );
        }
        let Some((tenant, tenant_span)) = tenant else {
            self.report(
                Diagnostic::error(Code::BadCustomer, format!("customer `{}` has no tenant", customer.name.value), customer.keyword)
                    .with_help("add `tenant \"contoso.onmicrosoft.com\"` (the Microsoft tenant the rules read)"),
            );
            return;
        };
        if customer.name.value.trim().is_empty() {
            self.report(Diagnostic::error(
                Code::BadCustomer,
                "the customer's name is empty",
                customer.name.span,
            ));
        }
        self.customer = Some(CustomerDecl {
            name: customer.name.value.clone(),
            tenant,
            tenant_span,
            currency: self.customer_currency,
            psa: psa.flatten(),
            billing_day: billing_day.unwrap_or(1),
            span: customer.span,
        });
    }

    fn twice(&mut self, what: &str, span: Span) {
        self.report(
            Diagnostic::error(Code::BadCustomer, format!("`{what}` is given twice"), span)
                .with_help("keep one"),
        );
    }

    fn psa(&mut self, psa: &ast::Psa) -> Option<Psa> {
        let kind = PsaKind::from_name(&psa.kind.name);
        if kind.is_none() {
            let names = Names::new(&psa.kind.name, PsaKind::ALL.map(PsaKind::name))
                .listed_as("the PSAs are");
            self.report(
                Diagnostic::error(
                    Code::BadCustomer,
                    format!("unknown PSA `{}`", psa.kind.name),
                    psa.kind.span,
                )
                .with_name_help(psa.kind.span, &names),
            );
        }
        let mut company = None;
        let mut agreement = None;
        for setting in &psa.settings {
            let slot = match setting.key.name.as_str() {
                "company" => &mut company,
                "agreement" => &mut agreement,
                other => {
                    let names =
                        Names::new(other, ["company", "agreement"]).listed_as("the settings are");
                    self.report(
                        Diagnostic::error(
                            Code::BadCustomer,
                            format!("unknown PSA setting `{other}`"),
                            setting.key.span,
                        )
                        .with_name_help(setting.key.span, &names),
                    );
                    continue;
                }
            };
            if slot.is_some() {
                self.twice(&setting.key.name, setting.key.span);
            } else {
                *slot = Some(setting.value.value.clone());
            }
        }
        let mut missing = Vec::new();
        if company.is_none() {
            missing.push("company");
        }
        if agreement.is_none() {
            missing.push("agreement");
        }
        if !missing.is_empty() {
            self.report(
                Diagnostic::error(
                    Code::BadCustomer,
                    format!("the PSA target needs {}", list_and(&missing)),
                    psa.span,
                )
                .with_help(
                    "write `psa connectwise { company \"ACME\" agreement \"Managed Services\" }`",
                ),
            );
        }
        Some(Psa {
            kind: kind?,
            company: company?,
            agreement: agreement?,
        })
    }

    fn imports(&mut self, file: &ast::File, imports: &[Import]) {
        let uses = file
            .items
            .iter()
            .filter_map(|i| if let Item::Use(u) = i { Some(u) } else { None });
        let mut origin: BTreeMap<String, Span> = BTreeMap::new();
        let mut used: BTreeMap<&str, Span> = BTreeMap::new();
        for (decl, import) in uses.zip(imports) {
            if let Some(first) = used.get(import.module.0.as_str()) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateDefinition,
                        format!("`{}` is used twice", import.module),
                        import.span,
                    )
                    .with_secondary(*first, "first used here")
                    .with_help("remove one of the two `use` lines"),
                );
                continue;
            }
            used.insert(import.module.0.as_str(), import.span);
            let Some(interface) = &import.interface else {
                let (message, help) = import
                    .not_found
                    .clone()
                    .unwrap_or_else(|| (format!("cannot find module `{}`", import.module), None));
                let mut d = Diagnostic::error(Code::UnknownModule, message, import.span);
                if let Some(help) = help {
                    d = d.with_help(help);
                }
                self.report(d);
                continue;
            };
            for (name, ty) in &interface.lets {
                if let Some(first) = origin.get(name) {
                    self.report(
                        Diagnostic::error(
                            Code::DuplicateDefinition,
                            format!("`{name}` is defined by two modules"),
                            decl.span,
                        )
                        .with_secondary(*first, "also defined by this one"),
                    );
                    continue;
                }
                origin.insert(name.clone(), decl.span);
                self.imported
                    .insert(name.clone(), (import.module.clone(), ty.clone()));
            }
        }
    }

    fn collect_lets(&mut self, file: &'a ast::File) {
        for item in &file.items {
            let Item::Let(decl) = item else { continue };
            let name = &decl.name.name;
            if let Some(first) = self.lets.get(name) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateDefinition,
                        format!("`{name}` is defined twice"),
                        decl.name.span,
                    )
                    .with_secondary(first.name.span, "first defined here"),
                );
                continue;
            }
            if self.imported.contains_key(name) {
                let module = self
                    .imported
                    .get(name)
                    .map(|(m, _)| m.to_string())
                    .unwrap_or_default();
                self.report(
                    Diagnostic::error(
                        Code::DuplicateDefinition,
                        format!("`{name}` is already defined by `{module}`"),
                        decl.name.span,
                    )
                    .with_help("choose another name, or drop this definition and use the module's"),
                );
                continue;
            }
            if ["m365", "azure", "period"].contains(&name.as_str()) {
                self.report(Diagnostic::error(
                    Code::DuplicateDefinition,
                    format!("`{name}` is a built-in name"),
                    decl.name.span,
                ));
                continue;
            }
            self.lets.insert(name.clone(), decl);
        }
    }

    /// The type of a local `let`, checking its body on first use; marks it used.
    pub(crate) fn let_type(&mut self, name: &str) -> Option<Type> {
        if !self.lets.contains_key(name) {
            return None;
        }
        self.used_lets.insert(name.to_string());
        self.ensure_let(name)
    }

    fn ensure_let(&mut self, name: &str) -> Option<Type> {
        let decl = *self.lets.get(name)?;
        match self.let_state.get(name) {
            Some(LetState::Done) => return self.let_types.get(name).cloned(),
            Some(LetState::InProgress) => {
                self.report(
                    Diagnostic::error(
                        Code::CyclicDefinition,
                        format!("`{name}` is defined in terms of itself"),
                        decl.name.span,
                    )
                    .with_help("a definition cannot depend on itself, directly or through others"),
                );
                self.let_types.insert(name.to_string(), Type::Error);
                self.let_state.insert(name.to_string(), LetState::Done);
                return Some(Type::Error);
            }
            None => {}
        }
        self.let_state
            .insert(name.to_string(), LetState::InProgress);
        let typed = self.expr(&decl.value, Scope::default());
        if self.let_state.get(name) == Some(&LetState::Done) {
            // A cycle through this definition was reported while checking its body.
            return Some(Type::Error);
        }
        self.let_state.insert(name.to_string(), LetState::Done);
        self.let_types.insert(name.to_string(), typed.ty.clone());
        self.typed_lets.insert(name.to_string(), typed.clone());
        Some(typed.ty)
    }

    fn line(&mut self, line: &ast::Line) {
        let value = self.expr(&line.value, Scope::default());
        let (kind, value) = match line.kind {
            ast::LineKind::Qty => (LineKind::Qty, self.quantity(value)),
            ast::LineKind::Amount => (LineKind::Amount, self.money(value, "an amount")),
        };
        let mut seen: BTreeMap<&'static str, Span> = BTreeMap::new();
        let mut decl = LineDecl {
            name: line.name.name.clone(),
            name_span: line.name.span,
            span: line.span,
            kind,
            value,
            price: None,
            minimum: None,
            included: None,
            tiers: None,
            dated_prices: Vec::new(),
            bundle: Vec::new(),
            split: None,
            product: None,
            description: None,
            agreement: None,
            billing: None,
            term: None,
            rounding: None,
            prorate: None,
            measure: None,
            trueup: None,
        };
        for clause in &line.clauses {
            let keyword = clause.kind.keyword();
            // A price schedule has one `from` clause per change.
            let repeatable = matches!(clause.kind, ClauseKind::DatedPrice { .. });
            if let Some(first) = seen.get(keyword).filter(|_| !repeatable) {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        format!("`{keyword}` is given twice"),
                        clause.keyword,
                    )
                    .with_secondary(*first, "first given here"),
                );
                continue;
            }
            seen.insert(keyword, clause.keyword);
            match &clause.kind {
                ClauseKind::Price(e) => {
                    if line.kind == ast::LineKind::Amount {
                        self.report(
                            Diagnostic::error(Code::BadClause, "an `amount` line has no price", clause.keyword)
                                .with_help("the amount is the price; for quantity times price write `name qty = ... price ...`"),
                        );
                        continue;
                    }
                    let price = self.expr(e, Scope::default());
                    decl.price = Some(self.money(price, "a price"));
                }
                ClauseKind::Minimum(e) => {
                    if line.kind == ast::LineKind::Amount {
                        self.report(
                            Diagnostic::error(
                                Code::BadClause,
                                "`minimum` applies to quantities",
                                clause.keyword,
                            )
                            .with_help("for a minimum charge write it in the amount, e.g. `azure amount = max(sum(azure.usage.cost), 50.00 GBP)`"),
                        );
                        continue;
                    }
                    let minimum = self.expr(e, Scope::default());
                    decl.minimum = Some(self.quantity(minimum));
                }
                ClauseKind::Tiers { mode, tiers } => {
                    self.quantity_only(line, clause, "tiers");
                    decl.tiers = self.tiers(mode, tiers);
                }
                ClauseKind::Bundle(items) => {
                    self.quantity_only(line, clause, "bundle");
                    let mut seen_products: BTreeMap<&str, Span> = BTreeMap::new();
                    for (product, price) in items {
                        if let Some(first) = seen_products.get(product.value.as_str()) {
                            self.report(
                                Diagnostic::error(
                                    Code::BadClause,
                                    format!("`{}` is in the bundle twice", product.value),
                                    product.span,
                                )
                                .with_secondary(*first, "first here"),
                            );
                            continue;
                        }
                        seen_products.insert(product.value.as_str(), product.span);
                        let price = self.expr(price, Scope::default());
                        let price = self.money(price, "a bundle price");
                        if let Some(product) = self.non_empty(product, "product") {
                            decl.bundle.push((product, price));
                        }
                    }
                }
                ClauseKind::DatedPrice { from, until, price } => {
                    self.quantity_only(line, clause, "from ... price");
                    let date = |e: &ast::Expr| match &e.kind {
                        ast::ExprKind::Date(d) => Some(*d),
                        _ => None,
                    };
                    let price = self.expr(price, Scope::default());
                    let price = self.money(price, "a price");
                    if let Some(from_date) = date(from) {
                        decl.dated_prices.push(DatedPrice {
                            from: from_date,
                            until: until.as_ref().and_then(date),
                            price,
                            span: clause.span,
                        });
                    }
                }
                ClauseKind::Included(e) => {
                    self.quantity_only(line, clause, "included");
                    let included = self.expr(e, Scope::default());
                    decl.included = Some(self.quantity(included));
                }
                ClauseKind::Split { key, otherwise } => {
                    decl.split = self.split(key, otherwise.as_ref(), &decl.value);
                    if decl.split.is_some() && otherwise.is_none() {
                        // The data decides whether every user has a department; the rule
                        // should say where those who do not will go.
                        self.report(
                            Diagnostic::warning(
                                Code::BadSplit,
                                format!(
                                    "users with no {} are billed under `(no {})`",
                                    key.name, key.name
                                ),
                                key.span,
                            )
                            .with_help(format!(
                                "name the bucket, e.g. `split by {} otherwise \"Unassigned\"`",
                                key.name
                            )),
                        );
                    }
                }
                ClauseKind::Product(s) => decl.product = self.non_empty(s, "product"),
                ClauseKind::Description(s) => decl.description = self.non_empty(s, "description"),
                ClauseKind::Agreement(s) => decl.agreement = self.non_empty(s, "agreement"),
                ClauseKind::Billing(word) => {
                    decl.billing = self.word(word, "billing", &Billing::ALL, Billing::name);
                }
                ClauseKind::Term(word) => {
                    decl.term = self.word(word, "term", &Term::ALL, Term::name);
                }
                ClauseKind::Rounding(word) => {
                    decl.rounding =
                        self.word(word, "rounding", &LineRounding::ALL, LineRounding::name);
                }
                ClauseKind::Prorate(word) => {
                    decl.prorate = self.word(word, "proration", &Prorate::ALL, Prorate::name);
                    self.quantity_only(line, clause, "prorate");
                }
                ClauseKind::Measure(word) => {
                    decl.measure = self.word(word, "measure", &Measure::ALL, Measure::name);
                    self.quantity_only(line, clause, "measure");
                }
                ClauseKind::Trueup(word) => {
                    decl.trueup = self.word(word, "true-up", &Trueup::ALL, Trueup::name);
                }
            }
        }
        self.clause_combinations(&decl, line);
        self.lines.push(decl);
    }

    fn tiers(&mut self, mode: &ast::Ident, tiers: &[ast::Tier]) -> Option<Tiers> {
        let mode = self.word(mode, "tier mode", &TierMode::ALL, TierMode::name);
        let mut out = Vec::new();
        let mut previous: Option<(i64, Span)> = None;
        let mut ok = true;
        for (index, tier) in tiers.iter().enumerate() {
            let last = index + 1 == tiers.len();
            match (tier.up_to, last) {
                (None, false) => {
                    self.report(
                        Diagnostic::error(
                            Code::BadClause,
                            "only the last tier can be `above`",
                            tier.bound_span,
                        )
                        .with_help("give every tier but the last its upper bound, e.g. `5: 0.00`"),
                    );
                    ok = false;
                }
                (Some(_), true) => {
                    self.report(
                        Diagnostic::error(
                            Code::BadClause,
                            "the last tier must be `above`",
                            tier.bound_span,
                        )
                        .with_help("end with `above: price` so every quantity has a price"),
                    );
                    ok = false;
                }
                _ => {}
            }
            if let Some(bound) = tier.up_to {
                if bound < 1 {
                    self.report(Diagnostic::error(
                        Code::BadClause,
                        "a tier's bound must be at least 1",
                        tier.bound_span,
                    ));
                    ok = false;
                }
                if let Some((before, before_span)) = previous
                    && bound <= before
                {
                    self.report(
                        Diagnostic::error(
                            Code::BadClause,
                            format!("tier bounds must increase, but {bound} follows {before}"),
                            tier.bound_span,
                        )
                        .with_secondary(before_span, "the previous bound"),
                    );
                    ok = false;
                }
                previous = Some((bound, tier.bound_span));
            }
            let price = self.expr(&tier.price, Scope::default());
            let price = self.money(price, "a tier price");
            out.push((tier.up_to.and_then(|b| u64::try_from(b).ok()), price));
        }
        Some(Tiers {
            mode: mode?,
            tiers: out,
        })
        .filter(|_| ok)
    }

    /// Dated prices must not overlap: each `from` starts a price that lasts until its `until`
    /// or the next `from`; an explicit `until` may not reach the next `from`.
    fn check_schedule(&mut self, decl: &LineDecl) {
        let mut dated: Vec<&DatedPrice> = decl.dated_prices.iter().collect();
        dated.sort_by_key(|d| d.from);
        for d in &dated {
            if let Some(until) = d.until
                && until < d.from
            {
                self.report(
                    Diagnostic::error(
                        Code::BadClause,
                        format!("the price ends ({until}) before it starts ({})", d.from),
                        d.span,
                    )
                    .with_help("swap the dates"),
                );
            }
        }
        // Open-ended prices form a schedule (each lasts until the next); a price with an `until`
        // overrides it for its days, so it may neither overlap another such price nor straddle a
        // change of the schedule.
        let open: Vec<&&DatedPrice> = dated.iter().filter(|d| d.until.is_none()).collect();
        let bounded: Vec<&&DatedPrice> = dated.iter().filter(|d| d.until.is_some()).collect();
        let clash =
            |this: &mut Self, later: &DatedPrice, earlier: &DatedPrice, day: chrono::NaiveDate| {
                this.report(
                    Diagnostic::error(
                        Code::BadClause,
                        format!("two prices are in force on {day}"),
                        later.span,
                    )
                    .with_secondary(earlier.span, "this one covers that day too")
                    .with_help("end the earlier price before the later one starts"),
                );
            };
        for pair in open.windows(2) {
            if let [a, b] = pair
                && a.from == b.from
            {
                clash(self, b, a, b.from);
            }
        }
        for (n, a) in bounded.iter().enumerate() {
            let a_until = a.until.unwrap_or(a.from);
            for b in bounded.iter().skip(n + 1) {
                if b.from <= a_until {
                    clash(self, b, a, b.from);
                }
            }
            for o in &open {
                if a.from < o.from && o.from <= a_until {
                    clash(self, o, a, o.from);
                }
            }
        }
        if !dated.is_empty() && decl.tiers.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a tiered line cannot also have dated prices yet",
                    dated[0].span,
                )
                .with_help("date the change with a second line"),
            );
        }
    }

    fn quantity_only(&mut self, line: &ast::Line, clause: &ast::Clause, keyword: &str) {
        if line.kind == ast::LineKind::Amount {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    format!("`{keyword}` applies to quantities"),
                    clause.keyword,
                )
                .with_help("an `amount` line bills the period's amount as it is"),
            );
        }
    }

    /// Clauses that only make sense together, or not at all together.
    fn clause_combinations(&mut self, decl: &LineDecl, line: &ast::Line) {
        let span_of = |keyword: &str| {
            line.clauses
                .iter()
                .find(|c| c.kind.keyword() == keyword)
                .map_or(line.name.span, |c| c.keyword)
        };
        let prorated = decl.prorate == Some(Prorate::Daily);
        if prorated && decl.measure.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a prorated line bills every day; `measure` has nothing to choose",
                    span_of("measure"),
                )
                .with_secondary(span_of("prorate"), "prorated here")
                .with_help("remove `measure`, or remove `prorate daily` to bill one count"),
            );
        }
        if decl.trueup.is_some() && !prorated {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "`trueup` needs `prorate daily`",
                    span_of("trueup"),
                )
                .with_help(
                    "true-ups bill last period's mid-period changes by day: add `prorate daily`",
                ),
            );
        }
        self.check_schedule(decl);
        let pricings = [
            decl.price.is_some() || !decl.dated_prices.is_empty(),
            decl.tiers.is_some(),
            !decl.bundle.is_empty(),
        ];
        if !decl.bundle.is_empty()
            && (pricings.iter().filter(|p| **p).count() > 1 || prorated || decl.split.is_some())
        {
            self.report(
                Diagnostic::error(Code::BadClause, "a bundle prices its own products", span_of("bundle"))
                    .with_help("a bundle line has no `price`, `tiers`, `prorate` or `split by`: bill those on another line"),
            );
        }
        if decl.tiers.is_some() && decl.price.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a line has either a `price` or `tiers`",
                    span_of("tiers"),
                )
                .with_secondary(span_of("price"), "the price is here")
                .with_help("keep one of the two"),
            );
        }
        if decl.tiers.is_some() && (prorated || decl.split.is_some()) {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "tiered lines cannot be prorated or split yet",
                    span_of("tiers"),
                )
                .with_help("bill the tiers on their own line"),
            );
        }
        if prorated
            && decl.price.is_none()
            && decl.dated_prices.is_empty()
            && line.kind == ast::LineKind::Qty
        {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a prorated line needs a price",
                    span_of("prorate"),
                )
                .with_help("proration divides a price by days: add `price ...`"),
            );
        }
        if prorated && decl.split.is_some() {
            self.report(
                Diagnostic::error(
                    Code::BadClause,
                    "a prorated line cannot be split yet",
                    span_of("split by"),
                )
                .with_help("bill the split and the proration on two lines"),
            );
        }
        if matches!(
            decl.rounding,
            Some(LineRounding::TruncateProduct | LineRounding::TruncateUnit)
        ) && !prorated
        {
            self.report(
                Diagnostic::warning(
                    Code::BadClause,
                    "this rounding only differs from `truncate` on prorated charges",
                    span_of("rounding"),
                )
                .with_help("use `truncate`, or add `prorate daily`"),
            );
        }
    }

    fn non_empty(&mut self, s: &ast::StringLit, what: &str) -> Option<String> {
        if s.value.trim().is_empty() {
            self.report(Diagnostic::error(
                Code::BadClause,
                format!("the {what} is empty"),
                s.span,
            ));
            None
        } else {
            Some(s.value.clone())
        }
    }

    /// One of a clause's words, e.g. `advance` for `billing`.
    fn word<T: Copy>(
        &mut self,
        word: &ast::Ident,
        what: &str,
        choices: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        if let Some(value) = choices.iter().find(|c| name(**c) == word.name) {
            return Some(*value);
        }
        let names = Names::new(&word.name, choices.iter().map(|c| name(*c)))
            .listed_as("write")
            .as_alternatives();
        self.report(
            Diagnostic::error(
                Code::BadClause,
                format!("unknown {what} `{}`", word.name),
                word.span,
            )
            .with_name_help(word.span, &names),
        );
        None
    }

    /// A line's quantity: a whole number (a list of users counts as its length).
    fn quantity(&mut self, value: TExpr) -> TExpr {
        let value = self.numeric(value);
        match &value.ty {
            Type::Int | Type::Error => value,
            Type::Decimal | Type::Percent => {
                self.report(
                    Diagnostic::error(
                        Code::NonIntegerQuantity,
                        "a seat quantity must be a whole number",
                        value.span,
                    )
                    .with_label_message(format!("this is {}", value.ty.describe()))
                    .with_help(
                        "say how to make it whole: `ceil(...)`, `floor(...)` or `round(...)`",
                    ),
                );
                TExpr::error(value.span)
            }
            Type::Money(_) => {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        "a quantity is a count, but this is money",
                        value.span,
                    )
                    .with_help("to bill an amount of money write `name amount = ...`"),
                );
                TExpr::error(value.span)
            }
            other => {
                self.report(Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "a quantity must be a whole number, but this is {}",
                        other.describe()
                    ),
                    value.span,
                ));
                TExpr::error(value.span)
            }
        }
    }

    /// A price or amount: money in the customer's currency; a plain number is taken to be in it.
    fn money(&mut self, value: TExpr, what: &str) -> TExpr {
        let value = self.numeric(value);
        let span = value.span;
        match &value.ty {
            Type::Error => value,
            Type::Int | Type::Decimal => TExpr {
                ty: self.localise(&Type::Money(CurrencyRef::Customer)),
                kind: TExprKind::ToMoney(Box::new(value)),
                span,
            },
            Type::Money(CurrencyRef::Fixed(c)) => {
                if let Some(customer) = self.customer_currency
                    && customer != *c
                {
                    self.report(
                        Diagnostic::error(
                            Code::CurrencyMismatch,
                            format!("{what} in {c} for a customer invoiced in {customer}"),
                            span,
                        )
                        .with_help(format!(
                            "write it in {customer}: Tally never converts currencies"
                        )),
                    );
                    return TExpr::error(span);
                }
                value
            }
            Type::Money(CurrencyRef::Customer) => value,
            other => {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("{what} must be money, but this is {}", other.describe()),
                        span,
                    )
                    .with_help("write an amount like `25.00` or `25.00 GBP`, or a cost times a markup like `bp.cost * 1.12`"),
                );
                TExpr::error(span)
            }
        }
    }

    fn split(
        &mut self,
        key: &ast::Ident,
        otherwise: Option<&ast::StringLit>,
        value: &TExpr,
    ) -> Option<SplitDecl> {
        let Some(split_key) = SplitKey::from_name(&key.name) else {
            let names = Names::new(&key.name, SplitKey::ALL.map(SplitKey::name))
                .listed_as("a line can be split by");
            self.report(
                Diagnostic::error(
                    Code::BadSplit,
                    format!("cannot split by `{}`: it is not a user attribute", key.name),
                    key.span,
                )
                .with_name_help(key.span, &names),
            );
            return None;
        };
        if value.ty.is_error() {
            return None;
        }
        let mut populations = Vec::new();
        user_lists(value, &mut populations);
        let mut distinct: Vec<&TExpr> = Vec::new();
        for p in populations {
            if !distinct.iter().any(|d| d.same_shape(p)) {
                distinct.push(p);
            }
        }
        match distinct.as_slice() {
            [one] => Some(SplitDecl {
                key: split_key,
                key_span: key.span,
                otherwise: otherwise.map(|o| o.value.clone()),
                population: (*one).clone(),
            }),
            [] => {
                self.report(
                    Diagnostic::error(Code::BadSplit, "nothing to split: the quantity counts no users", key.span)
                        .with_secondary(value.span, "this does not count users")
                        .with_help("a split follows the users the line counts, e.g. `qty = count(staff) split by department`"),
                );
                None
            }
            [first, second, ..] => {
                self.report(
                    Diagnostic::error(
                        Code::BadSplit,
                        "cannot tell which users to split by",
                        key.span,
                    )
                    .with_secondary(first.span, "these users")
                    .with_secondary(second.span, "or these")
                    .with_help("define the users once with `let` and count only them"),
                );
                None
            }
        }
    }
}

/// The outermost lists of users in an expression (the users a line counts).
fn user_lists<'e>(expr: &'e TExpr, out: &mut Vec<&'e TExpr>) {
    if expr.ty == Type::List(Box::new(Type::Record(Record::User))) {
        out.push(expr);
        return;
    }
    for child in expr.children() {
        user_lists(child, out);
    }
}
