//! The raw table's derived columns (migration 0001), computed here instead of by ClickHouse.
//!
//! chDB's INSERT into `xapi_statements` spends a third of its time on the EPHEMERAL `fields`
//! JSON extraction and the DEFAULT expressions; an INSERT that carries the derived columns skips
//! both (measured 14.7 -> 10.7 us per statement). Every value must equal what ClickHouse would
//! compute for the same JSON text, so `push_json` says "not sure" (false) for anything outside
//! what is known to agree: that statement then goes in an INSERT without derived columns.
//!
//! What ClickHouse does (chDB 4.4, measured; tests/store/test_derived.py checks every rule on
//! both ways in): a duplicate key keeps its FIRST value (our `json::parse` keeps the last, as
//! Python does, so this module reads the text itself and refuses duplicates of the keys it
//! reads); a number, object or bool where a String is expected becomes its text, a string
//! where a number is expected is parsed, `1` is a true Bool: all refused here; null is '' or
//! NULL. A document ClickHouse cannot parse (depth, lone surrogates, control characters, 1e400,
//! trailing bytes) gives the defaults for every column: refused here too (stricter parser).
//! Timestamps: only `YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]` with a real date in
//! 1901-2298 (fractions past 6 digits truncated, as parseDateTime64BestEffort does); any other
//! text but '' is refused.
//!
//! Streams: ClickHouse's Native layout of each derived column, in the column order of migration
//! 0001; a Nullable column is two streams (its null map, one u8 per row, 1 = NULL; then its
//! values, zero for NULLs). Concatenating two parts' streams stream by stream gives the streams
//! of the rows of both.

mod expr;

use crate::json;
use expr::{block_match, course_match, timestamp_micros};
use std::borrow::Cow;

/// Number of streams: 10 plain columns and 5 Nullable ones (two streams each).
pub const STREAMS: usize = 10 + 2 * 5;

/// Deeper documents are refused (ClickHouse refused ~150 levels; statements have < 10).
const MAX_DEPTH: u32 = 64;

/// The derived columns of n statements, as Native streams (see the module's text).
#[derive(Debug, Clone)]
pub struct DerivedColumns {
    rows: usize,
    streams: Vec<Vec<u8>>,
}

impl Default for DerivedColumns {
    fn default() -> Self {
        DerivedColumns {
            rows: 0,
            streams: vec![Vec::new(); STREAMS],
        }
    }
}

/// Bytes per row of each stream, a little above what the benchmark's statements take (string
/// streams: the length byte and a typical value), to reserve a chunk's streams at once.
const ROW_BYTES: [usize; STREAMS] = [
    8, 48, 56, 128, 64, 2, 40, 8, 96, 1, 1, 1, 1, 1, 8, 1, 8, 1, 8, 4,
];

impl DerivedColumns {
    pub fn new() -> Self {
        DerivedColumns::default()
    }

    /// Room for about `rows` statements (the streams grow past it as needed): a chunk's
    /// streams regrew ~8 times each, copying about their final size again.
    pub fn with_rows(rows: usize) -> Self {
        DerivedColumns {
            rows: 0,
            streams: ROW_BYTES
                .iter()
                .map(|bytes| Vec::with_capacity(rows * bytes))
                .collect(),
        }
    }

