//! Microsoft's licensing SKU table, embedded in the binary.
//!
//! The table comes from `stdlib/skus.csv` (see `stdlib/SKUS_SOURCE.md`): one row per SKU with
//! its GUID (Graph `skuId`), part number (Graph `skuPartNumber`, Microsoft's `String_Id`) and
//! product display name. Part numbers and display names are **not** unique (`MCOPSTN5` maps to
//! two GUIDs), so the GUID is the key; lookups by name return every match.
//!
//! ```
//! let skus = tally_skus::catalog();
//! let spb = skus.resolve("spb");
//! assert_eq!(spb[0].display_name, "Microsoft 365 Business Premium");
//! assert_eq!(skus.suggest("SPE_E5X")[0], "SPE_E5");
//! ```

use std::collections::HashMap;
use std::sync::LazyLock;

/// The embedded CSV, byte-for-byte as checked in.
pub const SKUS_CSV: &str = include_str!("../../../stdlib/skus.csv");

/// The header row the CSV must have.
const HEADER: [&str; 3] = ["GUID", "String_Id", "Product_Display_Name"];

/// How many suggestions [`SkuCatalog::suggest`] returns at most.
/// Names longer than this (in bytes) get no suggestions.
const MAX_SUGGESTED_LEN: usize = 200;

const MAX_SUGGESTIONS: usize = 3;

/// The most edits a suggestion may be away (as for every other "did you mean").
const MAX_EDITS: usize = 3;

/// One SKU: what Microsoft calls it in each of its three vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SkuInfo {
    /// The SKU GUID as written in the table (lowercase), e.g. `cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46`.
    pub guid: String,
    /// The part number (`skuPartNumber` / `String_Id`), e.g. `SPB`. Not unique.
    pub part_number: String,
    /// The product display name, e.g. `Microsoft 365 Business Premium`. Not unique.
    pub display_name: String,
}

/// The whole SKU table with case-insensitive indexes.
#[derive(Debug, Clone, Default)]
pub struct SkuCatalog {
    skus: Vec<SkuInfo>,
    by_guid: HashMap<String, usize>,
    by_part_number: HashMap<String, Vec<usize>>,
    by_display_name: HashMap<String, Vec<usize>>,
}

struct Loaded {
    catalog: SkuCatalog,
    error: Option<String>,
}

static LOADED: LazyLock<Loaded> = LazyLock::new(|| match SkuCatalog::from_csv(SKUS_CSV) {
    Ok(catalog) => Loaded {
        catalog,
        error: None,
    },
    Err(error) => Loaded {
        catalog: SkuCatalog::default(),
        error: Some(error),
    },
});

/// The embedded catalog, parsed on first use.
///
/// If the embedded CSV failed to parse (a build-time bug, covered by this crate's tests) this is
/// an empty catalog and [`load_error`] says why.
pub fn catalog() -> &'static SkuCatalog {
    &LOADED.catalog
}

