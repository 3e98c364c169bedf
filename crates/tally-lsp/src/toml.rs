//! Just enough of TOML to read `tally.toml`'s top-level string settings (`snapshot =
//! "snapshots/2026-10.json"`): basic strings with their escapes and literal strings, comments,
//! and nothing under a `[table]`. A file this reader does not understand gives no setting.

/// The top-level string `key`, if the text sets it.
pub(crate) fn top_level_string(text: &str, key: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            return None; // settings under a table are not top-level
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name);
        if name != key {
            continue;
        }
        return string(value.trim());
    }
    None
}

fn string(value: &str) -> Option<String> {
    if let Some(rest) = value.strip_prefix('\'') {
        let (literal, after) = rest.split_once('\'')?;
        return trailing_ok(after).then(|| literal.to_string());
    }
    let rest = value.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return trailing_ok(chars.as_str()).then_some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// Only a comment may follow a value.
fn trailing_ok(after: &str) -> bool {
    let after = after.trim();
    after.is_empty() || after.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_top_level_strings_only() {
        let text = "# project\nsnapshot = \"snaps/oct \\\"x\\\".json\"  # the month\n[psa]\nsnapshot = \"no\"\n";
        assert_eq!(
            top_level_string(text, "snapshot").as_deref(),
            Some("snaps/oct \"x\".json")
        );
        assert_eq!(
            top_level_string("snapshot = 'C:\\s.json'\n", "snapshot").as_deref(),
            Some("C:\\s.json")
        );
        assert_eq!(
            top_level_string("[a]\nsnapshot = \"x\"\n", "snapshot"),
            None
        );
        assert_eq!(top_level_string("snapshot = 3\n", "snapshot"), None);
        assert_eq!(top_level_string("snapshot = \"x\" y\n", "snapshot"), None);
    }
}
