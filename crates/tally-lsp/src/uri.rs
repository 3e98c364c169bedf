//! `file://` URIs and paths. Only local files are served: a URI with another scheme or a host
//! names nothing Tally can read.

use std::path::{Path, PathBuf};

/// The path a `file://` URI names, percent-decoded.
pub(crate) fn to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None; // a host other than this machine
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let bytes = decode(rest)?;
    let text = String::from_utf8(bytes).ok()?;
    #[cfg(windows)]
    {
        // `file:///C:/x` → `C:/x`
        let trimmed = text.strip_prefix('/').unwrap_or(&text);
        if trimmed.get(1..2) == Some(":") {
            return Some(PathBuf::from(trimmed));
        }
    }
    Some(PathBuf::from(text))
}

/// The `file://` URI of an absolute path.
pub(crate) fn from_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_through_uris() {
        let path = Path::new("/tmp/my rules/café #1.tally");
        let uri = from_path(path);
        assert_eq!(uri, "file:///tmp/my%20rules/caf%C3%A9%20%231.tally");
        assert_eq!(to_path(&uri).as_deref(), Some(path));
        assert_eq!(
            to_path("file://localhost/a/b.tally").as_deref(),
            Some(Path::new("/a/b.tally"))
        );
        assert_eq!(to_path("file://server/share/b.tally"), None);
        assert_eq!(to_path("untitled:Untitled-1"), None);
        assert_eq!(to_path("file:///a/%zz"), None);
    }
}
