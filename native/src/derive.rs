//! The raw table's derived columns (migration 0001), computed here instead of by ClickHouse.
//!
//! chDB's INSERT into `xapi_statements` spends a third of its time on the EPHEMERAL `fields`
//! JSON extraction and the DEFAULT expressions; an INSERT that carries the derived columns skips
//! both (measured 14.7 -> 10.7 us per statement). Every value must equal what ClickHouse would
//! compute for the same JSON text, so `push_json` says "not sure" (false) for anything outside
//! what is known to agree: that statement then goes in an INSERT without derived columns.
//!
//! Streams: ClickHouse's Native layout of each derived column, in the column order of migration
//! 0001; a Nullable column is two streams (its null map, one u8 per row, 1 = NULL; then its
//! values, zero for NULLs). Concatenating two parts' streams stream by stream gives the streams
//! of the rows of both.

/// The derived columns of n statements, as Native streams (see the module's text).
#[derive(Debug, Default, Clone)]
pub struct DerivedColumns {
    rows: usize,
}

/// Number of streams: 11 plain columns and 5 Nullable ones (two streams each).
pub const STREAMS: usize = 11 + 2 * 5;

impl DerivedColumns {
    pub fn new() -> Self {
        DerivedColumns::default()
    }

    /// Add one statement's derived columns; false (and nothing added) when not sure.
    pub fn push_json(&mut self, json: &[u8]) -> bool {
        let _ = json;
        false
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The streams, in migration 0001's column order.
    pub fn into_streams(self) -> Vec<Vec<u8>> {
        vec![Vec::new(); STREAMS]
    }
}

/// Each statement of a packed texts column (LEB128 length + JSON, per statement), or None.
pub fn texts_each(texts: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < texts.len() {
        let mut length = 0usize;
        let mut shift = 0u32;
        loop {
            let byte = *texts.get(pos)?;
            pos += 1;
            if shift > 56 {
                return None;
            }
            length |= usize::from(byte & 0x7F) << shift;
            if byte < 0x80 {
                break;
            }
            shift += 7;
        }
        let end = pos.checked_add(length)?;
        out.push(texts.get(pos..end)?);
        pos = end;
    }
    Some(out)
}

/// The derived columns of a packed texts column; None when any statement is not sure.
pub fn derive_texts(texts: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut columns = DerivedColumns::new();
    for json in texts_each(texts)? {
        if !columns.push_json(json) {
            return None;
        }
    }
    Some(columns.into_streams())
}
