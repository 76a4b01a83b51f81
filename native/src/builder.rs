//! What every statement shares: id, actor, timestamp, context (mirrors statement.py's Builder),
//! plus transformer.py's check_object/repair step for the events that need it.
//!
//! The actor (pseudonym, external ids), course names, non-canonical timestamps and the IRI
//! check are answered by the Python objects the transformer uses (called once per user, course,
//! time or object id and cached here as the Python code caches them), so they are the same by
//! construction. A statement is written to JSON bytes as soon as it is built.

use crate::event::Event;
use crate::json::V;
use crate::out::{cat, write_j, write_str, J};
use crate::repair::{needs_repair, repair_activity, repair_exam_attempt, repair_score};
use crate::vocab as v;
use crate::{Fallback, Res};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use sha1::{Digest, Sha1};
use std::borrow::Cow;
use std::collections::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// FxHash (rustc's): the caches' keys are ours (ids, IRIs), no need for SipHash's DoS guard,
/// which cost ~1% of a line.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<FxHasher>>;

/// An xAPI verb (vocabulary.py's `verb(iri, display)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verb {
    pub iri: &'static str,
    pub display: &'static str,
}

/// The actor of a user, as the Python Actors gives it.
pub struct Actor {
    /// `orjson.dumps(actor)`.
    pub json: Vec<u8>,
    /// The actor text statement ids are derived from (json.dumps spacing).
    pub text: String,
    /// The account name (the rows' actor id).
    pub name: String,
    /// The same as a Python str (made once per user for `rows()`).
    pub py_name: Py<PyString>,
}

/// A user id as statement.py's user_key reads it (a number or a non-empty string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User<'e> {
    Int(i128),
    Text(&'e str),
}

/// Bytes kept free before each statement's JSON in the sink: the texts column's LEB128 length
/// prefix, which is two bytes for statements of 128 to 16,383 bytes (nearly all; chunk.rs
/// moves the others).
pub const FRAME: usize = 2;

/// One statement: its id (UUID bytes, big-endian), JSON bytes and actor.
pub struct Stmt {
    pub id: [u8; 16],
    /// Where its JSON is in the builder's `sink` (after [`FRAME`] free bytes).
    pub json: std::ops::Range<usize>,
    pub actor: Rc<Actor>,
    /// check_object found no id in its object (None or absent): the Python transformer rejects
    /// the event with [`no_id_reason`] when every statement's id is otherwise an IRI (lib.rs).
    pub no_id: bool,
}

/// The reason repair.check_object gives for a statement whose object has no id.
pub fn no_id_reason(name: &str) -> String {
    format!("{name}: the event does not identify its object (no id)")
}

/// statement.py's `context_activities` argument.
#[derive(Debug, Clone, Default)]
pub enum Activities<'a> {
    /// Not given (`_KEEP`): the course as parent when the event names a course.
    #[default]
    Course,
    /// `context_activities=None`: no contextActivities.
    Nothing,
    /// An explicit dict: kind -> members (None members are left out, members are pruned).
    Custom(Vec<(Cow<'a, str>, Option<Vec<J<'a>>>)>),
}

/// The keyword arguments of statement.py's `Builder.statement` (the `*_pruned` flags are not
/// needed: the writer prunes every part, which changes nothing for a None-free part).
#[derive(Debug, Clone, Default)]
pub struct Opts<'a> {
    pub result: Option<J<'a>>,
    pub context_activities: Activities<'a>,
    /// Context extensions after transformer-version and session (None values left out).
    pub extensions: Vec<(&'a str, J<'a>)>,
    /// `parent_statement`: the id of the statement this one refers to.
    pub parent_statement: Option<String>,
    /// `child_id`: part of the statement id's namespace.
    pub child_id: Option<String>,
}

/// The Python collaborators (see lib.rs `FastTransformer.__new__`).
pub struct PyHooks {
    /// `Actors.actor(user_key) -> (actor dict, actor text)`.
    pub actor: PyObject,
    /// The CourseNames source: `(course_id) -> str | None`.
    pub course_names: PyObject,
    /// `statement.normalise_timestamp(raw) -> str` ("" when not ISO 8601).
    pub normalise_timestamp: PyObject,
    /// `validation.is_iri(text) -> bool`.
    pub is_iri: PyObject,
    /// `orjson.dumps`.
    pub dumps: PyObject,
}

