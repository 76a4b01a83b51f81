//! A "sure valid" verdict for xAPI statements, for the LRS's receive path.
//!
//! `aspects.xapi.validation` (Python) is THE reference: every rule and every error message lives
//! there. This module only answers, for each statement of a request body, "valid for sure" or
//! "not sure"; a statement not sure here is validated by the Python code as before, which gives
//! the exact verdict and message. So the rules below may be STRICTER than Python's (refusing is
//! always safe: Python decides), never looser: whatever is accepted here Python accepts too, in
//! the request's xAPI version.
//!
//! Covered (the shapes Open edX and typical clients send): an Agent actor (one of mbox,
//! mbox_sha1sum, openid, account), a verb, an Activity / StatementRef / Agent object (activity
//! definitions with interaction components included), result, context without Groups
//! (registration, an Agent instructor, contextActivities, revision, platform, language, a
//! StatementRef, extensions), timestamp, stored, version. Not sure, always: Groups, SubStatements,
//! authority, attachments (signatures), contextAgents/contextGroups, and text that is not plain
//! ASCII in an identifier (IRIs, mboxes, tags, times), where Python's Unicode rules (`\s`, `\d`,
//! `$` before a final newline) would need copying.
//!
//! The body is parsed with our JSON parser (native/src/json.rs), which reads what orjson reads
//! (duplicate keys: the last value wins); a body it refuses gets no verdict at all.

use crate::json::{self, Obj, V};

/// Early "not sure".
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            return None;
        }
    };
}

/// One verdict per statement of a request body (an array of statements, or one statement
/// object): true = valid for sure in `version` ("1.0.3" or "2.0.0"). None when the body does not
/// parse, is neither an array nor an object, or the version is unknown: Python decides it all.
pub fn verdicts(body: &[u8], version: &str) -> Option<Vec<bool>> {
    let v2 = match version {
        "1.0.3" => false,
        "2.0.0" => true,
        _ => return None,
    };
    let value = json::parse(body)?;
    match &value {
        V::Arr(items) => Some(
            items
                .iter()
                .map(|item| statement(item, v2).is_some())
                .collect(),
        ),
        V::Obj(_) => Some(vec![statement(&value, v2).is_some()]),
        _ => None,
    }
}

const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

/// `_object`: a JSON object whose keys are all in `allowed` and whose values are not null.
fn object<'v, 'a>(value: &'v V<'a>, allowed: &[&str]) -> Option<&'v Obj<'a>> {
    let obj = value.as_obj()?;
    for (key, item) in obj.iter() {
        ensure!(allowed.contains(&key) && !item.is_null());
    }
    Some(obj)
}

fn string<'v>(value: &'v V<'_>) -> Option<&'v str> {
    value.as_str()
}

fn is_ascii_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// `is_uuid`, without the final newline `$` would also allow.
fn uuid(value: &V<'_>) -> Option<()> {
    let text = value.as_str()?.as_bytes();
    ensure!(text.len() == 36);
    for (index, byte) in text.iter().enumerate() {
        if matches!(index, 8 | 13 | 18 | 23) {
            ensure!(*byte == b'-');
        } else {
            ensure!(byte.is_ascii_hexdigit());
        }
    }
    Some(())
}

