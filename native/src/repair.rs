//! The repair step of the transformer (repair.py): what ERB's output needs fixed before it is
//! valid xAPI, applied by `Builder::statement` to the events of `needs_repair`.

use crate::builder::py_str;
use crate::json::V;
use crate::out::J;
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;

/// The events whose statements can need a repair (repair.py's NEEDS_REPAIR).
pub fn needs_repair(name: &str) -> bool {
    matches!(
        name,
        "problem_check"
            | "edx.grades.problem.submitted"
            | "edx.grades.subsection.grade_calculated"
            | "edx.grades.course.grade_calculated"
    ) || (name.starts_with("edx.special_exam.")
        && matches!(
            &name["edx.special_exam.".len()..],
            "timed.attempt.created"
                | "timed.attempt.submitted"
                | "practice.attempt.created"
                | "practice.attempt.submitted"
                | "proctored.attempt.created"
                | "proctored.attempt.submitted"
        ))
}

/// `urllib.parse.quote(text, safe="")`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{:02X}", byte));
        }
    }
    out
}

/// An input object as an output object (so that a member can be replaced).
fn own<'a>(value: &mut J<'a>) {
    if let J::In(V::Obj(members)) = value {
        let members = members
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k), J::In(v)))
            .collect();
        *value = J::Obj(members);
    }
}

/// repair._activity: `objectType: "GroupActivity"` becomes "Activity".
pub fn repair_activity(activity: &mut J<'_>) {
    let group = matches!(
        activity.member("objectType").as_deref(),
        Some(J::Str(t)) | Some(J::In(V::Str(t))) if t == "GroupActivity"
    );
    if group {
        own(activity);
        activity.set("objectType", J::Str(Cow::Borrowed("Activity")));
    }
}

fn j_str<'x>(value: &'x J<'_>) -> Option<&'x str> {
    match value {
        J::Str(text) => Some(text),
        J::In(V::Str(text)) => Some(text),
        _ => None,
    }
}

/// repair: an exam attempt activity named by its bare code gets `<root>/exam_attempt/<code>`.
pub fn repair_exam_attempt(activity: &mut J<'_>, root: &str) -> Res<()> {
    let definition = match activity.member("definition") {
        Some(d) if !d.is_null() => d,
        _ => return Ok(()),
    };
    let is_attempt =
        matches!(definition.member("type"), Some(t) if j_str(&t) == Some(v::EXAM_ATTEMPT));
    if !is_attempt {
        return Ok(());
    }
    let code: String = match activity.get("id") {
        None => "None".to_owned(),
        Some(J::Null) | Some(J::In(V::Null)) => "None".to_owned(),
        Some(J::Int(i)) => i.to_string(),
        Some(J::In(value)) => py_str(value)?.into_owned(),
        Some(ref other) => j_str(other).ok_or(Fallback)?.to_owned(),
    };
    if !code.contains(':') {
        own(activity);
        activity.set(
            "id",
            J::Str(Cow::Owned(format!(
                "{}/exam_attempt/{}",
                root,
                quote(&code)
            ))),
        );
    }
    Ok(())
}

fn j_number(value: &J<'_>) -> Option<f64> {
    match value {
        J::Int(i) | J::In(V::Int(i)) => Some(*i as f64),
        J::Float(f) | J::In(V::Float(f)) => Some(*f),
        _ => None,
    }
}

/// repair: `score.max <= score.min` loses `max` (the pruned score: null members are absent).
pub fn repair_score(result: &mut J<'_>) -> Res<()> {
    own(result);
    let J::Obj(members) = result else {
        return Ok(());
    };
    let Some((_, score)) = members.iter_mut().find(|(k, _)| k == "score") else {
        return Ok(());
    };
    if score.is_null() {
        return Ok(());
    }
    let (max, min) = match (score.get("max"), score.get("min")) {
        (Some(max), Some(min)) if !max.is_null() && !min.is_null() => (max, min),
        _ => return Ok(()),
    };
    let (max, min) = (
        j_number(&max).ok_or(Fallback)?,
        j_number(&min).ok_or(Fallback)?,
    );
    if max <= min {
        own(score);
        if let J::Obj(fields) = score {
            fields.retain(|(k, _)| k != "max");
        }
    }
    Ok(())
}