const ID_BASE: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// `uuid.uuid5(UUID(bytes=namespace), name).bytes`.
pub fn uuid5(namespace: &[u8; 16], name: &[u8]) -> [u8; 16] {
    uuid5_parts(namespace, &[name])
}

/// `uuid5` of the name made of `parts` joined (hashed in turn, not copied together).
pub fn uuid5_parts(namespace: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut hasher = Sha1::new();
    hasher.update(namespace);
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out[6] = (out[6] & 0x0f) | 0x50;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// `str(UUID(bytes=id))` appended to `out`.
fn write_uuid(out: &mut Vec<u8>, id: &[u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in id.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(byte >> 4) as usize]);
        out.push(HEX[(byte & 0xf) as usize]);
    }
}

/// `str(UUID(bytes=id))`.
pub fn uuid_text(id: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in id.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xf) as usize] as char);
    }
    out
}

/// Python's `str(value)` for the scalar values ids are made of; Fallback for the rest.
pub fn py_str<'v>(value: &'v V<'_>) -> Res<Cow<'v, str>> {
    Ok(match value {
        V::Str(text) => Cow::Borrowed(text.as_ref()),
        V::Int(i) => Cow::Owned(i.to_string()),
        V::UInt(u) => Cow::Owned(u.to_string()),
        V::Float(f) => Cow::Owned(crate::out::py_float_repr(*f)?),
        V::Bool(true) => Cow::Borrowed("True"),
        V::Bool(false) => Cow::Borrowed("False"),
        _ => return Err(Fallback),
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// statement._canonical, plus the checks `datetime.fromisoformat` makes on that layout: the
/// raw text IS the statement timestamp. False sends the time to the Python function.
pub fn canonical_time(raw: &str) -> bool {
    let b = raw.as_bytes();
    if b.len() != 32
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || !(b[26] == b'+' || b[26] == b'-')
        || b[29] != b':'
    {
        return false;
    }
    let digits = [
        0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25, 27, 28, 30, 31,
    ];
    if !digits.iter().all(|&i| b[i].is_ascii_digit()) {
        return false;
    }
    let num = |from: usize, to: usize| -> u32 {
        b[from..to]
            .iter()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let valid = year >= 1
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && num(11, 13) < 24
        && num(14, 16) < 60
        && num(17, 19) < 60
        && num(27, 29) < 24
        && num(30, 32) < 60;
    valid && &raw[20..26] != "000000" && &raw[26..] != "-00:00"
}

const CACHE_LIMIT: usize = 100_000;

/// Builds statements for one site; pure apart from its caches (statement.py's Builder).
pub struct Builder {
    pub root: String,
    pub version: String,
    /// The context extensions' first member, serialised: `"<transformer-version IRI>":"<version>"`.
    version_member: Vec<u8>,
    /// verb IRI -> the namespace of its statement ids (the common case: no child id)
    verb_namespaces: Vec<(&'static str, [u8; 16])>,
    /// transformer.py's `_check`: check_object for every statement, repair for NEEDS_REPAIR.
    pub check: bool,
    hooks: PyHooks,
    actors: HashMap<String, Rc<Actor>>,
    actors_by_int: HashMap<i128, Rc<Actor>>,
    namespaces: HashMap<String, [u8; 16]>,
    courses: HashMap<String, Rc<[u8]>>,
    parents: HashMap<String, Rc<[u8]>>,
    objects: HashMap<String, Rc<[u8]>>,
    iris: HashMap<String, bool>,
    last_time: (String, String),
    /// Where statements are written, each after [`FRAME`] free bytes (`Stmt::json` says where):
    /// a chunk's texts column while `chunk` runs (no copy of each statement into it, no buffer
    /// per statement), else a scratch buffer the per-line entry points clear.
    pub sink: Vec<u8>,
}

impl Builder {
    pub fn new(root: String, version: String, check: bool, hooks: PyHooks) -> Self {
        let mut version_member = Vec::new();
        write_str(&mut version_member, v::EXT_TRANSFORMER_VERSION);
        version_member.push(b':');
        write_str(&mut version_member, &version);
        Builder {
            root,
            version,
            version_member,
            verb_namespaces: Vec::new(),
            check,
            hooks,
            actors: HashMap::default(),
            actors_by_int: HashMap::default(),
            namespaces: HashMap::default(),
            courses: HashMap::default(),
            parents: HashMap::default(),
            objects: HashMap::default(),
            iris: HashMap::default(),
            last_time: (String::new(), String::new()),
            sink: Vec::new(),
        }
    }

    // -- identifiers ---------------------------------------------------------------------

    /// `<root>/<kind>/<id>` (id as Python's str()), None without an id.
    pub fn iri(&self, kind: &str, object_id: Option<&V<'_>>) -> Res<Option<String>> {
        match object_id {
            None | Some(V::Null) => Ok(None),
            Some(value) => Ok(Some(cat(&[&self.root, "/", kind, "/", &py_str(value)?]))),
        }
    }

    /// `<root>/<kind>/<id>` for an id already a string.
    pub fn iri_str(&self, kind: &str, object_id: &str) -> String {
        cat(&[&self.root, "/", kind, "/", object_id])
    }

    fn namespace(&mut self, key: &str) -> [u8; 16] {
        if let Some(found) = self.namespaces.get(key) {
            return *found;
        }
        if self.namespaces.len() > CACHE_LIMIT {
            self.namespaces.clear();
        }
        let namespace = uuid5(&ID_BASE, key.as_bytes());
        self.namespaces.insert(key.to_owned(), namespace);
        namespace
    }

    /// ERB's deterministic id: uuid5(uuid5(base, verb json[-child]), actor text-raw time).
    pub fn statement_id(
        &mut self,
        verb: &Verb,
        actor_text: &str,
        raw_time: &str,
        child_id: Option<&str>,
    ) -> [u8; 16] {
        let cached = match child_id {
            None => self
                .verb_namespaces
                .iter()
                .find(|(iri, _)| *iri == verb.iri)
                .map(|(_, n)| *n),
            Some(_) => None,
        };
        let namespace = match cached {
            Some(namespace) => namespace,
            None => {
                // json.dumps(verb): the vocabulary's IRIs and names need no escaping
                // (by hand: `format!` cost ~0.5% of a chunk's instructions with child ids)
                let child_len = child_id.map_or(0, |c| c.len() + 1);
                let mut key =
                    String::with_capacity(40 + verb.iri.len() + verb.display.len() + child_len);
                key.push_str("{\"id\": \"");
                key.push_str(verb.iri);
                key.push_str("\", \"display\": {\"en\": \"");
                key.push_str(verb.display);
                key.push_str("\"}}");
                if let Some(child) = child_id {
                    key.push('-');
                    key.push_str(child);
                }
                let namespace = self.namespace(&key);
                if child_id.is_none() {
                    self.verb_namespaces.push((verb.iri, namespace));
                }
                namespace
            }
        };
        uuid5_parts(
            &namespace,
            &[actor_text.as_bytes(), b"-", raw_time.as_bytes()],
        )
    }

    // -- actor, time ---------------------------------------------------------------------

    /// The event's user as statement.py's user_key (ints and strings only; else Fallback).
    pub fn user_key(event: &Event<'_>) -> Res<String> {
        Ok(match Self::user(event)? {
            User::Int(i) => i.to_string(),
            User::Text(text) => text.to_owned(),
        })
    }

    /// The event's user, not yet as text (the actor cache is looked up without allocating).
    pub fn user<'e>(event: &Event<'e>) -> Res<User<'e>> {
        let data = event.raw.get("data").and_then(V::as_obj);
        let mut value: Option<&'e V<'e>> = None;
        if let Some(data) = data {
            value = match data.get("user_id") {
                Some(v) if v.truthy() => Some(v),
                _ => data.get("username"),
            };
        }
        if !value.map_or(false, V::truthy) {
            value = match event.get("user_id") {
                Some(v) if v.truthy() => Some(v),
                _ => event.get("username"),
            };
        }
        match value {
            Some(V::Int(i)) if *i != 0 => Ok(User::Int(i128::from(*i))),
            Some(V::UInt(u)) => Ok(User::Int(i128::from(*u))),
            Some(V::Str(text)) if !text.is_empty() => Ok(User::Text(text)),
            _ => Err(Fallback),
        }
    }

    /// The actor of the event's user, from the Python Actors (cached per user: by number for
    /// numeric ids, the common case, so that a hit costs no allocation and no string compare
    /// on a cold key; an id as a number and as text have the same actor, cached twice).
    pub fn actor(&mut self, event: &Event<'_>) -> Res<Rc<Actor>> {
        let user = Self::user(event)?;
        let found = match user {
            User::Int(i) => self.actors_by_int.get(&i),
            User::Text(text) => self.actors.get(text),
        };
        if let Some(found) = found {
            return Ok(found.clone());
        }
        let key = match user {
            User::Int(i) => i.to_string(),
            User::Text(text) => text.to_owned(),
        };
        let actor = Python::with_gil(|py| -> PyResult<Option<Actor>> {
            let pair = self.hooks.actor.call1(py, (key.as_str(),))?;
            let pair: &PyTuple = pair.as_ref(py).downcast()?;
            let actor = pair.get_item(0)?;
            let text: String = pair.get_item(1)?.extract()?;
            let json: &PyBytes = self.hooks.dumps.as_ref(py).call1((actor,))?.downcast()?;
            let dict: &PyDict = actor.downcast()?;
            let name = match dict.get_item("account") {
                Some(account) => match account.downcast::<PyDict>()?.get_item("name") {
                    Some(name) => name.downcast::<PyString>()?.to_str()?.to_owned(),
                    None => return Ok(None),
                },
                None => return Ok(None),
            };
            let py_name = PyString::new(py, &name).into();
            Ok(Some(Actor {
                json: json.as_bytes().to_vec(),
                text,
                name,
                py_name,
            }))
        })
        .map_err(|_| Fallback)?
        .ok_or(Fallback)?;
        if self.actors.len() + self.actors_by_int.len() >= 500_000 {
            self.actors.clear();
            self.actors_by_int.clear();
        }
        let actor = Rc::new(actor);
        match user {
            User::Int(i) => self.actors_by_int.insert(i, actor.clone()),
            User::Text(_) => self.actors.insert(key, actor.clone()),
        };
        Ok(actor)
    }

    /// The event's time as logged (statement.py's raw_time).
    pub fn raw_time<'e>(event: &Event<'e>) -> Res<&'e str> {
        if let Some(V::Str(text)) = event.raw.get("timestamp") {
            if !text.is_empty() {
                return Ok(text);
            }
        }
        let value = match event.get("timestamp") {
            Some(v) if v.truthy() => Some(v),
            _ => event.get("time"),
        };
        value.and_then(V::as_str).ok_or(Fallback)
    }

    /// The statement timestamp (normalise_timestamp); Fallback when not ISO 8601.
    pub fn timestamp(&mut self, raw: &str) -> Res<String> {
        self.remember_time(raw)?;
        Ok(self.last_time.1.clone())
    }

    /// Makes `last_time` the timestamp of `raw` (the last one is kept: events come in runs
    /// of the same time, and each statement reads it from there without a copy).
    fn remember_time(&mut self, raw: &str) -> Res<()> {
        if self.last_time.0 == raw {
            return Ok(());
        }
        let timestamp = if canonical_time(raw) {
            raw.to_owned()
        } else {
            Python::with_gil(|py| -> PyResult<String> {
                self.hooks
                    .normalise_timestamp
                    .call1(py, (raw,))?
                    .extract(py)
            })
            .map_err(|_| Fallback)?
        };
        if timestamp.is_empty() {
            return Err(Fallback);
        }
        self.last_time = (raw.to_owned(), timestamp);
        Ok(())
    }

    // -- courses -------------------------------------------------------------------------

    /// The CourseNames source, called as the Python code calls it (not cached).
    pub fn course_names(&self, course_id: &str) -> Res<Option<String>> {
        Python::with_gil(|py| -> PyResult<Option<String>> {
            self.hooks.course_names.call1(py, (course_id,))?.extract(py)
        })
        .map_err(|_| Fallback)
    }

    /// The course as an activity (context parent), JSON, cached per language and course.
    pub fn course_activity(&mut self, course_id: &str, language: &str) -> Res<Rc<[u8]>> {
        let key = cat(&[language, " ", course_id]);
        if let Some(found) = self.courses.get(&key) {
            return Ok(found.clone());
        }
        let name = self.course_names(course_id)?;
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"{\"id\":");
        write_str(&mut out, &self.iri_str("course", course_id));
        out.extend_from_slice(b",\"objectType\":\"Activity\",\"definition\":{\"type\":");
        write_str(&mut out, v::COURSE);
        if let Some(name) = name {
            out.extend_from_slice(b",\"name\":{");
            write_str(&mut out, language);
            out.push(b':');
            write_str(&mut out, &name);
            out.push(b'}');
        }
        out.extend_from_slice(b"}}");
        if self.courses.len() > CACHE_LIMIT {
            self.courses.clear();
        }
        let activity: Rc<[u8]> = out.into();
        self.courses.insert(key, activity.clone());
        Ok(activity)
    }

    /// contextActivities `{"parent": [course]}` when the event names a course, JSON.
    pub fn course_parent(&mut self, event: &Event<'_>) -> Res<Option<Rc<[u8]>>> {
        let course_id = match event.get("context.course_id") {
            None => return Ok(None),
            Some(value) => py_str(value)?,
        };
        if let Some(found) = self.parents.get(course_id.as_ref()) {
            return Ok(Some(found.clone()));
        }
        let activity = self.course_activity(&course_id, "en-US")?;
        let mut out = Vec::with_capacity(activity.len() + 12);
        out.extend_from_slice(b"{\"parent\":[");
        out.extend_from_slice(&activity);
        out.extend_from_slice(b"]}");
        if self.parents.len() > CACHE_LIMIT {
            self.parents.clear();
            self.courses.clear();
        }
        let parent: Rc<[u8]> = out.into();
        self.parents.insert(course_id.into_owned(), parent.clone());
        Ok(Some(parent))
    }

    // -- shared parts --------------------------------------------------------------------

    /// A statement object kept by [`share_object`](Self::share_object) (as `J::Raw`).
    pub fn shared_object(&self, key: &str) -> Option<J<'static>> {
        self.objects.get(key).map(|bytes| J::Raw(bytes.clone()))
    }

    /// Prune and serialise `obj`, keep it under `key` (whose ids alone determine it).
    pub fn share_object(&mut self, key: String, obj: &J<'_>) -> Res<J<'static>> {
        let mut out = Vec::with_capacity(128);
        write_j(&mut out, obj, true)?;
        if self.objects.len() > CACHE_LIMIT {
            self.objects.clear();
        }
        let bytes: Rc<[u8]> = out.into();
        self.objects.insert(key, bytes.clone());
        Ok(J::Raw(bytes))
    }

    // -- the statement -------------------------------------------------------------------

    fn is_iri(&mut self, text: &str) -> Res<bool> {
        if let Some(known) = self.iris.get(text) {
            return Ok(*known);
        }
        let known = Python::with_gil(|py| -> PyResult<bool> {
            self.hooks.is_iri.call1(py, (text,))?.extract(py)
        })
        .map_err(|_| Fallback)?;
        if self.iris.len() > 200_000 {
            self.iris.clear();
        }
        self.iris.insert(text.to_owned(), known);
        Ok(known)
    }

    /// repair.check_object: the object's id must be an absolute IRI. Ok(true): the object
    /// (built here) has no id, None or absent, which Python rejects with [`no_id_reason`].
    fn check_object(&mut self, obj: &J<'_>) -> Res<bool> {
        let id: Option<&J<'_>> = match obj {
            J::Obj(members) => members.iter().find(|(k, _)| k == "id").map(|(_, v)| v),
            _ => None,
        };
        let text: &str = match id {
            Some(J::Str(text)) => text.as_ref(),
            Some(J::In(V::Str(text))) => text.as_ref(),
            None | Some(J::Null | J::In(V::Null)) if matches!(obj, J::Obj(_)) => return Ok(true),
            _ => match obj.get("id") {
                // an input object (rare): look the id up there
                Some(J::In(V::Str(text))) => return self.check_iri(text).map(|()| false),
                _ => return Err(Fallback),
            },
        };
        self.check_iri(text).map(|()| false)
    }

    fn check_iri(&mut self, text: &str) -> Res<()> {
        if self.is_iri(text)? {
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    /// One statement (statement.py's Builder.statement), checked and repaired as the
    /// transformer does, written to JSON.
    pub fn statement<'a>(
        &mut self,
        event: &Event<'a>,
        verb: &Verb,
        mut obj: J<'a>,
        opts: Opts<'a>,
    ) -> Res<Stmt> {
        let Opts {
            mut result,
            context_activities,
            extensions,
            parent_statement,
            child_id,
        } = opts;
        let actor = self.actor(event)?;
        let raw_time = Self::raw_time(event)?;
        self.remember_time(raw_time)?;
        // after the transformer version (written first, from version_member)
        let mut context_ext: Vec<(&str, J<'a>)> = Vec::with_capacity(4);
        if let Some(session) = event.get("session") {
            context_ext.push((v::EXT_SESSION_ID, J::In(session)));
        }
        for (key, value) in extensions {
            if value.is_null() {
                continue;
            }
            if key == v::EXT_TRANSFORMER_VERSION {
                return Err(Fallback); // would replace the version in place: not reproduced
            }
            match context_ext.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => context_ext.push((key, value)),
            }
        }
        let mut custom = None;
        let parent = match context_activities {
            Activities::Course => self.course_parent(event)?,
            Activities::Nothing => None,
            Activities::Custom(kinds) => {
                custom = Some(kinds);
                None
            }
        };
        let id = self.statement_id(verb, &actor.text, raw_time, child_id.as_deref());
        let mut no_id = false;
        if self.check {
            no_id = self.check_object(&obj)?;
            if needs_repair(event.name) {
                repair_activity(&mut obj);
                if let Some(kinds) = custom.as_mut() {
                    for (_, members) in kinds.iter_mut() {
                        for member in members.iter_mut().flatten() {
                            repair_activity(member);
                            repair_exam_attempt(member, &self.root)?;
                        }
                    }
                }
                if let Some(result) = result.as_mut() {
                    repair_score(result)?;
                }
            }
        }
        // written in place (not taken out of self: a panic must not lose what the sink holds)
        let out = &mut self.sink;
        out.extend_from_slice(&[0; FRAME]);
        let start = out.len();
        let written = write_statement(
            out,
            &self.version_member,
            &self.last_time.1,
            &id,
            &actor,
            verb,
            &obj,
            &context_ext,
            parent,
            custom,
            parent_statement,
            result,
        );
        if written.is_err() {
            out.truncate(start - FRAME); // nothing of a statement that was not made
        }
        written?;
        Ok(Stmt {
            id,
            json: start..self.sink.len(),
            actor,
            no_id,
        })
    }
}

