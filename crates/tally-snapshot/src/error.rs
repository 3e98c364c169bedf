//! [`SnapshotError`]: what went wrong, and where in the snapshot text.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Why a snapshot could not be read (or written), with its location.
///
/// `path` is the JSON path of the offending value, e.g. `tenants[0].users[3].enabled`, or `$`
/// for the document as a whole (syntax errors, a missing `version`). `line` and `column` are
/// 1-based positions in the text when known; the column counts bytes. For a bad scalar the
/// position is that of its last character (as serde_json reports it); for an object or array
/// found wrong after reading (e.g. a period whose start is after its end) it is the opening
/// bracket; for a missing field it is the end of the object that lacks it.
/// `message` is short and lowercase.
///
/// Displays as `{path}: {message} (line L, column C)`, or `{path}: {message}` when the position
/// is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " (line {line}, column {column})"),
            (Some(line), None) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl SnapshotError {
    /// An error at the document root with no position.
    pub(crate) fn root(message: impl Into<String>) -> SnapshotError {
        SnapshotError {
            path: ROOT.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error in the text as a whole (e.g. trailing characters), at `$`.
    pub(crate) fn from_syntax(err: serde_json::Error) -> SnapshotError {
        let (line, column) = if err.line() == 0 {
            (None, None)
        } else {
            (Some(err.line()), Some(err.column().max(1)))
        };
        SnapshotError {
            path: ROOT.to_string(),
            line,
            column,
            message: bare_message(&err),
        }
    }

    /// Build from a serde_json error and the path serde_path_to_error tracked.
    ///
    /// Syntax and end-of-input errors are reported at `$` whatever the tracked path, since the
    /// text is not JSON at all there.
    pub(crate) fn from_json(err: serde_path_to_error::Error<serde_json::Error>) -> SnapshotError {
        let path = JsonPath::from_tracked(err.path());
        let inner = err.into_inner();
        let path = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                JsonPath::root()
            }
            serde_json::error::Category::Io | serde_json::error::Category::Data => path,
        };
        SnapshotError {
            path: path.to_string(),
            ..SnapshotError::from_syntax(inner)
        }
    }
}

/// The message of a serde_json error without its " at line L column C" suffix.
fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&suffix) {
        Some(bare) if err.line() != 0 => bare.to_string(),
        _ => text,
    }
}

/// How the document root is written in a path.
pub(crate) const ROOT: &str = "$";

/// One step in a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A JSON path such as `tenants[0].users[3].enabled`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct JsonPath(pub(crate) Vec<Step>);

impl JsonPath {
    pub(crate) fn root() -> JsonPath {
        JsonPath(Vec::new())
    }

    pub(crate) fn key(mut self, key: &str) -> JsonPath {
        self.0.push(Step::Key(key.to_string()));
        self
    }

    pub(crate) fn index(mut self, index: usize) -> JsonPath {
        self.0.push(Step::Index(index));
        self
    }

    fn from_tracked(path: &serde_path_to_error::Path) -> JsonPath {
        use serde_path_to_error::Segment;
        let steps = path
            .iter()
            .map(|segment| match segment {
                Segment::Seq { index } => Step::Index(*index),
                Segment::Map { key } => Step::Key(key.clone()),
                Segment::Enum { variant } => Step::Key(variant.clone()),
                Segment::Unknown => Step::Key("?".to_string()),
            })
            .collect();
        JsonPath(steps)
    }

    /// The error for this path, positioned in `text` when the value can be found there.
    pub(crate) fn error(&self, text: Option<&str>, message: impl Into<String>) -> SnapshotError {
        let (line, column) = match text.and_then(|t| locate(t, &self.0)) {
            Some((line, column)) => (Some(line), Some(column)),
            None => (None, None),
        };
        SnapshotError {
            path: self.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(ROOT);
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Index(index) => write!(f, "[{index}]")?,
                Step::Key(key) if is_plain_key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                // Keys with dots, spaces and the like (e.g. Azure tag names) stay unambiguous.
                Step::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// Line and column (as serde_json counts them) of the value at `path` in `text`.
///
/// Re-reads the text with a seed that walks down the path and fails on purpose when it
/// reaches the value, so serde_json stamps its position on the failure.
fn locate(text: &str, path: &[Step]) -> Option<(usize, usize)> {
    let mut de = serde_json::Deserializer::from_str(text);
    match (Walk { path }).deserialize(&mut de) {
        Ok(()) => None,
        // serde_json reports a container's position just past its opening bracket.
        Err(err) if err.line() > 0 && err.to_string().starts_with(FOUND_CONTAINER) => {
            Some((err.line(), err.column().saturating_sub(1).max(1)))
        }
        Err(err) if err.line() > 0 && err.to_string().starts_with(FOUND) => {
            Some((err.line(), err.column()))
        }
        Err(_) => None,
    }
}

const FOUND: &str = "tally-snapshot: found";
const FOUND_CONTAINER: &str = "tally-snapshot: found container";

struct Walk<'p> {
    path: &'p [Step],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.path.split_first() {
            None => deserializer.deserialize_any(Found),
            Some((Step::Key(key), rest)) => deserializer.deserialize_any(WalkMap { key, rest }),
            Some((Step::Index(index), rest)) => deserializer.deserialize_any(WalkSeq {
                index: *index,
                rest,
            }),
        }
    }
}

/// Fails with [`FOUND`] (or [`FOUND_CONTAINER`]) on any value.
struct Found;

impl<'de> Visitor<'de> for Found {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND_CONTAINER))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND_CONTAINER))
    }
}

struct WalkMap<'p> {
    key: &'p str,
    rest: &'p [Step],
}

impl<'de> Visitor<'de> for WalkMap<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key {
                map.next_value_seed(Walk { path: self.rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct WalkSeq<'p> {
    index: usize,
    rest: &'p [Step],
}

impl<'de> Visitor<'de> for WalkSeq<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let more = if i == self.index {
                seq.next_element_seed(Walk { path: self.rest })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display() {
        assert_eq!(JsonPath::root().to_string(), "$");
        let p = JsonPath::root()
            .key("tenants")
            .index(0)
            .key("users")
            .index(3)
            .key("enabled");
        assert_eq!(p.to_string(), "tenants[0].users[3].enabled");
        let tag = JsonPath::root().key("tags").key("cost centre");
        assert_eq!(tag.to_string(), "tags[\"cost centre\"]");
        assert_eq!(JsonPath::root().index(2).to_string(), "[2]");
    }

    #[test]
    fn locate_finds_values() {
        let text = "{\n  \"a\": [1, {\"b\": \"xyz\"}],\n  \"c\": {}\n}";
        let at = |p: JsonPath| locate(text, &p.0);
        assert_eq!(
            at(JsonPath::root().key("a").index(1).key("b")),
            Some((2, 22))
        );
        assert_eq!(at(JsonPath::root().key("a").index(0)), Some((2, 9)));
        assert_eq!(at(JsonPath::root().key("c")), Some((3, 8)));
        assert_eq!(at(JsonPath::root().key("zz")), None);
        assert_eq!(at(JsonPath::root().key("a").index(7)), None);
    }
}
