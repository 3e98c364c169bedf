//! A seeded Azure daily rated usage file with all 55 columns filled as Partner Center fills
//! them (about 750 bytes a row), for the speed measurements. Shared by the examples through
//! `#[path]`.

use std::io::{self, BufWriter, Write};
use std::path::Path;

pub const HEADER: &str =
    include_str!("../../tests/fixtures/recon-file-schemas/daily_rated_usage_header_template.csv");

/// The tenant (domain) of customer `n`, as the files name it.
pub fn domain(n: u64) -> String {
    format!("customer{n}.onmicrosoft.com")
}

/// Writes `rows` rows spread over `customers` customers; returns the file's size in bytes.
pub fn write(path: &Path, rows: u64, customers: u64, seed: u64) -> io::Result<u64> {
    let header: Vec<&str> = HEADER.trim().split(',').collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{}", HEADER.trim())?;
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut line = String::with_capacity(1024);
    for _ in 0..rows {
        let customer = next() % customers.max(1);
        let day = next() % 31 + 1;
        let category =
            ["Virtual Machines", "Storage", "Bandwidth", "SQL Database"][(next() % 4) as usize];
        let meter = next() % 3;
        let group = next() % 4;
        let entitlement = customer * 2 + next() % 2;
        let quantity = format!("{}.{:06}", next() % 48, next() % 1_000_000);
        let total = format!("{}.{:09}", next() % 9, next() % 1_000_000_000);
        let tags = [
            "",
            "\"{\"\"department\"\": \"\"Sales\"\"}\"",
            "\"{\"\"project\"\": \"\"Apollo\"\"}\"",
        ][(next() % 3) as usize];
        line.clear();
        for (i, name) in header.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let cell: String = match *name {
                "PartnerId" => "3b33e682-00c3-41ee-9dd2-a548adf56438".into(),
                "PartnerName" => "Contoso Managed Services Ltd".into(),
                "CustomerId" => format!("00000000-0000-4000-8000-{customer:012}"),
                "CustomerName" => format!("Customer {customer} Limited"),
                "CustomerDomainName" => domain(customer),
                "CustomerCountry" => "GB".into(),
                "MpnId" => "4390934".into(),
                "Tier2MpnId" => "".into(),
                "InvoiceNumber" => "".into(),
                "ProductId" => "DZH318Z0BQ3Q".into(),
                "SkuId" => "0001".into(),
                "AvailabilityId" => "DZH318Z0BQ3Q0001".into(),
                "SkuName" => "Azure plan".into(),
                "ProductName" => "Microsoft Azure Plan".into(),
                "PublisherName" => "Microsoft".into(),
                "PublisherId" => "".into(),
                "SubscriptionDescription" => "Azure plan".into(),
                "SubscriptionId" => format!("aaaaaaaa-0000-4000-8000-{customer:012}"),
                "ChargeStartDate" => "10/1/2026".into(),
                "ChargeEndDate" => "10/31/2026".into(),
                "UsageDate" => format!("10/{day}/2026"),
                "MeterType" => "1 Compute Hour".into(),
                "MeterCategory" => category.into(),
                "MeterId" => format!("f6b0a9b4-6d9e-4a2b-9f3c-00000000000{meter}"),
                "MeterSubCategory" => "Dsv5 Series".into(),
                "MeterName" => format!("Meter {meter}"),
                "MeterRegion" => "UK South".into(),
                "Unit" => "1 Hour".into(),
                "ResourceLocation" => "uksouth".into(),
                "ConsumedService" => "Microsoft.Compute".into(),
                "ResourceGroup" => format!("rg-{group}"),
                "ResourceURI" => format!(
                    "/subscriptions/bbbbbbbb-0000-4000-8000-{entitlement:012}/resourceGroups/rg-{group}/providers/Microsoft.Compute/virtualMachines/vm-{meter}"
                ),
                "ChargeType" => "new".into(),
                "UnitPrice" => "0.0856".into(),
                "Quantity" => quantity.clone(),
                "UnitType" => "1 Hour".into(),
                "BillingPreTaxTotal" => total.clone(),
                "BillingCurrency" => "GBP".into(),
                "PricingPreTaxTotal" => total.clone(),
                "PricingCurrency" => "GBP".into(),
                "ServiceInfo1" => "".into(),
                "ServiceInfo2" => "".into(),
                "Tags" => tags.into(),
                "AdditionalInfo" => {
                    "\"{\"\"ImageType\"\": null, \"\"ServiceType\"\": \"\"Standard_D2s_v5\"\", \"\"VMName\"\": null, \"\"VCPUs\"\": 2}\"".into()
                }
                "EffectiveUnitPrice" => "0.0856".into(),
                "PCToBCExchangeRate" => "1".into(),
                "PCToBCExchangeRateDate" => "9/30/2026".into(),
                "EntitlementId" => format!("bbbbbbbb-0000-4000-8000-{entitlement:012}"),
                "EntitlementDescription" => "Azure subscription 1".into(),
                "PartnerEarnedCreditPercentage" => "0".into(),
                "CreditPercentage" => "0".into(),
                "CreditType" => "Credit Not Applied".into(),
                _ => "".into(),
            };
            line.push_str(&cell);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}
