//! `FastTransformer.chunk`: every line of a chunk of a tracking log through the native
//! transformer, answered as the columns the backfill inserts (ClickHouse's Native layout, as
//! `aspects.store.statements.StatementPacker` writes them).
//!
//! Why: the per-line `rows` call made a Python tuple, two bytes objects and a list per statement,
//! which the worker then packed in Python; ~8 us per event of the workers' CPU went to that
//! (measured with a prototype: 31.7 -> 24.0 us per event). Here a chunk costs one call and
//! three Python objects plus one str reference per statement (its actor id).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::builder::{Stmt, FRAME};
use crate::derive::DerivedColumns;
use crate::{FastTransformer, Outcome};

/// What a chunk became; the Python side reads it as a tuple (see `into_py`).
pub struct Packed {
    /// 16 bytes per statement: the UUID's high half then its low half, each little-endian.
    pub ids: Vec<u8>,
    /// Per statement: its JSON's length (LEB128) and the JSON.
    pub texts: Vec<u8>,
    /// The actor id of each statement (the `str` the actor cache made once per user).
    pub actors: Vec<PyObject>,
    /// Non-blank lines.
    pub events: usize,
    /// Lines skipped by name, or accepted with no statement.
    pub skipped: usize,
    /// (start, end) in the chunk of each non-blank line not handled here (Python's to convert).
    pub unhandled: Vec<(usize, usize)>,
    /// The raw table's derived columns of the statements; None once any statement was not sure.
    pub derived: Option<DerivedColumns>,
    /// (start, end, reason) of each line the Python transformer rejects for certain (its
    /// reason, word for word): a dead letter without the Python path's ~100 us per line.
    pub rejected: Vec<(usize, usize, String)>,
}

/// The (start, end) of each line `files.split_lines` yields: split on `\n`, a line skipped when
/// `bytes.strip()` leaves nothing (ASCII whitespace: space, \t, \n, \r, \v, \f).
pub fn lines(data: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0usize;
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        let end = match find_newline(data, start) {
            Some(at) => at,
            None => {
                done = true;
                data.len()
            }
        };
        let line = (start, end);
        start = end + 1;
        if !data[line.0..line.1]
            .iter()
            .all(|b| b" \t\n\r\x0b\x0c".contains(b))
        {
            return Some(line);
        }
    })
}

/// The `\n` bytes among 16 bytes, as the bits of a mask (bit i: byte i).
#[cfg(target_arch = "x86_64")]
#[inline]
fn newline_mask16(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline (always present); the unaligned load reads
    // exactly the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u32
    }
}