    /// Add one statement's derived columns; false (and nothing added) when not sure.
    pub fn push_json(&mut self, json: &[u8]) -> bool {
        // a panic (a bug) counts as "not sure", and leaves the streams as they were
        let mut sizes = [0usize; STREAMS];
        for (size, stream) in sizes.iter_mut().zip(&self.streams) {
            *size = stream.len();
        }
        let rows = self.rows;
        let pushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let fields = read_fields(json)?;
            let row = derive(&fields)?;
            self.push_row(&row);
            Some(())
        }));
        match pushed {
            Ok(Some(())) => true,
            Ok(None) => false,
            Err(_) => {
                for (stream, size) in self.streams.iter_mut().zip(sizes) {
                    stream.truncate(size);
                }
                self.rows = rows;
                false
            }
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The streams, in migration 0001's column order.
    pub fn into_streams(self) -> Vec<Vec<u8>> {
        self.streams
    }

    fn push_row(&mut self, row: &Row<'_>) {
        let s = &mut self.streams;
        s[0].extend_from_slice(&row.emission_time.to_le_bytes());
        let strings = [
            row.actor_id.as_ref(),
            row.verb_id,
            row.object_id,
            row.object_type,
            row.registration,
            row.course_key.as_str(),
            row.course_key.get(10..row.org_end).unwrap_or(""),
            row.block_id,
        ];
        for (index, text) in strings.iter().enumerate() {
            put_string(&mut s[1 + index], text);
        }
        for (index, value) in [row.success, row.completion].iter().enumerate() {
            s[9 + 2 * index].push(u8::from(value.is_none()));
            s[10 + 2 * index].push(u8::from(value.unwrap_or(false)));
        }
        for (index, value) in [row.scaled, row.raw, row.max].iter().enumerate() {
            s[13 + 2 * index].push(u8::from(value.is_none()));
            s[14 + 2 * index].extend_from_slice(&value.unwrap_or(0.0).to_le_bytes());
        }
        put_string(&mut s[19], row.duration);
        self.rows += 1;
    }
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    let mut length = text.len();
    while length >= 0x80 {
        out.push((length as u8 & 0x7F) | 0x80);
        length >>= 7;
    }
    out.push(length as u8);
    out.extend_from_slice(text.as_bytes());
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

// --- what JSONExtract gives for the `fields` tuple ---------------------------------------------

/// The `fields` tuple's values (missing strings are ''); course ids kept as the first match of
/// each id list, in the order ClickHouse concatenates them.
#[derive(Default)]
struct Fields<'a> {
    timestamp: Cow<'a, str>,
    name: Cow<'a, str>,
    mbox: Cow<'a, str>,
    mbox_sha1sum: Cow<'a, str>,
    openid: Cow<'a, str>,
    verb_id: Cow<'a, str>,
    object_id: Cow<'a, str>,
    object_type: Cow<'a, str>,
    registration: Cow<'a, str>,
    /// The first course match in parent, grouping, category, other (each list's first).
    activities: [Option<String>; 4],
    success: Option<bool>,
    completion: Option<bool>,
    scaled: Option<f64>,
    raw: Option<f64>,
    max: Option<f64>,
    duration: Cow<'a, str>,
}

struct Row<'a> {
    emission_time: i64,
    actor_id: Cow<'a, str>,
    verb_id: &'a str,
    object_id: &'a str,
    object_type: &'a str,
    registration: &'a str,
    course_key: String,
    /// org = course_key[10..org_end] (what follows "course-v1:")
    org_end: usize,
    block_id: &'a str,
    success: Option<bool>,
    completion: Option<bool>,
    scaled: Option<f64>,
    raw: Option<f64>,
    max: Option<f64>,
    duration: &'a str,
}

