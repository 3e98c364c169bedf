//! The `customer` header: a tenant and a currency are required, a PSA target and a billing day
//! are optional, and each is given at most once.

use crate::{Checker, CustomerDecl};
use tally_diagnostics::{Code, Diagnostic, Names, Span, list_and};
use tally_ir::{Psa, PsaKind};
use tally_syntax::ast::{self, CustomerField};

/// The header's fields as read, before the required ones are checked.
#[derive(Default)]
struct Fields {
    tenant: Option<(String, Span)>,
    currency_seen: bool,
    psa: Option<Option<Psa>>,
    billing_day: Option<u32>,
}

impl Checker<'_> {
    pub(super) fn customer(&mut self, customer: &ast::Customer) {
        let mut fields = Fields::default();
        for field in &customer.fields {
            self.customer_field(field, &mut fields);
        }
        if !fields.currency_seen {
            self.report(
                Diagnostic::error(
                    Code::BadCustomer,
                    format!("customer `{}` has no currency", customer.name.value),
                    customer.keyword,
                )
                .with_help("add `currency GBP` (the currency the customer is invoiced in)"),
            );
        }
        let Some((tenant, tenant_span)) = fields.tenant else {
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
            psa: fields.psa.flatten(),
            billing_day: fields.billing_day.unwrap_or(1),
            span: customer.span,
        });
    }

    fn customer_field(&mut self, field: &CustomerField, fields: &mut Fields) {
        match field {
            CustomerField::Tenant { value, span } => {
                if fields.tenant.is_some() {
                    self.twice("tenant", *span);
                } else if value.value.trim().is_empty() {
                    self.report(Diagnostic::error(Code::BadCustomer, "the tenant is empty", value.span)
                        .with_help("write the tenant's domain, e.g. `tenant \"contoso.onmicrosoft.com\"`"));
                } else {
                    fields.tenant = Some((value.value.clone(), value.span));
                }
            }
            CustomerField::Currency { code, span } => {
                if fields.currency_seen {
                    self.twice("currency", *span);
                } else {
                    fields.currency_seen = true;
                    self.customer_currency = self.currency(code);
                }
            }
            CustomerField::Psa(p) => {
                if fields.psa.is_some() {
                    self.twice("psa", p.span);
                } else {
                    fields.psa = Some(self.psa(p));
                }
            }
            CustomerField::BillingDay { day, span } => {
                if fields.billing_day.is_some() {
                    self.twice("billing_day", *span);
                } else if (1..=28).contains(day) {
                    fields.billing_day = u32::try_from(*day).ok();
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

    fn twice(&mut self, what: &str, span: Span) {
        self.report(
            Diagnostic::error(Code::BadCustomer, format!("`{what}` is given twice"), span)
                .with_help("keep one"),
        );
    }

    /// `psa connectwise { company "ACME" agreement "Managed Services" }`
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
        let (company, agreement) = self.psa_settings(psa);
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

    /// The `company` and `agreement` of a PSA target; unknown and repeated settings reported.
    fn psa_settings(&mut self, psa: &ast::Psa) -> (Option<String>, Option<String>) {
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
        (company, agreement)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{fix, messages, module};
    use tally_diagnostics::Code;

    #[test]
    fn a_header_needs_a_tenant_and_a_currency_once_each() {
        let checked = module("customer \"C\" {\n  billing_day 2\n  billing_day 31\n}\n");
        assert_eq!(
            messages(&checked),
            [
                (Code::BadCustomer, "customer `C` has no currency".into()),
                (Code::BadCustomer, "customer `C` has no tenant".into()),
                (Code::BadCustomer, "`billing_day` is given twice".into()),
            ]
        );
        assert!(checked.customer.is_none());
        let checked =
            module("customer \"C\" {\n  tenant \"c.com\"\n  currency GBP\n  billing_day 31\n}\n");
        assert_eq!(
            messages(&checked),
            [(
                Code::BadCustomer,
                "billing day 31 is not a day every month has".into()
            )]
        );
    }

    #[test]
    fn a_psa_target_is_checked_setting_by_setting() {
        let source = "customer \"C\" {\n  tenant \"c.com\"\n  currency GBP\n  psa conectwise { compnay \"X\" agreement \"Y\" }\n}\n";
        let checked = module(source);
        assert_eq!(
            messages(&checked),
            [
                (Code::BadCustomer, "the PSA target needs `company`".into()),
                (Code::BadCustomer, "unknown PSA `conectwise`".into()),
                (Code::BadCustomer, "unknown PSA setting `compnay`".into()),
            ]
        );
        assert_eq!(
            fix(source, &checked.diagnostics[1].suggestions[0]),
            ("conectwise", "connectwise")
        );
        assert_eq!(
            fix(source, &checked.diagnostics[2].suggestions[0]),
            ("compnay", "company")
        );
        let customer = checked
            .customer
            .as_ref()
            .map(|c| (c.tenant.as_str(), c.psa.is_none()));
        assert_eq!(customer, Some(("c.com", true)));
    }
}
