//! The input: a JSON value borrowed from the line (no copy unless a string has escapes).
//!
//! Parsed as orjson parses it, so that the values the families read are the values the Python
//! transformer reads: objects keep their keys in order and a duplicate key keeps its FIRST
//! position with its LAST value (what a Python dict does when orjson inserts twice); integers
//! beyond the 64-bit ranges become floats (as orjson); floats are correctly rounded
//! (serde_json's `float_roundtrip`). What orjson refuses (lone surrogates, NaN, 1e400) serde_json
//! refuses too; any parse error means "not handled" (the Python path gives the reason).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

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

impl<'a> Obj<'a> {
    /// `dict.get(key)`: the value, None when the key is absent (a JSON null is `Some(V::Null)`).
    #[inline]
    pub fn get(&self, key: &str) -> Option<&V<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    #[inline]
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
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

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = V<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<V<'de>, E> {
        Ok(V::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<V<'de>, E> {
        Ok(V::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<V<'de>, E> {
        Ok(V::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<V<'de>, E> {
        Ok(if n <= i64::MAX as u64 {
            V::Int(n as i64)
        } else {
            V::UInt(n)
        })
    }
    fn visit_f64<E>(self, n: f64) -> Result<V<'de>, E> {
        Ok(V::Float(n))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<V<'de>, E> {
        Ok(V::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<V<'de>, E> {
        Ok(V::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<V<'de>, E> {
        Ok(V::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<V<'de>, A::Error> {
        let mut items = Vec::with_capacity(access.size_hint().unwrap_or(4));
        while let Some(item) = access.next_element()? {
            items.push(item);
        }
        Ok(V::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<V<'de>, A::Error> {
        let mut members: Vec<(Cow<'de, str>, V<'de>)> = Vec::with_capacity(8);
        // keys seen, as bits of (length, last byte): a key whose bit is clear is new, and only
        // the others are compared with the earlier keys
        let mut seen: u64 = 0;
        while let Some(Key(key)) = access.next_key::<Key<'de>>()? {
            let value: V<'de> = access.next_value()?;
            let bit = 1u64
                << ((key.len() as u64 * 7 + u64::from(*key.as_bytes().last().unwrap_or(&0))) % 64);
            // a duplicate keeps its first position and takes the last value (Python dict)
            if seen & bit != 0 {
                if let Some(slot) = members.iter_mut().find(|(k, _)| *k == key) {
                    slot.1 = value;
                    continue;
                }
            }
            seen |= bit;
            members.push((key, value));
        }
        Ok(V::Obj(Obj(members)))
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for V<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Parse one JSON document (the whole slice, trailing whitespace allowed); None when invalid
/// (invalid UTF-8 too, as orjson refuses it).
pub fn parse(text: &[u8]) -> Option<V<'_>> {
    // one UTF-8 check of the whole text is cheaper than serde_json's check of every string
    parse_str(std::str::from_utf8(text).ok()?)
}

/// Parse a JSON document held in a string (an `event` logged as JSON text).
pub fn parse_str(text: &str) -> Option<V<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = V::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}
