//! Runtime values. Numbers of every kind (whole, decimal, percentage) are exact decimals; the
//! checker already guarantees which operations make sense.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_money::Money;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(Decimal),
    Money(Money),
    Bool(bool),
    Text(String),
    Date(NaiveDate),
    List(Vec<Value>),
    /// Index into the tenant's users.
    User(usize),
    /// Index into the tenant's subscribed SKUs; `None` when the tenant has no such subscription.
    Sku {
        index: Option<usize>,
        name: String,
    },
    /// Index into the tenant's usage rows.
    Usage(usize),
    Period,
}

impl Value {
    pub fn as_bool(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

/// A decimal written without trailing zeros: `10`, `1.12`, `0.5`.
pub fn show_decimal(d: Decimal) -> String {
    d.normalize().to_string()
}