/// Why the embedded CSV failed to parse, if it did.
pub fn load_error() -> Option<&'static str> {
    LOADED.error.as_deref()
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl SkuCatalog {
    /// Parse a table in the `GUID,String_Id,Product_Display_Name` format.
    ///
    /// Errors (as a one-line message naming the line) on a wrong header, a row without exactly
    /// three fields, an empty field, or a GUID that appears twice.
    pub fn from_csv(text: &str) -> Result<SkuCatalog, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| format!("sku table: bad header: {e}"))?;
        let found: Vec<&str> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}'))
            .collect();
        if found != HEADER {
            return Err(format!(
                "sku table: header is `{}`, expected `{}`",
                found.join(","),
                HEADER.join(",")
            ));
        }
        let mut catalog = SkuCatalog::default();
        for record in reader.records() {
            let record = record.map_err(|e| format!("sku table: {e}"))?;
            let line = record.position().map_or(0, |p| p.line());
            let (Some(guid), Some(part_number), Some(display_name)) =
                (record.get(0), record.get(1), record.get(2))
            else {
                return Err(format!("sku table line {line}: expected 3 fields"));
            };
            let (guid, part_number, display_name) =
                (guid.trim(), part_number.trim(), display_name.trim());
            if guid.is_empty() || part_number.is_empty() || display_name.is_empty() {
                return Err(format!("sku table line {line}: empty field"));
            }
            catalog
                .push(SkuInfo {
                    guid: guid.to_string(),
                    part_number: part_number.to_string(),
                    display_name: display_name.to_string(),
                })
                .map_err(|e| format!("sku table line {line}: {e}"))?;
        }
        Ok(catalog)
    }

    fn push(&mut self, sku: SkuInfo) -> Result<(), String> {
        let index = self.skus.len();
        let guid = key(&sku.guid);
        if self.by_guid.contains_key(&guid) {
            return Err(format!("duplicate GUID {}", sku.guid));
        }
        self.by_guid.insert(guid, index);
        self.by_part_number
            .entry(key(&sku.part_number))
            .or_default()
            .push(index);
        self.by_display_name
            .entry(key(&sku.display_name))
            .or_default()
            .push(index);
        self.skus.push(sku);
        Ok(())
    }

    fn get_all(&self, indexes: Option<&Vec<usize>>) -> Vec<&SkuInfo> {
        indexes
            .map(|ix| ix.iter().filter_map(|&i| self.skus.get(i)).collect())
            .unwrap_or_default()
    }

    /// Every SKU, in table order (sorted by part number).
    pub fn iter(&self) -> impl Iterator<Item = &SkuInfo> {
        self.skus.iter()
    }

    /// SKUs with this part number, case-insensitive, in table order. Usually one; may be more
    /// (`MCOPSTN5` has two) or none.
    pub fn by_part_number(&self, part_number: &str) -> Vec<&SkuInfo> {
        self.get_all(self.by_part_number.get(&key(part_number)))
    }

    /// The SKU with this GUID, case-insensitive.
    pub fn by_guid(&self, guid: &str) -> Option<&SkuInfo> {
        self.by_guid.get(&key(guid)).and_then(|&i| self.skus.get(i))
    }

    /// SKUs with exactly this display name, case-insensitive.
    pub fn by_display_name(&self, display_name: &str) -> Vec<&SkuInfo> {
        self.get_all(self.by_display_name.get(&key(display_name)))
    }

    /// Resolve what a rule writer typed: a part number (`"SPB"`), a GUID, or an exact display
    /// name (`"Microsoft 365 Business Premium"`), case-insensitive, surrounding whitespace
    /// ignored.
    ///
    /// Returns every match without duplicates: the GUID match first, then part-number matches,
    /// then display-name matches, each in table order. Empty when nothing matches (see
    /// [`SkuCatalog::suggest`]).
    pub fn resolve(&self, name: &str) -> Vec<&SkuInfo> {
        let mut out: Vec<&SkuInfo> = Vec::new();
        let candidates = self
            .by_guid(name)
            .into_iter()
            .chain(self.by_part_number(name))
            .chain(self.by_display_name(name));
        for sku in candidates {
            if !out.iter().any(|s| s.guid == sku.guid) {
                out.push(sku);
            }
        }
        out
    }

    /// Up to 3 part numbers or display names closest to `name`, for a "did you mean" hint
    /// (`"SPE_E5X"` gives `"SPE_E5"` first).
    ///
    /// Closeness is the case-insensitive optimal-string-alignment distance (edits and adjacent
    /// transpositions, from `strsim`); only candidates within `len / 3` edits (`len` in characters; at
    /// least 1, at most 3) are offered, and candidates whose length alone differs by more are not
    /// compared (a price list of hundreds of unknown names stays fast). Ties are broken by the
    /// candidate text, so the order is deterministic. Each text is offered once even when
    /// several SKUs share it.
    pub fn suggest(&self, name: &str) -> Vec<String> {
        let wanted = key(name);
        // No product name is this long: comparing a huge text with every SKU costs seconds.
        if wanted.is_empty() || wanted.len() > MAX_SUGGESTED_LEN {
            return Vec::new();
        }
        let length = wanted.chars().count();
        let limit = (length / 3).clamp(1, MAX_EDITS);
        let shown = |index: &Vec<usize>, text: fn(&SkuInfo) -> &str| {
            index
                .first()
                .and_then(|i| self.skus.get(*i))
                .map(text)
                .unwrap_or_default()
        };
        let candidates = self
            .by_part_number
            .iter()
            .map(|(lower, index)| (lower, shown(index, |s| &s.part_number)))
            .chain(
                self.by_display_name
                    .iter()
                    .map(|(lower, index)| (lower, shown(index, |s| &s.display_name))),
            );
        let mut scored: Vec<(usize, &str, &str)> = Vec::new();
        for (lower, text) in candidates {
            if lower.chars().count().abs_diff(length) > limit {
                continue;
            }
            let distance = strsim::osa_distance(&wanted, lower);
            if distance <= limit {
                scored.push((distance, lower, text));
            }
        }
        scored.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, lower, text) in scored {
            if out.len() == MAX_SUGGESTIONS {
                break;
            }
            if !out.iter().any(|o| o.to_lowercase() == lower) {
                out.push(text.to_string());
            }
        }
        out
    }

    /// Number of SKUs (rows).
    pub fn len(&self) -> usize {
        self.skus.len()
    }

    /// True when the catalog has no SKUs.
    pub fn is_empty(&self) -> bool {
        self.skus.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_csv_loads_without_error() {
        assert_eq!(load_error(), None);
        assert!(!catalog().is_empty());
    }

    #[test]
    fn has_569_rows() {
        assert_eq!(catalog().len(), 569);
        assert_eq!(catalog().iter().count(), 569);
    }

    #[test]
    fn embedded_csv_is_the_stdlib_file() {
        assert!(SKUS_CSV.starts_with("GUID,String_Id,Product_Display_Name"));
    }

    #[test]
    fn mcopstn5_maps_to_two_guids() {
        let found = catalog().by_part_number("MCOPSTN5");
        let mut guids: Vec<&str> = found.iter().map(|s| s.guid.as_str()).collect();
        guids.sort();
        assert_eq!(
            guids,
            [
                "54a152dc-90de-4996-93d2-bc47e670fc06",
                "d43177b5-475b-4880-92d4-d54c27b5efbd"
            ]
        );
        assert_eq!(catalog().resolve("mcopstn5").len(), 2);
    }

    #[test]
    fn spb_is_business_premium() {
        let found = catalog().by_part_number("spb");
        assert_eq!(
            found,
            [&SkuInfo {
                guid: "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46".into(),
                part_number: "SPB".into(),
                display_name: "Microsoft 365 Business Premium".into(),
            }]
        );
    }

    #[test]
    fn o365_business_premium_is_business_standard() {
        let found = catalog().by_part_number("O365_BUSINESS_PREMIUM");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].display_name, "Microsoft 365 Business Standard");
        assert_eq!(found[0].guid, "f245ecc8-75af-4f8e-b61f-27d8114de5f3");
    }

    #[test]
    fn by_guid_is_case_insensitive() {
        let sku = catalog().by_guid("CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46");
        assert_eq!(sku.map(|s| s.part_number.as_str()), Some("SPB"));
        assert_eq!(
            catalog().by_guid("00000000-0000-0000-0000-000000000000"),
            None
        );
    }

    #[test]
    fn resolve_by_part_number_guid_and_display_name() {
        let by_part = catalog().resolve("  spb ");
        let by_guid = catalog().resolve("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46");
        let by_name = catalog().resolve("microsoft 365 business premium");
        assert_eq!(by_part.len(), 1);
        assert_eq!(by_part, by_guid);
        assert_eq!(by_part, by_name);
        assert_eq!(by_part[0].part_number, "SPB");
        assert!(catalog().resolve("no such sku").is_empty());
        assert!(catalog().resolve("").is_empty());
    }

    #[test]
    fn resolve_display_name_can_be_ambiguous() {
        // Two SKUs share this display name in Microsoft's table.
        assert_eq!(catalog().resolve("Visio Plan 2").len(), 2);
    }

    #[test]
    fn suggests_closest_part_number() {
        let s = catalog().suggest("SPE_E5X");
        assert_eq!(s.first().map(String::as_str), Some("SPE_E5"));
        assert!(s.len() <= 3);
        assert_eq!(
            s,
            catalog().suggest("spe_e5x"),
            "case-insensitive and stable"
        );
    }

    #[test]
    fn suggests_closest_display_name() {
        let s = catalog().suggest("Microsoft 365 Busines Premium");
        assert_eq!(
            s.first().map(String::as_str),
            Some("Microsoft 365 Business Premium")
        );
    }

    #[test]
    fn suggests_nothing_for_nonsense() {
        assert!(
            catalog()
                .suggest("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
                .is_empty()
        );
        assert!(catalog().suggest("").is_empty());
    }

    #[test]
    fn suggestions_are_unique() {
        let s = catalog().suggest("MCOPSTN");
        let unique: std::collections::HashSet<String> =
            s.iter().map(|x| x.to_lowercase()).collect();
        assert_eq!(unique.len(), s.len(), "{s:?}");
        assert_eq!(s.first().map(String::as_str), Some("MCOPSTN1"));
    }

    #[test]
    fn from_csv_rejects_bad_tables() {
        assert!(SkuCatalog::from_csv("a,b,c\nx,y,z\n").is_err());
        assert!(
            SkuCatalog::from_csv("GUID,String_Id,Product_Display_Name\nx,y\n").is_err(),
            "short row"
        );
        assert!(
            SkuCatalog::from_csv("GUID,String_Id,Product_Display_Name\nx,,z\n").is_err(),
            "empty field"
        );
        let dup = "GUID,String_Id,Product_Display_Name\r\nA,P,N\r\na,Q,M\r\n";
        let err = SkuCatalog::from_csv(dup).err().unwrap_or_default();
        assert!(err.contains("duplicate GUID"), "{err}");
        let ok = SkuCatalog::from_csv("GUID,String_Id,Product_Display_Name\r\nA,P,\"N, x\"\r\n");
        assert_eq!(ok.map(|c| c.len()), Ok(1));
    }
}
