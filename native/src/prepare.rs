//! The LRS receive worker's statement path in one call: a request body (or a share of its
//! array) -> what `aspects.lrs.statements.ready._ready` makes of it, for bodies whose every
//! statement is "sure valid" (native/src/xapi.rs).
//!
//! The Python functions stay THE reference (`prepare.incoming`, `normalize`, `unstamped_text`,
//! `index_row`, `pack_rows`, `activity_definitions`); this code only has to give the same bytes,
//! and answers "not handled" (None) for anything else: a statement not sure valid, a duplicate
//! id, a shape the rows below do not cover (Groups, SubStatements, team, contextAgents,
//! attachments, a non-string identifier). The caller then runs the Python path for the whole
//! share, which gives the exact result or error.
//!
//! The content hash is BLAKE2b (native/src/blake2b.rs: no BLAKE2 crate offline) of each
//! statement's canonical bytes (the statement with its id, contextActivities as arrays, without
//! `stored`, keys sorted at every level: what `orjson.dumps(canonical, option=OPT_SORT_KEYS)`
//! gives), as `prepare.content_hash` computes it; the activity definitions' likewise.

use crate::chunk::leb128;
use crate::json::{self, Obj, V};
use crate::xapi;
use blake2b::hex16;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::collections::HashSet;

#[path = "blake2b.rs"]
pub mod blake2b;
#[path = "prepare_text.rs"]
mod text;
use text::{canonical, unstamped, write_sorted, STAMP, TIMESTAMP_HEAD};

const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const COLUMNS: usize = 14;

/// "Not handled here": the Python path decides.
type Opt<T> = Option<T>;

/// Early "not handled".
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            return None;
        }
    };
}

/// What the request gives besides the body.
pub struct Request<'r> {
    /// `orjson.dumps(authority)`.
    pub authority: &'r [u8],
    /// `agent_keys(authority, members=False)[0]` or "".
    pub authority_key: &'r str,
    /// `agent_keys(authority)`.
    pub authority_agents: &'r [String],
    /// `DEFAULT_VERSION[version]`, written when the statement has no version.
    pub default_version: &'r str,
    /// `prepare._HEADERS`: each column's name and type, length-prefixed.
    pub headers: &'r [&'r [u8]],
}

