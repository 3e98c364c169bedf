//! `tally test [DIR]`: the rule tests under DIR. A case is a folder `CUSTOMER/tests/NAME/`
//! holding `snapshot.json` and an expected plan (`expected-plan.json`), expectations
//! (`expect.tallytest`) or both; the rules under test are the `.tally` files in `CUSTOMER/`,
//! unless the expectations name them with `rules "..."`. See `docs/testing.md`.

use crate::command::{ReportFormat, period, read_snapshot};
use crate::exit::Failure;
use crate::load::{load, read};
use crate::{output, render};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::path::{Path, PathBuf};
use tally_db::Database;
use tally_review::expect::{
    self, CaseResult, EXPECTATIONS, GOLDEN, GoldenVerdict, Kind, Outcome, Problem, SNAPSHOT,
    SyntaxError, TestFile, golden,
};

#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// Where to look for test cases (folders `tests/NAME/` with a snapshot.json).
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Write the plan the rules make now into each case's expected-plan.json (creating it for a
    /// case that has neither a golden plan nor expectations), after reviewing the differences.
    #[arg(long)]
    update: bool,
}

pub(crate) fn run(args: TestArgs) -> Result<(), Failure> {
    let cases = find_cases(&args.dir)?;
    if cases.is_empty() {
        return Err(Failure::Usage(format!(
            "no test cases under `{}`: a case is a folder `CUSTOMER/tests/NAME/` holding {SNAPSHOT} and {GOLDEN} or {EXPECTATIONS}",
            args.dir.display()
        )));
    }
    let mut results = Vec::new();
    for case in &cases {
        results.push(run_case(case, args.update)?);
    }
    let text = match args.format {
        ReportFormat::Json => {
            expect::to_json(&results).map_err(|e| Failure::Usage(e.to_string()))?
        }
        ReportFormat::Human => expect::to_text(&results),
    };
    output::print(&text)?;
    if results.iter().all(|r| r.passed) {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

/// Every folder under `dir` (and `dir` itself) whose parent is named `tests` and that holds a
/// snapshot, in path order. Hidden folders and `target` are not searched.
fn find_cases(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", dir.display())))?;
    if !meta.is_dir() {
        return Err(Failure::Usage(format!(
            "`{}` is not a directory: give the folder holding the tests",
            dir.display()
        )));
    }
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        if current.join(SNAPSHOT).is_file() && in_tests_folder(&current) {
            found.push(current.clone());
        }
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() && !name.starts_with('.') && name != "target" {
                pending.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether the folder's parent is named `tests` (`.` and `..` resolved).
fn in_tests_folder(dir: &Path) -> bool {
    let parent_named_tests = |path: &Path| {
        path.parent()
            .and_then(Path::file_name)
            .is_some_and(|name| name == "tests")
    };
    parent_named_tests(Path::new(&tally_db::normalise(dir)))
        || dir
            .canonicalize()
            .is_ok_and(|real| parent_named_tests(&real))
}

/// A syntax error drawn with its line, the way `tally check` draws diagnostics.
fn draw(name: &str, text: &str, error: &SyntaxError) -> String {
    #[derive(Debug)]
    struct Drawn<'a> {
        error: &'a SyntaxError,
        source: NamedSource<String>,
    }
    impl std::fmt::Display for Drawn<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.error.message)
        }
    }
    impl std::error::Error for Drawn<'_> {}
    impl miette::Diagnostic for Drawn<'_> {
        fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
            self.error
                .help
                .as_ref()
                .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
        }
        fn source_code(&self) -> Option<&dyn miette::SourceCode> {
            Some(&self.source)
        }
        fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
            let span = (self.error.start, self.error.end - self.error.start);
            Some(Box::new(std::iter::once(
                LabeledSpan::new_primary_with_span(None, span),
            )))
        }
    }
    let drawn = Drawn {
        error,
        source: NamedSource::new(name, text.to_string()),
    };
    let mut out = String::new();
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    if handler.render_report(&mut out, &drawn).is_err() {
        out = format!(
            "{name}:{}:{}: {}\n",
            error.line, error.column, error.message
        );
    }
    out
}

