//! Partner Center NCE invoice reconciliation: the billed or unbilled "one-time" line items, as
//! the CSV export (46 documented columns, plus `ProductCategory` in real files) or the API's
//! `OneTimeInvoiceLineItem` JSON.
//!
//! Columns are matched ignoring case and punctuation, with Microsoft's alternative spellings
//! (`MpnId`/`MPNID`, `ResellerMpnId`/`Tier2MpnId`, `ReferenceId`/`ReferenceID`) and the API's
//! camelCase names (`totalForCustomer` for `Total`); extra columns are ignored. Dates may be
//! `M/D/YYYY` or ISO-8601, numbers may be quoted, and amounts are read exactly.
//!
//! [`read_recon`] reads any number of files (billed and unbilled), then derives the dated seat
//! changes ([`crate::seats`]) and each subscription's cost ([`crate::subscriptions`]).

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tally_money::Currency;

use crate::csvfile::CsvFile;
use crate::detect::{FileKind, wrong_kind};
use crate::error::{ImportError, Warning};
use crate::json;
use crate::source::{SNIFF_BYTES, Source};
use crate::table::{Column, JsonCells, Row, columns, require_columns, sniff_delimiter};
use crate::values::Stamp;

columns! {
    pub(crate) enum Col {
        PartnerId = "PartnerId",
        CustomerId = "CustomerId",
        CustomerName = "CustomerName",
        CustomerDomainName = "CustomerDomainName",
        CustomerCountry = "CustomerCountry",
        InvoiceNumber = "InvoiceNumber",
        MpnId = "MpnId",
        ResellerMpnId = "ResellerMpnId" | "Tier2MpnId",
        OrderId = "OrderId",
        OrderDate = "OrderDate",
        ProductId = "ProductId",
        SkuId = "SkuId",
        AvailabilityId = "AvailabilityId",
        SkuName = "SkuName",
        ProductName = "ProductName" | "Product",
        ChargeType = "ChargeType",
        UnitPrice = "UnitPrice",
        Quantity = "Quantity",
        Subtotal = "Subtotal",
        TaxTotal = "TaxTotal",
        Total = "Total" | "totalForCustomer",
        Currency = "Currency",
        PriceAdjustmentDescription = "PriceAdjustmentDescription",
        PublisherName = "PublisherName",
        PublisherId = "PublisherId",
        SubscriptionDescription = "SubscriptionDescription",
        SubscriptionId = "SubscriptionId",
        ChargeStartDate = "ChargeStartDate",
        ChargeEndDate = "ChargeEndDate",
        TermAndBillingCycle = "TermAndBillingCycle" | "Term & Billing Cycle",
        EffectiveUnitPrice = "EffectiveUnitPrice",
        UnitType = "UnitType",
        AlternateId = "AlternateId",
        BillableQuantity = "BillableQuantity",
        BillingFrequency = "BillingFrequency",
        PricingCurrency = "PricingCurrency",
        PcToBcExchangeRate = "PCToBCExchangeRate",
        PcToBcExchangeRateDate = "PCToBCExchangeRateDate",
        MeterDescription = "MeterDescription",
        ReservationOrderId = "ReservationOrderId",
        CreditReasonCode = "CreditReasonCode",
        SubscriptionStartDate = "SubscriptionStartDate",
        SubscriptionEndDate = "SubscriptionEndDate",
        ReferenceId = "ReferenceId",
        ProductQualifiers = "ProductQualifiers" | "ProductQualifier",
        PromotionId = "PromotionId",
        ProductCategory = "ProductCategory",
    }
}

/// Columns without which a line cannot be placed or priced.
const REQUIRED: [Col; 7] = [
    Col::CustomerId,
    Col::OrderDate,
    Col::ChargeType,
    Col::SubscriptionId,
    Col::Quantity,
    Col::UnitPrice,
    Col::Currency,
];