/// The statement's JSON appended to `out` (the Python dict's key order).
#[allow(clippy::too_many_arguments)]
fn write_statement(
    out: &mut Vec<u8>,
    version_member: &[u8],
    timestamp: &str,
    id: &[u8; 16],
    actor: &Actor,
    verb: &Verb,
    obj: &J<'_>,
    context_ext: &[(&str, J<'_>)],
    parent: Option<Rc<[u8]>>,
    custom: Option<Vec<(Cow<'_, str>, Option<Vec<J<'_>>>)>>,
    parent_statement: Option<String>,
    result: Option<J<'_>>,
) -> Res<()> {
    out.extend_from_slice(b"{\"id\":\"");
    write_uuid(out, id);
    out.extend_from_slice(b"\",\"actor\":");
    out.extend_from_slice(&actor.json);
    out.extend_from_slice(b",\"verb\":{\"id\":");
    write_str(out, verb.iri);
    out.extend_from_slice(b",\"display\":{\"en\":");
    write_str(out, verb.display);
    out.extend_from_slice(b"}},\"object\":");
    write_j(out, obj, true)?;
    out.extend_from_slice(b",\"timestamp\":");
    write_str(out, timestamp);
    out.extend_from_slice(b",\"context\":{\"extensions\":{");
    out.extend_from_slice(version_member);
    for (key, value) in context_ext.iter() {
        out.push(b',');
        write_str(out, key);
        out.push(b':');
        write_j(out, value, false)?;
    }
    out.push(b'}');
    if let Some(parent) = parent {
        out.extend_from_slice(b",\"contextActivities\":");
        out.extend_from_slice(&parent);
    } else if let Some(kinds) = custom {
        out.extend_from_slice(b",\"contextActivities\":{");
        let mut first = true;
        for (kind, members) in kinds.iter() {
            let Some(members) = members else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(out, kind);
            out.extend_from_slice(b":[");
            for (i, member) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_j(out, member, true)?;
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    if let Some(parent_id) = parent_statement {
        out.extend_from_slice(b",\"statement\":{\"id\":");
        write_str(out, &parent_id);
        out.extend_from_slice(b",\"objectType\":\"StatementRef\"}");
    }
    out.extend_from_slice(b"},\"version\":\"1.0.3\"");
    if let Some(result) = result {
        out.extend_from_slice(b",\"result\":");
        write_j(out, &result, true)?;
    }
    out.push(b'}');
    Ok(())
}
