//! Special exams (timed, practice, proctored): attempt created (initialized) and submitted
//! (mirrors src/aspects/transform/xapi/exam.py).

use crate::builder::{py_str, Activities, Builder, Opts, Stmt};
use crate::event::Event;
use crate::out::{obj, s, J};
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "edx.special_exam.timed.attempt.created",
    "edx.special_exam.timed.attempt.submitted",
    "edx.special_exam.practice.attempt.created",
    "edx.special_exam.practice.attempt.submitted",
    "edx.special_exam.proctored.attempt.created",
    "edx.special_exam.proctored.attempt.submitted",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    // names look like edx.special_exam.<kind>.attempt.<action>
    let rest = event
        .name
        .strip_prefix("edx.special_exam.")
        .ok_or(Fallback)?;
    let (kind, action) = rest.split_once(".attempt.").ok_or(Fallback)?;
    let kind = match kind {
        "timed" => v::TIMED_ASSESSMENT,
        "practice" => v::PRACTICE_ASSESSMENT,
        "proctored" => v::PROCTORED_ASSESSMENT,
        _ => return Err(Fallback),
    };
    let verb = match action {
        "created" => v::INITIALIZED,
        "submitted" => v::TERMINATED,
        _ => return Err(Fallback),
    };
    let exam_name = event.get("event.exam_name");
    let object = obj([
        ("id", J::opt_str(event.get_str("event.exam_content_id")?)),
        ("objectType", s("Activity")),
        (
            "definition",
            obj([
                ("type", s(kind)),
                ("name", obj([("en", J::opt(exam_name))])),
                (
                    "extensions",
                    obj([(
                        v::EXT_TIME_LIMIT,
                        J::opt(event.get("event.exam_default_time_limit_mins")),
                    )]),
                ),
            ]),
        ),
    ]);
    // course_parent(event) is None: MalformedEvent in Python
    let course_id = py_str(event.get("context.course_id").ok_or(Fallback)?)?;
    let course = b.course_activity(&course_id, "en-US")?;
    let mut attempt: Vec<(Cow<'_, str>, J<'_>)> = Vec::with_capacity(3);
    // A null id is pruned before the repair names the attempt, which then adds "id" last.
    if let Some(code) = event.get_str("event.attempt_code")? {
        attempt.push((Cow::Borrowed("id"), s(code)));
    }
    attempt.push((Cow::Borrowed("objectType"), s("Activity")));
    attempt.push((
        Cow::Borrowed("definition"),
        obj([
            ("type", s(v::EXAM_ATTEMPT)),
            ("name", obj([("en", J::opt(exam_name))])),
            (
                "extensions",
                obj([
                    (
                        v::EXT_ATTEMPT_STARTED,
                        J::opt(event.get("event.attempt_started_at")),
                    ),
                    (
                        v::EXT_ATTEMPT_COMPLETED,
                        J::opt(event.get("event.attempt_completed_at")),
                    ),
                    (
                        v::EXT_DURATION,
                        J::opt(event.get("event.attempt_event_elapsed_time_secs")),
                    ),
                    (v::EXT_ATTEMPT_ID, J::opt(event.get("event.attempt_id"))),
                ]),
            ),
        ]),
    ));
    let activities = Activities::Custom(vec![
        (Cow::Borrowed("parent"), Some(vec![J::Raw(course)])),
        (Cow::Borrowed("grouping"), Some(vec![J::Obj(attempt)])),
    ]);
    let opts = Opts {
        context_activities: activities,
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &verb, object, opts)?])
}
