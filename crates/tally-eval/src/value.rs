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

/// A number without a negative zero: `ceil(-0.5)` is `-0`, which is 0 units, neither negative nor
/// a fraction. The scale is kept (`-0.00` becomes `0.00`).
pub(crate) fn without_negative_zero(mut d: Decimal) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

/// A number value, negative zero made zero.
pub(crate) fn num(d: Decimal) -> Value {
    Value::Num(without_negative_zero(d))
}

/// How a value is named in internal errors: "a number", "money in GBP", "a list".
pub(crate) fn kind(value: &Value) -> String {
    match value {
        Value::Num(_) => "a number".into(),
        Value::Money(m) => format!("money in {}", m.currency()),
        Value::Bool(_) => "true or false".into(),
        Value::Text(_) => "text".into(),
        Value::Date(_) => "a date".into(),
        Value::List(_) => "a list".into(),
        Value::User(_) => "a user".into(),
        Value::Sku { .. } => "a subscribed SKU".into(),
        Value::Usage(_) => "a usage row".into(),
        Value::Period => "the billing period".into(),
    }
}
