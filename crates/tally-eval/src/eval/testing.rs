//! Test fixtures: a small tenant, and programs built by hand or from rule text by the real
//! parser and checker.

use super::{Ctx, Evaluator, Result};
use crate::{EvalError, Evaluation, LineResult};
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_diagnostics::{Code, Span};
use tally_ir::{Customer, ModuleKey, Program, TExpr, TExprKind, Type};
use tally_money::{Currency, Money};
use tally_snapshot::{Period, Snapshot, Tenant};

/// Ana and Bo hold Business Premium; Cy holds nothing and has no department; Dan is disabled.
/// Three usage rows fall in October 2026, one in September.
const SNAPSHOT: &str = r#"{
  "version": 2,
  "period": { "start": "2026-10-01", "end": "2026-10-31" },
  "tenants": [{
    "tenant": "contoso.onmicrosoft.com",
    "users": [
      { "id": "u0", "upn": "ana@contoso.com", "display_name": "Ana", "department": "Sales",
        "enabled": true, "assigned_skus": ["cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"] },
      { "id": "u1", "upn": "bo@contoso.com", "display_name": "Bo", "department": "Support",
        "enabled": true, "assigned_skus": ["CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46"] },
      { "id": "u2", "upn": "cy@contoso.com", "display_name": "Cy",
        "enabled": true, "assigned_skus": [] },
      { "id": "u3", "upn": "dan@contoso.com", "display_name": "Dan", "department": "sales ",
        "enabled": false, "assigned_skus": ["3b555118-da6a-4418-894f-7df1e2096870"] }
    ],
    "subscribed_skus": [
      { "sku_id": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "part_number": "SPB",
        "purchased": 5, "assigned": 2, "unit_cost": { "amount": "16.50", "currency": "GBP" },
        "term": "annual", "billing_plan": "monthly", "term_start": "2025-03-15" },
      { "sku_id": "3b555118-da6a-4418-894f-7df1e2096870", "part_number": "O365_BUSINESS_ESSENTIALS",
        "purchased": 1, "assigned": 1, "unit_cost": { "amount": "6.00", "currency": "USD" },
        "term": "monthly", "billing_plan": "monthly" }
    ],
    "counters": [ { "name": "rmm.devices", "value": 3, "as_of": "2026-10-31" } ],
    "azure_usage": [
      { "date": "2026-10-05", "subscription_id": "s", "resource_group": "rg", "meter_category": "Virtual Machines",
        "meter_name": "D4s v5", "quantity": "24", "cost": { "amount": "10.00", "currency": "GBP" },
        "tags": { "project": "Apollo" } },
      { "date": "2026-10-06", "subscription_id": "s", "resource_group": "rg", "meter_category": "Storage",
        "meter_name": "LRS", "quantity": "100", "cost": { "amount": "2.00", "currency": "GBP" },
        "tags": { "Project": "APOLLO" } },
      { "date": "2026-10-07", "subscription_id": "s", "resource_group": "rg", "meter_category": "Virtual Machines",
        "meter_name": "D4s v5", "quantity": "12", "cost": { "amount": "5.00", "currency": "GBP" },
        "tags": { "project": "Zeus" } },
      { "date": "2026-09-30", "subscription_id": "s", "resource_group": "rg", "meter_category": "Virtual Machines",
        "meter_name": "D4s v5", "quantity": "24", "cost": { "amount": "100.00", "currency": "GBP" },
        "tags": { "project": "Apollo" } }
    ]
  }],
  "rates": [ { "from": "USD", "to": "GBP", "rate": "0.80", "date": "2026-10-01" } ]
}"#;

const HEADER: &str =
    "customer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency GBP\n}\n\n";

pub(super) fn gbp() -> Currency {
    Currency::from_code("GBP").unwrap()
}

pub(super) fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

pub(super) fn gbp_money(amount: &str) -> Money {
    Money::new(amount.parse().unwrap(), gbp())
}

/// The code of a failed evaluation.
pub(super) fn code<T>(result: Result<T>) -> Option<Code> {
    result.err().map(|e| e.diagnostic.code)
}

pub(super) struct Fixture {
    pub program: Program,
    pub snapshot: Snapshot,
    pub view: Tenant,
    pub period: Period,
}

impl Fixture {
    /// The tenant, and a program with no lines.
    pub fn new() -> Fixture {
        let module = ModuleKey("test.tally".into());
        let program = Program {
            customer: Customer {
                name: "Contoso".into(),
                tenant: "contoso.onmicrosoft.com".into(),
                tenant_span: Span::default(),
                currency: gbp(),
                psa: None,
                billing_day: 1,
                module: module.clone(),
            },
            lets: BTreeMap::new(),
            lines: Vec::new(),
            sources: [(module, Arc::from(""))].into_iter().collect(),
        };
        Fixture::with_program(program)
    }

    /// The tenant, and the customer's `lines` (and definitions) checked and linked.
    pub fn with_rules(lines: &str) -> Fixture {
        let text = format!("{HEADER}{lines}\n");
        let module = ModuleKey("test.tally".into());
        let parsed = tally_syntax::parse(&text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let checked = tally_check::check(&parsed.file, module.clone(), &[]);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let sources = [(module, Arc::from(text.as_str()))].into_iter().collect();
        let program = tally_check::link(&checked, &[], sources).unwrap();
        Fixture::with_program(program)
    }

    fn with_program(program: Program) -> Fixture {
        let snapshot = tally_snapshot::from_json(SNAPSHOT).unwrap();
        let period = snapshot.period.unwrap();
        let view = snapshot.tenants[0].at(period.end);
        Fixture {
            program,
            snapshot,
            view,
            period,
        }
    }

    /// An evaluator of the tenant at the period's end.
    pub fn evaluator(&self) -> Evaluator<'_> {
        Evaluator::new(
            &self.program,
            &self.view,
            &self.period,
            &self.snapshot,
            self.period.end,
            super::Detail::Names,
        )
    }

    /// The customer file, traced.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx::clause(&self.program.customer.module)
    }

    /// Any expression, for the span errors point at.
    pub fn leaf(&self) -> TExpr {
        TExpr {
            kind: TExprKind::Int(0),
            ty: Type::Int,
            span: Span::default(),
        }
    }

    pub fn evaluate(&self) -> std::result::Result<Evaluation, Vec<EvalError>> {
        super::evaluate(&self.program, &self.snapshot, &self.period)
    }

    /// The result of line `index`, which must evaluate.
    pub fn line(&self, index: usize) -> LineResult {
        let evaluation = self.evaluate().unwrap();
        evaluation.lines[index].clone()
    }
}