/// What a line records (`recon-file-schemas/charge_types.csv`). Matched ignoring case
/// (`New`/`new`); legacy and unknown types are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChargeType {
    New,
    Renew,
    CycleCharge,
    AddQuantity,
    RemoveQuantity,
    MoveQuantity,
    CancelImmediate,
    Convert,
    ChangeBillingPlan,
    CustomerCredit,
    ExtendTerm,
    Other(String),
}

impl ChargeType {
    pub fn parse(text: &str) -> ChargeType {
        let key: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "new" => ChargeType::New,
            "renew" => ChargeType::Renew,
            "cyclecharge" => ChargeType::CycleCharge,
            "addquantity" => ChargeType::AddQuantity,
            "removequantity" => ChargeType::RemoveQuantity,
            "movequantity" => ChargeType::MoveQuantity,
            "cancelimmediate" => ChargeType::CancelImmediate,
            "convert" => ChargeType::Convert,
            "changebillingplan" => ChargeType::ChangeBillingPlan,
            "customercredit" => ChargeType::CustomerCredit,
            "extendterm" => ChargeType::ExtendTerm,
            _ => ChargeType::Other(text.trim().to_string()),
        }
    }

    /// The name as Microsoft's documentation writes it.
    pub fn name(&self) -> &str {
        match self {
            ChargeType::New => "new",
            ChargeType::Renew => "renew",
            ChargeType::CycleCharge => "cycleCharge",
            ChargeType::AddQuantity => "addQuantity",
            ChargeType::RemoveQuantity => "removeQuantity",
            ChargeType::MoveQuantity => "moveQuantity",
            ChargeType::CancelImmediate => "cancelImmediate",
            ChargeType::Convert => "convert",
            ChargeType::ChangeBillingPlan => "changeBillingPlan",
            ChargeType::CustomerCredit => "customerCredit",
            ChargeType::ExtendTerm => "extendTerm",
            ChargeType::Other(s) => s,
        }
    }

    /// Order of events recorded on the same day (CSV dates have no time): a subscription is
    /// bought before seats are added to it, and cancelled last.
    pub(crate) fn same_day_rank(&self) -> u8 {
        match self {
            ChargeType::New => 0,
            ChargeType::Renew => 1,
            ChargeType::CycleCharge => 2,
            ChargeType::ChangeBillingPlan => 3,
            ChargeType::ExtendTerm => 4,
            ChargeType::AddQuantity
            | ChargeType::RemoveQuantity
            | ChargeType::MoveQuantity
            | ChargeType::Convert => 5,
            ChargeType::CancelImmediate => 6,
            ChargeType::CustomerCredit | ChargeType::Other(_) => 7,
        }
    }
}

impl std::fmt::Display for ChargeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a line charges, refunds, or carries no amount (trials, free products).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Charge,
    Refund,
    Zero,
}

/// One reconciliation line, typed. Text fields are trimmed; empty cells are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconLine {
    pub file: String,
    pub line: Option<u64>,
    pub record: u64,
    pub partner_id: Option<String>,
    /// Partner Center customer id (the customer's Entra tenant id), as written (the API
    /// sometimes prefixes `org:`).
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub customer_domain: Option<String>,
    pub customer_country: Option<String>,
    pub invoice_number: Option<String>,
    pub mpn_id: Option<String>,
    pub reseller_mpn_id: Option<String>,
    pub order_id: Option<String>,
    /// The billing event; CSV files give only the day.
    pub order_date: Stamp,
    pub product_id: Option<String>,
    /// Partner Center's 4-character SKU id within the product (`0001`), not Graph's GUID.
    pub sku_id: Option<String>,
    pub availability_id: Option<String>,
    pub sku_name: Option<String>,
    pub product_name: Option<String>,
    pub charge_type: ChargeType,
    /// Price-list price per unit per billing cycle, in the pricing currency.
    pub unit_price: Decimal,
    /// Units (seats); always positive, the sign is on the amounts.
    pub quantity: u32,
    pub subtotal: Option<Decimal>,
    pub tax_total: Option<Decimal>,
    pub total: Option<Decimal>,
    /// Billing currency.
    pub currency: Currency,
    /// A JSON list as text, e.g. `["15.0% Partner earned credit for services managed"]`.
    pub price_adjustment_description: Option<String>,
    pub publisher_name: Option<String>,
    pub publisher_id: Option<String>,
    pub subscription_description: Option<String>,
    /// NCE subscription id.
    pub subscription_id: String,
    pub charge_start_date: Option<NaiveDate>,
    /// Inclusive.
    pub charge_end_date: Option<NaiveDate>,
    pub term_and_billing_cycle: Option<String>,
    /// Prorated and discounted unit price; negative on refunds.
    pub effective_unit_price: Option<Decimal>,
    pub unit_type: Option<String>,
    pub alternate_id: Option<String>,
    pub billable_quantity: Option<Decimal>,
    pub billing_frequency: Option<String>,
    pub pricing_currency: Option<String>,
    pub pc_to_bc_exchange_rate: Option<Decimal>,
    pub pc_to_bc_exchange_rate_date: Option<NaiveDate>,
    pub meter_description: Option<String>,
    /// Reservation or savings plan order.
    pub reservation_order_id: Option<String>,
    pub credit_reason_code: Option<String>,
    pub subscription_start_date: Option<NaiveDate>,
    pub subscription_end_date: Option<NaiveDate>,
    /// Links the refund and charge lines of one event.
    pub reference_id: Option<String>,
    pub product_qualifiers: Vec<String>,
    pub promotion_id: Option<String>,
    pub product_category: Option<String>,
}

