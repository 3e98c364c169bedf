//! The partner's price list: what a SKU costs per seat per month, which Graph does not know.
//!
//! ```text
//! sku,unit_cost,currency,term,billing_plan
//! SPB,18.10,GBP,annual,monthly
//! 4ef96642-f096-40de-a3e9-d83fb2f90211,1.70,GBP,annual,upfront
//! ```
//!
//! The SKU column may be `sku_id` (GUID), `part_number` (Graph `skuPartNumber`) or `sku`
//! (either). An optional `tenant` column gives a price for one tenant only; such rows win
//! over rows without a tenant. `unit_cost` is per seat per month (the monthly equivalent for
//! annual or triennial terms), as the snapshot stores it.

use tally_money::Money;
use tally_skus::SkuCatalog;
use tally_snapshot::{BillingPlan, Term};

use crate::csvfile::CsvFile;
use crate::detect::FileKind;
use crate::error::{ImportError, Warning};
use crate::mapping::is_guid;
use crate::source::Source;
use crate::table::{Row, columns, require_columns};
use crate::values;

columns! {
    enum Col {
        Tenant = "tenant" | "customer_or_tenant",
        SkuId = "sku_id" | "guid",
        PartNumber = "part_number" | "skuPartNumber" | "String_Id",
        Sku = "sku",
        UnitCost = "unit_cost" | "cost",
        Currency = "currency",
        Term = "term" | "termDuration",
        BillingPlan = "billing_plan" | "billingCycle",
    }
}

/// How a price list row names its SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuKey {
    Guid(String),
    PartNumber(String),
}

impl SkuKey {
    fn matches(&self, sku_id: &str, part_number: &str) -> bool {
        match self {
            SkuKey::Guid(g) => g.trim().eq_ignore_ascii_case(sku_id.trim()),
            SkuKey::PartNumber(p) => p.trim().eq_ignore_ascii_case(part_number.trim()),
        }
    }
}

impl std::fmt::Display for SkuKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkuKey::Guid(g) | SkuKey::PartNumber(g) => f.write_str(g),
        }
    }
}

/// One price.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceEntry {
    /// The tenant (or Microsoft id, resolved through the mapping) the price is for; `None`
    /// for every tenant.
    pub tenant: Option<String>,
    pub sku: SkuKey,
    /// Per seat per month.
    pub unit_cost: Money,
    pub term: Term,
    pub billing_plan: BillingPlan,
    pub file: String,
    pub line: u64,
}

/// All price entries read.
#[derive(Debug, Clone, Default)]
pub struct PriceList {
    pub entries: Vec<PriceEntry>,
}

impl PriceList {
    /// Read a price list CSV and add its entries. Unknown SKUs are warnings (the SKU table
    /// may lag behind Microsoft), with a suggestion for a mistyped part number.
    pub fn read(&mut self, source: &Source) -> Result<Vec<Warning>, ImportError> {
        let file = source.name();
        let text = source.read_text_as(FileKind::PriceListCsv, "a price list")?;
        let mut csv = CsvFile::from_text::<Col>(&file, &text)?;
        let columns = &csv.columns;
        require_columns(
            &file,
            columns,
            &[Col::UnitCost, Col::Currency, Col::Term, Col::BillingPlan],
            "a price list needs `sku_id` or `part_number`, `unit_cost`, `currency`, `term`, \
             `billing_plan`",
        )?;
        if !(columns.has(Col::SkuId) || columns.has(Col::PartNumber) || columns.has(Col::Sku)) {
            return Err(ImportError::file(
                &file,
                "a price list needs a SKU column: `sku_id` (GUID), `part_number` or `sku`",
            )
            .at_line(Some(1)));
        }
        let catalog = tally_skus::catalog();
        let mut warnings = Vec::new();
        csv.for_each_row(|row| {
            let sku = sku_of(&row)?;
            if let Some(message) = unknown_sku(catalog, &sku) {
                warnings.push(row.warning(message));
            }
            self.entries.push(price_entry(&row, sku)?);
            Ok(())
        })?;
        Ok(warnings)
    }

    /// The entries that price this SKU for this tenant: the tenant's own rows if it has any,
    /// otherwise the rows for every tenant. `tenant_of` resolves an entry's `tenant` cell
    /// (which may be a Microsoft id) to a tenant name.
    pub fn find<'a>(
        &'a self,
        tenant: &str,
        tenant_of: impl Fn(&str) -> String,
        sku_id: &str,
        part_number: &str,
    ) -> Vec<&'a PriceEntry> {
        let matching = || {
            self.entries
                .iter()
                .filter(move |e| e.sku.matches(sku_id, part_number))
        };
        let own: Vec<&PriceEntry> = matching()
            .filter(|e| {
                e.tenant
                    .as_deref()
                    .is_some_and(|t| tenant_of(t).eq_ignore_ascii_case(tenant))
            })
            .collect();
        if !own.is_empty() {
            return own;
        }
        matching().filter(|e| e.tenant.is_none()).collect()
    }
}

/// How a row names its SKU: `sku_id`, else `part_number`, else `sku` (a GUID or a part
/// number).
fn sku_of(row: &Row<'_>) -> Result<SkuKey, ImportError> {
    if let Some(guid) = row.text(Col::SkuId) {
        Ok(SkuKey::Guid(guid.to_string()))
    } else if let Some(part) = row.text(Col::PartNumber) {
        Ok(SkuKey::PartNumber(part.to_string()))
    } else if let Some(either) = row.text(Col::Sku) {
        Ok(if is_guid(either) {
            SkuKey::Guid(either.to_string())
        } else {
            SkuKey::PartNumber(either.to_string())
        })
    } else {
        Err(row.record_error("no SKU: fill `sku_id` or `part_number`"))
    }
}

/// The warning for a SKU missing from Microsoft's SKU table (which may lag behind Microsoft),
/// with a suggestion for a mistyped part number.
fn unknown_sku(catalog: &SkuCatalog, sku: &SkuKey) -> Option<String> {
    let hint = match sku {
        SkuKey::Guid(g) if catalog.by_guid(g).is_some() => return None,
        SkuKey::PartNumber(p) if !catalog.by_part_number(p).is_empty() => return None,
        SkuKey::PartNumber(p) => catalog
            .suggest(p)
            .first()
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default(),
        SkuKey::Guid(_) => String::new(),
    };
    Some(format!("SKU `{sku}` is not in Microsoft's SKU table{hint}"))
}

/// A row's price for its SKU.
fn price_entry(row: &Row<'_>, sku: SkuKey) -> Result<PriceEntry, ImportError> {
    let amount = row.required_decimal(Col::UnitCost)?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(row.error(Col::UnitCost, "a unit cost cannot be negative"));
    }
    let currency = row.required_currency(Col::Currency)?;
    let term = values::term(row.required(Col::Term)?).map_err(|m| row.error(Col::Term, m))?;
    let billing_plan = values::billing_plan(row.required(Col::BillingPlan)?)
        .map_err(|m| row.error(Col::BillingPlan, m))?;
    Ok(PriceEntry {
        tenant: row.text(Col::Tenant).map(str::to_string),
        sku,
        unit_cost: Money::new(amount, currency),
        term,
        billing_plan,
        file: row.file.to_string(),
        line: row.line.unwrap_or(0),
    })
}
