//! The input: a JSON value borrowed from the line (no copy unless a string has escapes).
//!
//! Parsed as orjson parses it, so that the values the families read are the values the Python
//! transformer reads: objects keep their keys in order and a duplicate key keeps its FIRST
//! position with its LAST value (what a Python dict does when orjson inserts twice); integers
//! beyond the 64-bit ranges become floats (as orjson); floats are correctly rounded (Rust's
//! `str::parse`). What orjson refuses (lone surrogates, NaN, 1e400, control characters in
//! strings) is refused too; any parse error means "not handled" (the Python path gives the
//! reason).

use std::borrow::Cow;

/// A JSON value of the input (the Python value orjson would give).
#[derive(Debug, Clone, PartialEq)]
pub enum V<'a> {
    Null,
    Bool(bool),
    /// An integer that fits i64 (Python int).
    Int(i64),
    /// An integer above i64::MAX that fits u64 (Python int; orjson writes it back).
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Arr(Vec<V<'a>>),
    Obj(Obj<'a>),
}

/// A JSON object: keys in the order a Python dict iterates them, no duplicates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Obj<'a>(pub Vec<(Cow<'a, str>, V<'a>)>);

/// `a == b` for keys, deciding most unequal pairs on the length and first byte, and comparing
/// short keys in line (key lookups are linear scans of a few keys, many of the same length;
/// the `memcmp` calls of equal lengths were ~3% of a chunk's cycles, perf).
#[inline]
pub fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.first() != b.first() {
        return false;
    }
    if a.len() <= 16 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

impl<'a> Obj<'a> {
    /// `dict.get(key)`: the value, None when the key is absent (a JSON null is `Some(V::Null)`).
    #[inline]
    pub fn get(&self, key: &str) -> Option<&V<'a>> {
        self.0
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v)
    }
    #[inline]
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| same_key(k, key))
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `dict[key] = value`: replaces in place (same position) or appends.
    pub fn set(&mut self, key: Cow<'a, str>, value: V<'a>) {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }
}

impl<'a> V<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_obj(&self) -> Option<&Obj<'a>> {
        match self {
            V::Obj(o) => Some(o),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, V::Null)
    }
    /// Python's truthiness (`bool(value)`).
    pub fn truthy(&self) -> bool {
        match self {
            V::Null => false,
            V::Bool(b) => *b,
            V::Int(i) => *i != 0,
            V::UInt(u) => *u != 0,
            V::Float(f) => *f != 0.0,
            V::Str(s) => !s.is_empty(),
            V::Arr(a) => !a.is_empty(),
            V::Obj(o) => !o.is_empty(),
        }
    }
    /// ERB's emptiness: `value is None or (value != 0 and not value)`: 0, 0.0 and False are
    /// values; "", [], {} and None are not.
    pub fn empty(&self) -> bool {
        match self {
            V::Null => true,
            V::Str(s) => s.is_empty(),
            V::Arr(a) => a.is_empty(),
            V::Obj(o) => o.is_empty(),
            _ => false,
        }
    }
    /// The Python type name (for messages only).
    pub fn type_name(&self) -> &'static str {
        match self {
            V::Null => "NoneType",
            V::Bool(_) => "bool",
            V::Int(_) | V::UInt(_) => "int",
            V::Float(_) => "float",
            V::Str(_) => "str",
            V::Arr(_) => "list",
            V::Obj(_) => "dict",
        }
    }
}

/// Parse one JSON document (the whole slice, whitespace around allowed); None when invalid
/// (invalid UTF-8 too, as orjson refuses it).
pub fn parse(text: &[u8]) -> Option<V<'_>> {
    parse_str(std::str::from_utf8(text).ok()?)
}

/// Parse a JSON document held in a string (an `event` logged as JSON text).
///
/// A parser of our own (serde_json's string scanning cost a third of a line): strict JSON,
/// strings borrowed unless they hold escapes, at most [`MAX_DEPTH`] nested containers. It may
/// refuse what orjson accepts (the line is then not handled), never the reverse on purpose.
pub fn parse_str(text: &str) -> Option<V<'_>> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    parser.ws();
    let value = parser.value()?;
    parser.ws();
    (parser.pos == parser.bytes.len()).then_some(value)
}

/// Nesting deeper than this is refused (the Python path decides; orjson allows more).
pub const MAX_DEPTH: u32 = 128;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
}

const CONTROL_START: u8 = 0x00;
const CONTROL_END: u8 = 0x1f;

/// Bytes that end a plain run of a string: `"`, `\`, control characters.
static STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The stop bytes (see [`STOP`]) of an 8-byte little-endian word, as the high bit of each
/// such byte. Borrows of the subtractions only travel upwards, so the LOWEST flagged byte is
/// always a true stop byte (higher flags may be false): exactly what [`plain_run`] needs.
#[inline]
fn stop_bits(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let slash = word ^ (ONES * u64::from(b'\\'));
    let slash = slash.wrapping_sub(ONES) & !slash;
    (control | quote | slash) & HIGH
}

