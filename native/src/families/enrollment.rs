//! Enrollment and course pass/fail events: the course itself is the object (mirrors
//! src/aspects/transform/xapi/enrollment.py).

use crate::builder::{py_str, Activities, Builder, Opts, Stmt};
use crate::event::Event;
use crate::out::{obj, s, J};
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "edx.course.enrollment.activated",
    "edx.course.enrollment.mode_changed",
    "edx.course.enrollment.deactivated",
    "edx.course.grade.passed.first_time",
    "edx.course.grade.now_passed",
    "edx.course.grade.now_failed",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let verb = match event.name {
        "edx.course.enrollment.activated" | "edx.course.enrollment.mode_changed" => v::REGISTERED,
        "edx.course.enrollment.deactivated" => v::UNREGISTERED,
        "edx.course.grade.passed.first_time" | "edx.course.grade.now_passed" => v::PASSED,
        "edx.course.grade.now_failed" => v::FAILED,
        _ => return Err(Fallback),
    };
    let course_id = py_str(event.need("context.course_id")?)?.into_owned();
    // The object names the course in "en" (the context parent elsewhere uses "en-US").
    let name = match b.course_names(&course_id)? {
        Some(name) => obj([("en", J::Str(Cow::Owned(name)))]),
        None => J::Obj(Vec::new()),
    };
    let object = obj([
        ("id", J::Str(Cow::Owned(b.iri_str("course", &course_id)))),
        ("objectType", s("Activity")),
        (
            "definition",
            obj([
                ("type", s(v::COURSE)),
                ("name", name),
                (
                    "extensions",
                    obj([(v::EXT_MODE, J::opt(event.get("data.mode")))]),
                ),
            ]),
        ),
    ]);
    let opts = Opts {
        context_activities: Activities::Nothing,
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &verb, object, opts)?])
}
