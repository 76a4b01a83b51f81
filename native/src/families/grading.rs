//! Grades computed by the LMS: subsection and course grades (`earned`) (mirrors
//! src/aspects/transform/xapi/grading.py).

use crate::builder::{Builder, Opts, Stmt};
use crate::event::{number, Event, Num};
use crate::json::Obj;
use crate::out::{obj, s, J};
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "edx.grades.subsection.grade_calculated",
    "edx.grades.course.grade_calculated",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    match event.name {
        "edx.grades.subsection.grade_calculated" => subsection_grade(b, event),
        "edx.grades.course.grade_calculated" => course_grade(b, event),
        _ => Err(Fallback),
    }
}

/// Integers up to 2**53 in magnitude: f64 holds them exactly, so Python's int/int true
/// division (correctly rounded) and int/float comparisons give what f64 arithmetic gives.
const EXACT: u64 = 1 << 53;

/// grading._field: a score member that must be present (null or any falsy value counts as
/// the int 0). Only numbers Python and f64 arithmetic agree on: finite floats, exact ints.
fn field(data: &Obj<'_>, key: &str) -> Res<Num> {
    let value = data.get(key).ok_or(Fallback)?;
    if !value.truthy() {
        return Ok(Num::Int(0));
    }
    match number(value)? {
        Num::Int(i) if i.unsigned_abs() <= EXACT => Ok(Num::Int(i)),
        Num::Float(f) if f.is_finite() => Ok(Num::Float(f)),
        _ => Err(Fallback),
    }
}

fn j(n: Num) -> J<'static> {
    match n {
        Num::Int(i) => J::Int(i),
        Num::Float(f) => J::Float(f),
    }
}

/// grading.score: {"min": 0, "max": possible, "raw": earned, "scaled": earned / possible}
/// (scaled 0 when possible <= 0; the repair step then drops "max").
fn score(earned: Num, possible: Num) -> Res<J<'static>> {
    let scaled = if possible.as_f64() > 0.0 {
        let quotient = earned.as_f64() / possible.as_f64();
        if !quotient.is_finite() {
            return Err(Fallback); // orjson would write null where the writer prunes
        }
        J::Float(quotient)
    } else {
        J::Int(0)
    };
    Ok(obj([
        ("min", J::Int(0)),
        ("max", j(possible)),
        ("raw", j(earned)),
        ("scaled", scaled),
    ]))
}

fn subsection_grade(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let block_id = event.need("data.block_id")?;
    let data = event.need_dict("data")?;
    let possible = field(data, "weighted_total_possible")?;
    let earned = field(data, "weighted_total_earned")?;
    let object = obj([
        ("id", J::opt_str(b.iri("xblock", Some(block_id))?)),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(v::RESOURCE))])),
    ]);
    // exact: both are ints or floats within 2**53
    let success = earned.as_f64() >= possible.as_f64();
    let result = obj([
        ("success", J::Bool(success)),
        ("score", score(earned, possible)?),
    ]);
    let opts = Opts {
        result: Some(result),
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &v::EARNED, object, opts)?])
}

fn course_grade(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let course_id = crate::builder::py_str(event.need("context.course_id")?)?.into_owned();
    let data = event.need_dict("data")?;
    let earned = field(data, "percent_grade")?;
    let name = match b.course_names(&course_id)? {
        Some(name) => obj([("en", J::Str(Cow::Owned(name)))]),
        None => J::Obj(Vec::new()),
    };
    let object = obj([
        ("id", J::Str(Cow::Owned(b.iri_str("course", &course_id)))),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(v::COURSE)), ("name", name)])),
    ]);
    // `get(...) or "Fail"`; a letter that is not a string is pruned like the rest (the writer)
    let letter = match event.get("data.letter_grade") {
        Some(value) if value.truthy() => J::In(value),
        _ => s("Fail"),
    };
    let result = obj([
        (
            "score",
            obj([
                ("min", J::Int(0)),
                ("max", J::Float(1.0)),
                ("raw", j(earned)),
                ("scaled", j(earned)),
            ]),
        ),
        ("extensions", obj([(v::EXT_GRADE_CLASSIFICATION, letter)])),
    ]);
    let opts = Opts {
        result: Some(result),
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &v::EARNED, object, opts)?])
}