impl ReconLine {
    /// Charge, refund or neither, from the sign of the subtotal, else the effective unit
    /// price, else the total (Microsoft's examples leave one or another at zero).
    pub fn direction(&self) -> Direction {
        [self.subtotal, self.effective_unit_price, self.total]
            .into_iter()
            .flatten()
            .find(|d| !d.is_zero())
            .map_or(Direction::Zero, |d| {
                if d.is_sign_negative() {
                    Direction::Refund
                } else {
                    Direction::Charge
                }
            })
    }

    /// Whether the line counts seats: its billable quantity (if given) equals its quantity.
    /// Azure and metered lines have `Quantity` 1 and a fractional or larger billable quantity.
    pub fn is_seat_based(&self) -> bool {
        self.billable_quantity
            .is_none_or(|b| b == Decimal::from(self.quantity))
    }

    /// The product as a Partner Center catalog id, `ProductId:SkuId` (`CFQ7TTC0LH18:0001`),
    /// or the product name when the ids are missing.
    pub fn catalog_sku(&self) -> String {
        match (&self.product_id, &self.sku_id) {
            (Some(p), Some(s)) => format!("{p}:{s}"),
            (Some(p), None) => p.clone(),
            _ => self
                .sku_name
                .clone()
                .or_else(|| self.product_name.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether the product is a trial (`ProductQualifiers` contains `Trial`).
    pub fn is_trial(&self) -> bool {
        self.product_qualifiers
            .iter()
            .any(|q| q.eq_ignore_ascii_case("trial"))
    }

    /// Sort key: event time, same-day rank, file order.
    pub(crate) fn order_key(&self, file_index: usize) -> (Stamp, u8, usize, u64) {
        (
            self.order_date,
            self.charge_type.same_day_rank(),
            file_index,
            self.record,
        )
    }
}

fn read_line(row: &Row<'_>) -> Result<ReconLine, ImportError> {
    let text = |c: Col| row.text(c).map(str::to_string);
    let qualifiers = match row.text(Col::ProductQualifiers) {
        None => Vec::new(),
        Some(t) => match serde_json::from_str::<Vec<String>>(t) {
            Ok(list) => list,
            // Not a JSON list: a bare word such as `Trial`.
            Err(_) => vec![t.to_string()],
        },
    };
    Ok(ReconLine {
        file: row.file.to_string(),
        line: row.line,
        record: row.record,
        partner_id: text(Col::PartnerId),
        customer_id: row.required(Col::CustomerId)?.to_string(),
        customer_name: text(Col::CustomerName),
        customer_domain: text(Col::CustomerDomainName),
        customer_country: text(Col::CustomerCountry),
        invoice_number: text(Col::InvoiceNumber),
        mpn_id: text(Col::MpnId),
        reseller_mpn_id: text(Col::ResellerMpnId),
        order_id: text(Col::OrderId),
        order_date: row.required_stamp(Col::OrderDate)?,
        product_id: text(Col::ProductId),
        sku_id: text(Col::SkuId),
        availability_id: text(Col::AvailabilityId),
        sku_name: text(Col::SkuName),
        product_name: text(Col::ProductName),
        charge_type: ChargeType::parse(row.required(Col::ChargeType)?),
        unit_price: row.required_decimal(Col::UnitPrice)?,
        quantity: row.required_whole(Col::Quantity)?,
        subtotal: row.decimal(Col::Subtotal)?,
        tax_total: row.decimal(Col::TaxTotal)?,
        total: row.decimal(Col::Total)?,
        currency: row.required_currency(Col::Currency)?,
        price_adjustment_description: text(Col::PriceAdjustmentDescription),
        publisher_name: text(Col::PublisherName),
        publisher_id: text(Col::PublisherId),
        subscription_description: text(Col::SubscriptionDescription),
        subscription_id: row.required(Col::SubscriptionId)?.to_string(),
        charge_start_date: row.date(Col::ChargeStartDate)?,
        charge_end_date: row.date(Col::ChargeEndDate)?,
        term_and_billing_cycle: text(Col::TermAndBillingCycle),
        effective_unit_price: row.decimal(Col::EffectiveUnitPrice)?,
        unit_type: text(Col::UnitType),
        alternate_id: text(Col::AlternateId),
        billable_quantity: row.decimal(Col::BillableQuantity)?,
        billing_frequency: text(Col::BillingFrequency),
        pricing_currency: text(Col::PricingCurrency),
        pc_to_bc_exchange_rate: row.decimal(Col::PcToBcExchangeRate)?,
        pc_to_bc_exchange_rate_date: row.date(Col::PcToBcExchangeRateDate)?,
        meter_description: text(Col::MeterDescription),
        reservation_order_id: text(Col::ReservationOrderId),
        credit_reason_code: text(Col::CreditReasonCode),
        subscription_start_date: row.date(Col::SubscriptionStartDate)?,
        subscription_end_date: row.date(Col::SubscriptionEndDate)?,
        reference_id: text(Col::ReferenceId),
        product_qualifiers: qualifiers,
        promotion_id: text(Col::PromotionId),
        product_category: text(Col::ProductCategory),
    })
}

/// Read the lines of one reconciliation file (CSV or JSON), in file order.
pub fn read_recon_lines(source: &Source) -> Result<Vec<ReconLine>, ImportError> {
    let file = source.name();
    match source.kind()? {
        FileKind::ReconJson | FileKind::OtherJson => read_json(source, &file),
        FileKind::ReconCsv | FileKind::Unknown => read_csv(source, &file),
        other => Err(wrong_kind(&file, &other, "a reconciliation file")),
    }
}

fn read_csv(source: &Source, file: &str) -> Result<Vec<ReconLine>, ImportError> {
    let mut input = source.open()?;
    let head = input
        .fill_buf()
        .map_err(|e| ImportError::file(file, format!("cannot read: {e}")))?;
    let delimiter = sniff_delimiter(head.get(..SNIFF_BYTES.min(head.len())).unwrap_or(head));
    let mut csv = CsvFile::open::<Col>(file, input, delimiter)?;
    require_columns(file, &csv.columns, &REQUIRED, "not a reconciliation file")?;
    let mut lines = Vec::new();
    csv.for_each_row(|row| {
        lines.push(read_line(&row)?);
        Ok(())
    })?;
    Ok(lines)
}

fn read_json(source: &Source, file: &str) -> Result<Vec<ReconLine>, ImportError> {
    let text = source.read_text()?;
    let collection = json::collection(file, &text)?;
    let mut lines = Vec::new();
    for item in &collection.items {
        let cells = JsonCells::new::<Col>(json::fields(file, item)?.into_iter());
        let row = cells.row(file, item.line, item.record);
        if let Some(missing) = REQUIRED.iter().find(|c| row.text(**c).is_none()) {
            let name = Col::FIELDS.get(missing.index()).map_or("?", |f| f.name);
            return Err(row.error(*missing, format!("the line item has no `{name}`")));
        }
        lines.push(read_line(&row)?);
    }
    Ok(lines)
}

/// Drop lines that repeat, in a later file, a line already read from an earlier one: the
/// billed and the unbilled reconciliation of the same month overlap. Repeats within one file
/// are kept (they can be genuine, e.g. two identical seat purchases).
pub(crate) fn drop_cross_file_duplicates(
    indexed: Vec<(usize, ReconLine)>,
    warnings: &mut Vec<Warning>,
) -> Vec<ReconLine> {
    let mut first_file: HashMap<String, usize> = HashMap::new();
    let mut dropped: HashMap<(String, String), u64> = HashMap::new();
    let mut names: HashMap<usize, String> = HashMap::new();
    let mut out = Vec::with_capacity(indexed.len());
    for (file_index, line) in indexed {
        names.entry(file_index).or_insert_with(|| line.file.clone());
        let key = duplicate_key(&line);
        match first_file.get(&key) {
            Some(&first) if first != file_index => {
                let first_name = names.get(&first).cloned().unwrap_or_default();
                *dropped.entry((line.file.clone(), first_name)).or_default() += 1;
            }
            Some(_) => out.push(line),
            None => {
                first_file.insert(key, file_index);
                out.push(line);
            }
        }
    }
    let mut dropped: Vec<_> = dropped.into_iter().collect();
    dropped.sort();
    for ((file, first), n) in dropped {
        warnings.push(Warning::file(
            file,
            format!("{n} line(s) repeat lines of {first} (billed and unbilled overlap?) and were left out"),
        ));
    }
    out
}

fn duplicate_key(l: &ReconLine) -> String {
    let opt = |d: &Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}|{:?}|{}|{}|{}|{:?}|{:?}|{}",
        l.customer_id.to_lowercase(),
        l.subscription_id.to_lowercase(),
        l.catalog_sku(),
        l.charge_type.name().to_lowercase(),
        l.reference_id.as_deref().unwrap_or("").to_lowercase(),
        l.direction(),
        l.quantity,
        opt(&l.subtotal),
        opt(&l.effective_unit_price),
        l.charge_start_date,
        l.charge_end_date,
        l.order_date.date,
    )
}

/// How a subscription's monthly unit cost is taken from its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostBasis {
    /// `EffectiveUnitPrice` of the latest full-cycle charge: what the partner actually pays,
    /// after partner discounts and promotions. The default.
    #[default]
    Effective,
    /// `UnitPrice`: the price-list price before discounts.
    List,
}

/// Everything read from the reconciliation files.
#[derive(Debug, Clone, Default)]
pub struct Recon {
    /// Every line, sorted by order date (then same-day rank, then file order).
    pub lines: Vec<ReconLine>,
    pub seat_changes: Vec<crate::seats::SeatChange>,
    pub subscriptions: Vec<crate::subscriptions::ReconSubscription>,
    pub warnings: Vec<Warning>,
}

/// Read reconciliation files (billed and unbilled, CSV or JSON, in any mix), sort the lines
/// by order date, and derive seat changes and subscription costs.
pub fn read_recon(sources: &[Source], cost_basis: CostBasis) -> Result<Recon, ImportError> {
    let mut indexed = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        for line in read_recon_lines(source)? {
            indexed.push((i, line));
        }
    }
    indexed.sort_by_key(|(f, l)| l.order_key(*f));
    let mut warnings = Vec::new();
    let lines = drop_cross_file_duplicates(indexed, &mut warnings);
    let seat_changes = crate::seats::seat_changes(&lines, &mut warnings);
    let subscriptions =
        crate::subscriptions::subscriptions(&lines, &seat_changes, cost_basis, &mut warnings);
    Ok(Recon {
        lines,
        seat_changes,
        subscriptions,
        warnings,
    })
}
