//! Recognising a file from its first bytes, so that a file given in the wrong place is named
//! ("this looks like an Azure daily rated usage file, not a reconciliation file") instead of
//! failing on a missing column.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use crate::error::ImportError;
use crate::table::{normalize, sniff_delimiter};

/// What a file appears to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// Graph `GET /users` response (JSON).
    GraphUsers,
    /// Graph `GET /subscribedSkus` response (JSON).
    GraphSubscribedSkus,
    /// Partner Center NCE invoice reconciliation file (CSV).
    ReconCsv,
    /// Partner Center invoice or unbilled reconciliation line items (`OneTimeInvoiceLineItem`).
    ReconJson,
    /// Azure plan daily rated usage reconciliation file (CSV).
    UsageCsv,
    /// Daily rated usage line items (`DailyRatedUsageLineItem`), as pages or JSON Lines.
    UsageJson,
    /// `customer_or_tenant,counter,value,as_of`.
    CountsCsv,
    /// `microsoft_id,tenant`.
    MappingCsv,
    /// Price list: `sku_id` or `part_number`, `unit_cost`, `currency`, `term`, `billing_plan`.
    PriceListCsv,
    /// A Tally snapshot (JSON with `version` and `tenants`).
    TallySnapshot,
    /// A legacy (pre-NCE) license-based reconciliation file (CSV).
    LegacyReconCsv,
    /// Some other Partner Center response; the `objectType` of its items.
    PartnerCenter(String),
    /// A binary format we do not read.
    Binary(Binary),
    /// JSON of no recognised shape (an empty collection, say).
    OtherJson,
    /// Not recognised (an empty file, or CSV with no known header).
    Unknown,
}

/// Binary formats recognised only to say what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Excel,
    Zip,
    Gzip,
    Utf16,
    Pdf,
}

impl Binary {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Binary::Excel => "this is an Excel workbook; export the sheet as CSV (UTF-8)",
            Binary::Zip => "this is a zip archive; extract the CSV or JSON file from it",
            Binary::Gzip => {
                "this is gzip-compressed (as the billing v2 API delivers its blobs); \
                 decompress it first"
            }
            Binary::Utf16 => "this file is UTF-16 text; save or export it as UTF-8",
            Binary::Pdf => "this is a PDF; Tally reads the CSV or JSON exports",
        }
    }
}

