//! The fields of snapshot records as the language sees them. One table, used for checking,
//! "did you mean", the language reference and evaluation.

use crate::types::{CurrencyRef, Namespace, Record, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    // user
    UserId,
    Upn,
    DisplayName,
    Department,
    Office,
    City,
    Enabled,
    Licensed,
    // subscribed SKU
    SkuId,
    PartNumber,
    SkuName,
    Purchased,
    Assigned,
    Available,
    Cost,
    TermCost,
    Term,
    BillingPlan,
    TermStart,
    TermEnd,
    // usage row
    UsageDate,
    SubscriptionId,
    ResourceGroup,
    MeterCategory,
    MeterName,
    UsageQuantity,
    UsageCost,
    // period
    Start,
    End,
    Days,
}

/// (name, field, type, description) for every field of a record.
pub fn fields_of(record: Record) -> &'static [(&'static str, Field, FieldType, &'static str)] {
    use Field::*;
    use FieldType as T;
    match record {
        Record::User => &[
            ("id", UserId, T::Text, "the user's object id"),
            ("upn", Upn, T::Text, "the user principal name"),
            ("display_name", DisplayName, T::Text, "the display name"),
            (
                "department",
                Department,
                T::Text,
                "the department (may be empty)",
            ),
            (
                "office",
                Office,
                T::Text,
                "the office location (may be empty)",
            ),
            ("city", City, T::Text, "the city (may be empty)"),
            ("enabled", Enabled, T::Bool, "whether sign-in is enabled"),
            (
                "licensed",
                Licensed,
                T::Bool,
                "whether the user holds at least one licence",
            ),
        ],
        Record::Sku => &[
            ("sku_id", SkuId, T::Text, "the SKU's GUID"),
            (
                "part_number",
                PartNumber,
                T::Text,
                "Microsoft's part number, e.g. `SPB`",
            ),
            ("name", SkuName, T::Text, "the product's display name"),
            ("purchased", Purchased, T::Int, "seats bought"),
            ("assigned", Assigned, T::Int, "seats assigned to users"),
            (
                "available",
                Available,
                T::Int,
                "purchased minus assigned, never below 0",
            ),
            (
                "cost",
                Cost,
                T::CustomerMoney,
                "the partner's cost per seat per month (for an annual or triennial term, the monthly equivalent)",
            ),
            (
                "term_cost",
                TermCost,
                T::CustomerMoney,
                "the partner's cost per seat for the whole term: the upfront price of an annual or triennial term (what an `every term` line resells)",
            ),
            ("term", Term, T::Text, "`monthly`, `annual` or `triennial`"),
            (
                "billing_plan",
                BillingPlan,
                T::Text,
                "`monthly` or `upfront`",
            ),
            (
                "term_start",
                TermStart,
                T::Date,
                "when the subscription's first term started",
            ),
            (
                "term_end",
                TermEnd,
                T::Date,
                "the last day of the term (or renewal) in force",
            ),
        ],
        Record::Usage => &[
            ("date", UsageDate, T::Date, "the day of usage"),
            (
                "subscription_id",
                SubscriptionId,
                T::Text,
                "the Azure subscription",
            ),
            (
                "resource_group",
                ResourceGroup,
                T::Text,
                "the resource group",
            ),
            (
                "meter_category",
                MeterCategory,
                T::Text,
                "e.g. `Virtual Machines`",
            ),
            ("meter_name", MeterName, T::Text, "the meter"),
            ("quantity", UsageQuantity, T::Decimal, "units consumed"),
            (
                "cost",
                UsageCost,
                T::CustomerMoney,
                "the partner's cost for the row",
            ),
        ],
        Record::Period => &[
            (
                "start",
                Start,
                T::Date,
                "the first day of the billing period",
            ),
            ("end", End, T::Date, "the last day of the billing period"),
            (
                "days",
                Days,
                T::Int,
                "the number of days, both ends counted",
            ),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Bool,
    Int,
    Decimal,
    Date,
    CustomerMoney,
}

impl FieldType {
    pub fn to_type(self) -> Type {
        match self {
            FieldType::Text => Type::Text,
            FieldType::Bool => Type::Bool,
            FieldType::Int => Type::Int,
            FieldType::Decimal => Type::Decimal,
            FieldType::Date => Type::Date,
            FieldType::CustomerMoney => Type::Money(CurrencyRef::Customer),
        }
    }
}

pub fn field(record: Record, name: &str) -> Option<(Field, Type)> {
    fields_of(record)
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, f, t, _)| (*f, t.to_type()))
}

/// Collections and values under a namespace: `m365.users`, `azure.usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Users,
    Skus,
    Usage,
}

pub fn namespace_members(ns: Namespace) -> &'static [(&'static str, Source)] {
    match ns {
        Namespace::M365 => &[("users", Source::Users), ("skus", Source::Skus)],
        Namespace::Azure => &[("usage", Source::Usage)],
    }
}

impl Source {
    pub fn element(self) -> Record {
        match self {
            Source::Users => Record::User,
            Source::Skus => Record::Sku,
            Source::Usage => Record::Usage,
        }
    }
}
