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
    /// The tenant's subscriptions to one SKU (indices into its subscribed SKUs): none when it
    /// has no such subscription, several when it holds the SKU on several terms.
    Sku {
        entries: Vec<usize>,
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
