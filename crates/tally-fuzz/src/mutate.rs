//! Structure-aware mutation: a fuzz input is not the file itself but a small program that picks
//! a seed file and edits it (delete, duplicate, splice, insert a token of the format, nest,
//! change a number). Random bytes seldom make a rule file that parses; edits of real files
//! reach the checker, the evaluator and the writers. The same bytes always give the same file,
//! so a failure found by any engine (bolero's random engine under `cargo test`, libFuzzer under
//! `cargo bolero`) replays, and the file it made is what the failure report shows.

/// The largest file a mutation makes: big enough for nesting limits and long names, small
/// enough that every input runs in milliseconds.
pub const MAX_LEN: usize = 96 * 1024;

/// Reads choices from the fuzz input; zeros once it is used up.
struct Choices<'a> {
    data: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn u16(&mut self) -> usize {
        usize::from(self.byte()) | (usize::from(self.byte()) << 8)
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    /// A position in `0..=len`.
    fn position(&mut self, len: usize) -> usize {
        let raw = (self.u16() << 8) | usize::from(self.byte());
        raw % (len + 1)
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.u16() % items.len())
    }
}

/// Numbers that have broken decimal code before: zero and negative zero, the edges of 28
/// digits and of 64 bits, exponents, a lone sign.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "0.000000000000000000000000001",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "-79228162514264337593543950335",
    "18446744073709551616",
    "9223372036854775808",
    "1e400",
    "1E-400",
    "-",
    "00",
    "1.",
    ".5",
    "2026-02-30",
    "9999-12-31",
    "0000-01-01",
];

/// Applies the edits `data` describes to one of `seeds`, with tokens from `dictionary`.
pub fn mutate(seeds: &[Vec<u8>], dictionary: &[&str], data: &[u8]) -> Vec<u8> {
    let mut c = Choices { data, at: 0 };
    let mut out = c.pick(seeds).cloned().unwrap_or_default();
    let mut edits = 0;
    while !c.done() && edits < 64 {
        edits += 1;
        let len = out.len();
        match c.byte() % 12 {
            0 => {
                let at = c.position(len);
                let n = usize::from(c.byte()) % 32 + 1;
                out.drain(at..(at + n).min(len));
            }
            1 | 2 => {
                let at = c.position(len);
                if let Some(token) = c.pick(dictionary) {
                    insert(&mut out, at, token.as_bytes());
                }
            }
            3 => {
                let from = c.position(len);
                let n = usize::from(c.byte()).min(len - from);
                let chunk = out.get(from..from + n).unwrap_or_default().to_vec();
                let at = c.position(len);
                insert(&mut out, at, &chunk);
            }
            4 => {
                let at = c.position(len.saturating_sub(1));
                let b = c.byte();
                if let Some(slot) = out.get_mut(at) {
                    *slot = b;
                }
            }
            5 => {
                let at = c.position(len);
                let n = usize::from(c.byte() % 16);
                let bytes: Vec<u8> = (0..n).map(|_| c.byte()).collect();
                insert(&mut out, at, &bytes);
            }
            6 => {
                // Splice: a range of another seed.
                if let Some(other) = c.pick(seeds) {
                    let from = c.position(other.len());
                    let n = c.u16() % 512;
                    let chunk = other
                        .get(from..(from + n).min(other.len()))
                        .unwrap_or_default();
                    let at = c.position(len);
                    insert(&mut out, at, chunk);
                }
            }
            7 => {
                // Swap two lines.
                let text = out.clone();
                let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
                let n = lines.len();
                let (a, b) = (c.u16() % n, c.u16() % n);
                lines.swap(a, b);
                out = lines.join(&b'\n');
            }
            8 => {
                // Nest or repeat: a token many times, for depth and length limits.
                let at = c.position(len);
                let times = usize::from(c.byte()) * 24 + 1;
                if let Some(token) = c.pick(dictionary) {
                    let chunk = token.repeat(times);
                    insert(&mut out, at, chunk.as_bytes());
                }
            }
            9 => {
                // Replace a number by one of the awkward ones.
                let at = c.position(len);
                let start = out
                    .iter()
                    .skip(at)
                    .position(u8::is_ascii_digit)
                    .map(|p| p + at);
                if let (Some(start), Some(number)) = (start, c.pick(NUMBERS)) {
                    let end = out
                        .iter()
                        .skip(start)
                        .position(|b| !(b.is_ascii_digit() || *b == b'.'))
                        .map_or(out.len(), |p| p + start);
                    out.splice(start..end, number.bytes());
                }
            }
            10 => {
                let at = c.position(len);
                out.truncate(at);
            }
            _ => {
                // Duplicate a whole line many times (many lines, many diagnostics).
                let text = out.clone();
                let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
                if let Some(line) = c.pick(&lines) {
                    let times = usize::from(c.byte()) + 1;
                    let at = c.position(len);
                    let mut chunk = Vec::new();
                    for _ in 0..times {
                        chunk.extend_from_slice(line);
                        chunk.push(b'\n');
                    }
                    insert(&mut out, at, &chunk);
                }
            }
        }
        out.truncate(MAX_LEN);
    }
    out
}

fn insert(out: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(out.len());
    out.splice(at..at, bytes.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_input_makes_the_same_file() {
        let seeds = vec![b"abc 12 def\nline two\n".to_vec(), b"xyz".to_vec()];
        let data: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(
            mutate(&seeds, &["(", "and"], &data),
            mutate(&seeds, &["(", "and"], &data)
        );
    }

    #[test]
    fn no_edits_give_the_seed_and_edits_stay_bounded() {
        let seeds = vec![b"abc".to_vec()];
        assert_eq!(mutate(&seeds, &[], &[0, 0]), b"abc");
        let data = [0u8, 0, 8, 0, 0, 0, 255, 0, 0, 8, 0, 0, 0, 255, 0, 0];
        let grown = mutate(
            &seeds,
            &["((((((((((((((((((((((((((((((((((((((((((("],
            &data,
        );
        assert!(grown.len() <= MAX_LEN);
        assert!(grown.len() > 3);
    }
}
