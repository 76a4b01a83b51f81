//! The problem family (mirrors src/aspects/transform/xapi/problem.py): problem_check (server and
//! browser, a statement per question when there are several), edx.grades.problem.submitted,
//! showanswer, edx.problem.completed and edx.problem.hint.demandhint_displayed.
//!
//! Python formats a few values itself (answers with `json.dumps(..., ensure_ascii=False)` or
//! `str()`, the referer's query with urllib): those are reproduced here for the forms whose
//! output is certain (ASCII referers, ASCII text in dict reprs), and anything else is a Fallback.

use crate::builder::{py_str, uuid_text, Activities, Builder, Opts, Stmt, Verb};
use crate::event::{number, Event, Num};
use crate::json::{Obj, V};
use crate::out::{cat, obj, py_float_repr, s, write_j, J};
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;
use std::fmt::Write;

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "showanswer",
    "edx.problem.completed",
    "edx.problem.hint.demandhint_displayed",
    "edx.grades.problem.submitted",
    "problem_check",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    match event.name {
        "problem_check" => problem_check(b, event),
        "edx.grades.problem.submitted" => problem_submitted(b, event),
        "showanswer" | "edx.problem.completed" | "edx.problem.hint.demandhint_displayed" => {
            problem_event(b, event)
        }
        _ => Err(Fallback),
    }
}

const OTHER: &str = "other";

/// INTERACTION_TYPES.get(value, OTHER): Open edX response types -> xAPI interaction types.
fn interaction_type(value: Option<&V<'_>>) -> Res<&'static str> {
    let text = match value {
        Some(V::Str(text)) => text.as_ref(),
        // dict.get with a list or dict raises TypeError (unhashable): the Python path says so
        Some(V::Arr(_)) | Some(V::Obj(_)) => return Err(Fallback),
        // None, numbers and booleans are hashable and never a key
        _ => return Ok(OTHER),
    };
    Ok(match text {
        "choiceresponse" | "multiplechoiceresponse" | "choicetextresponse" | "optionresponse" => {
            "choice"
        }
        "numericalresponse" => "numeric",
        "stringresponse" | "formularesponse" | "annotationresponse" | "symbolicresponse" => {
            "fill-in"
        }
        "imageresponse" => "matching",
        "truefalseresponse" => "true-false",
        _ => OTHER,
    })
}

/// `a or b` of two `event.get` results (get gives None or a non-empty value; 0/False are falsy).
fn or<'e>(
    first: Option<&'e V<'e>>,
    second: impl FnOnce() -> Option<&'e V<'e>>,
) -> Option<&'e V<'e>> {
    match first {
        Some(value) if value.truthy() => Some(value),
        _ => second(),
    }
}

/// problem._object_id: data.problem_id / data.module_id, or usage_key for other data.
fn object_id<'e>(event: &Event<'e>) -> Res<Option<&'e V<'e>>> {
    if let Some(V::Obj(_)) = event.get("data") {
        if let Some(id) = event.get("data.problem_id") {
            if id.truthy() {
                return Ok(Some(id));
            }
        }
        return event.need("data.module_id").map(Some);
    }
    Ok(event.get("usage_key"))
}

fn from_browser(event: &Event<'_>) -> bool {
    let source = or(event.get("event_source"), || {
        event.get("context.event_source")
    });
    matches!(source, Some(V::Str(text)) if text == "browser")
}

/// `iri("xblock", X)` for a value known to be present.
fn xblock(b: &Builder, value: &V<'_>) -> Res<String> {
    Ok(b.iri_str("xblock", &py_str(value)?))
}

// -- showanswer, edx.problem.completed, edx.problem.hint.demandhint_displayed ------------------

fn problem_event(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let object_id = object_id(event)?;
    let (verb, kind, id) = match event.name {
        "showanswer" => {
            let problem = event.need("problem_id")?;
            (
                v::ASKED,
                v::SOLUTION,
                J::Str(Cow::Owned(cat(&[&xblock(b, problem)?, "/answer"]))),
            )
        }
        "edx.problem.hint.demandhint_displayed" => {
            let hint = event.need("hint_index")?;
            let module = event.need("module_id")?;
            let id = cat(&[&xblock(b, module)?, "/hint/", &py_str(hint)?]);
            (v::ASKED, v::SUPPLEMENTAL_INFO, J::Str(Cow::Owned(id)))
        }
        _ => (v::COMPLETED, v::INTERACTION, J::opt(object_id)),
    };
    let object = obj([
        ("id", id),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(kind))])),
    ]);
    Ok(vec![b.statement(event, &verb, object, Opts::default())?])
}