/// The first `\n` at or after `from`, sixteen bytes at a time (SSE2), then eight (lines are
/// ~1.3 KB: the byte loop was ~8% of a chunk call's instructions, measured).
#[inline]
pub fn find_newline(data: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = data.get(from..from + 16) {
        let mask = newline_mask16(block.try_into().expect("16 bytes"));
        if mask != 0 {
            return Some(from + mask.trailing_zeros() as usize);
        }
        from += 16;
    }
    while let Some(word) = data.get(from..from + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ (ONES * 0x0a);
        // the lowest flagged byte is a zero byte of `word` (borrows only travel upwards)
        let found = word.wrapping_sub(ONES) & !word & HIGH;
        if found != 0 {
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    data.get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|at| from + at)
}

/// The number of bytes of `n` as LEB128.
fn leb128_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

/// Appends `n` as LEB128 (ClickHouse's string length prefix).
pub fn leb128(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

impl Packed {
    fn new(size: usize, derive: bool) -> Self {
        Packed {
            // ~1 statement per 700 bytes of log; texts a little longer than the lines.
            ids: Vec::with_capacity(size / 40),
            texts: Vec::with_capacity(size + size / 2),
            actors: Vec::with_capacity(size / 700),
            events: 0,
            skipped: 0,
            unhandled: Vec::new(),
            // ~1 statement per 1,100 bytes of the benchmark's log
            derived: derive.then(|| DerivedColumns::with_rows(size / 1000 + 1)),
            rejected: Vec::new(),
        }
    }

    /// Takes the statements of the line whose output starts at `mark` in `texts` (the texts
    /// column, which is the builder's sink while the chunk runs: each statement was written
    /// there after [`FRAME`] free bytes). Their length prefixes are filled in place when they tile the line's output in order with
    /// two-byte prefixes (the common case); otherwise the line's output is laid out again.
    fn push_line(&mut self, py: Python<'_>, texts: &mut Vec<u8>, mark: usize, statements: &[Stmt]) {
        let mut at = mark;
        let in_place = statements.iter().all(|s| {
            let fits = s.json.start == at + FRAME && (0x80..0x4000).contains(&s.json.len());
            at = s.json.end;
            fits
        }) && at == texts.len();
        if in_place {
            for s in statements {
                let length = s.json.len();
                texts[s.json.start - 2] = (length as u8 & 0x7f) | 0x80;
                texts[s.json.start - 1] = (length >> 7) as u8;
            }
        } else {
            let written = texts.split_off(mark);
            for s in statements {
                let json = &written[s.json.start - mark..s.json.end - mark];
                leb128(texts, json.len());
                texts.extend_from_slice(json);
            }
        }
        let mut pos = mark;
        for statement in statements {
            // UUID.bytes order is big-endian; Native wants each 8-byte half little-endian.
            self.ids.extend(statement.id[..8].iter().rev());
            self.ids.extend(statement.id[8..].iter().rev());
            self.actors
                .push(statement.actor.py_name.clone_ref(py).into_py(py));
            let length = statement.json.len();
            pos += leb128_len(length);
            if let Some(derived) = &mut self.derived {
                if !derived.push_json(&texts[pos..pos + length]) {
                    self.derived = None;
                }
            }
            pos += length;
        }
    }

    /// (ids: bytes, texts: bytes, actors: list[str], events: int, skipped: int,
    /// unhandled: list[tuple[int, int]], derived: list[bytes] | None,
    /// rejected: list[tuple[int, int, str]])
    fn into_py(self, py: Python<'_>) -> PyObject {
        let derived = self.derived.map(|columns| {
            let streams = columns.into_streams();
            PyList::new(py, streams.iter().map(|s| PyBytes::new(py, s))).to_object(py)
        });
        (
            PyBytes::new(py, &self.ids),
            PyBytes::new(py, &self.texts),
            PyList::new(py, self.actors),
            self.events,
            self.skipped,
            self.unhandled,
            derived,
            self.rejected,
        )
            .to_object(py)
    }
}

/// The chunk `data` through `transformer` (see `FastTransformer.chunk` in lib.rs).
pub fn chunk(
    transformer: &mut FastTransformer,
    py: Python<'_>,
    data: &[u8],
    derive: bool,
) -> PyObject {
    let mut packed = Packed::new(data.len(), derive);
    // the statements are written straight into the texts column (the builder's sink meanwhile)
    std::mem::swap(&mut packed.texts, &mut transformer.builder.sink);
    for (start, end) in lines(data) {
        packed.events += 1;
        let mark = transformer.builder.sink.len();
        let outcome = transformer.run(&data[start..end]);
        if !matches!(&outcome, Outcome::Statements(s) if !s.is_empty()) {
            transformer.builder.sink.truncate(mark);
        }
        match outcome {
            Outcome::Statements(statements) if statements.is_empty() => packed.skipped += 1,
            Outcome::Statements(statements) => {
                packed.push_line(py, &mut transformer.builder.sink, mark, &statements);
            }
            Outcome::Skipped(_) => packed.skipped += 1,
            Outcome::NotHandled => packed.unhandled.push((start, end)),
            Outcome::Rejected(reason) => packed.rejected.push((start, end, reason)),
        }
    }
    std::mem::swap(&mut packed.texts, &mut transformer.builder.sink);
    packed.into_py(py)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> Vec<(usize, usize)> {
        lines(data).collect()
    }

    #[test]
    fn lines_as_split_lines() {
        assert_eq!(all(b""), vec![]);
        assert_eq!(all(b"\n\n \r\n\t\x0b\x0c\n"), vec![]);
        assert_eq!(all(b"a\nbc"), vec![(0, 1), (2, 4)]);
        assert_eq!(all(b"a\r\n\nb\n"), vec![(0, 2), (4, 5)]);
        assert_eq!(all(b" x \n"), vec![(0, 3)]);
    }

    #[test]
    fn newlines_found_as_position() {
        let mut data = vec![b'x'; 41];
        for (i, byte) in [0x8a_u8, 0x0b, 0x09, 0xff, 0x00].iter().enumerate() {
            data[3 + i * 5] = *byte;
        }
        for from in 0..=data.len() {
            let want = data[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|at| from + at);
            assert_eq!(find_newline(&data, from), want);
            for at in from..data.len() {
                let mut with = data.clone();
                with[at] = b'\n';
                if at + 1 < with.len() {
                    with[at + 1] = b'\n';
                }
                assert_eq!(find_newline(&with, from), Some(at));
            }
        }
        assert_eq!(find_newline(b"", 0), None);
        assert_eq!(find_newline(b"ab", 5), None);
    }

    #[test]
    fn leb128_prefixes() {
        for (n, want) in [
            (0usize, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (16383, vec![0xff, 0x7f]),
            (16384, vec![0x80, 0x80, 0x01]),
        ] {
            let mut out = Vec::new();
            leb128(&mut out, n);
            assert_eq!(out, want);
        }
    }
}
