//! Read values out of an event with ERB's lookup semantics (mirrors event.py).
//!
//! - a dotted key (`"data.mode"`) follows that path: None when a step is missing or not an
//!   object;
//! - a plain key (`"session"`) is searched at every depth: the event's own keys first, then each
//!   nested object in order, depth first (an object reached twice through the shaping's
//!   aliases is searched once);
//!
//! and an empty value (`""`, `[]`, `{}`, null; not 0/false) counts as missing. Every error of
//! the Python methods (MalformedEvent) is a [`Fallback`] here: the Python path then raises it.

use crate::json::{Obj, V};
use crate::line::Raw;
use crate::{Fallback, Res};

/// A read-only view of one event (event.py's `Event`).
pub struct Event<'e> {
    pub raw: &'e Raw<'e>,
    /// The event's name (`name`, else `event_type`).
    pub name: &'e str,
}

/// A JSON number read by [`Event::get_number`] (event.py's `number`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

fn find_nested<'e>(source: &'e Obj<'e>, key: &str) -> Option<&'e V<'e>> {
    if let Some(value) = source.get(key) {
        return if value.is_null() { None } else { Some(value) };
    }
    for (_, value) in source.iter() {
        if let V::Obj(inner) = value {
            if let Some(found) = find_nested(inner, key) {
                return Some(found);
            }
        }
    }
    None
}

/// event._find: the key at the top level, else the first non-null value found depth first.
fn find<'e>(raw: &'e Raw<'e>, key: &str) -> Option<&'e V<'e>> {
    if let Some(value) = raw.get(key) {
        return Some(value);
    }
    let mut searched: [usize; 8] = [usize::MAX; 8];
    let mut count = 0;
    for (identity, value) in raw.values() {
        if let V::Obj(inner) = value {
            if searched[..count.min(8)].contains(&identity) {
                continue;
            }
            if let Some(found) = find_nested(inner, key) {
                return Some(found);
            }
            if count < 8 {
                searched[count] = identity;
            }
            count += 1;
        }
    }
    None
}

impl<'e> Event<'e> {
    pub fn new(raw: &'e Raw<'e>, name: &'e str) -> Self {
        Event { raw, name }
    }

    /// The value at `key` (dotted path or key searched at any depth); None when empty.
    pub fn get(&self, key: &str) -> Option<&'e V<'e>> {
        let value = if let Some(dot) = key.bytes().position(|b| b == b'.') {
            let mut value = self.raw.get(&key[..dot])?;
            // the parts after the first, split by hand (`str::split` cost ~1% of a line)
            let mut rest = &key[dot + 1..];
            while let Some(next) = rest.bytes().position(|b| b == b'.') {
                value = value.as_obj()?.get(&rest[..next])?;
                rest = &rest[next + 1..];
            }
            value.as_obj()?.get(rest)?
        } else {
            find(self.raw, key)?
        };
        if value.empty() {
            None
        } else {
            Some(value)
        }
    }

    /// Like [`get`](Self::get), but a missing value is an error (Fallback).
    pub fn need(&self, key: &str) -> Res<&'e V<'e>> {
        self.get(key).ok_or(Fallback)
    }

    /// A required string.
    pub fn need_str(&self, key: &str) -> Res<&'e str> {
        self.need(key)?.as_str().ok_or(Fallback)
    }

    /// An optional string: Ok(None) when missing, Fallback when not a string.
    pub fn get_str(&self, key: &str) -> Res<Option<&'e str>> {
        match self.get(key) {
            None => Ok(None),
            Some(V::Str(text)) => Ok(Some(text)),
            Some(_) => Err(Fallback),
        }
    }

    /// A required object.
    pub fn need_dict(&self, key: &str) -> Res<&'e Obj<'e>> {
        self.need(key)?.as_obj().ok_or(Fallback)
    }

    /// An optional number (event.py's get_number): a JSON number or a numeric string.
    pub fn get_number(&self, key: &str) -> Res<Option<Num>> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => number(value).map(Some),
        }
    }
}

/// event.number: int/float as they are, a numeric string as float(text); else Fallback.
pub fn number(value: &V<'_>) -> Res<Num> {
    match value {
        V::Int(i) => Ok(Num::Int(*i)),
        V::Float(f) => Ok(Num::Float(*f)),
        V::Str(text) => py_float(text).map(Num::Float),
        _ => Err(Fallback),
    }
}

/// Python's `float(text)` for the plain decimal forms (`12`, `-1.5`, `.5`, `2e3`, spaces
/// around); other forms Python accepts (`inf`, `1_000`, non-ASCII digits) are a Fallback.
pub fn py_float(text: &str) -> Res<f64> {
    let t = text.trim_matches(|c: char| c == ' ' || ('\t'..='\r').contains(&c));
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mantissa, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty()) || !digits(int_part) || !digits(frac_part) {
        return Err(Fallback);
    }
    if let Some(exp) = exponent {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if exp.is_empty() || !digits(exp) {
            return Err(Fallback);
        }
    }
    t.parse::<f64>().map_err(|_| Fallback)
}
