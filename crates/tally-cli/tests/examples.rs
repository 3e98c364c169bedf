//! The bundled examples under `examples/`: every directory there with a `snapshot.json` and one
//! `.tally` file is planned by the real binary, and the plan must match the committed goldens
//! `expected-plan.json` and `expected-plan.txt` byte for byte.
//!
//! After an intended change, regenerate the goldens and review the diff before committing:
//!
//! ```text
//! TALLY_UPDATE_GOLDEN=1 cargo test -p tally-cli --test examples
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The examples every build must have; others found under `examples/` are checked as well.
const REQUIRED: [&str; 2] = ["northwind", "small-business"];

fn workspace() -> &'static Path {
    Path::new(WORKSPACE)
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `tally` in `dir` with colour off.
fn tally_in(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tally {args:?}: {e}"));
    let out = Output {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(
        !out.stderr.contains("internal error") && !out.stderr.contains("panicked"),
        "tally {args:?} crashed:\n{}",
        out.stderr
    );
    out
}

/// Runs `tally` from the workspace root, where the goldens' recorded paths are relative to.
fn tally(args: &[&str]) -> Output {
    tally_in(workspace(), args)
}

/// One example: `examples/<name>/` with its rule file and snapshot, as paths relative to the
/// workspace root written with `/`, exactly as a user would type them (the plan records them).
struct Example {
    name: String,
    rules: String,
    snapshot: String,
}

impl Example {
    fn dir(&self) -> String {
        format!("examples/{}", self.name)
    }

    fn golden(&self, file: &str) -> PathBuf {
        workspace().join("examples").join(&self.name).join(file)
    }

    fn plan(&self, format: &str) -> String {
        let out = tally(&[
            "plan",
            &self.rules,
            "--snapshot",
            &self.snapshot,
            "--format",
            format,
        ]);
        assert_eq!(
            out.code,
            Some(0),
            "`tally plan {} --snapshot {} --format {format}` failed:\n{}",
            self.rules,
            self.snapshot,
            out.stderr
        );
        out.stdout
    }
}

fn examples() -> Vec<Example> {
    let root = workspace().join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("snapshot.json").is_file())
        .collect();
    dirs.sort();
    let examples: Vec<Example> = dirs
        .iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_str().unwrap().to_string();
            let mut rules: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_str().unwrap().to_string())
                .filter(|file| file.ends_with(".tally"))
                .collect();
            rules.sort();
            assert_eq!(
                rules.len(),
                1,
                "examples/{name} should hold exactly one .tally file next to its snapshot.json, found {rules:?}"
            );
            Example {
                rules: format!("examples/{name}/{}", rules[0]),
                snapshot: format!("examples/{name}/snapshot.json"),
                name,
            }
        })
        .collect();
    for required in REQUIRED {
        assert!(
            examples.iter().any(|e| e.name == required),
            "examples/{required} (with a snapshot.json) is missing"
        );
    }
    examples
}