/// The stop bytes (see [`STOP`]) among 16 bytes, as the bits of a mask (bit i: byte i).
#[cfg(target_arch = "x86_64")]
#[inline]
fn stop_mask16(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline (always present); the unaligned load reads
    // exactly the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // v <= 0x1f (unsigned) exactly when min(v, 0x1f) == v
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), control)) as u32
    }
}

/// The index of the first byte at or after `from` that ends a plain run (or the length).
/// Sixteen bytes at a time (SSE2), then eight (ids, IRIs and the logged event text are long
/// plain runs: this scan was ~16% of a chunk's instructions at eight bytes a step, measured).
/// Also the writer's scan for bytes to escape (out.rs: the same set of bytes).
#[inline]
pub fn plain_run(bytes: &[u8], mut from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = bytes.get(from..from + 16) {
        let mask = stop_mask16(block.try_into().expect("16 bytes"));
        if mask != 0 {
            return from + mask.trailing_zeros() as usize;
        }
        from += 16;
    }
    while let Some(chunk) = bytes.get(from..from + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let stops = stop_bits(word);
        if stops != 0 {
            return from + (stops.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while from < bytes.len() && !STOP[bytes[from] as usize] {
        from += 1;
    }
    from
}

/// The JSON string whose opening `"` is at `quote` in `text`, escapes decoded (borrowed when it
/// has none), and the position after its closing `"`; None for a raw control character, a bad
/// escape or a lone surrogate. The parser's strings and derive.rs's scanner's.
#[inline]
pub fn string_at(text: &str, quote: usize) -> Option<(Cow<'_, str>, usize)> {
    let bytes = text.as_bytes();
    let start = quote + 1;
    let mut i = plain_run(bytes, start);
    match *bytes.get(i)? {
        b'"' => return Some((Cow::Borrowed(&text[start..i]), i + 1)),
        b'\\' => {}
        _ => return None, // a control character
    }
    // escapes: the text is built; every stop is at an ASCII byte, a char boundary
    let mut out = String::with_capacity(i - start + 16);
    out.push_str(&text[start..i]);
    loop {
        match *bytes.get(i)? {
            b'"' => return Some((Cow::Owned(out), i + 1)),
            b'\\' => {
                let escape = *bytes.get(i + 1)?;
                i += 2;
                let ch = match escape {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{08}',
                    b'f' => '\u{0c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let (ch, next) = unicode_escape(bytes, i)?;
                        i = next;
                        ch
                    }
                    _ => return None,
                };
                out.push(ch);
            }
            CONTROL_START..=CONTROL_END => return None,
            _ => {
                let run = i;
                i = plain_run(bytes, i + 1);
                out.push_str(&text[run..i]);
            }
        }
    }
}

/// The position after the JSON string whose opening `"` is at `quote`, accepting exactly what
/// [`string_at`] accepts, without decoding it (derive.rs skips most of a statement's strings:
/// no text is built for those with escapes).
#[inline]
pub fn skip_string(bytes: &[u8], quote: usize) -> Option<usize> {
    let mut i = plain_run(bytes, quote + 1);
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => {
                let escape = *bytes.get(i + 1)?;
                i += 2;
                match escape {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => i = unicode_escape(bytes, i)?.1,
                    _ => return None,
                }
            }
            _ => return None, // a control character (plain_run stops only at these three)
        }
        i = plain_run(bytes, i);
    }
}

/// The character of a `\uXXXX` escape whose four hex digits start at `at`, and the position
/// after it: a high surrogate must be followed by the `\u` escape of a low one (both make one
/// character); a lone low surrogate is refused (`char::from_u32`). [`string_at`] and
/// [`skip_string`] share it, so they accept exactly the same escapes.
#[inline]
fn unicode_escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let unit = hex4(bytes, at)?;
    if !(0xD800..0xDC00).contains(&unit) {
        return Some((char::from_u32(unit)?, at + 4));
    }
    if bytes.get(at + 4..at + 6)? != b"\\u" {
        return None;
    }
    let low = hex4(bytes, at + 6)?;
    if !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    Some((char::from_u32(code)?, at + 10))
}

/// Four hex digits at `at`, as a code unit.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let mut value = 0u32;
    for &d in digits {
        value = value * 16 + (d as char).to_digit(16)?;
    }
    Some(value)
}

