//! Values as the explanation writes them: `27`, `18.10 GBP`, `27 users`, a user's UPN.

use super::{Evaluator, Outcome};
use crate::value::{Value, show_decimal};
use tally_diagnostics::Span;

impl Evaluator<'_> {
    /// `value` for people. `span` is the rule text it came from, for an internal error when a
    /// record is not in the tenant's data.
    pub(super) fn show(&self, value: &Value, span: Span) -> Outcome<String> {
        Ok(match value {
            Value::Num(n) => show_decimal(*n),
            Value::Money(m) => m.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Text(t) => format!("{t:?}"),
            Value::Date(d) => d.to_string(),
            Value::List(items) => show_list(items),
            Value::User(i) => self.user(*i, span)?.upn.clone(),
            Value::Sku { entries, name } => self.show_sku(entries, name, span)?,
            Value::Usage(i) => {
                let row = self.usage_row(*i, span)?;
                format!("{} {} {}", row.date, row.meter_category, row.cost)
            }
            Value::Period => format!("{} to {}", self.period.start, self.period.end),
        })
    }

    /// `SPB Microsoft 365 Business Premium (12 assigned of 15 purchased, 16.50 GBP per seat)`;
    /// the cost only when every subscription to the SKU agrees on it.
    fn show_sku(&self, entries: &[usize], name: &str, span: Span) -> Outcome<String> {
        let subscriptions = self.subscriptions(entries, span)?;
        let Some(first) = subscriptions.first() else {
            return Ok(format!("{name} (not subscribed)"));
        };
        let assigned: u64 = subscriptions.iter().map(|s| u64::from(s.assigned)).sum();
        let purchased: u64 = subscriptions.iter().map(|s| u64::from(s.purchased)).sum();
        let cost = if subscriptions.iter().all(|s| s.unit_cost == first.unit_cost) {
            format!(", {} per seat", first.unit_cost)
        } else {
            String::new()
        };
        let product = catalog_name(&first.sku_id)
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        Ok(format!(
            "{}{product} ({assigned} assigned of {purchased} purchased{cost})",
            first.part_number
        ))
    }
}

/// "27 users", "1 user", "3 items".
fn show_list(items: &[Value]) -> String {
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

/// The product name from Microsoft's SKU table.
pub(super) fn catalog_name(guid: &str) -> Option<String> {
    tally_skus::catalog()
        .by_guid(guid)
        .map(|s| s.display_name.clone())
}

#[cfg(test)]
mod tests {
    use super::super::testing::Fixture;
    use super::*;
    use rust_decimal::Decimal;
    use tally_diagnostics::Code;

    #[test]
    fn lists_say_what_they_hold() {
        assert_eq!(show_list(&[Value::User(0)]), "1 user");
        assert_eq!(show_list(&[Value::User(0), Value::User(1)]), "2 users");
        assert_eq!(show_list(&[Value::Usage(0)]), "1 usage rows");
        assert_eq!(show_list(&[Value::Num(Decimal::ONE)]), "1 items");
    }

    #[test]
    fn records_show_their_data() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let shown = evaluator.show(&Value::User(0), Span::default());
        assert_eq!(shown.ok().as_deref(), Some("ana@contoso.com"));
        let decimal = evaluator.show(&Value::Num(Decimal::new(1200, 3)), Span::default());
        assert_eq!(decimal.ok().as_deref(), Some("1.2"));
    }

    #[test]
    fn a_user_outside_the_tenant_is_an_internal_error() {
        let fixture = Fixture::new();
        let evaluator = fixture.evaluator();
        let shown = evaluator.show(&Value::User(99), Span::default());
        assert_eq!(shown.err().map(|d| d.code), Some(Code::Internal));
    }
}
