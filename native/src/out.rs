//! The output: a value `J` and a writer byte-identical to `orjson.dumps` of the Python value.
//!
//! Families build a statement's parts as `J` (borrowing input values as `J::In`), and the
//! writer serialises them in one pass, applying `statement.prune` on the way when asked (None
//! dropped from objects at any depth; lists keep their None members, their objects are pruned,
//! lists inside lists are not). Floats are written as orjson writes them (shortest round-trip
//! digits; positional for exponents -5..15, else `1e+16` / `1e-7`; NaN and infinities as null).

use crate::json::{Obj, V};
use crate::Fallback;
use std::borrow::Cow;
use std::rc::Rc;

/// An output value (what the Python code would put in the statement dict).
#[derive(Debug, Clone)]
pub enum J<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// An input value as it is (the Python code puts the event's own value in the statement).
    In(&'a V<'a>),
    /// Already-serialised JSON, None-free (shared parts: course activities, cached objects).
    Raw(Rc<[u8]>),
    Arr(Vec<J<'a>>),
    /// Members in insertion order; build with [`obj`] / [`J::set`] (no duplicate keys).
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

/// `J::Obj` from (key, value) pairs in order (keys must be distinct, as in a dict literal).
pub fn obj<'a, const N: usize>(members: [(&'a str, J<'a>); N]) -> J<'a> {
    J::Obj(
        members
            .into_iter()
            .map(|(k, v)| (Cow::Borrowed(k), v))
            .collect(),
    )
}

/// The parts joined into one String of the exact size (what `format!("{}{}", ...)` gives for
/// plain strings, without the formatting machinery: ids and IRIs are made per statement).
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// A string value from a borrowed str.
pub fn s(text: &str) -> J<'_> {
    J::Str(Cow::Borrowed(text))
}

impl<'a> J<'a> {
    /// An input value, or Null when absent (`event.get(...)` giving None).
    pub fn opt(value: Option<&'a V<'a>>) -> J<'a> {
        match value {
            Some(v) => J::In(v),
            None => J::Null,
        }
    }
    /// An optional owned/borrowed string (`b.iri(...)` giving None).
    pub fn opt_str<T: Into<Cow<'a, str>>>(value: Option<T>) -> J<'a> {
        match value {
            Some(v) => J::Str(v.into()),
            None => J::Null,
        }
    }
    /// Whether this is None (J::Null or an input null).
    pub fn is_null(&self) -> bool {
        matches!(self, J::Null | J::In(V::Null))
    }
    /// `dict[key] = value` on a `J::Obj` (replaces in place, else appends).
    pub fn set(&mut self, key: &'a str, value: J<'a>) {
        if let J::Obj(members) = self {
            if let Some(slot) = members.iter_mut().find(|(k, _)| k == key) {
                slot.1 = value;
            } else {
                members.push((Cow::Borrowed(key), value));
            }
        }
    }
    /// `dict.get(key)` without a copy: a member of a `J::Obj` borrowed, or an input object's
    /// member as `J::In` (the repair step reads every activity: `get` cloned whole subtrees).
    pub fn member(&self, key: &str) -> Option<Cow<'_, J<'a>>> {
        match self {
            J::Obj(members) => members
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| Cow::Borrowed(v)),
            J::In(V::Obj(o)) => o.get(key).map(|v| Cow::Owned(J::In(v))),
            _ => None,
        }
    }
    /// `dict.get(key)` on a `J::Obj` (or an input object).
    pub fn get(&self, key: &str) -> Option<J<'a>> {
        match self {
            J::Obj(members) => members
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
            J::In(V::Obj(o)) => o.get(key).map(J::In),
            _ => None,
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A JSON string as orjson writes it: `"` and `\\` escaped, \b \f \n \r \t, other control
/// characters as \u00XX, everything else (DEL, non-ASCII) as is.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    loop {
        // the next byte to escape: '"', '\\' or a control character (most strings have none)
        i = crate::json::plain_run(bytes, i);
        let Some(&byte) = bytes.get(i) else { break };
        out.extend_from_slice(&bytes[start..i]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(byte >> 4) as usize]);
                out.push(HEX[(byte & 0xf) as usize]);
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The shortest round-trip digits of a finite non-zero float (ryu: the closest candidate, ties
/// to even, as Python's repr and orjson; Rust's own `{:e}` breaks ties differently) and the
/// decimal exponent of the first digit: 0.00123 -> ("123", -3).
fn shortest(value: f64) -> (bool, Digits, i32) {
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exp) = match text.iter().position(|b| *b == b'e' || *b == b'E') {
        Some(i) => {
            let exp = std::str::from_utf8(&text[i + 1..])
                .ok()
                .and_then(|e| e.parse::<i32>().ok());
            (&text[..i], exp.unwrap_or(0))
        }
        None => (text, 0),
    };
    let point = mantissa
        .iter()
        .position(|b| *b == b'.')
        .unwrap_or(mantissa.len());
    let mut digits = Digits::default();
    for &b in mantissa.iter().filter(|b| **b != b'.') {
        digits.push(b);
    }
    // the exponent of the first digit, before leading zeros are dropped
    let mut first = point as i32 - 1 + exp;
    while digits.as_slice().first() == Some(&b'0') && digits.len > 1 {
        digits.start += 1;
        digits.len -= 1;
        first -= 1;
    }
    while digits.as_slice().last() == Some(&b'0') && digits.len > 1 {
        digits.len -= 1;
    }
    (negative, digits, first)
}

/// The digits of a float's shortest form, on the stack (ryu writes at most 17 digits; a
/// positional form such as `0.000123` or `123000.0` adds a few zeros that are dropped).
#[derive(Default)]
struct Digits {
    bytes: [u8; 32],
    start: usize,
    len: usize,
}