/// The DEFAULT expressions of migration 0001 over the extracted fields.
fn derive<'a>(f: &'a Fields<'a>) -> Option<Row<'a>> {
    let emission_time = if f.timestamp.is_empty() {
        0
    } else {
        timestamp_micros(&f.timestamp)?
    };
    let actor_id: Cow<'a, str> = if !f.name.is_empty() {
        Cow::Borrowed(&f.name)
    } else if !f.mbox.is_empty() {
        Cow::Borrowed(&f.mbox)
    } else if !f.mbox_sha1sum.is_empty() {
        Cow::Owned(format!("sha1:{}", f.mbox_sha1sum))
    } else {
        Cow::Borrowed(&f.openid)
    };
    let found = course_match(&f.object_id)
        .map(|(start, end)| &f.object_id[start..end])
        .or_else(|| f.activities.iter().flatten().next().map(String::as_str));
    let (course_key, org_end) = match found {
        None => (String::new(), 10),
        Some(text) => {
            // (by hand: `format!` and `str::find` were ~1% of a chunk's instructions)
            let key = match text.strip_prefix("block-v1:") {
                Some(rest) => {
                    let mut key = String::with_capacity(10 + rest.len());
                    key.push_str("course-v1:");
                    key.push_str(rest);
                    key
                }
                None => text.to_owned(),
            };
            // org: what follows "course-v1:" up to the first '+' (a match has one)
            let end = key.as_bytes().get(10..)?.iter().position(|&b| b == b'+')? + 10;
            (key, end)
        }
    };
    Some(Row {
        emission_time,
        actor_id,
        verb_id: &f.verb_id,
        object_id: &f.object_id,
        object_type: &f.object_type,
        registration: &f.registration,
        course_key,
        org_end,
        block_id: block_match(&f.object_id),
        success: f.success,
        completion: f.completion,
        scaled: f.scaled,
        raw: f.raw,
        max: f.max,
        duration: &f.duration,
    })
}

// --- reading the text: a strict JSON scanner that keeps only the `fields` paths -----------------

/// A scalar where the tuple expects a String / Nullable(Bool) / Nullable(Float64).
enum Leaf<'a> {
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Num(f64),
}

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: u32,
}

/// The `fields` tuple of a statement's text; None when not sure (see the module's text).
fn read_fields(json: &[u8]) -> Option<Fields<'_>> {
    let text = std::str::from_utf8(json).ok()?;
    let mut scan = Scan {
        text,
        b: json,
        pos: 0,
        depth: 0,
    };
    let mut f = Fields::default();
    scan.ws();
    let mut seen = 0u32;
    scan.object(|scan, key| {
        match key {
            "timestamp" => {
                f.timestamp = {
                    once(&mut seen, 0)?;
                    scan.string_leaf()?
                }
            }
            "actor" => {
                once(&mut seen, 1)?;
                let mut inner = 0u32;
                scan.object(|scan, key| {
                    match key {
                        "account" => {
                            once(&mut inner, 0)?;
                            let mut account = 0u32;
                            scan.object(|scan, key| {
                                if key == "name" {
                                    f.name = {
                                        once(&mut account, 0)?;
                                        scan.string_leaf()?
                                    };
                                    Some(())
                                } else {
                                    scan.skip()
                                }
                            })?;
                        }
                        "mbox" => {
                            f.mbox = {
                                once(&mut inner, 1)?;
                                scan.string_leaf()?
                            }
                        }
                        "mbox_sha1sum" => {
                            f.mbox_sha1sum = {
                                once(&mut inner, 2)?;
                                scan.string_leaf()?
                            }
                        }
                        "openid" => {
                            f.openid = {
                                once(&mut inner, 3)?;
                                scan.string_leaf()?
                            }
                        }
                        _ => scan.skip()?,
                    }
                    Some(())
                })?;
            }
            "verb" => {
                once(&mut seen, 2)?;
                let mut inner = 0u32;
                scan.object(|scan, key| {
                    if key == "id" {
                        f.verb_id = {
                            once(&mut inner, 0)?;
                            scan.string_leaf()?
                        };
                        Some(())
                    } else {
                        scan.skip()
                    }
                })?;
            }
            "object" => {
                once(&mut seen, 3)?;
                let mut inner = 0u32;
                scan.object(|scan, key| {
                    match key {
                        "id" => {
                            f.object_id = {
                                once(&mut inner, 0)?;
                                scan.string_leaf()?
                            }
                        }
                        "definition" => {
                            once(&mut inner, 1)?;
                            let mut definition = 0u32;
                            scan.object(|scan, key| {
                                if key == "type" {
                                    f.object_type = {
                                        once(&mut definition, 0)?;
                                        scan.string_leaf()?
                                    };
                                    Some(())
                                } else {
                                    scan.skip()
                                }
                            })?;
                        }
                        _ => scan.skip()?,
                    }
                    Some(())
                })?;
            }
            "context" => {
                once(&mut seen, 4)?;
                let mut inner = 0u32;
                scan.object(|scan, key| {
                    match key {
                        "registration" => {
                            f.registration = {
                                once(&mut inner, 0)?;
                                scan.string_leaf()?
                            }
                        }
                        "contextActivities" => {
                            once(&mut inner, 1)?;
                            let mut lists = 0u32;
                            scan.object(|scan, key| {
                                let index = match key {
                                    "parent" => 0,
                                    "grouping" => 1,
                                    "category" => 2,
                                    "other" => 3,
                                    _ => return scan.skip(),
                                };
                                once(&mut lists, index)?;
                                f.activities[index as usize] = scan.activity_list()?;
                                Some(())
                            })?;
                        }
                        _ => scan.skip()?,
                    }
                    Some(())
                })?;
            }
            "result" => {
                once(&mut seen, 5)?;
                let mut inner = 0u32;
                scan.object(|scan, key| {
                    match key {
                        "success" => {
                            f.success = {
                                once(&mut inner, 0)?;
                                scan.bool_leaf()?
                            }
                        }
                        "completion" => {
                            f.completion = {
                                once(&mut inner, 1)?;
                                scan.bool_leaf()?
                            }
                        }
                        "duration" => {
                            f.duration = {
                                once(&mut inner, 2)?;
                                scan.string_leaf()?
                            }
                        }
                        "score" => {
                            once(&mut inner, 3)?;
                            let mut score = 0u32;
                            scan.object(|scan, key| {
                                let (slot, bit) = match key {
                                    "scaled" => (&mut f.scaled, 0),
                                    "raw" => (&mut f.raw, 1),
                                    "max" => (&mut f.max, 2),
                                    _ => return scan.skip(),
                                };
                                *slot = {
                                    once(&mut score, bit)?;
                                    scan.number_leaf()?
                                };
                                Some(())
                            })?;
                        }
                        _ => scan.skip()?,
                    }
                    Some(())
                })?;
            }
            _ => scan.skip()?,
        }
        Some(())
    })?;
    scan.ws();
    (scan.pos == scan.b.len()).then_some(f)
}

