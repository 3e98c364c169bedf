//! A generated corpus of customer rule files, for measuring how fast `tally check` goes: files
//! of exactly `lines` text lines each, written the way the examples and `tests/eval/` write
//! rules (a header, `use std.m365`, markups and SKUs as `let`s, a filtered user set, licence
//! lines at cost plus markup, per-user services with minimums and splits, tiers, bundles, dated
//! prices, comments). Deterministic: the same `(files, lines)` always gives the same text, and
//! every file checks without a diagnostic (`corpus_checks_cleanly` in `benches/corpus.rs`'s
//! test, and the bench asserts it before timing).
//!
//! Shared by `benches/corpus.rs` (in process) and `examples/corpus.rs` (writes the files for
//! the whole-process measurement).

/// `(key, text)` for `files` customer files of `lines` text lines each, keyed
/// `corpus/customer-0001.tally` and so on.
pub fn generate(files: usize, lines: usize) -> Vec<(String, String)> {
    let mut random = Random(0x5eed_7a11);
    (0..files)
        .map(|n| {
            let key = format!("corpus/customer-{:04}.tally", n + 1);
            (key, file(n, lines, &mut random))
        })
        .collect()
}

/// A snapshot (JSON) for planning `corpus`: every file's tenant with `users` users (seeded
/// departments, one service account, one disabled user), every SKU the corpus uses (looked up in
/// Microsoft's table through `guid_of`, priced) and every counter, for October 2026.
#[allow(dead_code)] // used by examples/corpus.rs, not by the benches and tests sharing this module
pub fn snapshot(
    corpus: &[(String, String)],
    users: usize,
    guid_of: impl Fn(&str) -> String,
) -> String {
    let skus: Vec<String> = SKUS
        .iter()
        .enumerate()
        .map(|(i, (_, part, _))| {
            format!(
                r#"{{"sku_id":"{}","part_number":"{part}","purchased":{users},"assigned":{users},"unit_cost":{{"amount":"{}.50","currency":"GBP"}},"term":"monthly","billing_plan":"monthly"}}"#,
                guid_of(part),
                4 + i * 3
            )
        })
        .collect();
    let counters: Vec<String> = COUNTERS
        .iter()
        .map(|(_, name, _)| {
            format!(
                r#"{{"name":"{name}","value":{},"as_of":"2026-10-31"}}"#,
                users / 2
            )
        })
        .collect();
    let tenants: Vec<String> = corpus
        .iter()
        .filter_map(|(_, text)| {
            let line = text.lines().find(|l| l.trim_start().starts_with("tenant "))?;
            let tenant = line.split('"').nth(1)?;
            let people: Vec<String> = (0..users)
                .map(|u| {
                    let upn = if u == 0 { format!("svc-backup@{tenant}") } else { format!("user{u}@{tenant}") };
                    format!(
                        r#"{{"id":"u{u}","upn":"{upn}","display_name":"User {u}","department":"{}","enabled":{},"assigned_skus":[]}}"#,
                        ["Sales", "Support", "Finance", "Shared"][u % 4],
                        u != 1
                    )
                })
                .collect();
            Some(format!(
                r#"{{"tenant":"{tenant}","users":[{}],"subscribed_skus":[{}],"counters":[{}]}}"#,
                people.join(","),
                skus.join(","),
                counters.join(",")
            ))
        })
        .collect();
    format!(
        "{{\"version\":2,\"period\":{{\"start\":\"2026-10-01\",\"end\":\"2026-10-31\"}},\"tenants\":[{}]}}\n",
        tenants.join(",\n")
    )
}

/// The total number of text lines in `corpus`.
pub fn line_count(corpus: &[(String, String)]) -> usize {
    corpus.iter().map(|(_, text)| text.lines().count()).sum()
}

/// A small deterministic generator (xorshift64): no dependency, same sequence everywhere.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A price like `32.50`.
    fn price(&mut self, low: usize, high: usize) -> String {
        let pounds = low + self.below(high - low + 1);
        let pence = [0, 25, 50, 75, 95, 10, 80][self.below(7)];
        format!("{pounds}.{pence:02}")
    }
}

const NAMES: [&str; 12] = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Litware",
    "Tailspin",
    "Adventure Works",
    "Wide World",
    "Proseware",
    "Alpine Ski",
    "Coho Winery",
    "Fourth Coffee",
    "Margie's Travel",
];
const KINDS: [&str; 8] = [
    "Traders", "Legal", "Bakery", "Freight", "Studios", "Marine", "Dental", "Partners",
];

/// `(let name, part number, description)`: SKUs of Microsoft's table.
const SKUS: [(&str, &str, &str); 10] = [
    ("bp", "SPB", "Microsoft 365 Business Premium"),
    (
        "standard",
        "O365_BUSINESS_PREMIUM",
        "Microsoft 365 Business Standard",
    ),
    (
        "basic",
        "O365_BUSINESS_ESSENTIALS",
        "Microsoft 365 Business Basic",
    ),
    ("e3", "SPE_E3", "Microsoft 365 E3"),
    ("exchange", "EXCHANGESTANDARD", "Exchange Online (Plan 1)"),
    (
        "defender",
        "ATP_ENTERPRISE",
        "Microsoft Defender for Office 365 (Plan 1)",
    ),
    ("phone", "MCOEV", "Microsoft Teams Phone Standard"),
    ("visio", "VISIOCLIENT", "Visio Plan 2"),
    (
        "project",
        "PROJECTPROFESSIONAL",
        "Planner and Project Plan 3",
    ),
    ("power_bi", "POWER_BI_PRO", "Power BI Pro"),
];

