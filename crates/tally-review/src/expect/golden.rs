//! Golden plans: a case's `expected-plan.json` against the plan its rules make now.
//!
//! Three things make a golden independent of where `tally test` runs and of edits that change no
//! number: paths in the plan are written relative to the case's folder; the `inputs` section
//! (paths and SHA-256 hashes of the rules and snapshot) is recorded but not compared; and neither
//! are a line's source position (line, column and byte span of its rule), so a new comment or a
//! reformatted rule file does not fail the test. Everything else is compared: quantities, prices,
//! amounts, totals, roundings, minimums, drivers and flags.

use crate::diff::{self, Status};
use similar::TextDiff;
use tally_plan::Plan;

/// Lines of the JSON diff shown at most; the rest is counted.
const SHOWN_LINES: usize = 80;

/// `path` relative to the directory `base`, both normalised the same way (`/`-separated, no
/// `.`, relative to one directory or both absolute). A path that cannot be expressed relative to
/// `base` is returned as it is.
pub fn relative_to(path: &str, base: &str) -> String {
    let split = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_string)
            .collect()
    };
    if path.starts_with('/') != base.starts_with('/') {
        return path.to_string();
    }
    let (path_parts, base_parts) = (split(path), split(base));
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let ups = base_parts.get(common..).unwrap_or_default();
    if ups.iter().any(|c| c == "..") {
        return path.to_string();
    }
    let mut parts: Vec<String> = ups.iter().map(|_| "..".to_string()).collect();
    parts.extend(path_parts.get(common..).unwrap_or_default().iter().cloned());
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Rewrites every path the plan records (rule files, the snapshot, provenance) relative to the
/// case's folder `base`.
pub fn relative_paths(plan: &mut Plan, base: &str) {
    let rel = |p: &mut String| *p = relative_to(p, base);
    for input in &mut plan.inputs.rules {
        rel(&mut input.path);
    }
    if let Some(snapshot) = &mut plan.inputs.snapshot {
        rel(&mut snapshot.path);
    }
    for usage in &mut plan.inputs.usage {
        rel(&mut usage.path);
    }
    for customer in &mut plan.customers {
        rel(&mut customer.rules);
        for line in &mut customer.lines {
            rel(&mut line.provenance.file);
        }
    }
    for incomplete in &mut plan.incomplete {
        rel(&mut incomplete.rules);
    }
}

/// `None` when `actual` is the expected plan (its `inputs` aside); else a readable account of
/// the difference: the invoice lines that changed, then the JSON lines that differ.
pub fn compare(expected: &Plan, actual: &Plan) -> Option<String> {
    let mut expected = expected.clone();
    expected.inputs = actual.inputs.clone();
    ignore_positions(&mut expected, actual);
    if &expected == actual {
        return None;
    }
    let mut out = String::new();
    // The invoice lines that changed, when the figures can be compared (else the JSON says it).
    if let Ok(changes) = diff::diff(&expected, actual) {
        let changed_lines: usize = changes
            .customers
            .iter()
            .map(|c| {
                c.lines.len() + usize::from(c.status != Status::Unchanged && c.lines.is_empty())
            })
            .sum();
        if changed_lines > 0 || expected.period != actual.period {
            out.push_str(&diff::to_table(&changes));
            out.push('\n');
        }
    }
    let before = tally_plan::to_json(&expected).unwrap_or_default();
    let after = tally_plan::to_json(actual).unwrap_or_default();
    let text = TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("expected-plan.json", "the plan now")
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(SHOWN_LINES) {
        out.push_str(line);
        out.push('\n');
    }
    if lines.len() > SHOWN_LINES {
        out.push_str(&format!(
            "… {} more lines of difference\n",
            lines.len() - SHOWN_LINES
        ));
    }
    Some(out)
}

/// Gives each of `expected`'s lines the source position of the line with the same id in
/// `actual`, so that positions never count as a difference.
fn ignore_positions(expected: &mut Plan, actual: &Plan) {
    let positions: std::collections::HashMap<&str, (usize, usize, [u32; 2])> = actual
        .customers
        .iter()
        .flat_map(|c| &c.lines)
        .map(|l| {
            let p = &l.provenance;
            (l.id.as_str(), (p.line, p.column, p.span))
        })
        .collect();
    for line in expected.customers.iter_mut().flat_map(|c| &mut c.lines) {
        if let Some(&(at, column, span)) = positions.get(line.id.as_str()) {
            line.provenance.line = at;
            line.provenance.column = column;
            line.provenance.span = span;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::relative_to;

    #[test]
    fn paths_become_relative_to_the_case_folder() {
        let case = "examples/northwind/tests/october";
        assert_eq!(
            relative_to("examples/northwind/northwind.tally", case),
            "../../northwind.tally"
        );
        assert_eq!(
            relative_to("examples/shared/msp.tally", case),
            "../../../shared/msp.tally"
        );
        assert_eq!(
            relative_to("examples/northwind/tests/october/snapshot.json", case),
            "snapshot.json"
        );
        // From inside the case's folder, or the same tree given absolutely.
        assert_eq!(
            relative_to("../../northwind.tally", ""),
            "../../northwind.tally"
        );
        assert_eq!(
            relative_to("/repo/examples/a.tally", "/repo/examples/tests/x"),
            "../../a.tally"
        );
        // Not expressible: left as it is.
        assert_eq!(relative_to("a.tally", "../elsewhere"), "a.tally");
        assert_eq!(relative_to("/abs/a.tally", "rel/dir"), "/abs/a.tally");
    }
}