// -- edx.grades.problem.submitted ---------------------------------------------------------------

const EXACT: i64 = 1 << 53;

/// A number as f64 when Python's arithmetic on it is the same as on the f64 (ints a float
/// holds exactly).
fn exact(value: Num) -> Res<f64> {
    match value {
        Num::Int(i) if (-EXACT..=EXACT).contains(&i) => Ok(i as f64),
        Num::Int(_) => Err(Fallback),
        Num::Float(f) => Ok(f),
    }
}

fn num_j<'a>(value: Num) -> J<'a> {
    match value {
        Num::Int(i) => J::Int(i),
        Num::Float(f) => J::Float(f),
    }
}

/// Python's `grade / maximum if maximum > 0 else 0`.
fn scaled<'a>(grade: Num, maximum: Num) -> Res<J<'a>> {
    let positive = match maximum {
        Num::Int(i) => i > 0,
        Num::Float(f) => f > 0.0,
    };
    if !positive {
        return Ok(J::Int(0));
    }
    let quotient = exact(grade)? / exact(maximum)?;
    if !quotient.is_finite() {
        return Err(Fallback);
    }
    Ok(J::Float(quotient))
}

/// Python's `earned >= possible` (exact for ints and floats alike).
fn at_least(earned: Num, possible: Num) -> Res<bool> {
    match (earned, possible) {
        (Num::Int(a), Num::Int(b)) => Ok(a >= b),
        _ => Ok(exact(earned)? >= exact(possible)?),
    }
}

fn problem_submitted(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let id = b.iri("xblock", object_id(event)?)?;
    let data = event.need_dict("data")?;
    let mut values = [Num::Int(0); 2];
    for (slot, key) in values
        .iter_mut()
        .zip(["weighted_possible", "weighted_earned"])
    {
        let value = data.get(key).ok_or(Fallback)?;
        if value.truthy() {
            *slot = number(value)?;
        }
    }
    let [possible, earned] = values;
    let success = at_least(earned, possible)?;
    let score = obj([
        ("min", J::Int(0)),
        ("max", num_j(possible)),
        ("raw", num_j(earned)),
        ("scaled", scaled(earned, possible)?),
    ]);
    let object = obj([
        ("id", J::opt_str(id)),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(v::QUESTION))])),
    ]);
    let result = obj([("success", J::Bool(success)), ("score", score)]);
    let opts = Opts {
        result: Some(result),
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &v::ATTEMPTED, object, opts)?])
}

// -- problem_check ------------------------------------------------------------------------------

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `urllib.parse.unquote(text.replace("+", " "))` for ASCII text; Fallback when the decoded
/// bytes are not UTF-8 (Python would substitute U+FFFD: not worth copying).
fn unquote_plus(text: &str) -> Res<Cow<'_, str>> {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&c| c == b'%' || c == b'+') {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'+' {
            out.push(b' ');
        } else if c == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(high * 16 + low);
                i += 3;
                continue;
            }
            out.push(c);
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| Fallback)
}

/// `parse_qs(urlparse(referer).query).get("activate_block_id", [None])[0]` (problem.py's
/// _referer_block). Referers urlsplit would strip, clean or refuse (leading spaces, control
/// characters, brackets, non-ASCII) are a Fallback.
fn referer_block(referer: &str) -> Res<Option<Cow<'_, str>>> {
    let bytes = referer.as_bytes();
    if bytes.first() == Some(&b' ')
        || bytes
            .iter()
            .any(|&c| !(0x20..0x80).contains(&c) || c == b'[' || c == b']')
    {
        return Err(Fallback);
    }
    // the scheme and netloc hold no '?' or '#': the query runs from the first '?' to the first
    // '#', when the '?' comes first
    let end = bytes.iter().position(|&c| c == b'#').unwrap_or(bytes.len());
    let query = match bytes[..end].iter().position(|&c| c == b'?') {
        Some(start) => &referer[start + 1..end],
        None => return Ok(None),
    };
    for field in query.split('&') {
        let Some((name, value)) = field.split_once('=') else {
            continue;
        };
        if value.is_empty() {
            continue; // parse_qs drops blank values
        }
        if unquote_plus(name)? == "activate_block_id" {
            return unquote_plus(value).map(Some);
        }
    }
    Ok(None)
}