/// Runs one case. Problems with the case itself (a broken expectation file, an unreadable
/// snapshot) are part of its result; only a failure to write an updated golden stops the run.
fn run_case(case: &Path, update: bool) -> Result<CaseResult, Failure> {
    // The customer's rules are two folders up, and file keys cannot start with `..`
    // (`tally_db::normalise` folds a leading `../..` away): a case given with fewer than three
    // folders (`.`, `october`) or below `..` is used by its absolute path. Goldens record paths
    // relative to the case, so they are the same either way.
    let relative = tally_db::normalise(case);
    let shown = if relative.is_empty() {
        ".".to_string()
    } else {
        relative.clone()
    };
    let absolute;
    let case = if relative.split('/').count() < 3 || relative.starts_with("..") {
        absolute = std::path::absolute(case)
            .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", case.display())))?;
        absolute.as_path()
    } else {
        case
    };
    let base = tally_db::normalise(case);
    let name = shown;
    let fail = |problem: String| -> Result<CaseResult, Failure> {
        Ok(CaseResult::new(
            name.clone(),
            Vec::new(),
            None,
            vec![problem],
        ))
    };
    let message = |failure: Failure| match failure {
        Failure::Data(m) | Failure::Usage(m) => m,
        Failure::Reported => "failed".into(),
    };

    // The expectations.
    let expect_path = case.join(EXPECTATIONS);
    let file: Option<TestFile> = if expect_path.is_file() {
        let text = match read(&expect_path) {
            Ok(text) => text,
            Err(failure) => return fail(message(failure)),
        };
        match expect::parse(&text) {
            Ok(file) => Some(file),
            Err(errors) => {
                let shown = tally_db::normalise(&expect_path);
                let drawn = errors.iter().map(|e| draw(&shown, &text, e)).collect();
                return Ok(CaseResult::new(name, Vec::new(), None, drawn));
            }
        }
    } else {
        None
    };
    let golden_path = case.join(GOLDEN);
    if file.is_none() && !golden_path.is_file() && !update {
        return fail(format!(
            "nothing to check: add {EXPECTATIONS}, or run `tally test --update` to write {GOLDEN} from the plan the rules make now"
        ));
    }

    // The rules.
    let rules: Vec<PathBuf> = match file.as_ref().map(|f| f.rules.as_slice()) {
        Some(named) if !named.is_empty() => named.iter().map(|r| case.join(r)).collect(),
        _ => {
            let customer = case.parent().and_then(Path::parent);
            let mut found: Vec<PathBuf> = customer
                .and_then(|dir| std::fs::read_dir(dir).ok())
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "tally"))
                        .collect()
                })
                .unwrap_or_default();
            found.sort();
            found
        }
    };
    if rules.is_empty() {
        return fail(format!(
            "no rule files: put the case in `CUSTOMER/tests/{}/` next to the customer's .tally file, or name them in {EXPECTATIONS} with `rules \"../../customer.tally\"`",
            case.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
    }
    let loaded = match load(Database::default(), &rules) {
        Ok(loaded) => loaded,
        Err(failure) => return fail(message(failure)),
    };
    let db = &loaded.db;

    // Plan, keeping every error and warning.
    let problem = |p: &tally_driver::FileDiagnostic| {
        let (location, message) = render::one_line(db, p);
        Problem {
            code: Some(p.diagnostic.code.as_str().to_string()),
            message,
            location,
        }
    };
    let diagnostics = tally_driver::diagnostics(db, &loaded.roots);
    let mut errors: Vec<Problem> = Vec::new();
    let mut warnings: Vec<Problem> = Vec::new();
    let mut rendered_errors = String::new();
    for d in &diagnostics {
        if d.diagnostic.is_error() {
            errors.push(problem(d));
        } else {
            warnings.push(problem(d));
        }
    }
    let mut plan = None;
    if errors.is_empty() {
        let snapshot_path = case.join(SNAPSHOT);
        let (snapshot, input) = match read_snapshot(&snapshot_path) {
            Ok(read) => read,
            Err(failure) => return fail(message(failure)),
        };
        let month = file.as_ref().and_then(|f| f.period.clone());
        let period = match period(&snapshot, month.as_deref(), &snapshot_path) {
            Ok(period) => period,
            Err(failure) => return fail(message(failure)),
        };
        match tally_driver::plan(db, &loaded.roots, &snapshot, input, period) {
            Ok(run) => {
                for (_, problems) in &run.failures {
                    errors.extend(problems.iter().map(problem));
                    rendered_errors.push_str(&render::human_report(db, problems));
                }
                for line in run.plan.customers.iter().flat_map(|c| &c.lines) {
                    for flag in &line.provenance.flags {
                        warnings.push(Problem {
                            code: None,
                            message: flag.clone(),
                            location: line.id.clone(),
                        });
                    }
                }
                plan = Some(run.plan);
            }
            Err(tally_driver::Failure::Problems(problems)) => {
                errors.extend(problems.iter().map(problem));
                rendered_errors.push_str(&render::human_report(db, &problems));
            }
            Err(tally_driver::Failure::Refusal(reason)) => return fail(reason),
        }
    } else {
        rendered_errors = render::human_report(db, &diagnostics);
    }

    let outcome = Outcome {
        plan: plan.as_ref(),
        errors: &errors,
        warnings: &warnings,
    };
    let verdicts = file
        .as_ref()
        .map(|f| expect::check(f, &outcome))
        .unwrap_or_default();
    let mut problems = Vec::new();
    let errors_expected = file.as_ref().is_some_and(|f| {
        f.expectations
            .iter()
            .any(|e| matches!(e.kind, Kind::Error(_)))
    });
    if !errors.is_empty() && !errors_expected {
        problems.push(format!("the rules did not plan:\n{rendered_errors}"));
    }

    // The golden plan.
    let golden_verdict = if golden_path.is_file() || (update && file.is_none()) {
        let shown = tally_db::normalise(&golden_path);
        let actual = plan.as_ref().filter(|p| p.incomplete.is_empty()).map(|p| {
            let mut relative = p.clone();
            golden::relative_paths(&mut relative, &base);
            relative
        });
        match (actual, update) {
            (None, _) => {
                problems.push(format!(
                    "{shown}: not compared, since the rules did not plan"
                ));
                None
            }
            (Some(actual), true) => {
                // Rewritten only when its text would change, so an up-to-date golden keeps its
                // file untouched and the report names only the goldens that moved.
                let text =
                    tally_plan::to_json(&actual).map_err(|e| Failure::Usage(e.to_string()))?;
                let current = std::fs::read_to_string(&golden_path).ok();
                let updated = current.as_deref() != Some(text.as_str());
                if updated {
                    output::write_whole(&golden_path, &text)?;
                }
                Some(GoldenVerdict {
                    file: shown,
                    passed: true,
                    updated,
                    diff: None,
                })
            }
            (Some(actual), false) => {
                let expected = read(&golden_path).map_err(message).and_then(|text| {
                    tally_plan::from_json(&text).map_err(|e| {
                        format!(
                            "{shown} is not a plan: {e} (rewrite it with `tally test --update`)"
                        )
                    })
                });
                match expected {
                    Ok(expected) => {
                        let diff = golden::compare(&expected, &actual);
                        Some(GoldenVerdict {
                            file: shown,
                            passed: diff.is_none(),
                            updated: false,
                            diff,
                        })
                    }
                    Err(reason) => {
                        problems.push(reason);
                        None
                    }
                }
            }
        }
    } else {
        None
    };
    Ok(CaseResult::new(name, verdicts, golden_verdict, problems))
}
