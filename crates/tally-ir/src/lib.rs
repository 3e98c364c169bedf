//! The typed IR: one customer's rules linked with every module they use into a [`Program`] the
//! evaluator can run without looking anything up. Every default is decided here (product,
//! description, billing timing, rounding, agreement) so that evaluation and the plan never
//! guess.

use std::collections::BTreeMap;
use std::sync::Arc;
use tally_check::{
    Billing, Checked, LetId, LineRounding, Measure, ModuleKey, Prorate, PsaDecl, SplitDecl, TExpr,
    Term, Trueup,
};
use tally_money::Currency;
use tally_syntax::ast::LineKind;
use tally_syntax::{Code, Diagnostic, Span};

/// The text of every file a program was built from, for provenance and explanations.
pub type Sources = BTreeMap<ModuleKey, Arc<str>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub customer: Customer,
    pub lets: BTreeMap<LetId, TExpr>,
    pub lines: Vec<Line>,
    pub sources: Sources,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub name: String,
    pub tenant: String,
    pub tenant_span: Span,
    pub currency: Currency,
    pub psa: Option<PsaDecl>,
    /// Billing periods start on this day of the month (1 = calendar months).
    pub billing_day: u32,
    /// The customer's rule file.
    pub module: ModuleKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub name: String,
    pub module: ModuleKey,
    pub span: Span,
    pub kind: LineKind,
    /// A whole number of units for `qty` lines, money for `amount` lines.
    pub value: TExpr,
    /// `None`: a quantity-only line, priced by the PSA's product catalogue.
    pub price: Option<TExpr>,
    pub minimum: Option<TExpr>,
    /// Units included at no charge: billed = max(count after minimum − included, 0).
    pub included: Option<TExpr>,
    pub tiers: Option<tally_check::TiersDecl>,
    /// Sorted by start date.
    pub dated_prices: Vec<tally_check::DatedPrice>,
    pub bundle: Vec<(String, TExpr)>,
    pub split: Option<Split>,
    pub product: String,
    pub description: String,
    /// The PSA agreement (ConnectWise agreement, Autotask contract, Halo recurring invoice).
    pub agreement: Option<String>,
    pub billing: Billing,
    pub term: Option<Term>,
    pub rounding: LineRounding,
    pub prorate: Prorate,
    /// Which count is billed when not prorated: the period's start for advance lines, its end
    /// for arrears lines, unless the rule says.
    pub measure: Measure,
    pub trueup: Trueup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub key: tally_check::SplitKey,
    /// The bucket for users with no value for the key.
    pub otherwise: String,
    pub population: TExpr,
}

/// Links a checked customer file with the checked modules it uses (directly or not).
/// Refuses (with the reason) when any of them has errors: a plan is never built from rules
/// that do not check.
pub fn link(
    customer_file: &Checked,
    modules: &[&Checked],
    sources: Sources,
) -> Result<Program, Diagnostic> {
    let Some(decl) = &customer_file.customer else {
        return Err(Diagnostic::error(
            Code::BadCustomer,
            format!(
                "`{}` has no `customer` header, so it has no plan",
                customer_file.module
            ),
            Span::default(),
        )
        .with_help("a file without a customer is a module: `use` it from a customer file"));
    };
    if let Some(bad) = std::iter::once(customer_file)
        .chain(modules.iter().copied())
        .find(|c| c.has_errors())
    {
        return Err(Diagnostic::error(
            Code::Syntax,
            format!("`{}` has errors; run `tally check` to see them", bad.module),
            Span::default(),
        ));
    }
    let Some(currency) = decl.currency else {
        return Err(Diagnostic::error(
            Code::BadCustomer,
            "the customer has no currency",
            decl.span,
        ));
    };
    let mut lets = BTreeMap::new();
    for checked in std::iter::once(customer_file).chain(modules.iter().copied()) {
        for (name, body) in &checked.lets {
            lets.insert(
                LetId {
                    module: checked.module.clone(),
                    name: name.clone(),
                },
                body.clone(),
            );
        }
    }
    let lines = customer_file
        .lines
        .iter()
        .map(|l| Line {
            name: l.name.clone(),
            module: customer_file.module.clone(),
            span: l.span,
            kind: l.kind,
            value: l.value.clone(),
            price: l.price.clone(),
            minimum: l.minimum.clone(),
            included: l.included.clone(),
            tiers: l.tiers.clone(),
            bundle: l.bundle.clone(),
            dated_prices: {
                let mut dated = l.dated_prices.clone();
                dated.sort_by_key(|d| d.from);
                dated
            },
            split: l.split.as_ref().map(|s: &SplitDecl| Split {
                key: s.key,
                otherwise: s
                    .otherwise
                    .clone()
                    .unwrap_or_else(|| format!("(no {})", s.key.name())),
                population: s.population.clone(),
            }),
            product: l.product.clone().unwrap_or_else(|| l.name.clone()),
            description: l.description.clone().unwrap_or_else(|| humanise(&l.name)),
            agreement: l.agreement.clone(),
            billing: l.billing.unwrap_or(match l.kind {
                LineKind::Qty => Billing::Advance,
                LineKind::Amount => Billing::Arrears,
            }),
            term: l.term,
            rounding: l.rounding.unwrap_or_default(),
            prorate: l.prorate.unwrap_or_default(),
            measure: l.measure.unwrap_or(match l.billing {
                Some(Billing::Arrears) => Measure::End,
                Some(Billing::Advance) => Measure::Start,
                None if l.kind == LineKind::Amount => Measure::End,
                None => Measure::Start,
            }),
            trueup: l.trueup.unwrap_or_default(),
        })
        .collect();
    Ok(Program {
        customer: Customer {
            name: decl.name.clone(),
            tenant: decl.tenant.clone(),
            tenant_span: decl.tenant_span,
            currency,
            psa: decl.psa.clone(),
            billing_day: decl.billing_day,
            module: customer_file.module.clone(),
        },
        lets,
        lines,
        sources,
    })
}

/// `web_filtering` → "Web filtering": the default invoice description.
pub fn humanise(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Program {
    /// The source text under a span of one of the program's files.
    pub fn text(&self, module: &ModuleKey, span: Span) -> &str {
        self.sources.get(module).map_or("", |s| span.text(s))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_descriptions_read_like_words() {
        assert_eq!(super::humanise("web_filtering"), "Web filtering");
        assert_eq!(super::humanise("m365_bp"), "M365 bp");
    }
}