/// video.usage_key: `<block version>:<course key>+type@<type>+block@<id>`.
fn usage_key(course_id: &str, block_type: &str, block_id: &str) -> Option<String> {
    let mut parts = course_id.split(':');
    let prefix = parts.next().unwrap_or("");
    let key = parts.next()?;
    let tail = prefix.rsplit('-').next().unwrap_or("");
    let ccx = if prefix.contains("ccx") { "ccx-" } else { "" };
    Some(cat(&[
        ccx, "block-", tail, ":", key, "+type@", block_type, "+block@", block_id,
    ]))
}

/// The problem of a browser problem_check: from the referer, else from the input names.
fn browser_block_id(event: &Event<'_>) -> Res<Option<String>> {
    let referer = match event.get("referer") {
        Some(value) if value.truthy() => value,
        _ => event.need("context.referer")?,
    };
    if let V::Str(referer) = referer {
        if let Some(block) = referer_block(referer)? {
            return Ok(Some(block.into_owned()));
        }
    }
    if let (Some(V::Str(data)), Some(V::Str(course_id))) =
        (event.get("data"), event.get("context.course_id"))
    {
        if let Some((_, rest)) = data.split_once('_') {
            let piece = rest.split('_').next().unwrap_or("");
            return Ok(usage_key(course_id, "problem", piece));
        }
    }
    Ok(None)
}

/// What every statement of one problem_check shares (problem.py's _Check).
struct Check<'e> {
    browser: bool,
    object_id: Option<&'e V<'e>>,
    browser_iri: Option<String>,
    attempts: Option<&'e V<'e>>,
    interaction: &'static str,
    display_name: Option<&'e V<'e>>,
    /// (max_grade, grade), read for server checks only
    grades: (Option<Num>, Option<Num>),
}

impl<'e> Check<'e> {
    fn new(b: &Builder, event: &Event<'e>, browser: bool) -> Res<Self> {
        let object_id = object_id(event)?;
        let browser_iri = match browser {
            true => browser_block_id(event)?.map(|block| b.iri_str("xblock", &block)),
            false => None,
        };
        Ok(Check {
            browser,
            object_id,
            browser_iri,
            attempts: event.get("data.attempts"),
            interaction: interaction_type(event.get("response_type"))?,
            display_name: event.get("display_name"),
            grades: (None, None),
        })
    }

    /// The statement object; `group`: the parent of several questions (GroupActivity, which
    /// the repair step turns back into Activity, interaction type "other").
    fn object(
        &self,
        b: &Builder,
        submission: Option<&'e Obj<'e>>,
        child_id: Option<&str>,
        group: bool,
    ) -> Res<J<'e>> {
        // an id that is absent, empty or not a string is kept as Python keeps it: check_object
        // then refuses the statement (unless ERB-strict, which writes it as it is)
        let id = if self.browser {
            J::opt_str(self.browser_iri.clone())
        } else {
            let present = self.object_id.filter(|id| id.truthy());
            match (child_id, present) {
                (Some(child), _) => {
                    // "@".join([*str(object_id or "").split("@")[:-1], child_id])
                    let base = match present {
                        Some(id) => py_str(id)?,
                        None => Cow::Borrowed(""),
                    };
                    let joined = match base.rfind('@') {
                        Some(at) => cat(&[&base[..at], "@", child]),
                        None => child.to_owned(),
                    };
                    match joined.is_empty() {
                        true => J::Str(Cow::Borrowed("")),
                        false => J::Str(Cow::Owned(b.iri_str("xblock", &joined))),
                    }
                }
                (None, Some(id)) => J::Str(Cow::Owned(xblock(b, id)?)),
                (None, None) => J::opt(self.object_id),
            }
        };
        let mut definition: Vec<(Cow<'e, str>, J<'e>)> = Vec::with_capacity(4);
        definition.push((Cow::Borrowed("type"), s(v::INTERACTION)));
        if let Some(attempts) = self.attempts.filter(|a| a.truthy()) {
            let extensions = obj([(v::EXT_ATTEMPT_ID, J::In(attempts))]);
            definition.push((Cow::Borrowed("extensions"), extensions));
        }
        let mut interaction = self.interaction;
        if let Some(submission) = submission {
            interaction = interaction_type(submission.get("response_type"))?;
            let description = obj([("en-US", J::opt(submission.get("question")))]);
            definition.push((Cow::Borrowed("description"), description));
        } else if let Some(name) = self.display_name.filter(|n| n.truthy()) {
            definition.push((Cow::Borrowed("name"), obj([("en-US", J::In(name))])));
        }
        if group {
            interaction = OTHER;
        }
        definition.push((Cow::Borrowed("interactionType"), s(interaction)));
        let object_type = if group { "GroupActivity" } else { "Activity" };
        Ok(obj([
            ("id", id),
            ("objectType", s(object_type)),
            ("definition", J::Obj(definition)),
        ]))
    }

    /// problem._check_result (None for the browser); `child`: a question's statement, whose
    /// score is None and whose response is its own submission's answer.
    fn result(
        &self,
        event: &Event<'e>,
        submission: Option<&'e Obj<'e>>,
        child: bool,
    ) -> Res<Option<J<'e>>> {
        if self.browser {
            return Ok(None);
        }
        let (response, correct) = match submission {
            Some(submission) => (submission.get("answer"), J::opt(submission.get("correct"))),
            None => {
                let answers = match event.get("data") {
                    Some(V::Obj(data)) if !child => data.get("answers"),
                    _ => None,
                };
                let correct = matches!(event.get("success"), Some(V::Str(t)) if t == "correct");
                (answers, J::Bool(correct))
            }
        };
        if child {
            return Ok(Some(obj([
                ("success", correct),
                ("response", py_response(response)?),
            ])));
        }
        let (max_grade, grade) = self.grades;
        let scaled = match (max_grade, grade) {
            (Some(max_grade), Some(grade)) => scaled(grade, max_grade)?,
            _ => J::Null,
        };
        let score = obj([
            ("min", J::Int(0)),
            ("max", max_grade.map_or(J::Null, num_j)),
            ("raw", grade.map_or(J::Null, num_j)),
            ("scaled", scaled),
        ]);
        Ok(Some(obj([
            ("success", correct),
            ("score", score),
            ("response", py_response(response)?),
        ])))
    }
}

