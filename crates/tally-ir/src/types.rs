//! The types of Tally values.

use tally_money::Currency;

/// The currency of a money type. Snapshot costs are in "the customer's currency", which a shared
/// module cannot know; a customer file knows it from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CurrencyRef {
    Customer,
    Fixed(Currency),
}

impl std::fmt::Display for CurrencyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CurrencyRef::Customer => f.write_str("the customer's currency"),
            CurrencyRef::Fixed(c) => write!(f, "{c}"),
        }
    }
}

/// Records that come from the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Record {
    User,
    Sku,
    Usage,
    Period,
}

/// Built-in roots of the snapshot: `m365`, `azure`, `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    M365,
    Azure,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Int,
    Decimal,
    Percent,
    Money(CurrencyRef),
    Bool,
    Text,
    Date,
    List(Box<Type>),
    Record(Record),
    Namespace(Namespace),
    /// The type of something already reported as wrong: never reported again.
    Error,
}

impl Type {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal | Type::Percent)
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Type::Error)
    }

    /// A list of records counts as its length wherever a number is wanted
    /// (`max(m365.users, 10)`).
    pub fn is_countable(&self) -> bool {
        matches!(self, Type::List(inner) if matches!(**inner, Type::Record(_)))
    }

    /// Replaces "the customer's currency" by the one the customer file declares.
    pub fn with_customer_currency(&self, currency: Option<Currency>) -> Type {
        match (self, currency) {
            (Type::Money(CurrencyRef::Customer), Some(c)) => Type::Money(CurrencyRef::Fixed(c)),
            (Type::List(inner), _) => Type::List(Box::new(inner.with_customer_currency(currency))),
            _ => self.clone(),
        }
    }

    /// How the type is named in messages: "a number", "money in GBP", "a list of users".
    pub fn describe(&self) -> String {
        match self {
            Type::Int => "a whole number".into(),
            Type::Decimal => "a decimal number".into(),
            Type::Percent => "a percentage".into(),
            Type::Money(c) => format!("money in {c}"),
            Type::Bool => "a true/false value".into(),
            Type::Text => "text".into(),
            Type::Date => "a date".into(),
            Type::List(inner) => match &**inner {
                Type::Record(r) => format!("a list of {}", record_plural(*r)),
                other => format!("a list of {}", other.describe()),
            },
            Type::Record(r) => format!("a {}", record_name(*r)),
            Type::Namespace(Namespace::M365) => "the `m365` data".into(),
            Type::Namespace(Namespace::Azure) => "the `azure` data".into(),
            Type::Error => "an unknown type".into(),
        }
    }
}

pub fn record_name(record: Record) -> &'static str {
    match record {
        Record::User => "user",
        Record::Sku => "subscribed SKU",
        Record::Usage => "usage row",
        Record::Period => "billing period",
    }
}

pub fn record_plural(record: Record) -> &'static str {
    match record {
        Record::User => "users",
        Record::Sku => "subscribed SKUs",
        Record::Usage => "usage rows",
        Record::Period => "billing periods",
    }
}