impl<'a> Parser<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self) -> Option<V<'a>> {
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(V::Str),
            b't' => self.literal("true", V::Bool(true)),
            b'f' => self.literal("false", V::Bool(false)),
            b'n' => self.literal("null", V::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: V<'a>) -> Option<V<'a>> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        self.pos += 1;
        self.ws();
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn object(&mut self) -> Option<V<'a>> {
        self.enter()?;
        let mut members: Vec<(Cow<'a, str>, V<'a>)> = Vec::new();
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Some(V::Obj(Obj(members)));
        }
        // 16: logged events and their context have 10-15 members (8 made most of them regrow)
        members.reserve(16);
        // keys seen, as bits of (length, last byte): a key whose bit is clear is new, and only
        // the others are compared with the earlier keys
        let mut seen: u64 = 0;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            self.ws();
            let value = self.value()?;
            let last = u64::from(*key.as_bytes().last().unwrap_or(&0));
            let bit = 1u64 << ((key.len() as u64 * 7 + last) % 64);
            // a duplicate keeps its first position and takes the last value (Python dict)
            let slot = if seen & bit != 0 {
                members.iter().position(|(k, _)| *k == key)
            } else {
                None
            };
            match slot {
                Some(index) => members[index].1 = value,
                None => {
                    seen |= bit;
                    members.push((key, value));
                }
            }
            self.ws();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws();
                }
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.depth -= 1;
        Some(V::Obj(Obj(members)))
    }

    fn array(&mut self) -> Option<V<'a>> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Some(V::Arr(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws();
                }
                b']' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.depth -= 1;
        Some(V::Arr(items))
    }

    /// A string at `"`: borrowed when it has no escape.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let (text, end) = string_at(self.text, self.pos)?;
        self.pos = end;
        Some(text)
    }

    /// A number: an integer within 64 bits as an int (orjson), else a float; JSON's grammar.
    fn number(&mut self) -> Option<V<'a>> {
        let bytes = self.bytes;
        let start = self.pos;
        let mut i = start;
        let negative = bytes[i] == b'-';
        if negative {
            i += 1;
        }
        let digits = |mut at: usize| -> usize {
            while bytes.get(at).map_or(false, u8::is_ascii_digit) {
                at += 1;
            }
            at
        };
        match bytes.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits(i + 1),
            _ => return None,
        }
        let mut float = false;
        if bytes.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return None;
            }
            i = end;
            float = true;
        }
        let mantissa_end = i;
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return None;
            }
            i = end;
            float = true;
        }
        self.pos = i;
        let text = &self.text[start..i];
        if !float {
            if let Ok(value) = text.parse::<i64>() {
                return Some(V::Int(value));
            }
            if let Ok(value) = text.parse::<u64>() {
                return Some(V::UInt(value));
            }
            // beyond 64 bits: a float, as orjson reads it
        }
        let value: f64 = text.parse().ok()?;
        if !value.is_finite() {
            return None; // orjson refuses 1e400
        }
        if value == 0.0
            && text[..mantissa_end - start]
                .bytes()
                .any(|b| matches!(b, b'1'..=b'9'))
        {
            return None; // underflow to zero: not sure orjson agrees
        }
        Some(V::Float(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain run as a byte loop (the reference of the word-at-a-time scans).
    fn plain_run_bytes(bytes: &[u8], from: usize) -> usize {
        (from..bytes.len())
            .find(|&i| STOP[bytes[i] as usize])
            .unwrap_or(bytes.len().max(from))
    }

    #[test]
    fn skip_string_accepts_what_string_at_accepts() {
        let parts = [
            "a",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\n",
            "\\t",
            "\\u00e9",
            "\\uD83D\\uDE00",
            "\\ud83d",
            "\\uDE00",
            "\\uD83Dx",
            "\\uD83D\\u0041",
            "\\x",
            "\\u12",
            "\\u12G4",
            "\u{1}",
            "\u{1f}",
            "\\",
            "é",
            "€",
            "0123456789abcdef",
            "\"",
            " ",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50_000 {
            let mut text = String::from("\"");
            for _ in 0..(next() % 12) {
                text.push_str(parts[(next() % parts.len() as u64) as usize]);
            }
            if next() % 4 != 0 {
                text.push('"');
            }
            text.push_str(",1");
            let want = string_at(&text, 0).map(|(_, end)| end);
            assert_eq!(skip_string(text.as_bytes(), 0), want, "{text:?}");
        }
    }

    #[test]
    fn plain_run_finds_every_stop_byte() {
        let plain = [b'a', b'~', 0x20, 0x7f, 0x80, 0xe9, 0xff, b'/', b'{'];
        for stop in 0u8..=255 {
            for length in [0usize, 1, 7, 8, 15, 16, 17, 31, 33, 40] {
                for at in 0..length {
                    let mut bytes: Vec<u8> = (0..length).map(|i| plain[i % plain.len()]).collect();
                    bytes[at] = stop;
                    for from in [0, at / 2, at, at + 1] {
                        let want = plain_run_bytes(&bytes, from.min(length));
                        assert_eq!(
                            plain_run(&bytes, from.min(length)),
                            want,
                            "{stop} {at} {from}"
                        );
                    }
                }
            }
        }
    }
}
