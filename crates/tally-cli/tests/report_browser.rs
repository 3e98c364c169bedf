//! The review page (`tally plan --format html --previous OLD.json`) in a real browser: Debian's
//! Chromium, headless, driven over the DevTools protocol by `headless_chrome`. The test opens the
//! file the binary wrote, reads the totals the page shows, clicks a line and checks that its
//! explanation appears (the text `tally explain` prints), uses the page's controls, and saves
//! screenshots under `target/tmp/review-page/`.
//!
//! Why `headless_chrome`: it is the maintained synchronous driver for Chromium's DevTools
//! protocol (the protocol's types generated from Chromium's own definition), so the test needs
//! neither an async runtime (WebDriver clients such as `fantoccini` and `thirtyfour` are built on
//! tokio) nor a `chromedriver` process between the test and the browser; the `offline` default
//! never downloads a browser.
//!
//! Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it). Without it the
//! test says it skipped and passes, except in CI (`CI` set), where its absence fails the test.
//! `TALLY_CHROMIUM` names another Chromium or Chrome binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .unwrap()
}

/// Chromium: `TALLY_CHROMIUM`, else `chromium` on the PATH; `None` when there is none.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TALLY_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

fn tally(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tally {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Last month's plan: backup at 48 users, no network management, and a fax line whose
/// description tries to inject markup.
fn previous_plan(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(workspace().join("examples/northwind/expected-plan.json")).unwrap();
    let mut plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    plan["period"]["start"] = "2026-09-01".into();
    plan["period"]["end"] = "2026-09-30".into();
    let customer = &mut plan["customers"][0];
    let lines = customer["lines"].as_array_mut().unwrap();
    for line in lines.iter_mut() {
        if line["line"] == "backup" {
            line["quantity"] = 48.into();
            line["amount"] = "180.00".into();
        }
    }
    let mut fax = lines[0].clone();
    fax["id"] = "northwindtraders.onmicrosoft.com/fax".into();
    fax["line"] = "fax".into();
    fax["description"] =
        "<img src=x onerror=\"document.title='injected'\"><script>document.title='injected'</script>Fax"
            .into();
    fax["quantity"] = 2.into();
    fax["unit_price"] = "6.00".into();
    fax["amount"] = "12.00".into();
    lines.retain(|l| l["line"] != "network_management");
    lines.push(fax);
    customer["total"] = "4090.76".into();
    let path = dir.join("september.json");
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    path
}

/// The bundled snapshot, but Microsoft 365 E3 is paid upfront for its annual term: the plan still
/// bills it monthly, so the line is flagged.
fn upfront_snapshot(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(workspace().join("examples/northwind/snapshot.json")).unwrap();
    let mut snapshot: serde_json::Value = serde_json::from_str(&text).unwrap();
    let skus = snapshot["tenants"][0]["subscribed_skus"]
        .as_array_mut()
        .unwrap();
    let e3 = skus
        .iter_mut()
        .find(|s| s["part_number"] == "SPE_E3")
        .unwrap();
    e3["billing_plan"] = "upfront".into();
    let path = dir.join("snapshot.json");
    std::fs::write(&path, serde_json::to_string_pretty(&snapshot).unwrap()).unwrap();
    path
}

/// Evaluates JavaScript in the page and returns its value as JSON.
fn eval(tab: &Tab, expression: &str) -> serde_json::Value {
    let object = tab
        .evaluate(expression, false)
        .unwrap_or_else(|e| panic!("cannot evaluate `{expression}`: {e}"));
    let shown = format!("{object:?}");
    object
        .value
        .unwrap_or_else(|| panic!("`{expression}` gave no value: {shown}"))
}

fn text(tab: &Tab, selector: &str) -> String {
    let quoted = serde_json::to_string(selector).unwrap();
    let js = format!(
        "(function () {{ var e = document.querySelector({quoted}); return e ? e.innerText : 'no element ' + {quoted}; }})()"
    );
    eval(tab, &js).as_str().unwrap().to_string()
}

fn screenshot(tab: &Tab, path: &Path) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 20_000,
        "a blank screenshot? {} bytes",
        png.len()
    );
    std::fs::write(path, png).unwrap();
}

