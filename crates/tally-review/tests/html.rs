//! The review page as text: self-contained, escaped, with totals, explanations and changes. The
//! same page is opened in a real browser by `crates/tally-cli/tests/report_browser.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use std::collections::BTreeMap;
use tally_plan::Plan;
use tally_review::html::{Review, to_html};

const SMALL: &str = include_str!("../../../examples/small-business/expected-plan.json");

fn small() -> Plan {
    tally_plan::from_json(SMALL).unwrap()
}

fn page(plan: &Plan, previous: Option<&Plan>, warnings: &[String]) -> String {
    let mut explanations = BTreeMap::new();
    explanations.insert(
        (
            "examples/small-business/small.tally".to_string(),
            "support".to_string(),
        ),
        "support — Managed support per user (minimum 10)\n  minimum 10 (4 counted) <applies>"
            .to_string(),
    );
    to_html(&Review {
        plan,
        previous,
        explanations: &explanations,
        warnings,
    })
    .unwrap()
}

#[test]
fn the_page_is_self_contained() {
    let html = page(&small(), None, &[]);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    ));
    for external in [
        "<link",
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "@import",
        "url(",
    ] {
        assert!(
            !html.contains(external),
            "the page refers outside itself: {external}"
        );
    }
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(html.matches("<style>").count(), 1);
    // Deterministic: no clock, no randomness.
    assert_eq!(html, page(&small(), None, &[]));
}

#[test]
fn totals_lines_and_explanations_are_on_the_page() {
    let html = page(&small(), None, &[]);
    assert!(html.contains("<strong class=\"customer-total\">347.91 GBP</strong>"));
    assert!(html.contains("<td class=\"num grand-total\" data-currency=\"GBP\">347.91 GBP</td>"));
    assert_eq!(html.matches("<details class=\"line").count(), 6);
    assert!(html.contains(
        "<summary><span class=\"name\">support</span><span class=\"desc\">Managed support per user (minimum 10)</span><span class=\"num qty\">10</span><span class=\"num price\">25.00</span><span class=\"num amount\">250.00</span><span class=\"notes\"><span class=\"badge minimum\">minimum 10 (4 counted)</span></span></summary>"
    ), "{html}");
    // The explanation, escaped, inside the line's details.
    assert!(html.contains(
        "<pre class=\"explanation\">support — Managed support per user (minimum 10)\n  minimum 10 (4 counted) &lt;applies&gt;</pre>"
    ));
    // A line without an explanation falls back to its drivers, and says so.
    assert_eq!(html.matches("explanation-missing").count(), 5);
    assert!(html.contains("<section class=\"warnings none\" id=\"warnings\">"));
}

#[test]
fn warnings_flags_and_changes_are_highlighted() {
    let mut plan = small();
    plan.customers[0].lines[4]
        .provenance
        .flags
        .push("a reduction outside Microsoft's 7-day window is not credited".into());
    let mut previous = small();
    previous.customers[0].lines[3].quantity = 9;
    previous.customers[0].lines[3].amount = Some("225.00".parse().unwrap());
    previous.customers[0].total = "322.91".parse().unwrap();
    let mut gone = previous.customers[0].lines[0].clone();
    gone.id = "fabrikambakery.onmicrosoft.com/fax".into();
    gone.description = "<img src=x onerror=alert(1)> & \"quotes\"".into();
    previous.customers[0].lines.push(gone);
    let warnings = ["examples/small-business/small.tally:3:5: T0401 `x` is never used".to_string()];
    let html = page(&plan, Some(&previous), &warnings);
    assert!(html.contains("<h2>Needs attention (2)</h2>"));
    assert!(html.contains(
        "<li class=\"flag\"><a href=\"#line-fabrikambakery.onmicrosoft.com/backup\">fabrikambakery.onmicrosoft.com/backup</a>: a reduction outside Microsoft&#39;s 7-day window is not credited</li>"
    ), "{html}");
    assert!(html.contains("<li class=\"warning\">examples/small-business/small.tally:3:5: T0401 `x` is never used</li>"));
    assert!(html.contains(
        "<details class=\"line flagged\" id=\"line-fabrikambakery.onmicrosoft.com/backup\""
    ));
    assert!(html.contains(
        "<details class=\"line changed\" id=\"line-fabrikambakery.onmicrosoft.com/support\""
    ));
    assert!(html.contains("<span class=\"badge changed\">was qty 9, amount 225.00</span>"));
    assert!(html.contains("previous <span class=\"customer-previous\">322.91 GBP</span>, <span class=\"change up\">+25.00 GBP (+7.7%)</span>"), "{html}");
    // The removed line, its description escaped.
    assert!(html.contains(
        "<li data-id=\"fabrikambakery.onmicrosoft.com/fax\"><span class=\"name\">fabrikambakery.onmicrosoft.com/fax</span> &lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;: 2 × 21.72 = 43.44</li>"
    ), "{html}");
    assert!(!html.contains("<img"));
}

#[test]
fn every_text_from_the_plan_is_escaped() {
    let mut plan = small();
    let hostile = "</title><script>alert(\"x\")</script>'";
    plan.customers[0].customer = hostile.into();
    plan.customers[0].tenant = hostile.into();
    plan.customers[0].lines[0].description = hostile.into();
    plan.customers[0].lines[0].product = hostile.into();
    plan.customers[0].lines[0].id = hostile.into();
    plan.inputs.snapshot.as_mut().unwrap().path = hostile.into();
    let html = page(&plan, None, &[hostile.to_string()]);
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    assert!(!html.contains("</title><script>"));
    assert!(html.contains("&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;"));
}
