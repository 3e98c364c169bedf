#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic
use tally_diagnostics::Code;
use tally_syntax::ast::*;
use tally_syntax::parse;

fn render(source: &str) -> String {
    let parsed = parse(source);
    let index = tally_diagnostics::LineIndex::new(source);
    parsed
        .diagnostics
        .iter()
        .map(|d| {
            let span = d.primary_span();
            let (line, col) = index.line_col(source, span.start as usize);
            let mut out = format!(
                "{line}:{col} [{}] {} (`{}`)",
                d.code,
                d.message,
                span.text(source)
            );
            for label in d.labels.iter().skip(1) {
                let (l, c) = index.line_col(source, label.span.start as usize);
                out.push_str(&format!("\n    {l}:{c} {}", label.message));
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_design_card_line_parses() {
    let parsed = parse("backup qty = max(m365.users, 10) split by department");
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let [Item::Line(line)] = parsed.file.items.as_slice() else {
        panic!("expected one line, got {:?}", parsed.file.items)
    };
    assert_eq!(line.name.name, "backup");
    assert_eq!(line.kind, LineKind::Qty);
    let ExprKind::Call {
        name,
        args,
        receiver: None,
    } = &line.value.kind
    else {
        panic!("expected a call: {:?}", line.value)
    };
    assert_eq!(name.name, "max");
    assert_eq!(args.len(), 2);
    assert!(matches!(&args[0].kind, ExprKind::Field { field, .. } if field.name == "users"));
    assert!(matches!(args[1].kind, ExprKind::Int(10)));
    let [clause] = line.clauses.as_slice() else {
        panic!()
    };
    assert!(
        matches!(&clause.kind, ClauseKind::Split { key, otherwise: None } if key.name == "department")
    );
}

#[test]
fn a_complete_file_parses_without_diagnostics() {
    let source = r#"
// Northwind
customer "Northwind Traders" {
  tenant   "northwind.onmicrosoft.com"
  currency GBP
  psa connectwise { company "NWT001" agreement "Managed Services" }
}
use std.m365
use "../shared/msp.tally"

let staff = m365.users where enabled and licensed and not (department in ["Shared", "Kiosk"])
let bp = m365.sku("SPB")

m365_bp   qty = bp.assigned  price bp.cost * 112%  term annual
support   qty = max(count(staff), 10)  price 25.00 GBP  split by department otherwise "General"
  minimum 5
  description "Managed support"
backup    qty = count(staff) price 4.50 rounding half_even agreement "Backup"
azure     amount = sum(azure.usage.cost) * 1.15 billing arrears
fee qty = 1 price -2.5 + 3 / 4
"#;
    let parsed = parse(source);
    assert!(parsed.diagnostics.is_empty(), "{}", render(source));
    assert_eq!(parsed.file.items.len(), 10);
    let Item::Line(support) = &parsed.file.items[6] else {
        panic!()
    };
    assert_eq!(support.clauses.len(), 4);
}

#[test]
fn every_broken_item_is_reported_and_parsing_goes_on() {
    let source = r#"customer "Acme" {
  tenant "acme.onmicrosoft.com"
  currency GBP

let staff = m365.users where enabled
support qty = count(staff) price
backup qty = count(staff) price 4.50
fee qty = 1 price 2026-02-30
"#;
    let parsed = parse(source);
    insta::assert_snapshot!(render(source));
    // `let staff`, `backup` and `fee` (with its bad date) survive around the broken items.
    let names: Vec<_> = parsed
        .file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Let(l) => Some(l.name.name.clone()),
            Item::Line(l) => Some(l.name.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["staff", "backup", "fee"]);
    assert!(
        parsed
            .diagnostics
            .iter()
            .all(|d| d.code == Code::Syntax || d.code == Code::BadLiteral)
    );
}

#[test]
fn syntax_errors_use_words_not_rule_names() {
    let mut all = String::new();
    for source in [
        "support qty = ",
        "support qty = max(1, 2",
        "support qty 10",
        "let = 3",
        "customer Acme {}",
        "support qty = 10 split by",
        "support qty = 10 pricee 4",
        "support qty = 10 split by department otherwise",
        "}}}",
    ] {
        let rendered = render(source);
        assert!(!rendered.is_empty(), "no error for {source:?}");
        assert!(
            !rendered.contains('_') || rendered.contains("`_"),
            "rule name leaked: {rendered}"
        );
        all.push_str(&format!(
            "{source}\n    {}\n",
            rendered.replace('\n', "\n    ")
        ));
    }
    insta::assert_snapshot!(all);
}
