//! Rule tests (`tally test`): a case is a folder with a snapshot and either a golden plan
//! (`expected-plan.json`), an expectation file (`expect.tallytest`), or both. This module parses
//! expectation files, checks them against a planned outcome, compares golden plans and reports
//! the results; finding the cases and running the pipeline is the CLI's.

mod check;
pub mod golden;
mod syntax;

pub use check::{Outcome, Problem, Verdict, check};
pub use syntax::{
    Expectation, Field, Kind, Op, Pattern, SyntaxError, Target, TestFile, Value, parse,
};

use serde::Serialize;
use std::fmt::Write as _;

/// The file names a case folder may hold.
pub const SNAPSHOT: &str = "snapshot.json";
pub const EXPECTATIONS: &str = "expect.tallytest";
pub const GOLDEN: &str = "expected-plan.json";

/// The golden plan's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoldenVerdict {
    pub file: String,
    pub passed: bool,
    /// Rewritten with the plan the rules make now (`--update`).
    pub updated: bool,
    /// How the plan now differs from the golden, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case's folder, as found.
    pub case: String,
    pub passed: bool,
    pub expectations: Vec<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub golden: Option<GoldenVerdict>,
    /// Why the case could not be run as written (a syntax error in its expectation file, an
    /// unreadable snapshot, rules that do not plan while no expectation is about errors, a
    /// missing golden), each rendered for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl CaseResult {
    pub fn new(
        case: String,
        expectations: Vec<Verdict>,
        golden: Option<GoldenVerdict>,
        problems: Vec<String>,
    ) -> CaseResult {
        let passed = problems.is_empty()
            && expectations.iter().all(|v| v.passed)
            && golden.as_ref().is_none_or(|g| g.passed);
        CaseResult {
            case,
            passed,
            expectations,
            golden,
            problems,
        }
    }
}

/// All cases' results, as `tally test --format json` writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary<'a> {
    pub passed: usize,
    pub failed: usize,
    pub cases: &'a [CaseResult],
}

pub fn summary(results: &[CaseResult]) -> Summary<'_> {
    let passed = results.iter().filter(|r| r.passed).count();
    Summary {
        passed,
        failed: results.len() - passed,
        cases: results,
    }
}

/// Results as pretty JSON with a trailing newline.
pub fn to_json(results: &[CaseResult]) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&summary(results))?;
    text.push('\n');
    Ok(text)
}

/// Results for people: `ok` or `FAILED` per case, each failure with what was found, and a closing
/// `N passed, N failed` line.
pub fn to_text(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for result in results {
        let checks = result.expectations.len() + usize::from(result.golden.is_some());
        let _ = writeln!(
            out,
            "{} {} ({checks} check{})",
            if result.passed { "ok    " } else { "FAILED" },
            result.case,
            if checks == 1 { "" } else { "s" }
        );
        for problem in &result.problems {
            for line in problem.trim_end().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        for verdict in result.expectations.iter().filter(|v| !v.passed) {
            let _ = writeln!(
                out,
                "    {EXPECTATIONS}:{}: expect {}",
                verdict.line, verdict.expectation
            );
            if let Some(found) = &verdict.found {
                for line in found.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        if let Some(golden) = &result.golden {
            if golden.updated {
                let _ = writeln!(out, "    {}: updated", golden.file);
            } else if let Some(diff) = &golden.diff {
                let _ = writeln!(
                    out,
                    "    {} differs from the plan the rules make now (accept it with `tally test --update`):",
                    golden.file
                );
                for line in diff.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
    }
    let s = summary(results);
    let _ = writeln!(out, "\n{} passed, {} failed", s.passed, s.failed);
    out
}