/// problem._response: strings as they are, lists as `json.dumps(..., ensure_ascii=False)`,
/// anything else as `str()`.
fn py_response<'e>(value: Option<&'e V<'e>>) -> Res<J<'e>> {
    let mut text = String::new();
    match value {
        None | Some(V::Null) => return Ok(J::Null),
        Some(V::Str(_)) => return Ok(J::opt(value)),
        Some(V::Arr(_)) => py_json(value.ok_or(Fallback)?, &mut text, 0)?,
        Some(other) => py_repr(other, &mut text, 0)?,
    }
    Ok(J::Str(Cow::Owned(text)))
}

/// problem._first_submission: the first submission (in data.submission) with a response type.
fn first_submission<'e>(event: &Event<'e>) -> Option<&'e Obj<'e>> {
    match event.get("data.submission") {
        Some(V::Obj(submissions)) => {
            submissions
                .iter()
                .find_map(|(_, submission)| match submission {
                    V::Obj(o) if o.get("response_type").is_some_and(V::truthy) => Some(o),
                    _ => None,
                })
        }
        _ => None,
    }
}

fn problem_check(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let browser = from_browser(event);
    let verb: Verb = if browser { v::ATTEMPTED } else { v::EVALUATED };
    let submissions = match event.get("submission") {
        Some(V::Obj(submissions)) => Some(submissions),
        _ => None,
    };
    let several = submissions.filter(|s| s.len() > 1);
    let first = first_submission(event);
    let mut check = Check::new(b, event, browser)?;
    if !browser {
        check.grades = (event.get_number("max_grade")?, event.get_number("grade")?);
    }
    let mut parent_object = check.object(b, first, None, several.is_some())?;
    // The children's context names the parent's object: written once (pruned) and shared. In
    // Python it is the same dict, which the repair step has made an Activity by the time the
    // children are written (ERB-strict: it stays a GroupActivity).
    let shared = match several {
        Some(_) => {
            if b.check {
                parent_object.set("objectType", s("Activity"));
            }
            let mut text = Vec::with_capacity(512);
            write_j(&mut text, &parent_object, true)?;
            parent_object.set("objectType", s("GroupActivity"));
            Some(J::Raw(text.into()))
        }
        None => None,
    };
    let opts = Opts {
        result: check.result(event, first, false)?,
        ..Opts::default()
    };
    let parent = b.statement(event, &verb, parent_object, opts)?;
    let Some((children, parent_object)) = several.zip(shared) else {
        return Ok(vec![parent]);
    };
    // the course of the parent's contextActivities (course_parent), as the children's grouping
    let grouping = match event.get("context.course_id") {
        Some(course_id) => Some(vec![J::Raw(
            b.course_activity(&py_str(course_id)?, "en-US")?,
        )]),
        None => None,
    };
    let parent_id = uuid_text(&parent.id);
    let mut statements = Vec::with_capacity(children.len() + 1);
    statements.push(parent);
    for (child_id, submission) in children.iter() {
        // a submission that is not a non-empty object counts as none (`if submission:`)
        let submission = submission.as_obj().filter(|o| !o.is_empty());
        let mut kinds = vec![(Cow::Borrowed("parent"), Some(vec![parent_object.clone()]))];
        if grouping.is_some() {
            kinds.push((Cow::Borrowed("grouping"), grouping.clone()));
        }
        let opts = Opts {
            result: check.result(event, submission, true)?,
            context_activities: Activities::Custom(kinds),
            extensions: Vec::new(),
            parent_statement: Some(parent_id.clone()),
            child_id: Some(child_id.to_owned()),
        };
        let object = check.object(b, submission, Some(child_id), false)?;
        statements.push(b.statement(event, &verb, object, opts)?);
    }
    Ok(statements)
}