fn updating() -> bool {
    std::env::var("TALLY_UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

/// Compares `actual` with the golden file, or rewrites the golden under `TALLY_UPDATE_GOLDEN=1`.
/// Returns a description of the mismatch, if any.
fn check_golden(example: &Example, file: &str, actual: &str, command: &str) -> Option<String> {
    let path = example.golden(file);
    let path = path.as_path();
    let shown = format!("{}/{file}", example.dir());
    if updating() {
        std::fs::write(path, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return None;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return Some(format!(
                "cannot read the golden {shown}: {e}\n\
                 create it with: TALLY_UPDATE_GOLDEN=1 cargo test -p tally-cli --test examples\n"
            ));
        }
    };
    if expected == actual {
        return None;
    }
    Some(format!(
        "`{command}` no longer matches {shown}\n\
         (- golden, + actual; if the change is intended, regenerate with\n \
         TALLY_UPDATE_GOLDEN=1 cargo test -p tally-cli --test examples\n and review the diff)\n{}",
        diff(&expected, actual)
    ))
}

/// A small line diff: the differing middle of the two texts, with a little context.
fn diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 3;
    const MAX_LINES: usize = 60;
    let old: Vec<&str> = expected.split('\n').collect();
    let new: Vec<&str> = actual.split('\n').collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = String::new();
    let start = prefix.saturating_sub(CONTEXT);
    let _ = writeln!(out, "@@ line {} @@", start + 1);
    let mut shown = 0;
    let mut push = |out: &mut String, sign: char, line: &str| {
        if shown < MAX_LINES {
            let _ = writeln!(out, "{sign} {line}");
        } else if shown == MAX_LINES {
            let _ = writeln!(out, "  ... (diff truncated)");
        }
        shown += 1;
    };
    for line in &old[start..prefix] {
        push(&mut out, ' ', line);
    }
    for line in &old[prefix..old.len() - suffix] {
        push(&mut out, '-', line);
    }
    for line in &new[prefix..new.len() - suffix] {
        push(&mut out, '+', line);
    }
    let end = (old.len() - suffix + CONTEXT).min(old.len());
    for line in &old[old.len() - suffix..end] {
        push(&mut out, ' ', line);
    }
    if expected.trim_end() == actual.trim_end() {
        out.push_str("(the texts differ only in trailing whitespace or line endings)\n");
    }
    out
}

#[test]
fn plans_match_the_goldens() {
    let mut failures = Vec::new();
    for example in examples() {
        for (format, golden) in [
            ("json", "expected-plan.json"),
            ("table", "expected-plan.txt"),
        ] {
            let actual = example.plan(format);
            let command = format!(
                "tally plan {} --snapshot {} --format {format}",
                example.rules, example.snapshot
            );
            if let Some(failure) = check_golden(&example, golden, &actual, &command) {
                failures.push(failure);
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_examples_check_cleanly() {
    let out = tally(&["check", "examples/"]);
    assert_eq!(
        out.code,
        Some(0),
        "`tally check examples/` failed:\n{}",
        out.stderr
    );
    // Not even a warning: the examples are what people copy.
    assert!(
        !out.stderr.contains("T0"),
        "`tally check examples/` reported diagnostics:\n{}",
        out.stderr
    );
}

/// An exact decimal read from the plan's strings ("487.50", "-3.2", "12").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    units: i128,
    scale: u32,
}

impl Exact {
    fn parse(text: &str) -> Exact {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        assert!(
            !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.chars().all(|c| c.is_ascii_digit()),
            "not a decimal amount: {text:?}"
        );
        let units: i128 = format!("{whole}{fraction}").parse().unwrap();
        Exact {
            units: if negative { -units } else { units },
            scale: fraction.len() as u32,
        }
    }

    fn rescale(self, scale: u32) -> i128 {
        assert!(scale >= self.scale);
        self.units * 10i128.pow(scale - self.scale)
    }

    fn times(self, n: i128) -> Exact {
        Exact {
            units: self.units * n,
            scale: self.scale,
        }
    }

    fn plus(self, other: Exact) -> Exact {
        let scale = self.scale.max(other.scale);
        Exact {
            units: self.rescale(scale) + other.rescale(scale),
            scale,
        }
    }

    fn same(self, other: Exact) -> bool {
        let scale = self.scale.max(other.scale);
        self.rescale(scale) == other.rescale(scale)
    }
}

impl std::fmt::Display for Exact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = format!(
            "{:0>width$}",
            self.units.abs(),
            width = self.scale as usize + 1
        );
        let (whole, fraction) = digits.split_at(digits.len() - self.scale as usize);
        if fraction.is_empty() {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{fraction}")
        }
    }
}

fn money(line: &Value, field: &str) -> Option<Exact> {
    match &line[field] {
        Value::Null => None,
        Value::String(text) => Some(Exact::parse(text)),
        other => panic!("`{field}` should be a string or null, not {other} in {line:#}"),
    }
}

fn quantity(line: &Value) -> i128 {
    line["quantity"]
        .as_i64()
        .unwrap_or_else(|| panic!("`quantity` is not a whole number in {line:#}"))
        .into()
}

/// The lines of every customer of a JSON plan, by (customer, rule line name), in plan order.
fn lines_by_rule(plan: &Value) -> BTreeMap<(String, String), Vec<Value>> {
    let mut rules: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for customer in plan["customers"].as_array().unwrap() {
        let name = customer["customer"].as_str().unwrap().to_string();
        for line in customer["lines"].as_array().unwrap() {
            let rule = line["line"].as_str().unwrap().to_string();
            rules
                .entry((name.clone(), rule))
                .or_default()
                .push(line.clone());
        }
    }
    rules
}

/// The example's rules and the shared module copied into a temporary `examples/` tree, with every
/// `split by ...` clause (written on a text line of its own in the examples) removed.
fn unsplit_copy(example: &Example, root: &Path) -> String {
    let source = workspace().join("examples");
    let copy = root.join("examples");
    for entry in std::fs::read_dir(&source).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let target = copy.join(dir.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_str().unwrap().to_string();
            if name.ends_with(".tally") {
                let text = std::fs::read_to_string(&file).unwrap();
                let unsplit: String = text
                    .split_inclusive('\n')
                    .filter(|line| !line.trim_start().starts_with("split by "))
                    .collect();
                std::fs::write(target.join(&name), unsplit).unwrap();
            } else if name == "snapshot.json" {
                std::fs::copy(&file, target.join(&name)).unwrap();
            }
        }
    }
    let out = tally_in(
        root,
        &[
            "plan",
            &example.rules,
            "--snapshot",
            &example.snapshot,
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.code,
        Some(0),
        "planning {} without its splits failed:\n{}",
        example.rules,
        out.stderr
    );
    out.stdout
}

/// Every split rule's parts add up to the same rule planned without the split: the quantities to
/// its quantity, and the amounts to quantity × unit price, to the penny.
#[test]
fn split_parts_add_up_to_the_unsplit_line() {
    let mut split_rules = 0;
    for example in examples() {
        let plan: Value = serde_json::from_str(&example.plan("json")).unwrap();
        let temp = tempfile::tempdir().unwrap();
        let unsplit: Value = serde_json::from_str(&unsplit_copy(&example, temp.path())).unwrap();
        let unsplit = lines_by_rule(&unsplit);
        for ((customer, rule), parts) in lines_by_rule(&plan) {
            let what = format!("{} `{rule}` of {customer}", example.dir());
            if parts.iter().all(|p| p.get("split").is_none()) {
                assert_eq!(parts.len(), 1, "{what}: several lines but no split");
                continue;
            }
            split_rules += 1;
            assert!(
                parts.iter().all(|p| p.get("split").is_some()),
                "{what}: some parts lack `split`"
            );
            let whole = match unsplit
                .get(&(customer.clone(), rule.clone()))
                .map(Vec::as_slice)
            {
                Some([whole]) if whole.get("split").is_none() => whole,
                other => panic!(
                    "{what}: expected one unsplit line once `split by` is removed (write the \
                     clause on a text line of its own), got {other:#?}"
                ),
            };
            let total_quantity: i128 = parts.iter().map(quantity).sum();
            assert_eq!(
                total_quantity,
                quantity(whole),
                "{what}: the parts' quantities {:?} do not add up to the unsplit quantity",
                parts.iter().map(quantity).collect::<Vec<_>>()
            );
            if let Some(minimum) = whole["provenance"].get("minimum") {
                assert_eq!(
                    quantity(whole),
                    i128::from(minimum["minimum"].as_i64().unwrap()),
                    "{what}: the minimum raised the quantity"
                );
            }
            let Some(unit_price) = money(whole, "unit_price") else {
                assert!(parts.iter().all(|p| p["amount"].is_null()), "{what}");
                continue;
            };
            let mut total_amount = Exact::parse("0");
            for part in &parts {
                assert_eq!(
                    money(part, "unit_price"),
                    Some(unit_price),
                    "{what}: every part has the rule's unit price"
                );
                let amount = money(part, "amount").unwrap();
                assert!(
                    amount.same(unit_price.times(quantity(part))),
                    "{what}: part {} is {amount}, not {} × {unit_price}",
                    part["id"],
                    quantity(part)
                );
                total_amount = total_amount.plus(amount);
            }
            let expected = unit_price.times(quantity(whole));
            assert!(
                total_amount.same(expected),
                "{what}: the parts add up to {total_amount}, not {} × {unit_price} = {expected}",
                quantity(whole)
            );
            assert!(
                total_amount.same(money(whole, "amount").unwrap()),
                "{what}: the parts add up to {total_amount}, the unsplit line to {}",
                whole["amount"]
            );
        }
    }
    assert!(
        split_rules >= 2,
        "the examples should show split rules, found {split_rules}"
    );
}

/// The totals in the goldens are the sums of their lines (lines without a price count as zero).
#[test]
fn totals_are_the_sum_of_the_lines() {
    for example in examples() {
        let plan: Value = serde_json::from_str(&example.plan("json")).unwrap();
        for customer in plan["customers"].as_array().unwrap() {
            let sum = customer["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|line| money(line, "amount"))
                .fold(Exact::parse("0"), Exact::plus);
            let total = money(customer, "total").unwrap();
            assert!(
                sum.same(total),
                "{}: the lines add up to {sum}, the total says {total}",
                example.dir()
            );
        }
    }
}
