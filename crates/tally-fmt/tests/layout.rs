//! The canonical layout, rule by rule (`docs/fmt.md`): each case is a text and its formatted
//! form, which must also be a fixed point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use tally_fmt::{FormatError, format};

#[track_caller]
fn formats(before: &str, after: &str) {
    let formatted = format(before).unwrap_or_else(|e| panic!("{e}\n{before}"));
    assert_eq!(formatted, after, "formatting:\n{before}");
    assert_eq!(format(after).unwrap(), after, "not a fixed point:\n{after}");
}

#[test]
fn the_header_has_one_setting_per_line_in_the_order_written() {
    formats(
        "customer  \"Contoso\"{currency EUR tenant \"contoso.onmicrosoft.com\"\n\n billing_day   015 psa autotask{company \"C\" agreement \"MSA\"}}",
        "customer \"Contoso\" {\n  currency EUR\n  tenant \"contoso.onmicrosoft.com\"\n  billing_day 015\n  psa autotask { company \"C\" agreement \"MSA\" }\n}\n",
    );
    formats("customer \"Empty\" { }", "customer \"Empty\" {}\n");
}

#[test]
fn a_long_psa_block_breaks() {
    formats(
        "customer \"C\" {\n  psa connectwise { company \"A very long company name indeed, Ltd\" agreement \"An agreement with a long name too\" }\n}\n",
        "customer \"C\" {\n  psa connectwise {\n    company \"A very long company name indeed, Ltd\"\n    agreement \"An agreement with a long name too\"\n  }\n}\n",
    );
}

#[test]
fn uses_and_lets_are_one_line() {
    formats(
        "use   std . m365\nuse \"../shared/msp.tally\"\nlet   staff=m365.users where enabled and(licensed)",
        "use std.m365\nuse \"../shared/msp.tally\"\nlet staff = m365.users where enabled and (licensed)\n",
    );
}

#[test]
fn short_lines_stay_on_one_line() {
    formats(
        "support qty = count(staff)\n  price 25.00\n  split by department otherwise \"Shared\"",
        "support qty = count(staff) price 25.00 split by department otherwise \"Shared\"\n",
    );
    formats(
        "backup qty = 4 price 5.00 from 2026-09-01 until 2026-09-30 price 4.00 term annual",
        "backup qty = 4 price 5.00 from 2026-09-01 until 2026-09-30 price 4.00 term annual\n",
    );
}

#[test]
fn more_than_three_clauses_go_one_per_line() {
    formats(
        "m365_e3 qty = e3.assigned price e3.cost * 110% minimum 5 product \"MS-E3\" term annual",
        "m365_e3 qty = e3.assigned\n  price e3.cost * 110%\n  minimum 5\n  product \"MS-E3\"\n  term annual\n",
    );
}

#[test]
fn a_price_schedule_goes_one_clause_per_line() {
    formats(
        "support qty = 4 price 25.00 from 2026-07-01 price 27.00 from 2026-10-01 until 2026-12-31 price 20.00",
        "support qty = 4\n  price 25.00\n  from 2026-07-01 price 27.00\n  from 2026-10-01 until 2026-12-31 price 20.00\n",
    );
}

#[test]
fn a_line_over_100_columns_breaks() {
    formats(
        "active_bp_users qty = m365.users where enabled and has_sku(\"Microsoft 365 Business Premium\") price 5.00",
        "active_bp_users qty = m365.users where enabled and has_sku(\"Microsoft 365 Business Premium\")\n  price 5.00\n",
    );
}

#[test]
fn long_filters_break_before_where_and_hang_and_or_to_the_left() {
    formats(
        "let billable_users = licensed_users where not starts_with(upn, \"svc-\") and not starts_with(upn, \"room-\") and not starts_with(upn, \"shared-\") and department != \"Shared\"",
        "let billable_users = licensed_users\n  where not starts_with(upn, \"svc-\")\n    and not starts_with(upn, \"room-\")\n    and not starts_with(upn, \"shared-\")\n    and department != \"Shared\"\n",
    );
    formats(
        "let n = m365.users where starts_with(upn, \"svc-\") or starts_with(upn, \"room-\") or starts_with(upn, \"shared-\") or department == \"Shared\"",
        "let n = m365.users\n  where starts_with(upn, \"svc-\")\n     or starts_with(upn, \"room-\")\n     or starts_with(upn, \"shared-\")\n     or department == \"Shared\"\n",
    );
}

#[test]
fn long_arithmetic_hangs_operators_left_of_the_operands() {
    formats(
        "let total = first_quantity_of_something * 2 + second_quantity_of_something_else - third_quantity_of_yet_another",
        "let total = first_quantity_of_something * 2\n          + second_quantity_of_something_else\n          - third_quantity_of_yet_another\n",
    );
}

#[test]
fn long_calls_and_lists_put_one_element_per_line_with_a_trailing_comma() {
    formats(
        "let departments = [\"Sales and marketing\", \"Operations\", \"Finance and accounting\", \"Engineering\", \"IT\"]",
        "let departments = [\n  \"Sales and marketing\",\n  \"Operations\",\n  \"Finance and accounting\",\n  \"Engineering\",\n  \"IT\",\n]\n",
    );
    formats("let x = max(a,b,)", "let x = max(a, b)\n");
    formats("let x = [ ]", "let x = []\n");
}

