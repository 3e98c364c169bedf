//! "Did you mean `x`?", else the names there are: one helper for every place a name was not
//! found (fields, functions, clause words, PSAs, modules, tenants, counters, lines).

/// A name that was not found, and the names that exist.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    wanted: &'a str,
    candidates: Vec<&'a str>,
    intro: &'a str,
    alternatives: bool,
    when_none: Option<&'a str>,
}

/// Lists longer than this are cut, with a count of the rest: a snapshot may hold thousands of
/// tenants.
const LISTED: usize = 12;

impl<'a> Names<'a> {
    pub fn new(wanted: &'a str, candidates: impl IntoIterator<Item = &'a str>) -> Names<'a> {
        Names {
            wanted,
            candidates: candidates.into_iter().collect(),
            intro: "the names are",
            alternatives: false,
            when_none: None,
        }
    }

    /// How the list is introduced: "the PSAs are", "write".
    pub fn listed_as(mut self, intro: &'a str) -> Names<'a> {
        self.intro = intro;
        self
    }

    /// Join the list with "or" (a choice) instead of "and" (an inventory).
    pub fn as_alternatives(mut self) -> Names<'a> {
        self.alternatives = true;
        self
    }

    /// The help when there are no names at all.
    pub fn when_none(mut self, help: &'a str) -> Names<'a> {
        self.when_none = Some(help);
        self
    }

    /// The candidate plausibly meant, if any.
    pub fn closest(&self) -> Option<&'a str> {
        closest(self.wanted, self.candidates.iter().copied())
    }

    /// "the PSAs are `connectwise`, `autotask` and `halopsa`", or the text for no names.
    pub fn list(&self) -> Option<String> {
        if self.candidates.is_empty() {
            return self.when_none.map(str::to_string);
        }
        let listed = if self.alternatives {
            list_or(&self.candidates)
        } else {
            list_and(&self.candidates)
        };
        Some(format!("{} {listed}", self.intro))
    }

    /// "did you mean `x`?" when one is close, else [`Names::list`].
    pub fn help(&self) -> Option<String> {
        match self.closest() {
            Some(close) => Some(format!("did you mean `{close}`?")),
            None => self.list(),
        }
    }
}

/// The candidate closest to `wanted` by edit distance (ignoring case), if it is plausibly a
/// typo: at most a third of the letters differ, and never more than three (long paths and
/// tenant names share most of their text without being the same).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Edit distance costs the product of the lengths: a name of thousands of characters is no
    // typo of anything, and comparing it with every candidate would take seconds.
    if wanted.len() > 200 {
        return None;
    }
    let wanted_lower = wanted.to_lowercase();
    let wanted_len = wanted.chars().count();
    let limit = (wanted_len / 3).clamp(1, 3);
    candidates
        .into_iter()
        // The distance is at least the difference in length: skip what cannot be close.
        .filter(|c| {
            c.len().abs_diff(wanted.len()) <= 4 * limit
                && c.chars().count().abs_diff(wanted_len) <= limit
        })
        .map(|c| (strsim::levenshtein(&wanted_lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// "`a`, `b` and `c`".
pub fn list_and(names: &[&str]) -> String {
    join(names, "and", "none")
}

/// "`a`, `b` or `c`".
pub fn list_or(names: &[&str]) -> String {
    join(names, "or", "nothing")
}

fn join(names: &[&str], last_word: &str, empty: &str) -> String {
    let mut quoted: Vec<String> = names
        .iter()
        .take(LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > LISTED {
        quoted.push(format!("{} more", names.len() - LISTED));
    }
    match quoted.as_slice() {
        [] => empty.into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {last_word} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_plausible_name() {
        let names = ["department", "display_name", "enabled"];
        assert_eq!(closest("departmnet", names), Some("department"));
        assert_eq!(closest("enabeld", names), Some("enabled"));
        assert_eq!(closest("zzz", names), None);
        let long = "x".repeat(100_000);
        assert_eq!(closest(&long, names), None);
        assert_eq!(
            closest("departmnet", [long.as_str(), "department"]),
            Some("department")
        );
        let paths = ["tests/diagnostics/header.tally"];
        assert_eq!(
            closest("tests/diagnostics/missing/shared.tally", paths),
            None
        );
    }

    #[test]
    fn help_lists_the_names_when_none_is_close() {
        let psas = ["connectwise", "autotask", "halopsa"];
        let names = Names::new("zoho", psas).listed_as("the PSAs are");
        assert_eq!(
            names.help().as_deref(),
            Some("the PSAs are `connectwise`, `autotask` and `halopsa`")
        );
        let names = Names::new("conectwise", psas);
        assert_eq!(names.help().as_deref(), Some("did you mean `connectwise`?"));
        let words = Names::new("later", ["advance", "arrears"])
            .listed_as("write")
            .as_alternatives();
        assert_eq!(
            words.help().as_deref(),
            Some("write `advance` or `arrears`")
        );
        let none = Names::new("x", []).when_none("the snapshot has no tenants");
        assert_eq!(none.help().as_deref(), Some("the snapshot has no tenants"));
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let many: Vec<String> = (0..20).map(|i| format!("tenant{i:02}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let listed = list_and(&refs);
        assert!(listed.ends_with("`tenant11` and 8 more"), "{listed}");
    }
}