/// Marks key number `bit` of an object as read; None when it was read before (a duplicate).
#[inline]
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    let mask = 1u32 << bit;
    if *seen & mask != 0 {
        return None;
    }
    *seen |= mask;
    Some(())
}

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// An object (the scanner at its '{'): `member(scan, key)` reads each member's value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        if self.peek()? != b'{' {
            return None;
        }
        self.enter()?;
        self.pos += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            self.ws();
            member(self, &key)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws();
                }
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array (the scanner at its '['): `item(scan)` reads each value.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.peek()? != b'[' {
            return None;
        }
        self.enter()?;
        self.pos += 1;
        self.ws();
        if self.peek()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws();
                }
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, checked and skipped.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(|scan, _| scan.skip()),
            b'[' => self.array(Self::skip),
            b'"' => {
                self.pos = json::skip_string(self.b, self.pos)?;
                Some(())
            }
            b'-' | b'0'..=b'9' => {
                let (text, integer) = self.number_text()?;
                // a decimal without exponent below 300 digits cannot overflow; the others are
                // parsed (ClickHouse cannot read a document holding 1e400)
                if !integer && (text.len() > 300 || text.contains(['e', 'E'])) {
                    let value: f64 = text.parse().ok()?;
                    if !value.is_finite() {
                        return None;
                    }
                }
                Some(())
            }
            _ => self.scalar().map(drop),
        }
    }

    /// An array of activities: the first course match among their ids (objects only; an
    /// object without "id" counts as '' as in ClickHouse).
    fn activity_list(&mut self) -> Option<Option<String>> {
        let mut first: Option<String> = None;
        self.array(|scan| {
            let mut seen = 0u32;
            scan.object(|scan, key| {
                if key != "id" {
                    return scan.skip();
                }
                once(&mut seen, 0)?;
                let id = scan.string_leaf()?;
                if first.is_none() {
                    first = course_match(&id).map(|(start, end)| id[start..end].to_owned());
                }
                Some(())
            })
        })?;
        Some(first)
    }

    /// A String field: a string, or null (''); anything else is refused.
    fn string_leaf(&mut self) -> Option<Cow<'a, str>> {
        match self.leaf()? {
            Leaf::Str(text) => Some(text),
            Leaf::Null => Some(Cow::Borrowed("")),
            _ => None,
        }
    }

    /// A Nullable(Bool) field: true, false or null.
    fn bool_leaf(&mut self) -> Option<Option<bool>> {
        match self.leaf()? {
            Leaf::Bool(value) => Some(Some(value)),
            Leaf::Null => Some(None),
            _ => None,
        }
    }

    /// A Nullable(Float64) field: a number or null.
    fn number_leaf(&mut self) -> Option<Option<f64>> {
        match self.leaf()? {
            Leaf::Num(value) => Some(Some(value)),
            Leaf::Null => Some(None),
            _ => None,
        }
    }

    /// A scalar value (containers refused: where a scalar is expected they become text).
    fn leaf(&mut self) -> Option<Leaf<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Leaf::Str),
            b'{' | b'[' => None,
            _ => self.scalar(),
        }
    }

    /// null, true, false or a number.
    fn scalar(&mut self) -> Option<Leaf<'a>> {
        let rest = &self.b[self.pos..];
        for (word, value) in [
            (&b"null"[..], Leaf::Null),
            (b"true", Leaf::Bool(true)),
            (b"false", Leaf::Bool(false)),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Some(value);
            }
        }
        self.number().map(Leaf::Num)
    }

    /// A JSON number as ClickHouse reads it into Float64: integers of 64 bits converted,
    /// others parsed exactly; integers beyond 64 bits, overflow and underflow refused.
    fn number(&mut self) -> Option<f64> {
        let int_start = self.pos + usize::from(self.b.get(self.pos) == Some(&b'-'));
        let start = self.pos;
        let (text, integer) = self.number_text()?;
        let at = self.pos;
        if integer {
            if let Ok(value) = text.parse::<i64>() {
                return Some(value as f64);
            }
            if start == int_start {
                return text.parse::<u64>().ok().map(|value| value as f64);
            }
            return None;
        }
        let value: f64 = text.parse().ok()?;
        if !value.is_finite() {
            return None;
        }
        let mantissa = self.text[int_start..at]
            .split(['e', 'E'])
            .next()
            .unwrap_or("");
        if value == 0.0 && mantissa.bytes().any(|d| (b'1'..=b'9').contains(&d)) {
            return None; // underflow of a non-zero number: refused
        }
        Some(value)
    }

    /// A JSON number's text, checked against the grammar, and whether it is an integer.
    fn number_text(&mut self) -> Option<(&'a str, bool)> {
        let b = self.b;
        let start = self.pos;
        let mut at = start;
        if b.get(at) == Some(&b'-') {
            at += 1;
        }
        match b.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => {
                while b.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
            }
            _ => return None,
        }
        let mut integer = true;
        if b.get(at) == Some(&b'.') {
            integer = false;
            at += 1;
            let from = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == from {
                return None;
            }
        }
        if matches!(b.get(at), Some(b'e' | b'E')) {
            integer = false;
            at += 1;
            if matches!(b.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let from = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == from {
                return None;
            }
        }
        self.pos = at;
        Some((&self.text[start..at], integer))
    }

    /// A string (the scanner at its '"'), escapes decoded; raw control characters, bad escapes
    /// and lone surrogates refused (the crate parser's rules: `json::string_at`).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        let (text, end) = json::string_at(self.text, self.pos)?;
        self.pos = end;
        Some(text)
    }
}
