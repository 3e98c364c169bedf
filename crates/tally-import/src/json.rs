//! JSON collections from Graph and Partner Center, read without losing number precision.
//!
//! Both APIs page their results: Graph as `{"value": [...], "@odata.nextLink": ...}`, Partner
//! Center as `{"items": [...], "links": {"next": ...}}`. A file may hold one page, a JSON
//! array of pages, a bare array of items, or JSON Lines (one item per line, as the billing v2
//! API's blobs are). Items are kept as raw JSON so a number like `0.486031696515249` is read
//! from its text and never passes through `f64`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ImportError;

/// One item of a collection, with its position in the file.
#[derive(Debug)]
pub(crate) struct Item<'a> {
    /// Line the item starts on (1-based), when found.
    pub line: Option<u64>,
    /// 1-based position across all pages.
    pub record: u64,
    pub raw: &'a RawValue,
}

/// The items of a file, and whether its last page says more pages exist.
#[derive(Debug, Default)]
pub(crate) struct Collection<'a> {
    pub items: Vec<Item<'a>>,
    /// The last page's `@odata.nextLink` (Graph) or `links.next` (Partner Center): pages
    /// after it are not in the file.
    pub next_link: Option<String>,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow, default)]
    value: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<serde_json::Value>,
}

impl Page<'_> {
    fn next(&self) -> Option<String> {
        if let Some(link) = &self.next_link {
            return Some(link.clone());
        }
        let next = self.links.as_ref()?.next.as_ref()?;
        Some(
            next.get("uri")
                .and_then(|u| u.as_str())
                .map_or_else(|| next.to_string(), str::to_string),
        )
    }
}

/// A `serde_json` error with the file and its line.
pub(crate) fn syntax_error(file: &str, e: &serde_json::Error) -> ImportError {
    let line = (e.line() > 0).then_some(e.line() as u64);
    ImportError::file(file, format!("not valid JSON: {e}")).at_line(line)
}

/// Read every item of every page in `text`.
pub(crate) fn collection<'a>(file: &str, text: &'a str) -> Result<Collection<'a>, ImportError> {
    let mut lines = LineCounter::new(text);
    let mut values = Vec::new();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    for value in stream {
        values.push(value.map_err(|e| syntax_error(file, &e))?);
    }
    let mut out = Collection::default();
    if values.len() > 1 {
        // JSON Lines: each top-level value is one item.
        for raw in values {
            push_item(&mut out, &mut lines, text, raw);
        }
        return Ok(out);
    }
    let Some(top) = values.first().copied() else {
        return Err(ImportError::file(file, "the file is empty"));
    };
    let pages: Vec<&RawValue> = if top.get().trim_start().starts_with('[') {
        serde_json::from_str(top.get()).map_err(|e| syntax_error(file, &e))?
    } else {
        vec![top]
    };
    for (p, page_raw) in pages.iter().enumerate() {
        if !page_raw.get().trim_start().starts_with('{') {
            return Err(
                ImportError::file(file, format!("page {} is not a JSON object", p + 1))
                    .at_line(lines.line_of(text, page_raw.get())),
            );
        }
        let page: Page = serde_json::from_str(page_raw.get()).map_err(|e| {
            ImportError::file(file, format!("page {}: {e}", p + 1))
                .at_line(lines.line_of(text, page_raw.get()))
        })?;
        let next = page.next();
        match page.value.or(page.items) {
            Some(items) => {
                for raw in items {
                    push_item(&mut out, &mut lines, text, raw);
                }
                out.next_link = next;
            }
            // An array of bare items rather than of pages.
            None if pages.len() > 1 || top.get().trim_start().starts_with('[') => {
                push_item(&mut out, &mut lines, text, page_raw);
            }
            None => {
                return Err(ImportError::file(
                    file,
                    "expected a collection: an object with a `value` (Graph) or `items` \
                     (Partner Center) list, an array of such pages, or JSON Lines",
                ));
            }
        }
    }
    Ok(out)
}

fn push_item<'a>(out: &mut Collection<'a>, lines: &mut LineCounter, text: &str, raw: &'a RawValue) {
    let record = out.items.len() as u64 + 1;
    out.items.push(Item {
        line: lines.line_of(text, raw.get()),
        record,
        raw,
    });
}

/// An item's fields as (key, text) pairs: strings unquoted, numbers and booleans as written,
/// `null` as none, arrays and objects as their JSON text.
pub(crate) fn fields(
    file: &str,
    item: &Item<'_>,
) -> Result<Vec<(String, Option<String>)>, ImportError> {
    let map: BTreeMap<String, &RawValue> = serde_json::from_str(item.raw.get()).map_err(|e| {
        ImportError::file(file, format!("expected a JSON object: {e}"))
            .at_line(item.line)
            .at_record(Some(item.record))
    })?;
    map.into_iter()
        .map(|(k, v)| {
            let text = cell_text(v).map_err(|e| {
                ImportError::file(file, format!("bad value: {e}"))
                    .at_line(item.line)
                    .at_record(Some(item.record))
                    .in_column(k.clone())
            })?;
            Ok((k, text))
        })
        .collect()
}

fn cell_text(raw: &RawValue) -> Result<Option<String>, serde_json::Error> {
    let t = raw.get().trim();
    match t.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(t).map(Some),
        Some(b'n') => Ok(None),
        _ => Ok(Some(t.to_string())),
    }
}

/// Finds the line a borrowed slice of the text starts on. Items come in file order, so the
/// count continues from the previous item instead of rescanning from the start.
struct LineCounter {
    offset: usize,
    line: u64,
    base: usize,
}

impl LineCounter {
    fn new(text: &str) -> LineCounter {
        LineCounter {
            offset: 0,
            line: 1,
            base: text.as_ptr() as usize,
        }
    }

    fn line_of(&mut self, text: &str, part: &str) -> Option<u64> {
        // `part` is a slice of `text` (RawValue borrows from it); its address gives the offset.
        let offset = (part.as_ptr() as usize).checked_sub(self.base)?;
        if offset > text.len() {
            return None;
        }
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let between = text.as_bytes().get(self.offset..offset)?;
        self.line += between.iter().filter(|&&b| b == b'\n').count() as u64;
        self.offset = offset;
        Some(self.line)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_items_lines_and_exact_numbers() {
        let text = "[\n{\"value\": [{\"a\": 1}], \"@odata.nextLink\": \"x\"},\n{\"value\": [\n{\"a\": 0.486031696515249}]}\n]";
        let c = collection("f", text).unwrap();
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.next_link, None);
        assert_eq!(c.items[1].line, Some(4));
        let f = fields("f", &c.items[1]).unwrap();
        assert_eq!(f[0].1.as_deref(), Some("0.486031696515249"));

        let lines = "{\"a\": 1}\n{\"a\": \"2\"}\n";
        let c = collection("f", lines).unwrap();
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.items[1].line, Some(2));

        let bare = "[{\"a\": 1}, {\"a\": 2}]";
        assert_eq!(collection("f", bare).unwrap().items.len(), 2);

        let err = collection("f", "{\"a\": 1,}").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(collection("f", "{\"a\": 1}").is_err());
    }
}
