//! Shared test helpers: fixture paths, a seeded generator, and builders for realistic CSV files
//! from Microsoft's header templates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

pub fn read_fixture(path: &str) -> String {
    std::fs::read_to_string(fixture(path)).unwrap()
}

/// A temporary directory for one test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tally-import-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small linear congruential generator (Knuth's MMIX constants): deterministic, seeded,
/// and good enough to vary test data.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The header row of a template file.
pub fn template(name: &str) -> Vec<String> {
    read_fixture(&format!("recon-file-schemas/{name}"))
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect()
}

/// CSV text: the header, then rows giving values by column name (other cells empty).
pub fn csv(header: &[String], rows: &[Vec<(&str, String)>]) -> String {
    let mut out = String::new();
    {
        let mut writer = csv_writer(&mut out);
        writer(header.iter().map(String::as_str).collect());
        for row in rows {
            let map: HashMap<&str, &str> = row.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for (k, _) in row {
                assert!(header.iter().any(|h| h == k), "no column {k} in the header");
            }
            writer(
                header
                    .iter()
                    .map(|h| *map.get(h.as_str()).unwrap_or(&""))
                    .collect(),
            );
        }
    }
    out
}

fn csv_writer(out: &mut String) -> impl FnMut(Vec<&str>) + '_ {
    move |cells: Vec<&str>| {
        let line: Vec<String> = cells
            .iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.to_string()
                }
            })
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
}

/// One NCE reconciliation line with the values every line of the scenario shares.
pub struct ReconRow {
    pub order_date: &'static str,
    pub charge_type: &'static str,
    pub subscription: &'static str,
    pub product: (&'static str, &'static str, &'static str),
    pub unit_price: &'static str,
    pub effective_unit_price: &'static str,
    pub quantity: &'static str,
    pub subtotal: &'static str,
    pub charge_start: &'static str,
    pub charge_end: &'static str,
    pub reference: &'static str,
    pub qualifiers: &'static str,
    pub term: &'static str,
    pub billing_frequency: &'static str,
}

pub const CUSTOMER_ID: &str = "c139c4bf-2e8b-4ab5-8bed-d9f50dcca7a2";
pub const CUSTOMER_DOMAIN: &str = "contoso.onmicrosoft.com";

pub const BUSINESS_STANDARD: (&str, &str, &str) =
    ("CFQ7TTC0LDPB", "0001", "Microsoft 365 Business Standard");
pub const OFFICE_E1: (&str, &str, &str) = ("CFQ7TTC0LF8Q", "0001", "Office 365 E1");
pub const E5_TRIAL: (&str, &str, &str) = ("CFQ7TTC0LF8R", "0002", "Office 365 E5");
pub const E5: (&str, &str, &str) = ("CFQ7TTC0LF8R", "0001", "Office 365 E5");

impl ReconRow {
    pub fn cells(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PartnerId", "934f3416-bc2f-47f3-b492-77e517d4e572".into()),
            ("CustomerId", CUSTOMER_ID.into()),
            ("CustomerName", "Contoso".into()),
            ("CustomerDomainName", CUSTOMER_DOMAIN.into()),
            ("CustomerCountry", "GB".into()),
            ("InvoiceNumber", "G000773581".into()),
            ("MpnId", "5357564".into()),
            ("ResellerMpnId", "0".into()),
            ("OrderId", "94e858b6d855".into()),
            ("OrderDate", self.order_date.into()),
            ("ProductId", self.product.0.into()),
            ("SkuId", self.product.1.into()),
            ("AvailabilityId", "CFQ7TTC0K5RQ".into()),
            ("SkuName", self.product.2.into()),
            ("ProductName", self.product.2.into()),
            ("ChargeType", self.charge_type.into()),
            ("UnitPrice", self.unit_price.into()),
            ("Quantity", self.quantity.into()),
            ("Subtotal", self.subtotal.into()),
            ("TaxTotal", "0".into()),
            ("Total", self.subtotal.into()),
            ("Currency", "USD".into()),
            ("PublisherName", "Microsoft Corporation".into()),
            ("SubscriptionId", self.subscription.into()),
            ("ChargeStartDate", self.charge_start.into()),
            ("ChargeEndDate", self.charge_end.into()),
            ("TermAndBillingCycle", self.term.into()),
            ("EffectiveUnitPrice", self.effective_unit_price.into()),
            ("BillableQuantity", self.quantity.into()),
            ("BillingFrequency", self.billing_frequency.into()),
            ("PricingCurrency", "USD".into()),
            ("PCToBCExchangeRate", "1".into()),
            ("PCToBCExchangeRateDate", "6/1/2021".into()),
            ("SubscriptionStartDate", self.charge_start.into()),
            ("ReferenceId", self.reference.into()),
            ("ProductQualifiers", self.qualifiers.into()),
            ("ProductCategory", "OnlineServicesNCE".into()),
        ]
    }
}