/// One statement's row, before packing (borrowing the parsed body).
struct Row<'v, 'a> {
    obj: &'v Obj<'a>,
    id: String,
    given: bool,
    has_timestamp: bool,
    verb: &'v str,
    registration: String,
    /// Agent keys: the actor's and the object Agent's (the first `direct`), the instructor's.
    keys: Vec<String>,
    direct: usize,
    /// The object activity's id (0 or 1), then the context activities' ids (not unique).
    activities: Vec<&'v str>,
    direct_activities: usize,
    reference: String,
    voiding: bool,
    /// (activity id, definition) of each activity with a truthy definition.
    definitions: Vec<(&'v str, &'v V<'a>)>,
}

/// The packed result: `pack_rows(rows, has_timestamp)`'s (block, columns, spans), the ids,
/// content hashes and "id given" flags, and the activity definitions as `_ready` lists them.
pub struct Prepared {
    pub ids: Vec<String>,
    pub hashes: Vec<String>,
    pub given: Vec<bool>,
    pub block: Vec<u8>,
    pub columns: Vec<i64>,
    pub spans: Vec<i64>,
    /// (statement index, activity id, definition hash, sorted definition JSON)
    pub definitions: Vec<(usize, String, String, String)>,
}

/// What became of a body.
pub enum Outcome {
    Prepared(Prepared),
    /// shares > 1 and the body is not an array large enough to share.
    Unsplit,
    /// shares > 1 and this share is past the end.
    Empty,
    NotHandled,
}

/// `ready.share_bounds`: [start, end) of share `share` of `shares` (at least `least` each).
pub fn share_bounds(count: usize, share: usize, shares: usize, least: usize) -> (usize, usize) {
    let shares = shares.min(count / least.max(1)).max(1);
    let size = count.div_ceil(shares);
    ((share * size).min(count), ((share + 1) * size).min(count))
}

/// `uuid.UUID(bytes=random, version=4)` as text.
pub fn uuid4(random: &[u8]) -> String {
    let mut bytes: [u8; 16] = random[..16].try_into().expect("16 bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The body's statements [start, end), prepared; `random(n)` gives n random bytes (16 per
/// statement without an id).
pub fn prepare(
    body: &[u8],
    version: &str,
    request: &Request<'_>,
    share: usize,
    shares: usize,
    least: usize,
    random: &mut dyn FnMut(usize) -> Opt<Vec<u8>>,
) -> Outcome {
    let v2 = match version {
        "1.0.3" => false,
        "2.0.0" => true,
        _ => return Outcome::NotHandled,
    };
    let parsed: Vec<V<'_>>;
    let whole: V<'_>;
    let statements: &[V<'_>] = if shares > 1 {
        // A share: the array's elements are delimited without parsing them, and only this
        // share's are parsed (each worker reads the whole body; the others' shares are theirs
        // to parse: every byte between elements is checked here).
        let Some(elements) = elements(body) else {
            return Outcome::NotHandled;
        };
        if elements.len() < 2 * least {
            return Outcome::Unsplit;
        }
        let (start, end) = share_bounds(elements.len(), share, shares, least);
        if start >= end {
            return Outcome::Empty;
        }
        let mut values = Vec::with_capacity(end - start);
        for &(from, to) in &elements[start..end] {
            match json::parse(&body[from..to]) {
                Some(value) => values.push(value),
                None => return Outcome::NotHandled,
            }
        }
        parsed = values;
        &parsed
    } else {
        let Some(value) = json::parse(body) else {
            return Outcome::NotHandled;
        };
        whole = value;
        match &whole {
            V::Arr(items) if !items.is_empty() => items,
            V::Obj(_) => std::slice::from_ref(&whole),
            _ => return Outcome::NotHandled, // an empty array too: the Python path answers
        }
    };
    let mut missing = 0;
    for statement in statements {
        if xapi::statement(statement, v2).is_none() {
            return Outcome::NotHandled;
        }
        if statement.as_obj().is_none_or(|obj| !obj.contains("id")) {
            missing += 1;
        }
    }
    let fresh = if missing > 0 {
        match random(16 * missing) {
            Some(bytes) if bytes.len() == 16 * missing => bytes,
            _ => return Outcome::NotHandled,
        }
    } else {
        Vec::new()
    };
    let mut fresh = fresh.chunks_exact(16);
    let mut rows = Vec::with_capacity(statements.len());
    let mut seen = HashSet::with_capacity(statements.len());
    for statement in statements {
        let Some(obj) = statement.as_obj() else {
            return Outcome::NotHandled;
        };
        let id = match obj.get("id") {
            Some(given) => match given.as_str() {
                Some(text) if text.is_ascii() => Some(text.to_ascii_lowercase()),
                _ => return Outcome::NotHandled,
            },
            None => None,
        };
        let (id, given) = match id {
            Some(id) => (id, true),
            None => match fresh.next() {
                Some(bytes) => (uuid4(bytes), false),
                None => return Outcome::NotHandled,
            },
        };
        if !seen.insert(id.clone()) {
            return Outcome::NotHandled; // the Python path names the duplicate
        }
        match row(obj, id, given) {
            Some(row) => rows.push(row),
            None => return Outcome::NotHandled,
        }
    }
    Outcome::Prepared(pack(rows, request))
}

fn skip_ws(body: &[u8], mut at: usize) -> usize {
    while at < body.len() && matches!(body[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The position after the JSON string whose opening quote is at `at` (json.rs's scanner: 16
/// bytes at a time; its escapes checked).
fn skip_string(text: &str, at: usize) -> Option<usize> {
    json::string_at(text, at).map(|(_, end)| end)
}

/// The position after the JSON value starting at `at`: strings and brackets followed, nothing
/// else validated (the caller parses the value); None when it runs past the end.
fn skip_value(text: &str, at: usize) -> Option<usize> {
    let body = text.as_bytes();
    match *body.get(at)? {
        b'"' => skip_string(text, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = at;
            loop {
                match *body.get(at)? {
                    b'"' => {
                        at = skip_string(text, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            let mut at = at;
            while at < body.len()
                && !matches!(body[at], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
            {
                at += 1;
            }
            Some(at)
        }
    }
}

/// The (start, end) of each element of the body's top-level array, the bytes between them
/// checked (whitespace, one comma, the brackets); None when the body is not an array.
fn elements(body: &[u8]) -> Option<Vec<(usize, usize)>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut at = skip_ws(body, 0);
    if body.get(at) != Some(&b'[') {
        return None;
    }
    at = skip_ws(body, at + 1);
    let mut found = Vec::new();
    if body.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            let end = skip_value(text, at)?;
            found.push((at, end));
            at = skip_ws(body, end);
            match *body.get(at)? {
                b',' => at = skip_ws(body, at + 1),
                b']' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(body, at) == body.len()).then_some(found)
}

/// A string member, None when absent; Err (not handled) when not a string.
fn str_member<'v>(obj: &'v Obj<'_>, key: &str) -> Result<Option<&'v str>, ()> {
    match obj.get(key) {
        None => Ok(None),
        Some(V::Str(text)) => Ok(Some(text)),
        Some(_) => Err(()),
    }
}

/// `agents.ifi_key` of an Agent (Groups are not handled).
fn ifi_key(agent: &Obj<'_>) -> Opt<String> {
    let kind = str_member(agent, "objectType").ok()?;
    ensure!(kind.is_none() || kind == Some("Agent"));
    if let Some(mbox) = agent.get("mbox") {
        return Some(format!("Agent|mbox|{}", mbox.as_str()?));
    }
    if let Some(sum) = agent.get("mbox_sha1sum") {
        let sum = sum.as_str()?;
        ensure!(sum.is_ascii());
        return Some(format!("Agent|mbox_sha1sum|{}", sum.to_ascii_lowercase()));
    }
    if let Some(openid) = agent.get("openid") {
        return Some(format!("Agent|openid|{}", openid.as_str()?));
    }
    let account = agent.get("account")?.as_obj()?;
    let home = account.get("homePage")?.as_str()?;
    let name = account.get("name")?.as_str()?;
    Some(format!("Agent|account|{home}|{name}"))
}

/// `agents.agent_keys` of an Agent value (absent: none).
fn agent_keys(value: Option<&V<'_>>, into: &mut Vec<String>) -> Opt<()> {
    match value {
        None => Some(()),
        Some(V::Obj(agent)) => {
            into.push(ifi_key(agent)?);
            Some(())
        }
        Some(_) => None,
    }
}

/// `list(dict.fromkeys(values))` into `scratch` (cleared first).
fn unique_into<'s>(scratch: &mut Vec<&'s str>, values: impl Iterator<Item = &'s str>) {
    scratch.clear();
    for value in values {
        if !scratch.contains(&value) {
            scratch.push(value);
        }
    }
}

/// Each activity of a contextActivities value (a list, or one activity).
fn each_activity<'v, 'a>(value: &'v V<'a>) -> &'v [V<'a>] {
    match value {
        V::Arr(items) => items,
        one => std::slice::from_ref(one),
    }
}

/// An activity's id (`"id" in activity`; a string) and, when truthy, its definition.
fn visit<'v, 'a>(
    activity: &'v V<'a>,
    ids: &mut Vec<&'v str>,
    definitions: &mut Vec<(&'v str, &'v V<'a>)>,
) -> Opt<()> {
    let V::Obj(obj) = activity else {
        return Some(());
    };
    let Some(id) = obj.get("id") else {
        return Some(());
    };
    let id = id.as_str()?;
    ids.push(id);
    if let Some(definition) = obj.get("definition") {
        if definition.truthy() {
            definitions.push((id, definition));
        }
    }
    Some(())
}

fn row<'v, 'a>(obj: &'v Obj<'a>, id: String, given: bool) -> Opt<Row<'v, 'a>> {
    ensure!(!obj.contains("authority") && !obj.contains("attachments"));
    let verb = obj.get("verb")?.as_obj()?;
    let verb_id = str_member(verb, "id").ok()?.unwrap_or("");
    let target = obj.get("object")?.as_obj()?;
    let kind = str_member(target, "objectType").ok()?.unwrap_or("Activity");
    let context = match obj.get("context") {
        None => None,
        Some(V::Obj(context)) => Some(context),
        Some(_) => return None,
    };
    let mut keys = Vec::with_capacity(3);
    agent_keys(obj.get("actor"), &mut keys)?;
    match kind {
        "Agent" => agent_keys(Some(obj.get("object")?), &mut keys)?,
        "Activity" | "StatementRef" => {}
        _ => return None,
    }
    let direct = keys.len();
    let mut activities = Vec::with_capacity(4);
    let mut definitions = Vec::new();
    if kind == "Activity" && target.contains("id") {
        visit(obj.get("object")?, &mut activities, &mut definitions)?;
    }
    let direct_activities = activities.len();
    let mut registration = String::new();
    if let Some(context) = context {
        for key in ["team", "contextAgents", "contextGroups"] {
            ensure!(!context.contains(key));
        }
        agent_keys(context.get("instructor"), &mut keys)?;
        if let Some(value) = context.get("registration") {
            let text = value.as_str()?;
            ensure!(text.is_ascii());
            registration = text.to_ascii_lowercase();
        }
        match context.get("contextActivities") {
            None => {}
            Some(V::Obj(groups)) => {
                for (_, value) in groups.iter() {
                    for activity in each_activity(value) {
                        visit(activity, &mut activities, &mut definitions)?;
                    }
                }
            }
            Some(_) => return None,
        }
    }
    let reference = if kind == "StatementRef" {
        let text = target.get("id")?.as_str()?;
        ensure!(text.is_ascii());
        text.to_ascii_lowercase()
    } else {
        String::new()
    };
    Some(Row {
        obj,
        id,
        given,
        has_timestamp: obj.contains("timestamp"),
        verb: verb_id,
        registration,
        keys,
        direct,
        activities,
        direct_activities,
        reference,
        voiding: verb_id == VOIDED,
        definitions,
    })
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    leb128(out, value.len());
    out.extend_from_slice(value.as_bytes());
}

/// 32 hex digits -> 16 bytes; None unless a UUID's text.
fn uuid_bytes(id: &str) -> Opt<[u8; 16]> {
    let hex: Vec<u8> = id.bytes().filter(|b| *b != b'-').collect();
    ensure!(hex.len() == 32);
    let mut raw = [0u8; 16];
    for (index, pair) in hex.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        raw[index] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(raw)
}

/// An Array(String) column: each row's running count of elements, then the elements.
fn put_array<'r, 'v: 'r, 'a: 'v>(
    out: &mut Vec<u8>,
    rows: &'r [Row<'v, 'a>],
    list: impl Fn(&mut Vec<&'r str>, &'r Row<'v, 'a>),
) {
    let mut scratch: Vec<&str> = Vec::new();
    let mut total: u64 = 0;
    for row in rows {
        list(&mut scratch, row);
        total += scratch.len() as u64;
        out.extend_from_slice(&total.to_le_bytes());
    }
    for row in rows {
        list(&mut scratch, row);
        for value in &scratch {
            put_str(out, value);
        }
    }
}

/// `pack_rows(rows, has_timestamp)` of `_ready`'s rows, with the ids, hashes and definitions.
fn pack(rows: Vec<Row<'_, '_>>, request: &Request<'_>) -> Prepared {
    let headers = request.headers;
    let count = rows.len();
    let mut out = Vec::with_capacity(count * 2048 + 4096);
    let mut scratch = Vec::with_capacity(4096);
    leb128(&mut out, COLUMNS);
    leb128(&mut out, count);
    let mut columns = Vec::with_capacity(COLUMNS + 1);
    out.extend_from_slice(headers[0]);
    columns.push(out.len() as i64);
    for row in &rows {
        let raw = uuid_bytes(&row.id).expect("ids are UUIDs (checked)");
        out.extend(raw[..8].iter().rev());
        out.extend(raw[8..].iter().rev());
    }
    out.extend_from_slice(headers[1]);
    columns.push(out.len() as i64);
    out.resize(out.len() + 8 * count, 0);
    out.extend_from_slice(headers[2]);
    columns.push(out.len() as i64);
    let width = STAMP.len() as i64;
    let mut spans = Vec::with_capacity(4 * count);
    for row in &rows {
        scratch.clear();
        unstamped(
            &mut scratch,
            row.obj,
            &row.id,
            row.given,
            row.has_timestamp,
            request,
        );
        leb128(&mut out, scratch.len());
        let start = out.len() as i64;
        out.extend_from_slice(&scratch);
        let end = out.len() as i64;
        let last = end - 2 - width;
        if row.has_timestamp {
            spans.extend([start, end, last, -1]);
        } else {
            spans.extend([start, end, last - TIMESTAMP_HEAD.len() as i64 - width, last]);
        }
    }
    out.extend_from_slice(headers[3]);
    columns.push(out.len() as i64);
    let mut hashes = Vec::with_capacity(count);
    for row in &rows {
        scratch.clear();
        canonical(&mut scratch, row.obj, &row.id);
        let at = out.len();
        hex16(&mut out, &scratch);
        hashes.push(String::from_utf8_lossy(&out[at..]).into_owned());
    }
    for (at, header) in headers.iter().enumerate().skip(4) {
        out.extend_from_slice(header);
        columns.push(out.len() as i64);
        match at {
            4 => rows.iter().for_each(|r| put_str(&mut out, r.verb)),
            5 => rows.iter().for_each(|r| put_str(&mut out, &r.registration)),
            6 => rows
                .iter()
                .for_each(|_| put_str(&mut out, request.authority_key)),
            7 => put_array(&mut out, &rows, |list, r| {
                unique_into(list, r.keys[..r.direct].iter().map(String::as_str))
            }),
            8 => put_array(&mut out, &rows, |list, r| {
                let own = r.keys.iter().map(String::as_str);
                unique_into(
                    list,
                    own.chain(request.authority_agents.iter().map(String::as_str)),
                )
            }),
            9 => put_array(&mut out, &rows, |list, r| {
                unique_into(list, r.activities[..r.direct_activities].iter().copied())
            }),
            10 => put_array(&mut out, &rows, |list, r| {
                unique_into(list, r.activities.iter().copied())
            }),
            11 => rows
                .iter()
                .for_each(|r| put_str(&mut out, if r.voiding { &r.reference } else { "" })),
            12 => rows.iter().for_each(|r| put_str(&mut out, &r.reference)),
            _ => put_array(&mut out, &rows, |list, _| list.clear()), // no attachments here
        }
    }
    columns.push(out.len() as i64);
    let mut definitions = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        for (id, definition) in &row.definitions {
            scratch.clear();
            write_sorted(&mut scratch, definition);
            let mut digest = Vec::with_capacity(32);
            hex16(&mut digest, &scratch);
            definitions.push((
                index,
                (*id).to_owned(),
                String::from_utf8_lossy(&digest).into_owned(),
                String::from_utf8_lossy(&scratch).into_owned(),
            ));
        }
    }
    Prepared {
        ids: rows.iter().map(|r| r.id.clone()).collect(),
        hashes,
        given: rows.iter().map(|r| r.given).collect(),
        block: out,
        columns,
        spans,
        definitions,
    }
}

/// Python: `prepare_statements(body, version, authority, authority_key, authority_agents,
/// default_version, headers, share, shares, least)` -> None (not handled: the Python path),
/// "unsplit", () (a share past the end), or (ids, hashes, given, block, columns, spans as
/// native-endian int64 bytes, definitions [(index, activity id, hash, sorted JSON)]).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn prepare_statements(
    py: Python<'_>,
    body: &[u8],
    version: &str,
    authority: &[u8],
    authority_key: &str,
    authority_agents: Vec<String>,
    default_version: &str,
    headers: Vec<&[u8]>,
    share: usize,
    shares: usize,
    least: usize,
) -> PyResult<PyObject> {
    if headers.len() != COLUMNS {
        return Ok(py.None());
    }
    let request = Request {
        authority,
        authority_key,
        authority_agents: &authority_agents,
        default_version,
        headers: &headers,
    };
    let mut random = |count: usize| -> Opt<Vec<u8>> {
        let bytes = py
            .import("os")
            .and_then(|os| os.call_method1("urandom", (count,)))
            .ok()?;
        Some(bytes.downcast::<PyBytes>().ok()?.as_bytes().to_vec())
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prepare(body, version, &request, share, shares, least, &mut random)
    }))
    .unwrap_or(Outcome::NotHandled);
    Ok(match outcome {
        Outcome::NotHandled => py.None(),
        Outcome::Unsplit => "unsplit".to_object(py),
        Outcome::Empty => PyTuple::empty(py).to_object(py),
        Outcome::Prepared(p) => {
            let spans: Vec<u8> = p.spans.iter().flat_map(|s| s.to_ne_bytes()).collect();
            let definitions = PyList::new(
                py,
                p.definitions
                    .iter()
                    .map(|(index, id, digest, text)| (*index, id, digest, text).to_object(py)),
            );
            (
                p.ids,
                p.hashes,
                p.given,
                PyBytes::new(py, &p.block),
                p.columns,
                PyBytes::new(py, &spans),
                definitions,
            )
                .to_object(py)
        }
    })
}
