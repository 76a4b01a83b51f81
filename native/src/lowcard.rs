//! A Native `String` column re-encoded as ClickHouse's Native `LowCardinality(String)`: its
//! distinct values once (the dictionary) and one index per row.
//!
//! The raw table's LowCardinality columns (actor_id, verb_id, object_type, course_key, org) used
//! to be sent as String, so ClickHouse looked every row up in a hash table of the column's
//! values to convert it. Sent dictionary-encoded, ClickHouse inserts only the dictionary's
//! values and maps the indexes (chDB's INSERT ~1 us per statement cheaper, measured with a Python
//! prototype: docs/ingest.md, "Session 7").
//!
//! Layout (what ClickHouse's SerializationLowCardinality reads in a Native block, the layout
//! clickhouse-connect writes too): the column's prefix, UInt64 1 (keys version
//! "shared dictionaries with additional keys"); then UInt64 flags: the index width (0 = UInt8,
//! 1 = UInt16, 2 = UInt32) | 1 << 9 (the keys come with this block) | 1 << 10 (a new
//! dictionary); UInt64 number of keys; the keys as a Native String column (LEB128 length +
//! bytes), in order of first appearance; UInt64 number of rows; the indexes, little-endian, in
//! the flags' width. All integers little-endian.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (rustc's): a multiply-rotate per 8 bytes. The keys are our own column values, not an
/// attacker's choice of hash-flooding input to a long-lived table: one map per call.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap());
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        let mut tail = 0u64;
        for (i, &b) in chunks.remainder().iter().enumerate() {
            tail |= (b as u64) << (8 * i);
        }
        self.0 = (self.0.rotate_left(5) ^ tail ^ bytes.len() as u64).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One LEB128 length-prefixed string at `at` of `stream`: (value, position after it), or None
/// when the stream ends inside it.
fn string_at(stream: &[u8], mut at: usize) -> Option<(&[u8], usize)> {
    let mut length = 0usize;
    let mut shift = 0u32;
    loop {
        let byte = *stream.get(at)?;
        at += 1;
        if shift > 56 {
            return None;
        }
        length |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    let end = at.checked_add(length)?;
    Some((stream.get(at..end)?, end))
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The LowCardinality(String) Native encoding of the String column made of `streams` (parts of
/// one column, in order), which must hold exactly `rows` values; None otherwise.
pub fn encode(streams: &[&[u8]], rows: usize) -> Option<Vec<u8>> {
    let mut positions: HashMap<&[u8], u32, BuildHasherDefault<Fx>> = HashMap::default();
    let mut keys: Vec<&[u8]> = Vec::new();
    let mut indexes: Vec<u32> = Vec::with_capacity(rows);
    for stream in streams {
        let mut at = 0;
        while at < stream.len() {
            let (value, next) = string_at(stream, at)?;
            at = next;
            let index = *positions.entry(value).or_insert_with(|| {
                keys.push(value);
                (keys.len() - 1) as u32
            });
            indexes.push(index);
        }
    }
    if indexes.len() != rows || keys.len() > u32::MAX as usize {
        return None;
    }
    let width: u64 = match keys.len() {
        0..=0x100 => 0,
        0x101..=0x1_0000 => 1,
        _ => 2,
    };
    let key_bytes: usize = keys.iter().map(|k| k.len() + 5).sum();
    let mut out = Vec::with_capacity(32 + key_bytes + rows * (1 << width));
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&(width | 1 << 9 | 1 << 10).to_le_bytes());
    out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
    for key in &keys {
        leb128(&mut out, key.len());
        out.extend_from_slice(key);
    }
    out.extend_from_slice(&(rows as u64).to_le_bytes());
    match width {
        0 => out.extend(indexes.iter().map(|&i| i as u8)),
        1 => indexes
            .iter()
            .for_each(|&i| out.extend_from_slice(&(i as u16).to_le_bytes())),
        _ => indexes
            .iter()
            .for_each(|&i| out.extend_from_slice(&i.to_le_bytes())),
    }
    Some(out)
}

/// Python: `low_cardinality(streams: list[bytes], rows: int) -> bytes | None` (None: the
/// streams do not hold exactly `rows` well-formed values).
#[pyfunction]
pub fn low_cardinality(py: Python<'_>, streams: Vec<&[u8]>, rows: usize) -> Option<Py<PyBytes>> {
    let encoded = encode(&streams, rows)?;
    Some(PyBytes::new(py, &encoded).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in values {
            leb128(&mut out, v.len());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    #[test]
    fn dictionary_in_first_appearance_order() {
        let a = column(&["x", "", "yy"]);
        let b = column(&["x", "yy"]);
        let out = encode(&[&a, &b], 5).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&(0u64 | 1 << 9 | 1 << 10).to_le_bytes());
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(&[1, b'x', 0, 2, b'y', b'y']);
        want.extend_from_slice(&5u64.to_le_bytes());
        want.extend_from_slice(&[0, 1, 2, 0, 2]);
        assert_eq!(out, want);
    }

    #[test]
    fn wide_indexes_and_bad_input() {
        let values: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = values.iter().map(|s| s.as_str()).collect();
        let out = encode(&[&column(&refs)], 300).unwrap();
        assert_eq!(out[8], 1); // UInt16 indexes
        assert!(encode(&[&column(&["a"])], 2).is_none());
        assert!(encode(&[&[5, b'a']], 1).is_none()); // cut short
    }
}
