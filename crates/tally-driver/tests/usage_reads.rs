//! What `UsageReads` finds in rules: the parts of a usage row they read, and whether adding
//! rows up before evaluation changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use tally_db::Database;
use tally_driver::UsageReads;

const HEADER: &str =
    "customer \"Contoso\" {\n  tenant \"contoso.onmicrosoft.com\"\n  currency GBP\n}\n";

fn reads(rules: &str) -> UsageReads {
    let mut db = Database::default();
    let file = db.set_file("contoso.tally", format!("{HEADER}{rules}"));
    let problems = tally_driver::diagnostics(&db, &[file]);
    assert!(problems.is_empty(), "{problems:?}");
    let program = tally_db::program(&db, file).as_ref().unwrap();
    UsageReads::of([program])
}

#[test]
fn a_sum_of_costs_reads_only_the_cost() {
    let r = reads("azure amount = sum(azure.usage.cost) * 115%\n");
    assert!(r.additive && r.cost);
    assert!(!(r.date || r.subscription || r.resource_group || r.meter_category));
    assert!(!(r.meter_name || r.quantity || r.tags));
}

#[test]
fn filters_keep_the_parts_they_read_through_definitions() {
    let r = reads(
        "let vm = azure.usage where meter_category == \"Virtual Machines\" where tag(\"project\") == \"Apollo\"\n\
         let late = vm where date >= 2026-10-15\n\
         vm_cost amount = sum(late.cost)\n",
    );
    assert!(r.additive);
    assert!(r.meter_category && r.tags && r.date && r.cost);
    assert!(!(r.resource_group || r.subscription || r.meter_name || r.quantity));
}

#[test]
fn counting_rows_or_anything_but_a_sum_is_not_additive() {
    for rules in [
        "rows qty = count(azure.usage)\n  price 1.00\n",
        "rows qty = azure.usage\n  price 1.00\n",
        "let costs = azure.usage.cost\nazure amount = sum(costs)\n",
        "big amount = sum((azure.usage where cost > 5.00 GBP).cost)\n",
        "rows qty = max(azure.usage where meter_name == \"B2s\", 1)\n  price 1.00\n",
    ] {
        let r = reads(rules);
        assert!(!r.additive, "{rules}");
    }
}

#[test]
fn rules_without_usage_read_nothing() {
    let r = reads("support qty = 10\n  price 25.00\n");
    assert_eq!(r, UsageReads::default());
}