impl FileKind {
    /// A phrase for messages: "an Azure daily rated usage file".
    pub fn describe(&self) -> String {
        match self {
            FileKind::GraphUsers => "a Microsoft Graph users response".into(),
            FileKind::GraphSubscribedSkus => "a Microsoft Graph subscribedSkus response".into(),
            FileKind::ReconCsv | FileKind::ReconJson => {
                "a Partner Center invoice reconciliation file".into()
            }
            FileKind::UsageCsv | FileKind::UsageJson => "an Azure daily rated usage file".into(),
            FileKind::CountsCsv => "a counts file (customer_or_tenant,counter,value,as_of)".into(),
            FileKind::MappingCsv => "a tenant mapping file (microsoft_id,tenant)".into(),
            FileKind::PriceListCsv => "a price list".into(),
            FileKind::TallySnapshot => "a Tally snapshot".into(),
            FileKind::LegacyReconCsv => {
                "a legacy (pre-NCE) license-based reconciliation file".into()
            }
            FileKind::PartnerCenter(t) => format!("a Partner Center `{t}` response"),
            FileKind::Binary(b) => format!("a binary file ({b:?})"),
            FileKind::OtherJson => "a JSON file".into(),
            FileKind::Unknown => "an unrecognised file".into(),
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The error for a file given where another kind was expected.
pub(crate) fn wrong_kind(file: &str, found: &FileKind, expected: &str) -> ImportError {
    match found {
        FileKind::Binary(b) => ImportError::file(file, b.message()),
        _ => ImportError::file(file, format!("this looks like {found}, not {expected}")),
    }
}

/// Recognise a file from its first bytes (a few kilobytes are plenty). The path's extension
/// is only a tie-breaker; the content decides.
pub fn detect(path: &Path, first_bytes: &[u8]) -> FileKind {
    if let Some(binary) = binary_kind(path, first_bytes) {
        return FileKind::Binary(binary);
    }
    let bytes = first_bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(first_bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    match start.and_then(|s| bytes.get(s)) {
        Some(b'{' | b'[') => detect_json(&String::from_utf8_lossy(bytes)),
        Some(_) => detect_csv(bytes),
        None => FileKind::Unknown,
    }
}

fn binary_kind(path: &Path, b: &[u8]) -> Option<Binary> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if b.starts_with(b"PK\x03\x04") {
        return Some(if ext.starts_with("xls") {
            Binary::Excel
        } else {
            Binary::Zip
        });
    }
    if b.starts_with(b"\xD0\xCF\x11\xE0") {
        return Some(Binary::Excel);
    }
    if b.starts_with(b"\x1F\x8B") {
        return Some(Binary::Gzip);
    }
    if b.starts_with(b"%PDF") {
        return Some(Binary::Pdf);
    }
    if b.starts_with(b"\xFF\xFE") || b.starts_with(b"\xFE\xFF") {
        return Some(Binary::Utf16);
    }
    // UTF-16 without a byte order mark: every other byte of ASCII text is zero.
    let head = b.get(..64.min(b.len())).unwrap_or_default();
    if head.len() >= 8 && head.iter().filter(|&&x| x == 0).count() * 3 >= head.len() {
        return Some(Binary::Utf16);
    }
    None
}

fn detect_json(text: &str) -> FileKind {
    let lower = text.to_ascii_lowercase();
    if let Some(context) = string_after(&lower, "\"@odata.context\"") {
        if context.ends_with("#users") || context.contains("#users(") {
            return FileKind::GraphUsers;
        }
        if context.contains("#subscribedskus") {
            return FileKind::GraphSubscribedSkus;
        }
    }
    // Partner Center items say what they are; the collection's own objectType comes last.
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("\"objecttype\"") {
        let after = rest.get(at..).unwrap_or_default();
        if let Some(value) = string_after(after, "\"objecttype\"")
            && value != "collection"
        {
            return match value.as_str() {
                "onetimeinvoicelineitem" => FileKind::ReconJson,
                "dailyratedusagelineitem" => FileKind::UsageJson,
                _ => FileKind::PartnerCenter(original_case(text, at, &value)),
            };
        }
        rest = after.get(1..).unwrap_or_default();
    }
    let has = |key: &str| lower.contains(&format!("\"{key}\""));
    if has("billingpretaxtotal") || has("entitlementid") || has("usagedate") {
        FileKind::UsageJson
    } else if has("chargetype")
        && (has("termandbillingcycle") || has("referenceid") || has("orderdate"))
    {
        FileKind::ReconJson
    } else if has("skupartnumber") && has("consumedunits") {
        FileKind::GraphSubscribedSkus
    } else if has("userprincipalname") {
        FileKind::GraphUsers
    } else if has("version") && has("tenants") {
        FileKind::TallySnapshot
    } else {
        FileKind::OtherJson
    }
}

/// The string value after `"key"` and a colon, if it is a string.
fn string_after(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let rest = text.get(at..)?.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest.get(..rest.find('"')?)?.to_string())
}

/// The objectType value as spelled in the file (`LicenseBasedLineItem`), for messages.
fn original_case(text: &str, from: usize, lower_value: &str) -> String {
    text.get(from..)
        .and_then(|t| {
            t.find(lower_value)
                .or_else(|| t.to_ascii_lowercase().find(lower_value))
        })
        .and_then(|i| text.get(from + i..from + i + lower_value.len()))
        .map_or_else(|| lower_value.to_string(), str::to_string)
}

fn detect_csv(bytes: &[u8]) -> FileKind {
    let delimiter = sniff_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut header = csv::ByteRecord::new();
    if !matches!(reader.read_byte_record(&mut header), Ok(true)) {
        return FileKind::Unknown;
    }
    let names: HashSet<String> = header
        .iter()
        .map(|h| normalize(&String::from_utf8_lossy(h)))
        .collect();
    let has = |n: &str| names.contains(n);
    let score = |keys: &[&str]| keys.iter().filter(|k| has(k)).count();
    let usage = score(&[
        "usagedate",
        "metercategory",
        "billingpretaxtotal",
        "entitlementid",
        "resourcegroup",
        "metername",
        "billingcurrency",
    ]);
    let recon = score(&[
        "orderdate",
        "termandbillingcycle",
        "referenceid",
        "billablequantity",
        "subtotal",
        "orderid",
        "effectiveunitprice",
        "totalforcustomer",
    ]);
    let legacy = score(&[
        "offername",
        "domainname",
        "billingcycletype",
        "syndicationpartnersubscriptionnumber",
        "durableofferid",
    ]);
    if usage >= 3 && usage > recon {
        FileKind::UsageCsv
    } else if recon >= 3 {
        FileKind::ReconCsv
    } else if legacy >= 2 {
        FileKind::LegacyReconCsv
    } else if has("counter") && has("value") && (has("asof") || has("customerortenant")) {
        FileKind::CountsCsv
    } else if has("microsoftid") {
        FileKind::MappingCsv
    } else if has("unitcost") && (has("skuid") || has("partnumber") || has("sku")) {
        FileKind::PriceListCsv
    } else {
        FileKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_headers_and_json_shapes() {
        let p = Path::new("x");
        assert_eq!(
            detect(
                p,
                b"\xEF\xBB\xBFPartnerId,CustomerId,OrderDate,ChargeType,ReferenceId,Subtotal\n"
            ),
            FileKind::ReconCsv
        );
        assert_eq!(
            detect(
                p,
                b"UsageDate;MeterCategory;BillingPreTaxTotal;EntitlementId\n"
            ),
            FileKind::UsageCsv
        );
        assert_eq!(
            detect(p, b"customer_or_tenant,counter,value,as_of\n"),
            FileKind::CountsCsv
        );
        assert_eq!(detect(p, b"microsoft_id,tenant\n"), FileKind::MappingCsv);
        assert_eq!(
            detect(p, b"{\"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#users\", \"value\": []}"),
            FileKind::GraphUsers
        );
        assert_eq!(
            detect(
                p,
                b"{\"items\": [{\"attributes\": {\"objectType\": \"LicenseBasedLineItem\"}}]}"
            ),
            FileKind::PartnerCenter("LicenseBasedLineItem".into())
        );
        assert_eq!(
            detect(Path::new("a.xlsx"), b"PK\x03\x04rest"),
            FileKind::Binary(Binary::Excel)
        );
        assert_eq!(detect(p, b""), FileKind::Unknown);
    }
}