#[test]
fn tiers_stay_on_one_line_and_bundles_list_one_product_per_line() {
    formats(
        "rmm qty = devices tiers graduated {10: 5.00,50: 4.00, above: 3.00,}",
        "rmm qty = devices tiers graduated { 10: 5.00, 50: 4.00, above: 3.00 }\n",
    );
    formats(
        "security qty = workstations bundle { \"AV-ESET\": 3.00, \"EDR-S1\": 4.50 * (100% - 10%) }",
        "security qty = workstations\n  bundle {\n    \"AV-ESET\": 3.00,\n    \"EDR-S1\": 4.50 * (100% - 10%),\n  }\n",
    );
}

#[test]
fn literals_are_kept_as_written_and_operators_spaced() {
    formats(
        "let x = [1, 007, 2.50,12.5%,25.00\tGBP,\"say \\\"hi\\\"\\n\",true,2026-07-01]",
        "let x = [1, 007, 2.50, 12.5%, 25.00 GBP, \"say \\\"hi\\\"\\n\", true, 2026-07-01]\n",
    );
    formats(
        "let y = - -a*b/c+d-e==f",
        "let y = --a * b / c + d - e == f\n",
    );
    formats(
        "let z = not not a and b in [1]",
        "let z = not not a and b in [1]\n",
    );
}

#[test]
fn brackets_written_are_kept_once() {
    formats(
        "let x = ((a + b)) * (c)\nlet y = (m365.users where enabled).upn",
        "let x = (a + b) * (c)\nlet y = (m365.users where enabled).upn\n",
    );
}

#[test]
fn blank_lines_between_items_are_kept_once() {
    formats(
        "\n\n// top\n\n\n\nlet a = 1\nlet b = 2\n\n\n\nlet c = 3\n\n\n",
        "// top\n\nlet a = 1\nlet b = 2\n\nlet c = 3\n",
    );
}

#[test]
fn trailing_comments_of_consecutive_lines_align() {
    formats(
        "let markup = 115% // business\nlet enterprise_markup = 112%    // enterprise\n\nlet bp = m365.sku(\"SPB\")     // Business Premium\n",
        "let markup = 115%              // business\nlet enterprise_markup = 112%   // enterprise\n\nlet bp = m365.sku(\"SPB\")   // Business Premium\n",
    );
}

#[test]
fn comments_between_clauses_stay_with_their_clause() {
    formats(
        "support qty = staff // who\n price 25.00 // list price\n // the contract's floor\n minimum 10",
        "support qty = staff   // who\n  price 25.00         // list price\n  // the contract's floor\n  minimum 10\n",
    );
}

#[test]
fn comments_in_filters_stay_on_their_operand() {
    let text = "let billable = licensed_users\n  where not starts_with(upn, \"svc-\")   // service accounts\n    and department != \"Shared\"         // shared mailboxes\n";
    formats(text, text);
}

#[test]
fn comments_inside_an_expression_move_before_the_item_or_clause() {
    formats(
        "let x = not // why\n  enabled\n",
        "// why\nlet x = not enabled\n",
    );
    formats(
        "support qty = staff price // why\n 25.00 term annual",
        "support qty = staff\n  // why\n  price 25.00\n  term annual\n",
    );
}

#[test]
fn comments_in_blocks_stay_in_the_block() {
    formats(
        "customer \"C\" { // the header\n  tenant \"t\"\n  // no psa yet\n}\n",
        "customer \"C\" {   // the header\n  tenant \"t\"\n  // no psa yet\n}\n",
    );
    formats(
        "x qty = max(a, // first\n b)",
        "x qty = max(\n  a,   // first\n  b,\n)\n",
    );
}

#[test]
fn line_endings_become_newlines() {
    formats(
        "let a = 1\r\nlet b = 2 // two\r\n",
        "let a = 1\nlet b = 2   // two\n",
    );
}

#[test]
fn empty_and_comment_only_files() {
    formats("", "");
    formats(" \n\n\t\n", "");
    formats("\n// only a comment   \n\n", "// only a comment\n");
}

#[test]
fn text_with_syntax_errors_is_refused_with_its_first_error() {
    let text = "let a = 1\nlet b = max(1, 2\nlet c = )\n";
    let Err(FormatError::Syntax {
        line,
        column,
        count,
        first,
    }) = format(text)
    else {
        panic!("formatted a broken file")
    };
    assert_eq!((line, column), (2, 17));
    assert_eq!(count, 2);
    assert!(first.message.starts_with("expected"), "{}", first.message);
}

#[test]
fn comments_after_an_opening_bracket_stay_in_the_brackets() {
    formats(
        "customer \"S\" { // c\n} // d\n",
        "customer \"S\" {   // c\n}                // d\n",
    );
    formats(
        "let a = max( // c\n) // d\n",
        "let a = max(   // c\n)              // d\n",
    );
}

/// Expressions as deep as the language allows format like any other (on a main thread's stack,
/// 8 MiB: the parser itself needs it for 256 brackets in a debug build).
#[test]
fn the_deepest_expressions_format() {
    let thread = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let n = tally_syntax::MAX_NESTING;
            for text in [
                format!("let x = {}1{}\n", "(".repeat(n - 1), ")".repeat(n - 1)),
                format!("let x = {}1{}\n", "[".repeat(n - 1), "]".repeat(n - 1)),
                format!("let x = {}\n", vec!["1"; n].join(" + ")),
                format!("let x = {}1\n", "-".repeat(n - 1)),
                format!("let x = {}enabled\n", "not ".repeat(n - 1)),
                format!("let x = m365{}\n", ".users".repeat(n - 1)),
                format!("let x = m365.users{}\n", " where enabled".repeat(n - 2)),
            ] {
                let once = format(&text).unwrap();
                assert_eq!(format(&once).unwrap(), once);
            }
        })
        .unwrap();
    thread.join().unwrap();
}
