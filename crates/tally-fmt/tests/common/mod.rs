//! The soundness check every input goes through, computed here rather than trusted to the
//! formatter's own check: the output parses, to the same tree once spans are erased (compared by
//! their `Debug` text, so `2.50` and `2.5` differ), with the same comments (as a multiset of
//! texts, and each in the same item), and formats to itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // tests may panic

use std::path::{Path, PathBuf};
use tally_fmt::{FormatError, comments_by_item, erase_spans, format};
use tally_syntax::parse_with_trivia;

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It parsed, was formatted, and passed every check.
    Sound,
    /// It has syntax errors and was refused, as it must be.
    Refused,
}

/// Formats `input` and checks the result; panics (with the input) on any failure.
pub fn check(input: &str) -> Outcome {
    let (before, trivia) = parse_with_trivia(input);
    let broken = before.diagnostics.iter().any(|d| d.is_error());
    let output = match format(input) {
        Ok(output) => output,
        Err(FormatError::Syntax { .. }) if broken => return Outcome::Refused,
        Err(e) => panic!("{e}\n--- input ---\n{input}"),
    };
    assert!(!broken, "formatted a text with syntax errors:\n{input}");
    let fail = |what: &str| -> ! {
        panic!("{what}\n--- input ---\n{input}\n--- output ---\n{output}");
    };
    let (after, after_trivia) = parse_with_trivia(&output);
    if !after.diagnostics.is_empty() {
        fail(&format!(
            "the output does not parse: {:?}",
            after.diagnostics
        ));
    }
    if format!("{:?}", erase_spans(&before.file)) != format!("{:?}", erase_spans(&after.file)) {
        fail("the output parses to a different program");
    }
    let texts = |text: &str, trivia: &tally_syntax::trivia::Trivia| {
        let mut texts: Vec<String> = trivia
            .comments
            .iter()
            .map(|c| c.text(text).to_string())
            .collect();
        texts.sort();
        texts
    };
    if texts(input, &trivia) != texts(&output, &after_trivia) {
        fail("the comments differ");
    }
    if comments_by_item(input, &before.file, &trivia)
        != comments_by_item(&output, &after.file, &after_trivia)
    {
        fail("a comment moved to another item");
    }
    match format(&output) {
        Ok(again) if again == output => {}
        Ok(again) => fail(&format!("not idempotent: formats again to\n{again}")),
        Err(e) => fail(&format!("the output cannot be formatted again: {e}")),
    }
    if output.lines().any(|l| l.ends_with([' ', '\t'])) || output.contains('\r') {
        fail("trailing blanks or carriage returns in the output");
    }
    Outcome::Sound
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `.tally` files under `dir`, sorted.
pub fn tally_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "tally") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every rule file of the repository: examples, the standard library, the test corpora.
pub fn corpus_files() -> Vec<PathBuf> {
    let root = workspace();
    ["examples", "stdlib", "tests"]
        .iter()
        .flat_map(|d| tally_files(&root.join(d)))
        .collect()
}

/// The Markdown files whose ```tally blocks are rule text: `docs/*.md` and the READMEs.
pub fn markdown_files() -> Vec<PathBuf> {
    let root = workspace();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files.push(root.join("README.md"));
    files
}

/// The ```tally blocks of a Markdown text: (line of the fence, block text).
pub fn tally_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```tally" => current = Some((n + 1, String::new())),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}