impl Digits {
    fn push(&mut self, byte: u8) {
        self.bytes[self.start + self.len] = byte;
        self.len += 1;
    }
    fn as_slice(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }
}

/// Digits laid out positionally (`123.45`, `0.00123`, `100.0`).
fn positional(out: &mut Vec<u8>, digits: &[u8], exp: i32) {
    if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat(b'0').take(int_len - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat(b'0').take((-exp - 1) as usize));
        out.extend_from_slice(digits);
    }
}

/// Digits as a mantissa `d[.ddd]`.
fn mantissa(out: &mut Vec<u8>, digits: &[u8]) {
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
}

/// A float as orjson writes it (see the module docs).
pub fn write_float(out: &mut Vec<u8>, value: f64) {
    if !value.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let (negative, digits, exp) = shortest(value);
    let digits = digits.as_slice();
    if negative {
        out.push(b'-');
    }
    if (-5..16).contains(&exp) {
        positional(out, digits, exp);
    } else {
        mantissa(out, digits);
        out.push(b'e');
        if exp > 0 {
            out.push(b'+');
        }
        out.extend_from_slice(exp.to_string().as_bytes());
    }
}

fn write_int(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    write_uint(out, value.unsigned_abs());
}

/// Decimal digits of an unsigned integer, written from a stack buffer (`to_string` allocated
/// a String per number).
fn write_uint(out: &mut Vec<u8>, mut value: u64) {
    let mut buffer = [0u8; 20];
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&buffer[at..]);
}

/// Writes an input value as orjson writes the Python value; `prune`: statement.prune's rule.
pub fn write_v(out: &mut Vec<u8>, value: &V<'_>, prune: bool) {
    match value {
        V::Null => out.extend_from_slice(b"null"),
        V::Bool(true) => out.extend_from_slice(b"true"),
        V::Bool(false) => out.extend_from_slice(b"false"),
        V::Int(i) => write_int(out, *i),
        V::UInt(u) => write_uint(out, *u),
        V::Float(f) => write_float(out, *f),
        V::Str(text) => write_str(out, text),
        V::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // prune reaches the objects of a list, not lists inside it
                let inner = prune && matches!(item, V::Obj(_));
                write_v(out, item, inner);
            }
            out.push(b']');
        }
        V::Obj(members) => write_obj_v(out, members, prune),
    }
}

fn write_obj_v(out: &mut Vec<u8>, members: &Obj<'_>, prune: bool) {
    out.push(b'{');
    let mut first = true;
    for (key, item) in members.iter() {
        if prune && item.is_null() {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, key);
        out.push(b':');
        write_v(out, item, prune);
    }
    out.push(b'}');
}

/// Writes an output value; `prune` drops None members of objects (statement.prune).
pub fn write_j(out: &mut Vec<u8>, value: &J<'_>, prune: bool) -> Result<(), Fallback> {
    match value {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(true) => out.extend_from_slice(b"true"),
        J::Bool(false) => out.extend_from_slice(b"false"),
        J::Int(i) => write_int(out, *i),
        J::Float(f) => write_float(out, *f),
        J::Str(text) => write_str(out, text),
        J::In(v) => write_v(out, v, prune),
        J::Raw(bytes) => out.extend_from_slice(bytes),
        J::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let inner = prune && is_object(item);
                write_j(out, item, inner)?;
            }
            out.push(b']');
        }
        J::Obj(members) => {
            out.push(b'{');
            let mut first = true;
            for (key, item) in members {
                if prune && item.is_null() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_str(out, key);
                out.push(b':');
                write_j(out, item, prune)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn is_object(value: &J<'_>) -> bool {
    match value {
        J::Obj(_) | J::In(V::Obj(_)) => true,
        // Raw parts are objects already pruned: pruning again changes nothing
        J::Raw(bytes) => bytes.first() == Some(&b'{'),
        _ => false,
    }
}

/// `json.dumps(value)` with Python's defaults (", " and ": " separators, ensure_ascii, floats
/// as repr, NaN/Infinity): what the Python code writes where it calls json.dumps (problem
/// answers). Fallback for what this does not reproduce.
pub fn write_py_json(out: &mut String, value: &V<'_>) -> Result<(), Fallback> {
    match value {
        V::Null => out.push_str("null"),
        V::Bool(true) => out.push_str("true"),
        V::Bool(false) => out.push_str("false"),
        V::Int(i) => out.push_str(&i.to_string()),
        V::UInt(u) => out.push_str(&u.to_string()),
        V::Float(f) => out.push_str(&py_float_repr(*f)?),
        V::Str(text) => py_json_str(out, text),
        V::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_json(out, item)?;
            }
            out.push(']');
        }
        V::Obj(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_json_str(out, key);
                out.push_str(": ");
                write_py_json(out, item)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A string as `json.dumps` (ensure_ascii) writes it.
pub fn py_json_str(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)` (also `str(float)`): shortest digits, positional for exponents
/// -4..15, else `1e-05` / `1e+16`; `inf`, `nan` are refused (json.dumps writes Infinity/NaN,
/// which no caller needs).
pub fn py_float_repr(value: f64) -> Result<String, Fallback> {
    if !value.is_finite() {
        return Err(Fallback);
    }
    if value == 0.0 {
        return Ok(if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned());
    }
    let (negative, digits, exp) = shortest(value);
    let digits = digits.as_slice();
    let mut out = Vec::with_capacity(24);
    if negative {
        out.push(b'-');
    }
    if (-4..16).contains(&exp) {
        positional(&mut out, digits, exp);
    } else {
        mantissa(&mut out, digits);
        out.extend_from_slice(
            format!("e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()).as_bytes(),
        );
    }
    String::from_utf8(out).map_err(|_| Fallback)
}
