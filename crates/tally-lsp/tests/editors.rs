//! The VS Code extension in `editors/vscode/` stays consistent: the files `package.json` names
//! exist and parse, the grammar is for `source.tally`, and it knows every keyword of the
//! language's grammar (`grammar/tally.pest`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

use serde_json::Value;
use std::path::{Path, PathBuf};

fn extension() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../editors/vscode")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_vscode_extension_is_consistent_with_the_language() {
    let dir = extension();
    let package = json(&dir.join("package.json"));
    assert_eq!(package["main"], "./extension.js");
    assert!(dir.join("extension.js").is_file());
    let language = &package["contributes"]["languages"][0];
    assert_eq!(language["id"], "tally");
    assert_eq!(language["extensions"][0], ".tally");
    let configuration = json(&dir.join(language["configuration"].as_str().unwrap()));
    assert_eq!(configuration["comments"]["lineComment"], "//");
    let grammar_entry = &package["contributes"]["grammars"][0];
    assert_eq!(grammar_entry["language"], "tally");
    let grammar = json(&dir.join(grammar_entry["path"].as_str().unwrap()));
    assert_eq!(grammar["scopeName"], grammar_entry["scopeName"]);
    assert_eq!(grammar["scopeName"], "source.tally");
    for setting in ["tally.path", "tally.snapshot", "tally.log"] {
        assert!(
            package["contributes"]["configuration"]["properties"]
                .get(setting)
                .is_some(),
            "{setting}"
        );
    }

    // Every keyword of the language is highlighted by some rule of the grammar.
    let pest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grammar/tally.pest"),
    )
    .unwrap();
    let rule = pest.split("keyword = @{").nth(1).unwrap();
    let rule = rule.split('}').next().unwrap();
    let keywords: Vec<&str> = rule
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, word)| word)
        .collect();
    assert!(keywords.len() > 25, "{keywords:?}");
    let grammar_text = grammar.to_string();
    for keyword in keywords {
        assert!(
            grammar_text.contains(&format!("|{keyword}|"))
                || grammar_text.contains(&format!("({keyword}|"))
                || grammar_text.contains(&format!("|{keyword})"))
                || grammar_text.contains(&format!("({keyword})")),
            "the TextMate grammar does not highlight `{keyword}`"
        );
    }
}