/// `is_iri` for printable ASCII only: a scheme (a letter, then letters, digits, `+ . -`), a
/// colon, and at least one character, none of them `<>"{}|\^` or a backtick. (Python also allows
/// other control characters and a final newline, and decides non-ASCII text by regex.)
fn iri_str(text: &str) -> Option<()> {
    let bytes = text.as_bytes();
    ensure!(bytes.first()?.is_ascii_alphabetic());
    let colon = bytes.iter().position(|b| *b == b':')?;
    for b in &bytes[1..colon] {
        ensure!(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'));
    }
    let rest = &bytes[colon + 1..];
    ensure!(!rest.is_empty());
    for b in rest {
        ensure!(
            (0x21..0x7f).contains(b)
                && !matches!(
                    b,
                    b'<' | b'>' | b'"' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'`'
                )
        );
    }
    Some(())
}

fn iri(value: &V<'_>) -> Option<()> {
    iri_str(value.as_str()?)
}

/// A subset of `_LANGUAGE_TAG`: language (2-3 letters), optional script (4 letters), optional
/// region (2 letters or 3 digits): `en`, `en-US`, `zh-Hant-TW`, `es-419`.
fn language_tag(tag: &str) -> Option<()> {
    let mut parts = tag.split('-');
    let language = parts.next()?;
    ensure!((2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic()));
    let mut next = parts.next();
    if let Some(script) = next {
        if script.len() == 4 && script.bytes().all(|b| b.is_ascii_alphabetic()) {
            next = parts.next();
        }
    }
    if let Some(region) = next {
        let letters = region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic());
        let digits = region.len() == 3 && region.bytes().all(is_ascii_digit);
        ensure!(letters || digits);
        next = parts.next();
    }
    ensure!(next.is_none());
    Some(())
}

fn language_map(value: &V<'_>) -> Option<()> {
    for (tag, text) in value.as_obj()?.iter() {
        language_tag(tag)?;
        string(text)?;
    }
    Some(())
}

fn extensions(value: &V<'_>) -> Option<()> {
    for (key, _) in value.as_obj()?.iter() {
        iri_str(key)?;
    }
    Some(())
}

/// `_MBOX` for printable ASCII: `mailto:`, then text without `@` or whitespace, `@`, the same.
fn mbox(value: &V<'_>) -> Option<()> {
    let rest = value.as_str()?.strip_prefix("mailto:")?.as_bytes();
    let at = rest.iter().position(|b| *b == b'@')?;
    let (user, host) = (&rest[..at], &rest[at + 1..]);
    ensure!(!user.is_empty() && !host.is_empty());
    ensure!(host
        .iter()
        .chain(user)
        .all(|b| (0x21..0x7f).contains(b) && *b != b'@'));
    Some(())
}

