//! From a tracking-log line to the event (mirrors src/aspects/transform/logline.py).
//!
//! The shaping adds members that are the SAME Python object as another member (`data` is the
//! `event` payload, `timestamp` the `time` value, `name` the `event_type` value): event.py's
//! any-depth search skips an object it already searched, so [`Raw`] records these as aliases
//! (key -> index of the member) instead of copies.

use crate::json::{self, Obj, V};
use std::borrow::Cow;

/// The event after logline's shaping: the logged object plus the aliased members it added.
pub struct Raw<'a> {
    pub obj: Obj<'a>,
    /// (added key, index in `obj` of the member it is the same object as), in insertion order.
    pub aliases: Vec<(&'static str, usize)>,
}

impl<'a> Raw<'a> {
    /// `event.get(key)` on the shaped dict.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&V<'a>> {
        if let Some(v) = self.obj.get(key) {
            return Some(v);
        }
        self.aliases
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, i)| &self.obj.0[*i].1)
    }
    #[inline]
    pub fn contains(&self, key: &str) -> bool {
        self.obj.contains(key) || self.aliases.iter().any(|(k, _)| *k == key)
    }
    /// The dict's values in order, each with an identity (equal for aliased members).
    pub fn values(&self) -> impl Iterator<Item = (usize, &V<'a>)> {
        let own = self.obj.0.iter().enumerate().map(|(i, (_, v))| (i, v));
        let added = self
            .aliases
            .iter()
            .map(move |(_, i)| (*i, &self.obj.0[*i].1));
        own.chain(added)
    }
}

/// The JSON object text of a line (logline.parse_line's slicing); None when there is none.
pub fn json_text(line: &[u8]) -> Option<&[u8]> {
    let mut text = line;
    if text.first() != Some(&b'{') {
        text = trim_ascii(text);
        if text.is_empty() {
            return None;
        }
    }
    if text.first() != Some(&b'{') {
        let start = text.iter().position(|b| *b == b'{')?;
        let end = text.iter().rposition(|b| *b == b'}')?;
        if end < start {
            return None;
        }
        text = &text[start..=end];
    }
    Some(text)
}

/// Parse the line's object; the `event` member, when a string with escapes that may hold
/// JSON, is taken out (left as null) and returned: [`shape`] parses it from that owner.
pub fn read(line: &[u8]) -> Option<(Obj<'_>, Option<String>)> {
    let mut top = match json::parse(json_text(line)?)? {
        V::Obj(o) => o,
        _ => return None,
    };
    let mut owned = None;
    if let Some((_, payload)) = top.0.iter_mut().find(|(k, _)| k == "event") {
        if let V::Str(Cow::Owned(text)) = payload {
            if text.starts_with('{') || text.starts_with('[') {
                owned = Some(std::mem::take(text));
            }
        }
    }
    Some((top, owned))
}

/// logline.to_fixture_shape; None when the `event` string looks like JSON but this parser
/// refuses it (the Python path then decides, e.g. nesting over json::MAX_DEPTH).
pub fn shape<'a>(mut top: Obj<'a>, owned: Option<&'a str>) -> Option<Raw<'a>> {
    let mut aliases = Vec::new();
    if let Some(index) = top.0.iter().position(|(k, _)| k == "event") {
        let payload = &mut top.0[index].1;
        let text: Option<&'a str> = match (owned, &*payload) {
            (Some(text), _) => Some(text),
            (None, V::Str(Cow::Borrowed(text)))
                if text.starts_with('{') || text.starts_with('[') =>
            {
                Some(*text)
            }
            _ => None,
        };
        if let Some(text) = text {
            *payload = json::parse_str(text)?;
        }
        if !top.contains("data") {
            aliases.push(("data", index));
        }
    }
    let mut raw = Raw { obj: top, aliases };
    if !raw.contains("timestamp") {
        if let Some(index) = raw.obj.0.iter().position(|(k, _)| k == "time") {
            raw.aliases.push(("timestamp", index));
        }
    }
    let has_name = raw.get("name").map_or(false, V::truthy);
    if !has_name {
        if let Some(index) = raw.obj.0.iter().position(|(k, _)| k == "event_type") {
            if raw.obj.0[index].1.truthy() {
                if raw.obj.contains("name") {
                    let value = raw.obj.0[index].1.clone();
                    raw.obj.set(Cow::Borrowed("name"), value);
                } else {
                    raw.aliases.push(("name", index));
                }
            }
        }
    }
    Some(raw)
}

/// transformer.event_name: `name`, else `event_type` (truthy), when it is a string.
pub fn event_name<'r>(raw: &'r Raw<'_>) -> Option<&'r str> {
    let name = match raw.get("name") {
        Some(v) if v.truthy() => Some(v),
        _ => raw.get("event_type"),
    }?;
    name.as_str()
}

/// `bytes.strip()`: ASCII whitespace (space, \t \n \v \f \r) at both ends.
fn trim_ascii(text: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    &text[start..end]
}