const MONTHLY: &str = "One-Month commitment for monthly billing";

#[allow(clippy::too_many_arguments)]
fn row(
    order_date: &'static str,
    charge_type: &'static str,
    subscription: &'static str,
    product: (&'static str, &'static str, &'static str),
    prices: (&'static str, &'static str),
    quantity: &'static str,
    subtotal: &'static str,
    charge: (&'static str, &'static str),
    reference: &'static str,
) -> ReconRow {
    ReconRow {
        order_date,
        charge_type,
        subscription,
        product,
        unit_price: prices.0,
        effective_unit_price: prices.1,
        quantity,
        subtotal,
        charge_start: charge.0,
        charge_end: charge.1,
        reference,
        qualifiers: "",
        term: MONTHLY,
        billing_frequency: "Monthly",
    }
}

pub const S1: &str = "284b0ff0-0e74-4f65-cb23-f8ad95867991";
pub const S2: &str = "284b0ff0-0e74-4f65-cb23-f8ad95867992";
pub const S3: &str = "284b0ff0-0e74-4f65-cb23-f8ad95867994";
pub const S4: &str = "6759acd5-a8a9-4402-94b7-803baa64a78e";
pub const S5: &str = "9d7d1f3d-c8de-461c-db6d-91debd5129f5";

/// Microsoft's documented NCE scenarios (worked-examples/doc-tables nce_01, 09, 10, 12, 14,
/// 15: the same prices, quantities and dates) laid out on five subscriptions of one customer.
pub fn scenario_rows() -> Vec<ReconRow> {
    let mut trial_new = row(
        "6/25/2021",
        "new",
        S5,
        E5_TRIAL,
        ("0", "0"),
        "25",
        "0",
        ("6/25/2021", "7/24/2021"),
        "a0000000-0000-0000-0000-000000000009",
    );
    trial_new.qualifiers = "[\"Trial\"]";
    trial_new.term = "One-Month commitment for trial";
    trial_new.billing_frequency = "";
    let mut trial_leave = row(
        "6/25/2021",
        "convert",
        S5,
        E5_TRIAL,
        ("0", "0"),
        "25",
        "0",
        ("6/25/2021", "7/24/2021"),
        "a0000000-0000-0000-0000-000000000010",
    );
    trial_leave.qualifiers = "[\"Trial\"]";
    trial_leave.term = "One-Month commitment for trial";
    trial_leave.billing_frequency = "";
    let mut paid = row(
        "6/25/2021",
        "convert",
        S5,
        E5,
        ("52.61", "52.61"),
        "25",
        "1315.25",
        ("6/25/2021", "7/24/2021"),
        "a0000000-0000-0000-0000-000000000010",
    );
    paid.term = "One-Year commitment for monthly/yearly billing";
    vec![
        // nce_01 + nce_09 + nce_10 (remove moved to the 22nd) + renewal.
        row(
            "6/18/2021",
            "new",
            S1,
            BUSINESS_STANDARD,
            ("10.08", "10.08"),
            "10",
            "100.8",
            ("6/18/2021", "7/17/2021"),
            "a0000000-0000-0000-0000-000000000001",
        ),
        row(
            "6/20/2021",
            "addQuantity",
            S1,
            BUSINESS_STANDARD,
            ("10.08", "-9.408"),
            "10",
            "-94.08",
            ("6/20/2021", "7/17/2021"),
            "a0000000-0000-0000-0000-000000000002",
        ),
        row(
            "6/20/2021",
            "addQuantity",
            S1,
            BUSINESS_STANDARD,
            ("10.08", "9.408"),
            "12",
            "112.89",
            ("6/20/2021", "7/17/2021"),
            "a0000000-0000-0000-0000-000000000002",
        ),
        row(
            "6/22/2021",
            "removeQuantity",
            S1,
            BUSINESS_STANDARD,
            ("10.08", "-9.408"),
            "12",
            "-112.89",
            ("6/22/2021", "7/17/2021"),
            "a0000000-0000-0000-0000-000000000003",
        ),
        row(
            "6/22/2021",
            "removeQuantity",
            S1,
            BUSINESS_STANDARD,
            ("10.08", "9.408"),
            "8",
            "75.26",
            ("6/22/2021", "7/17/2021"),
            "a0000000-0000-0000-0000-000000000003",
        ),
        row(
            "7/18/2021",
            "renew",
            S1,
            BUSINESS_STANDARD,
            ("10.08", "10.08"),
            "8",
            "80.64",
            ("7/18/2021", "8/17/2021"),
            "a0000000-0000-0000-0000-000000000004",
        ),
        // nce_12: cancel two days after buying.
        row(
            "7/15/2021",
            "new",
            S2,
            BUSINESS_STANDARD,
            ("10.08", "10.08"),
            "10",
            "100.8",
            ("7/15/2021", "8/14/2021"),
            "a0000000-0000-0000-0000-000000000005",
        ),
        row(
            "7/17/2021",
            "cancelImmediate",
            S2,
            BUSINESS_STANDARD,
            ("10.08", "-9.42"),
            "10",
            "-94.2",
            ("7/17/2021", "8/14/2021"),
            "a0000000-0000-0000-0000-000000000006",
        ),
        // nce_14: 100 of 300 seats upgraded to Office 365 E1 on a new subscription.
        row(
            "6/18/2021",
            "new",
            S3,
            BUSINESS_STANDARD,
            ("10.08", "10.08"),
            "300",
            "3024",
            ("6/18/2021", "7/17/2021"),
            "a0000000-0000-0000-0000-000000000007",
        ),
        row(
            "6/25/2021",
            "convert",
            S3,
            BUSINESS_STANDARD,
            ("10.08", "-7.72"),
            "100",
            "-772",
            ("6/25/2021", "7/17/2021"),
            "12d33e18-061e-4040-ad77-fcd77c1a9943",
        ),
        row(
            "6/25/2021",
            "convert",
            S4,
            OFFICE_E1,
            ("6.43", "4.92"),
            "100",
            "492",
            ("6/25/2021", "7/17/2021"),
            "12d33e18-061e-4040-ad77-fcd77c1a9943",
        ),
        // nce_15: a trial converted to paid.
        trial_new,
        trial_leave,
        paid,
    ]
}

/// The scenario as a reconciliation CSV (header template with ProductCategory), rows shuffled
/// as Microsoft's files arrive unsorted.
pub fn scenario_csv(seed: u64) -> String {
    let header = template("nce_invoice_reconciliation_header_template.csv");
    let mut rows: Vec<Vec<(&str, String)>> = scenario_rows().iter().map(ReconRow::cells).collect();
    Lcg::new(seed).shuffle(&mut rows);
    csv(&header, &rows)
}

/// Values for a generated daily rated usage file.
pub struct UsageGen {
    pub customers: Vec<(&'static str, &'static str)>,
    pub entitlements: Vec<&'static str>,
    pub groups: Vec<&'static str>,
    pub meters: Vec<(&'static str, &'static str)>,
    pub tags: Vec<&'static str>,
}

impl Default for UsageGen {
    fn default() -> UsageGen {
        UsageGen {
            customers: vec![
                (
                    "c139c4bf-2e8b-4ab5-8bed-d9f50dcca7a2",
                    "contoso.onmicrosoft.com",
                ),
                (
                    "835a59a7-3172-47b5-bdef-d9cc65f4d0e4",
                    "fabrikam.onmicrosoft.com",
                ),
                (
                    "d8202a51-69f9-4228-b900-d0e081af17d7",
                    "northwind.onmicrosoft.com",
                ),
            ],
            entitlements: vec![
                "3f47bcf1-965d-40a1-a2bc-3d5db3653250",
                "66bada28-271e-4b7a-aaf5-c0ead6312345",
            ],
            // Azure compares resource groups ignoring case; so do exports, inconsistently.
            groups: vec!["rg-web", "RG-WEB", "rg-data", "TestRG", "TESTRG"],
            meters: vec![
                ("Virtual Machines", "D2s v5"),
                ("Virtual Machines", "B1s"),
                ("Storage", "LRS Data Stored"),
                ("Bandwidth", "Data Transfer Out"),
            ],
            tags: vec![
                "",
                "{}",
                "{\"department\": \"Sales\"}",
                "{\"department\":\"Sales\",\"project\":\"Apollo\"}",
                "{\"project\":\"Apollo\",\"department\":\"Sales\"}",
                "\"department\": \"Finance\"",
            ],
        }
    }
}

/// Expected result of a generated usage file, computed independently of the importer: costs
/// in billionths and quantities in millionths as integers.
#[derive(Default)]
pub struct UsageExpect {
    pub cost_nanos_by_customer: HashMap<String, i128>,
    pub quantity_micros: i128,
    pub keys: std::collections::HashSet<String>,
    pub rows: u64,
}

pub fn canonical_tags(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() || t == "{}" {
        return String::new();
    }
    let wrapped = if t.starts_with('{') {
        t.to_string()
    } else {
        format!("{{{t}}}")
    };
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(&wrapped).unwrap();
    format!("{map:?}")
}

/// Write `n` usage rows (header template, all 55 columns) to `writer`, returning what the
/// importer should find. Days are in October 2026.
pub fn write_usage(
    writer: &mut impl std::io::Write,
    n: u64,
    seed: u64,
    spec: &UsageGen,
) -> UsageExpect {
    let header = template("daily_rated_usage_header_template.csv");
    writeln!(writer, "{}", header.join(",")).unwrap();
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut rng = Lcg::new(seed);
    let mut expect = UsageExpect::default();
    let mut cells = vec![String::new(); header.len()];
    for _ in 0..n {
        let (customer, domain) = *rng.pick(&spec.customers);
        let entitlement = *rng.pick(&spec.entitlements);
        let group = *rng.pick(&spec.groups);
        let (category, meter) = *rng.pick(&spec.meters);
        let tags = *rng.pick(&spec.tags);
        let day = rng.below(31) + 1;
        let quantity_micros = rng.below(48_000_000) as i128;
        let cost_nanos = rng.below(9_000_000_000) as i128 - 500_000_000;
        for c in cells.iter_mut() {
            c.clear();
        }
        let mut set = |col: &str, value: String| {
            cells[index[col]] = value;
        };
        set("PartnerId", "2b8940db-5089-539c-e757-520ed1d1bc88".into());
        set("CustomerId", customer.into());
        set("CustomerDomainName", domain.into());
        set("CustomerCountry", "GB".into());
        set(
            "SubscriptionId",
            "12345678-9d62-4a85-8fd0-91a87c261bc4".into(),
        );
        set("ChargeStartDate", "10/1/2026".into());
        set("ChargeEndDate", "10/31/2026".into());
        set("UsageDate", format!("10/{day}/2026"));
        set("MeterCategory", category.into());
        set("MeterName", meter.into());
        set("ResourceGroup", group.into());
        set("ChargeType", "new".into());
        set(
            "Quantity",
            format!(
                "{}.{:06}",
                quantity_micros / 1_000_000,
                quantity_micros % 1_000_000
            ),
        );
        let sign = if cost_nanos < 0 { "-" } else { "" };
        let abs = cost_nanos.abs();
        set(
            "BillingPreTaxTotal",
            format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000),
        );
        set("BillingCurrency", "GBP".into());
        set("PricingCurrency", "USD".into());
        set("Tags", tags.into());
        set(
            "AdditionalInfo",
            "{\"ServiceType\": \"Standard_D2s_v5\"}".into(),
        );
        set("EntitlementId", entitlement.into());
        set("EntitlementDescription", "Partner Subscription".into());
        set("PartnerEarnedCreditPercentage", "15".into());
        set("CreditPercentage", "0".into());
        let line: Vec<String> = cells
            .iter()
            .map(|c| {
                if c.contains([',', '"']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        writeln!(writer, "{}", line.join(",")).unwrap();
        *expect
            .cost_nanos_by_customer
            .entry(customer.to_string())
            .or_default() += cost_nanos;
        expect.quantity_micros += quantity_micros;
        expect.keys.insert(format!(
            "{customer}|{entitlement}|{}|{category}|{meter}|{}|{day}",
            group.to_lowercase(),
            canonical_tags(tags)
        ));
        expect.rows += 1;
    }
    expect
}