/// An Agent (`validate_agent`): exactly one valid inverse functional identifier.
fn agent(value: &V<'_>) -> Option<()> {
    let obj = object(
        value,
        &[
            "objectType",
            "name",
            "mbox",
            "mbox_sha1sum",
            "openid",
            "account",
        ],
    )?;
    let mut count = 0;
    for (key, item) in obj.iter() {
        match key {
            "objectType" => ensure!(item.as_str()? == "Agent"),
            "name" => {
                string(item)?;
            }
            "mbox" => mbox(item)?,
            "mbox_sha1sum" => {
                let text = item.as_str()?;
                ensure!(text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            "openid" => iri(item)?,
            "account" => {
                let account = object(item, &["homePage", "name"])?;
                iri(account.get("homePage")?)?;
                string(account.get("name")?)?;
            }
            _ => return None,
        }
        if key != "objectType" && key != "name" {
            count += 1;
        }
    }
    ensure!(count == 1);
    Some(())
}

const INTERACTION_TYPES: &[&str] = &[
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];

/// An activity definition (`_definition`).
fn definition(value: &V<'_>) -> Option<()> {
    let obj = object(
        value,
        &[
            "name",
            "description",
            "type",
            "moreInfo",
            "extensions",
            "interactionType",
            "correctResponsesPattern",
            "choices",
            "scale",
            "source",
            "target",
            "steps",
        ],
    )?;
    let mut interaction = false;
    let mut needs_interaction = false;
    for (key, item) in obj.iter() {
        match key {
            "name" | "description" => language_map(item)?,
            "type" | "moreInfo" => iri(item)?,
            "extensions" => extensions(item)?,
            "interactionType" => {
                ensure!(INTERACTION_TYPES.contains(&item.as_str()?));
                interaction = true;
            }
            "correctResponsesPattern" => {
                let V::Arr(items) = item else { return None };
                ensure!(items.iter().all(|i| i.as_str().is_some()));
                needs_interaction = true;
            }
            _ => {
                components(item)?;
                needs_interaction = true;
            }
        }
    }
    ensure!(interaction || !needs_interaction);
    Some(())
}

/// An array of interaction components with distinct ids (`_components`).
fn components(value: &V<'_>) -> Option<()> {
    let V::Arr(items) = value else { return None };
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        let component = object(item, &["id", "description"])?;
        let id = component.get("id")?.as_str()?;
        ensure!(!seen.contains(&id));
        seen.push(id);
        if let Some(description) = component.get("description") {
            language_map(description)?;
        }
    }
    Some(())
}

/// An Activity (`validate_activity`).
fn activity(value: &V<'_>) -> Option<()> {
    let obj = object(value, &["objectType", "id", "definition"])?;
    if let Some(kind) = obj.get("objectType") {
        ensure!(kind.as_str()? == "Activity");
    }
    iri(obj.get("id")?)?;
    if let Some(def) = obj.get("definition") {
        definition(def)?;
    }
    Some(())
}

/// A StatementRef (`objectType` required: `"StatementRef"`), an object or context.statement.
fn statement_ref(value: &V<'_>) -> Option<()> {
    let obj = object(value, &["objectType", "id"])?;
    ensure!(obj.get("objectType")?.as_str()? == "StatementRef");
    uuid(obj.get("id")?)
}

/// What `_statement_object` accepts, for Activities, StatementRefs and Agents; the object's
/// kind ("Activity", "StatementRef", "Agent").
fn statement_object<'v>(value: &'v V<'_>) -> Option<&'v str> {
    let obj = value.as_obj()?;
    let kind = match obj.get("objectType") {
        None => "Activity",
        Some(kind) => kind.as_str()?,
    };
    match kind {
        "Activity" => activity(value)?,
        "StatementRef" => statement_ref(value)?,
        "Agent" => agent(value)?,
        _ => return None,
    }
    Some(kind)
}

/// A score member as Python's `float(value)` (bool is not a number there).
fn number(value: &V<'_>) -> Option<f64> {
    match value {
        V::Int(i) => Some(*i as f64),
        V::UInt(u) => Some(*u as f64),
        V::Float(f) => Some(*f),
        _ => None,
    }
}

fn result(value: &V<'_>) -> Option<()> {
    let obj = object(
        value,
        &[
            "score",
            "success",
            "completion",
            "response",
            "duration",
            "extensions",
        ],
    )?;
    for (key, item) in obj.iter() {
        match key {
            "score" => score(item)?,
            "success" | "completion" => ensure!(matches!(item, V::Bool(_))),
            "response" => {
                string(item)?;
            }
            "duration" => duration(item.as_str()?)?,
            _ => extensions(item)?,
        }
    }
    Some(())
}

fn score(value: &V<'_>) -> Option<()> {
    let obj = object(value, &["scaled", "raw", "min", "max"])?;
    let get = |key: &str| obj.get(key).map(number);
    let (scaled, raw, low, high) = (get("scaled"), get("raw"), get("min"), get("max"));
    // Every member present must be a number (Some(None) = present, not a number).
    let scaled = scaled.map_or(Some(None), |v| v.map(Some))?;
    let raw = raw.map_or(Some(None), |v| v.map(Some))?;
    let low = low.map_or(Some(None), |v| v.map(Some))?;
    let high = high.map_or(Some(None), |v| v.map(Some))?;
    if let Some(scaled) = scaled {
        ensure!((-1.0..=1.0).contains(&scaled));
    }
    if let (Some(low), Some(high)) = (low, high) {
        ensure!(low < high);
    }
    if let (Some(raw), Some(low)) = (raw, low) {
        ensure!(raw >= low);
    }
    if let (Some(raw), Some(high)) = (raw, high) {
        ensure!(raw <= high);
    }
    Some(())
}

/// Digits, then optionally `.` or `,` and digits (`\d+(?:[.,]\d+)?`, ASCII digits): the index
/// after them, None when there is no digit at `at`.
fn decimal(bytes: &[u8], at: usize) -> Option<usize> {
    let digits = |from: usize| {
        let mut end = from;
        while bytes.get(end).is_some_and(|b| b.is_ascii_digit()) {
            end += 1;
        }
        end
    };
    let end = digits(at);
    ensure!(end > at);
    if matches!(bytes.get(end), Some(b'.' | b',')) {
        let fraction = digits(end + 1);
        if fraction > end + 1 {
            return Some(fraction);
        }
    }
    Some(end)
}

/// `_DURATION` (ISO 8601 durations), ASCII digits, no final newline.
fn duration(text: &str) -> Option<()> {
    let bytes = text.as_bytes();
    ensure!(bytes.first() == Some(&b'P'));
    let mut at = 1;
    // Weeks alone: P<n>W.
    if let Some(end) = decimal(bytes, at) {
        if bytes.get(end) == Some(&b'W') {
            ensure!(end + 1 == bytes.len());
            return Some(());
        }
    }
    // P(?=\d|T\d): something must follow.
    let first = *bytes.get(1)?;
    ensure!(
        first.is_ascii_digit() || (first == b'T' && bytes.get(2).is_some_and(u8::is_ascii_digit))
    );
    for designators in [&b"YMD"[..], &b"HMS"[..]] {
        if designators == b"HMS" {
            if at == bytes.len() {
                return Some(());
            }
            ensure!(bytes[at] == b'T' && bytes.get(at + 1).is_some_and(u8::is_ascii_digit));
            at += 1;
        }
        let mut allowed = designators;
        while at < bytes.len() && bytes[at] != b'T' {
            let end = decimal(bytes, at)?;
            let designator = *bytes.get(end)?;
            let position = allowed.iter().position(|d| *d == designator)?;
            allowed = &allowed[position + 1..];
            at = end + 1;
        }
    }
    ensure!(at == bytes.len());
    Some(())
}

fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    let (a, b) = (*bytes.get(at)?, *bytes.get(at + 1)?);
    ensure!(a.is_ascii_digit() && b.is_ascii_digit());
    Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

/// `check_timestamp` (ISO 8601 / RFC 3339, a real date and time), ASCII only: the date, `T`,
/// `HH:MM[:SS[.f]]`, then `Z`, `±HH`, `±HHMM` or `±HH:MM` (hours 00-23, minutes 00-59, not
/// -00:00); the zone is required in 2.0.0.
fn timestamp(value: &V<'_>, require_zone: bool) -> Option<()> {
    let bytes = value.as_str()?.as_bytes();
    ensure!(bytes.len() >= 16);
    let year = two_digits(bytes, 0)? * 100 + two_digits(bytes, 2)?;
    ensure!(bytes[4] == b'-' && bytes[7] == b'-' && matches!(bytes[10], b'T' | b't'));
    let (month, day) = (two_digits(bytes, 5)?, two_digits(bytes, 8)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ensure!(year >= 1 && (1..=days).contains(&day));
    ensure!(two_digits(bytes, 11)? <= 23 && bytes[13] == b':' && two_digits(bytes, 14)? <= 59);
    let mut at = 16;
    if bytes.get(at) == Some(&b':') {
        ensure!(two_digits(bytes, at + 1)? <= 59);
        at += 3;
        if matches!(bytes.get(at), Some(b'.' | b',')) {
            let start = at + 1;
            at = start;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            ensure!(at > start);
        }
    }
    let zone = &bytes[at..];
    match zone {
        [] => ensure!(!require_zone),
        [b'Z' | b'z'] => {}
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let minutes = match rest.len() {
                2 => 0,
                4 => two_digits(rest, 2)?,
                5 if rest[2] == b':' => two_digits(rest, 3)?,
                _ => return None,
            };
            let hours = two_digits(rest, 0)?;
            ensure!(hours <= 23 && minutes <= 59);
            ensure!(!(*sign == b'-' && hours == 0 && minutes == 0));
        }
        _ => return None,
    }
    Some(())
}

fn context(value: &V<'_>, object_is_activity: bool) -> Option<()> {
    let obj = object(
        value,
        &[
            "registration",
            "instructor",
            "contextActivities",
            "revision",
            "platform",
            "language",
            "statement",
            "extensions",
        ],
    )?;
    for (key, item) in obj.iter() {
        match key {
            "registration" => uuid(item)?,
            "instructor" => agent(item)?,
            "contextActivities" => {
                let activities = object(item, &["parent", "grouping", "category", "other"])?;
                for (_, entry) in activities.iter() {
                    match entry {
                        V::Arr(items) => {
                            for one in items {
                                activity(one)?;
                            }
                        }
                        one => activity(one)?,
                    }
                }
            }
            "revision" | "platform" => {
                string(item)?;
                ensure!(object_is_activity);
            }
            "language" => language_tag(item.as_str()?)?,
            "statement" => statement_ref(item)?,
            _ => extensions(item)?,
        }
    }
    Some(())
}

/// `_VERSION[version]`: `1.0[.n]` (1.0.3), `1.0[.n]` or `2.0[.n]` (2.0.0).
fn version_text(text: &str, v2: bool) -> Option<()> {
    let bytes = text.as_bytes();
    ensure!(bytes.len() >= 3 && &bytes[1..3] == b".0");
    ensure!(bytes[0] == b'1' || (v2 && bytes[0] == b'2'));
    match &bytes[3..] {
        [] => {}
        [b'.', digits @ ..] => ensure!(!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)),
        _ => return None,
    }
    Some(())
}