// -- Python's json.dumps and repr for answers -------------------------------------------------

/// Deeper values are a Fallback (Python's own limit is ~1000; nobody answers that deep).
const MAX_DEPTH: usize = 100;

/// `json.dumps(value, ensure_ascii=False)` with the default separators (floats as their repr,
/// which json.dumps writes for finite floats).
fn py_json(value: &V<'_>, out: &mut String, depth: usize) -> Res<()> {
    if depth > MAX_DEPTH {
        return Err(Fallback);
    }
    match value {
        V::Null => out.push_str("null"),
        V::Bool(true) => out.push_str("true"),
        V::Bool(false) => out.push_str("false"),
        V::Int(i) => write!(out, "{i}").map_err(|_| Fallback)?,
        V::UInt(u) => write!(out, "{u}").map_err(|_| Fallback)?,
        V::Float(f) => out.push_str(&py_float_repr(*f)?),
        V::Str(text) => py_json_str(text, out),
        V::Arr(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                py_json(item, out, depth + 1)?;
            }
            out.push(']');
        }
        V::Obj(members) => {
            out.push('{');
            for (n, (key, item)) in members.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                py_json_str(key, out);
                out.push_str(": ");
                py_json(item, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A string as `json.dumps(..., ensure_ascii=False)` writes it: `"`, `\` and control
/// characters escaped (\u00XX in lowercase hex), everything else as it is.
fn py_json_str(text: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// `repr(value)` (what `str()` gives for dicts, lists, numbers, booleans); non-ASCII strings
/// (Python's printable test) are a Fallback.
fn py_repr(value: &V<'_>, out: &mut String, depth: usize) -> Res<()> {
    if depth > MAX_DEPTH {
        return Err(Fallback);
    }
    match value {
        V::Null => out.push_str("None"),
        V::Bool(true) => out.push_str("True"),
        V::Bool(false) => out.push_str("False"),
        V::Int(i) => write!(out, "{i}").map_err(|_| Fallback)?,
        V::UInt(u) => write!(out, "{u}").map_err(|_| Fallback)?,
        V::Float(f) => out.push_str(&py_float_repr(*f)?),
        V::Str(text) => py_repr_str(text, out)?,
        V::Arr(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                py_repr(item, out, depth + 1)?;
            }
            out.push(']');
        }
        V::Obj(members) => {
            out.push('{');
            for (n, (key, item)) in members.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                py_repr_str(key, out)?;
                out.push_str(": ");
                py_repr(item, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// `repr(text)` for ASCII text: single quotes unless the text holds `'` and no `"`.
fn py_repr_str(text: &str, out: &mut String) -> Res<()> {
    if !text.is_ascii() {
        return Err(Fallback);
    }
    let quote = if text.contains('\'') && !text.contains('"') {
        b'"'
    } else {
        b'\''
    };
    out.push(quote as char);
    for byte in text.bytes() {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0..=0x1f | 0x7f => {
                let _ = write!(out, "\\x{byte:02x}");
            }
            _ if byte == quote => {
                out.push('\\');
                out.push(byte as char);
            }
            _ => out.push(byte as char),
        }
    }
    out.push(quote as char);
    Ok(())
}
