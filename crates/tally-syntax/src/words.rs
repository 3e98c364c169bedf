//! The language's reserved words, for the parser's recovery and for editors (highlighting,
//! completion, what a rename may not produce). A test keeps them equal to the grammar.

/// The grammar's `keyword` rule: words that are never names.
pub const KEYWORDS: [&str; 32] = [
    "customer",
    "use",
    "let",
    "qty",
    "amount",
    "price",
    "split",
    "by",
    "minimum",
    "product",
    "description",
    "agreement",
    "billing",
    "rounding",
    "otherwise",
    "prorate",
    "measure",
    "trueup",
    "included",
    "tiers",
    "from",
    "until",
    "bundle",
    "every",
    "starting",
    "where",
    "and",
    "or",
    "not",
    "in",
    "true",
    "false",
];

/// The words that start a line's clauses (the grammar's `line_clause`). `term` is one, though
/// not a keyword: it is also a SKU field.
pub const CLAUSE_WORDS: [&str; 17] = [
    "price",
    "split",
    "minimum",
    "product",
    "description",
    "agreement",
    "billing",
    "term",
    "rounding",
    "prorate",
    "measure",
    "trueup",
    "included",
    "tiers",
    "from",
    "bundle",
    "every",
];

#[cfg(test)]
mod tests {
    use super::*;

    const GRAMMAR: &str = include_str!("../../../grammar/tally.pest");

    /// The quoted words of the grammar rule `name = ... { ... }`.
    fn quoted_words_of(name: &str) -> Vec<&'static str> {
        rule(name)
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            .collect()
    }

    /// The rule's body, from `name = ` to the end of its definition.
    fn rule(name: &str) -> &'static str {
        let start = GRAMMAR.find(&format!("\n{name} ")).unwrap() + 1;
        let body = &GRAMMAR[start..];
        let end = [" }\n", "\n}"]
            .iter()
            .filter_map(|end| body.find(end))
            .min()
            .unwrap();
        &body[..end]
    }

    #[test]
    fn clause_words_are_the_grammars() {
        let mut grammar: Vec<&str> = rule("line_clause")
            .split(['|', '{', ' ', '\n'])
            .filter(|w| w.ends_with("_clause") && *w != "line_clause")
            .map(|clause| {
                let first = rule(clause).split("kw_").nth(1).unwrap();
                let word = first
                    .split(|c: char| !c.is_ascii_lowercase())
                    .next()
                    .unwrap();
                quoted_words_of(&format!("kw_{word}"))[0]
            })
            .collect();
        let mut ours = CLAUSE_WORDS.to_vec();
        grammar.sort_unstable();
        grammar.dedup(); // a dated price starts with `price` too
        ours.sort_unstable();
        assert_eq!(ours, grammar);
    }

    #[test]
    fn keywords_are_the_grammars() {
        let mut grammar = quoted_words_of("keyword");
        let mut ours = KEYWORDS.to_vec();
        grammar.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, grammar);
    }
}
