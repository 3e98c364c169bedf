//! The record of how a value was computed: which rule text, what it came to, and for filters
//! who was counted and who was left out (and by which condition).

use tally_diagnostics::Span;
use tally_ir::ModuleKey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub module: ModuleKey,
    pub span: Span,
    /// The rule text this step evaluated.
    pub text: String,
    /// What it came to, for people: `27`, `18.10 GBP`, `27 users`.
    pub value: String,
    pub filter: Option<Filter>,
    /// Other facts about the step: "as of 2026-10-31", "no subscription in the tenant".
    pub notes: Vec<String>,
    pub children: Vec<Step>,
}

/// What a `where` kept and left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub total: usize,
    pub kept: usize,
    /// Per condition of the top-level `and` chain, what it excluded first.
    pub excluded: Vec<Exclusion>,
}

/// The records one condition of a filter left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The condition's text.
    pub condition: String,
    pub count: usize,
    /// Who, when the evaluation was asked for names (`explain`); empty otherwise, so that a
    /// plan's memory does not grow with lines × users.
    pub who: Vec<String>,
}

impl Filter {
    /// "27 of 30 counted; excluded: 2 by `enabled`, 1 by `licensed`".
    pub fn summary(&self, noun: &str) -> String {
        let mut out = format!("{} of {} {noun} counted", self.kept, self.total);
        let parts: Vec<String> = self
            .excluded
            .iter()
            .filter(|e| e.count > 0)
            .map(|e| format!("{} excluded by `{}`", e.count, e.condition))
            .collect();
        if !parts.is_empty() {
            out.push_str("; ");
            out.push_str(&parts.join(", "));
        }
        out
    }
}

impl Step {
    /// Every step in this tree, parents first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Step, usize)) {
        fn go<'a>(step: &'a Step, depth: usize, visit: &mut impl FnMut(&'a Step, usize)) {
            visit(step, depth);
            for child in &step.children {
                go(child, depth + 1, visit);
            }
        }
        go(self, 0, visit);
    }
}