const COUNTERS: [(&str, &str, &str); 6] = [
    (
        "backup",
        "backup.protected_users",
        "Microsoft 365 backup per protected user",
    ),
    (
        "endpoint_protection",
        "rmm.workstations",
        "Endpoint detection and response per workstation",
    ),
    (
        "server_monitoring",
        "rmm.servers",
        "Server monitoring and patching",
    ),
    (
        "email_archiving",
        "archive.mailboxes",
        "Email archiving per mailbox",
    ),
    ("laptops", "rmm.laptops", "Laptop management"),
    ("firewalls", "rmm.firewalls", "Managed firewall"),
];

const SERVICES: [(&str, &str); 6] = [
    ("support", "Managed support per user"),
    ("web_filtering", "Web filtering per user"),
    ("security_awareness", "Security awareness training per user"),
    ("email_security", "Email security per mailbox"),
    ("password_manager", "Password manager per user"),
    ("helpdesk", "Helpdesk per user"),
];

/// One customer file of exactly `lines` text lines.
fn file(n: usize, lines: usize, random: &mut Random) -> String {
    let mut out: Vec<String> = Vec::new();
    let name = format!("{} {}", random.pick(&NAMES), random.pick(&KINDS));
    let slug: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    out.push(format!(
        "// {name}: customer {} of the generated corpus.",
        n + 1
    ));
    out.push(format!("customer \"{name}\" {{"));
    out.push(format!("  tenant \"{slug}{n}.onmicrosoft.com\""));
    out.push("  currency GBP".into());
    if random.chance(50) {
        out.push(format!(
            "  psa connectwise {{ company \"{}\" agreement \"Managed Services\" }}",
            slug.to_uppercase()
        ));
    }
    out.push("}".into());
    out.push(String::new());
    out.push("use std.m365".into());
    out.push(String::new());
    let markup = 110 + random.below(15);
    out.push(format!(
        "let markup = {markup}%              // cost plus {}%",
        markup - 100
    ));
    out.push(
        "let people = m365.users where enabled and not starts_with(upn, \"svc-\") and department != \"Shared\""
            .into(),
    );
    out.push(String::new());

    // Items of several text lines each, until the next would not fit; then comments to fill.
    let mut skus: Vec<usize> = (0..SKUS.len()).collect();
    let mut services: Vec<usize> = (0..SERVICES.len()).collect();
    let mut counters: Vec<usize> = (0..COUNTERS.len()).collect();
    let mut item = 0;
    loop {
        // The first two items use `people` and `markup`, so no definition goes unused.
        let choice = match item {
            0 => 4,
            1 => 0,
            _ => random.below(10),
        };
        let block = match choice {
            0..=3 if !skus.is_empty() => {
                let (var, part, description) = SKUS[skus.remove(random.below(skus.len()))];
                let term = random.pick(&["annual", "monthly"]);
                vec![
                    format!("let {var} = m365.sku(\"{part}\")    // {description}"),
                    format!("{var}_licences qty = {var}.purchased"),
                    "  price {var}.cost * markup".replace("{var}", var),
                    format!("  term {term}"),
                    format!("  product \"MS-{part}-{}\"", term.to_uppercase()),
                    format!("  description \"{description} ({term})\""),
                    String::new(),
                ]
            }
            4..=6 if !services.is_empty() => {
                let (line, description) = SERVICES[services.remove(random.below(services.len()))];
                let mut block = vec![
                    format!("// {description}, with a contractual floor."),
                    format!("{line} qty = people"),
                    format!("  price {}", random.price(1, 40)),
                    format!("  minimum {}", 5 + random.below(20)),
                ];
                if random.chance(50) {
                    let key = random.pick(&["department", "office"]);
                    block.push(format!("  split by {key} otherwise \"Unassigned\""));
                }
                block.push(format!("  description \"{description}\""));
                block.push(String::new());
                block
            }
            7 if !counters.is_empty() => {
                let (line, counter, description) =
                    COUNTERS[counters.remove(random.below(counters.len()))];
                if random.chance(50) {
                    vec![
                        format!(
                            "{line} qty = counter(\"{counter}\") tiers graduated {{ 10: {}, 25: {}, above: {} }}",
                            random.price(5, 9),
                            random.price(3, 4),
                            random.price(1, 2)
                        ),
                        format!("  description \"{description}\""),
                        String::new(),
                    ]
                } else {
                    vec![
                        format!("{line} qty = counter(\"{counter}\")"),
                        format!("  price {}", random.price(2, 50)),
                        "  from 2026-07-01 price 27.00".into(),
                        format!("  description \"{description}\""),
                        String::new(),
                    ]
                }
            }
            8 => vec![
                format!("security_{item} qty = counter(\"rmm.workstations\")"),
                "  bundle {".into(),
                format!("    \"AV-ESET\": {},", random.price(2, 4)),
                format!("    \"EDR-S1\": {} * (100% - 15%),", random.price(4, 6)),
                "  }".into(),
                String::new(),
            ],
            _ => vec![
                format!(
                    "site_{item} qty = 1 price {} description \"Network management, site {}\"",
                    random.price(100, 400),
                    item + 1
                ),
                String::new(),
            ],
        };
        item += 1;
        if out.len() + block.len() > lines {
            break;
        }
        out.extend(block);
    }
    while out.len() < lines {
        out.push("// reviewed with the customer at the last quarterly business review".into());
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}
