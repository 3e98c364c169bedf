//! Reading PSA answers: JSON into typed values with an error that says what was wrong (an HTML
//! page, truncated JSON, an unexpected shape), and small URL helpers.

use crate::error::excerpt;
use serde::de::DeserializeOwned;

/// What is wrong with an answer that should have been JSON of a known shape.
pub fn parse<T: DeserializeOwned>(status: u16, body: &str, expected: &str) -> Result<T, String> {
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return Err(format!(
            "empty answer (status {status}); expected {expected}"
        ));
    }
    if trimmed.starts_with('<') {
        return Err(format!(
            "an HTML page instead of JSON (status {status}){}; expected {expected}",
            html_title(trimmed)
                .map(|t| format!(": `{t}`"))
                .unwrap_or_default()
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_str(body);
    deserialize_whole(deserializer, status, body, expected)
}

fn deserialize_whole<T: DeserializeOwned>(
    deserializer: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
    status: u16,
    body: &str,
    expected: &str,
) -> Result<T, String> {
    let value =
        T::deserialize(&mut *deserializer).map_err(|e| describe(&e, status, body, expected))?;
    deserializer
        .end()
        .map_err(|e| describe(&e, status, body, expected))?;
    Ok(value)
}

fn describe(error: &serde_json::Error, status: u16, body: &str, expected: &str) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => format!(
            "the JSON answer is cut short (status {status}, {} bytes); expected {expected}",
            body.len()
        ),
        Category::Syntax => format!(
            "the answer is not valid JSON (status {status}, line {} column {}): `{}`",
            error.line(),
            error.column(),
            excerpt(body, 60)
        ),
        Category::Data | Category::Io => {
            format!("unexpected JSON (status {status}): {error}; expected {expected}")
        }
    }
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = lower[start..].find("</title>")? + start;
    html.get(start..end).map(|t| excerpt(t, 60))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            p.trim().eq_ignore_ascii_case("rel=\"next\"")
                || p.trim().eq_ignore_ascii_case("rel=next")
        });
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_answers_say_what_is_wrong() {
        let html =
            parse::<Vec<u8>>(200, "<html><title>Bad Gateway</title></html>", "a list").unwrap_err();
        assert!(
            html.contains("HTML page") && html.contains("Bad Gateway"),
            "{html}"
        );
        let cut = parse::<Vec<u8>>(200, "[1, 2", "a list").unwrap_err();
        assert!(cut.contains("cut short"), "{cut}");
        let shape = parse::<Vec<u8>>(200, "{\"a\":1}", "a list").unwrap_err();
        assert!(shape.contains("unexpected JSON"), "{shape}");
        let syntax = parse::<Vec<u8>>(200, "[1,,]", "a list").unwrap_err();
        assert!(syntax.contains("not valid JSON"), "{syntax}");
    }

    #[test]
    fn link_headers() {
        let header =
            "<https://x/a?page=2&pageSize=1000>; rel=\"next\", <https://x/a?page=9>; rel=\"last\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://x/a?page=2&pageSize=1000")
        );
        assert_eq!(next_link("<https://x/a?page=9>; rel=\"last\""), None);
    }

    #[test]
    fn encoding() {
        assert_eq!(
            encode("company/identifier=\"A B\""),
            "company%2Fidentifier%3D%22A%20B%22"
        );
    }
}
