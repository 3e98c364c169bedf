//! Where an input comes from: a file on disk, or bytes already in memory (tests, stdin).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::detect::{FileKind, detect, wrong_kind};
use crate::error::ImportError;

/// How many bytes are looked at to recognise a file: enough for the longest header row (the
/// 55-column usage header is about 800 bytes) and the first JSON object.
pub(crate) const SNIFF_BYTES: usize = 16 * 1024;

/// Read buffer for streamed CSV files; large buffers matter for million-row files.
const BUFFER_BYTES: usize = 256 * 1024;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk, opened when the import runs.
    File(PathBuf),
    /// Bytes in memory; `name` is used in messages in place of a path.
    Memory { name: String, bytes: Vec<u8> },
}

/// The largest file read whole into memory: ample for the exports that are read whole, and a
/// clear error instead of running out of memory on a mistaken multi-gigabyte input.
pub(crate) const MAX_WHOLE_FILE: u64 = 256 * 1024 * 1024;

impl Source {
    pub fn file(path: impl Into<PathBuf>) -> Source {
        Source::File(path.into())
    }

    pub fn memory(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Source {
        Source::Memory {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// The name used in messages: the path as given, or the in-memory name.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Memory { name, .. } => name.clone(),
        }
    }

    /// The path used to recognise the file (its extension is a hint when content is unclear).
    pub(crate) fn path(&self) -> &Path {
        match self {
            Source::File(path) => path,
            Source::Memory { name, .. } => Path::new(name),
        }
    }

    /// A buffered reader over the content, for streaming.
    pub(crate) fn open(&self) -> Result<Box<dyn BufRead + '_>, ImportError> {
        match self {
            Source::File(path) => {
                let file = File::open(path)
                    .map_err(|e| ImportError::file(self.name(), format!("cannot open: {e}")))?;
                Ok(Box::new(BufReader::with_capacity(BUFFER_BYTES, file)))
            }
            Source::Memory { bytes, .. } => Ok(Box::new(bytes.as_slice())),
        }
    }

    /// The whole content as text (for JSON and small CSV files), without a UTF-8 byte order
    /// mark, after checking it is not a kind of file we cannot read.
    pub(crate) fn read_text(&self) -> Result<String, ImportError> {
        self.read_text_within(MAX_WHOLE_FILE)
    }

    /// [`Source::read_text`], refusing more than `limit` bytes.
    fn read_text_within(&self, limit: u64) -> Result<String, ImportError> {
        let mut bytes = Vec::new();
        self.open()?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ImportError::file(self.name(), format!("cannot read: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(ImportError::file(
                self.name(),
                format!(
                    "the file is larger than {}, the limit for files read whole (Graph exports, counts, mappings, price lists); split it, or give usage and reconciliation data as CSV, which is streamed",
                    size(limit)
                ),
            ));
        }
        check_readable(&self.name(), &bytes)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let line = e
                .as_bytes()
                .get(..offset)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1;
            ImportError::file(
                self.name(),
                "the file is not UTF-8 text (save or export it as UTF-8)",
            )
            .at_line(Some(line))
        })?;
        Ok(match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        })
    }

    /// The whole content as text, after checking the file is of the `expected` kind (or not
    /// recognised, and read as one); `what` names that kind in the error.
    pub(crate) fn read_text_as(
        &self,
        expected: FileKind,
        what: &str,
    ) -> Result<String, ImportError> {
        match self.kind()? {
            FileKind::Unknown => {}
            kind if kind == expected => {}
            other => return Err(wrong_kind(&self.name(), &other, what)),
        }
        self.read_text()
    }

    /// Recognise the file from its first bytes.
    pub(crate) fn kind(&self) -> Result<FileKind, ImportError> {
        let mut reader = self.open()?;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        reader
            .by_ref()
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| ImportError::file(self.name(), format!("cannot read: {e}")))?;
        Ok(detect(self.path(), &head))
    }
}

/// Refuse, with a useful message, the binary formats people export by mistake instead of
/// pointing at a garbled first line.
pub(crate) fn check_readable(name: &str, head: &[u8]) -> Result<(), ImportError> {
    match detect(Path::new(name), head) {
        FileKind::Binary(what) => Err(ImportError::file(name, what.message())),
        _ => Ok(()),
    }
}

/// `268435456` → "256 MiB".
fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / 1024 / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn a_file_read_whole_has_a_size_limit() {
        let source = Source::memory("counts.csv", b"tenant,counter,value\n".to_vec());
        assert!(source.read_text_within(100).is_ok());
        let error = source.read_text_within(10).unwrap_err();
        assert!(error.message.contains("larger than 10 bytes"), "{error}");
        assert_eq!(size(MAX_WHOLE_FILE), "256 MiB");
    }
}