/// One statement (not a SubStatement): Some(()) = valid for sure.
pub fn statement(value: &V<'_>, v2: bool) -> Option<()> {
    let obj = object(
        value,
        &[
            "id",
            "actor",
            "verb",
            "object",
            "result",
            "context",
            "timestamp",
            "stored",
            "version",
        ],
    )?;
    let verb = object(obj.get("verb")?, &["id", "display"])?;
    let verb_id = verb.get("id")?.as_str()?;
    iri_str(verb_id)?;
    if let Some(display) = verb.get("display") {
        language_map(display)?;
    }
    agent(obj.get("actor")?)?;
    let kind = statement_object(obj.get("object")?)?;
    if verb_id == VOIDED {
        ensure!(kind == "StatementRef");
    }
    for (key, item) in obj.iter() {
        match key {
            "id" => uuid(item)?,
            "result" => result(item)?,
            "context" => context(item, kind == "Activity")?,
            "timestamp" | "stored" => timestamp(item, v2)?,
            "version" => version_text(item.as_str()?, v2)?,
            _ => {} // actor, verb, object: above
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in [
            "PT5M",
            "P1W",
            "P1.5W",
            "P1Y2M3DT4H5M6.7S",
            "PT0S",
            "P1D",
            "P1,5Y",
            "PT1H",
        ] {
            assert!(duration(ok).is_some(), "{ok}");
        }
        for bad in [
            "P", "PT", "P1", "P1DT", "PT5", "P1M1Y", "P1WT1H", "P1.W", "1D", "P1D\n", "PT1H1H",
        ] {
            assert!(duration(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        let ok = |t: &str, zone: bool| timestamp(&V::Str(t.into()), zone).is_some();
        assert!(ok("2024-02-29T00:00:00.123Z", true));
        assert!(ok("2024-01-02T03:04+05:30", true));
        assert!(ok("2024-01-02T03:04:05", false));
        assert!(!ok("2024-01-02T03:04:05", true));
        assert!(!ok("2023-02-29T00:00:00Z", false));
        assert!(!ok("2024-01-02T03:04:05-00:00", false));
        assert!(!ok("2024-01-02T24:00:00Z", false));
        assert!(!ok("0000-01-02T03:04:05Z", false));
    }
}