#[test]
fn the_review_page_works_in_chromium() {
    let Some(browser_path) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium: the review page is tested in a real browser, and .ci/run \
             installs Debian's `chromium` (or set TALLY_CHROMIUM to a Chromium or Chrome binary)"
        );
        eprintln!("skipped: no `chromium` on the PATH (apt-get install chromium)");
        return;
    };
    assert!(
        browser_path.is_file(),
        "TALLY_CHROMIUM names {}, which is not a file",
        browser_path.display()
    );
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("review-page");
    std::fs::create_dir_all(&out).unwrap();
    let work = tempfile::tempdir().unwrap();
    let previous = previous_plan(work.path());
    let snapshot = upfront_snapshot(work.path());
    let snapshot = snapshot.to_str().unwrap();
    let page = out.join("northwind.html");
    tally(&[
        "plan",
        "examples/northwind/northwind.tally",
        "--snapshot",
        snapshot,
        "--format",
        "html",
        "--previous",
        previous.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    let explanation = tally(&[
        "explain",
        "examples/northwind/northwind.tally",
        "--snapshot",
        snapshot,
        "support",
    ]);
    assert!(explanation.contains("minimum"), "{explanation}");

    let profile = tempfile::tempdir().unwrap();
    let options = LaunchOptions::default_builder()
        .path(Some(browser_path))
        .headless(true)
        .sandbox(false)
        .enable_gpu(false)
        .window_size(Some((1400, 1000)))
        .user_data_dir(Some(profile.path().to_path_buf()))
        .args(
            [
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ]
            .map(OsStr::new)
            .to_vec(),
        )
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let browser = Browser::new(options).unwrap_or_else(|e| panic!("cannot start Chromium: {e}"));
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("file://{}", page.display()))
        .unwrap();
    tab.wait_until_navigated().unwrap();
    tab.wait_for_element("section.customer").unwrap();

    // The totals shown, and the change against last month.
    assert_eq!(
        eval(&tab, "document.title"),
        "Billing review, 2026-10-01 to 2026-10-31"
    );
    assert_eq!(
        text(&tab, "section.customer .customer-total"),
        "4365.01 GBP"
    );
    assert_eq!(text(&tab, "td.grand-total"), "4365.01 GBP");
    assert_eq!(
        text(&tab, "section.customer .customer-previous"),
        "4090.76 GBP"
    );
    assert_eq!(
        text(&tab, "section.customer .change"),
        "+274.25 GBP (+6.7%)"
    );
    assert_eq!(
        text(&tab, "#period"),
        "2026-10-01 to 2026-10-31, compared with 2026-09-01 to 2026-09-30"
    );
    assert_eq!(
        eval(&tab, "document.querySelectorAll('details.line').length"),
        27
    );
    assert_eq!(
        text(
            &tab,
            "details[data-id='northwindtraders.onmicrosoft.com/backup'] .badge.changed"
        ),
        "was qty 48, amount 180.00"
    );
    assert_eq!(
        eval(
            &tab,
            "document.querySelector(\"details[data-id='northwindtraders.onmicrosoft.com/network_management']\").classList.contains('new')"
        ),
        true
    );
    // The removed line's hostile description is shown as text and did not run.
    assert_eq!(eval(&tab, "document.querySelectorAll('img').length"), 0);
    assert_eq!(eval(&tab, "document.scripts.length"), 1);
    assert!(
        text(&tab, "ul.removed li").contains("<img src=x onerror=\"document.title='injected'\">"),
        "{}",
        text(&tab, "ul.removed li")
    );
    // The flag is listed at the top and its line is highlighted.
    assert_eq!(text(&tab, "#warnings h2"), "Needs attention (1)");
    assert!(
        text(&tab, "#warnings li.flag").starts_with(
            "northwindtraders.onmicrosoft.com/m365_e3: `m365_e3` bills SPE_E3 every month, but Microsoft bills its annual term upfront"
        ),
        "{}",
        text(&tab, "#warnings li.flag")
    );
    let background = |selector: &str| {
        eval(
            &tab,
            &format!(
                "getComputedStyle(document.querySelector(\"{selector} > summary\")).backgroundColor"
            ),
        )
    };
    assert_eq!(
        background("details[data-line='m365_e3']"),
        "rgb(255, 244, 214)",
        "a flagged line has the warning colour"
    );
    assert_eq!(
        background("details[data-line='exchange_online']"),
        "rgba(0, 0, 0, 0)",
        "an unremarkable line has none"
    );
    assert_eq!(
        text(&tab, "details[data-line='m365_e3'] .badge.flag"),
        "1 flag"
    );
    screenshot(&tab, &out.join("northwind-overview.png"));

    // Expanding a line reveals its explanation, exactly as `tally explain` prints it.
    let line = "details[data-id='northwindtraders.onmicrosoft.com/support/department=Sales']";
    // `checkVisibility` also sees the `content-visibility: hidden` Chromium gives the content of
    // a closed `<details>`.
    let visible = format!(
        "document.querySelector(\"{line} pre.explanation\").checkVisibility({{ contentVisibilityAuto: true, visibilityProperty: true }})"
    );
    assert_eq!(
        eval(&tab, &format!("document.querySelector(\"{line}\").open")),
        false
    );
    assert_eq!(
        eval(&tab, &visible),
        false,
        "the explanation is hidden at first"
    );
    tab.wait_for_element(&format!("{line} > summary"))
        .unwrap()
        .click()
        .unwrap();
    assert_eq!(
        eval(&tab, &format!("document.querySelector(\"{line}\").open")),
        true
    );
    assert_eq!(
        eval(&tab, &visible),
        true,
        "clicking the line shows its explanation"
    );
    assert_eq!(
        text(&tab, &format!("{line} pre.explanation")),
        explanation.trim_end()
    );
    screenshot(&tab, &out.join("northwind-support-expanded.png"));

    // The page's controls: only the changed, new and flagged lines; then everything expanded.
    tab.wait_for_element("#attention-only")
        .unwrap()
        .click()
        .unwrap();
    let shown = "Array.from(document.querySelectorAll('details.line')).filter(function (d) { return d.checkVisibility(); }).map(function (d) { return d.dataset.line; }).join(',')";
    assert_eq!(eval(&tab, shown), "m365_e3,backup,network_management");
    tab.wait_for_element("#attention-only")
        .unwrap()
        .click()
        .unwrap();
    tab.wait_for_element("#expand-all")
        .unwrap()
        .click()
        .unwrap();
    assert_eq!(
        eval(
            &tab,
            "Array.from(document.querySelectorAll('details.line')).every(function (d) { return d.open; })"
        ),
        true
    );
    assert_eq!(
        eval(&tab, "document.title"),
        "Billing review, 2026-10-01 to 2026-10-31"
    );
}
