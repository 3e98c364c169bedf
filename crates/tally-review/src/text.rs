//! Small text helpers shared by the renderers.

use rust_decimal::Decimal;

/// `+65.01`, `-3.00`, `0.00`: a change with its sign.
pub fn signed(value: Decimal) -> String {
    if value.is_sign_positive() && !value.is_zero() {
        format!("+{value}")
    } else if value.is_zero() {
        // `-0.00` can come out of a subtraction; a change of nothing has no sign.
        value.abs().to_string()
    } else {
        value.to_string()
    }
}

/// The text on one line, cut at `max` characters with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` as entities, so it is safe in element content and
/// in quoted attribute values alike.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn changes_carry_their_sign_and_zero_has_none() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(signed(d("65.01")), "+65.01");
        assert_eq!(signed(d("-3.00")), "-3.00");
        assert_eq!(signed(d("1.00") - d("1.00")), "0.00");
        assert_eq!(signed(-(d("1.00") - d("1.00"))), "0.00");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_and_kept_on_one_line() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("a\nb", 10), "a b");
        assert_eq!(cut("abcd", 4), "abcd");
    }

    #[test]
    fn html_escapes_every_special_character() {
        assert_eq!(
            html(r#"<img src=x onerror="alert('x')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"
        );
    }
}
