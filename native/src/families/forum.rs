//! Discussion forum events: threads, responses and comments (mirrors
//! src/aspects/transform/xapi/forum.py).

use crate::builder::{py_str, Activities, Builder, Opts, Stmt, Verb};
use crate::event::Event;
use crate::out::{cat, obj, s, J};
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "edx.forum.thread.created",
    "edx.forum.response.created",
    "edx.forum.comment.created",
    "edx.forum.thread.edited",
    "edx.forum.response.edited",
    "edx.forum.comment.edited",
    "edx.forum.thread.viewed",
    "edx.forum.thread.deleted",
    "edx.forum.response.deleted",
    "edx.forum.comment.deleted",
    "edx.forum.thread.voted",
    "edx.forum.response.voted",
    "edx.forum.thread.reported",
    "edx.forum.response.reported",
    "edx.forum.comment.reported",
    "edx.forum.thread.unreported",
    "edx.forum.response.unreported",
    "edx.forum.comment.unreported",
];

/// forum.MAPPING: event name -> (verb, key searched anywhere for the acrossx "type" extension).
fn mapping(name: &str) -> Option<(Verb, Option<&'static str>)> {
    Some(match name {
        "edx.forum.thread.created" => (v::POSTED, Some("thread_type")),
        "edx.forum.response.created" | "edx.forum.comment.created" => (v::POSTED, None),
        "edx.forum.thread.edited" | "edx.forum.response.edited" | "edx.forum.comment.edited" => {
            (v::EDITED, None)
        }
        "edx.forum.thread.viewed" => (v::VIEWED, None),
        "edx.forum.thread.deleted" | "edx.forum.response.deleted" | "edx.forum.comment.deleted" => {
            (v::DELETED, None)
        }
        "edx.forum.thread.voted" | "edx.forum.response.voted" => (v::VOTED, Some("vote_value")),
        "edx.forum.thread.reported"
        | "edx.forum.response.reported"
        | "edx.forum.comment.reported" => (v::REPORTED, None),
        "edx.forum.thread.unreported"
        | "edx.forum.response.unreported"
        | "edx.forum.comment.unreported" => (v::UNREPORTED, None),
        _ => return None,
    })
}

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let (verb, mode_key) = mapping(event.name).ok_or(Fallback)?;
    let object_id = py_str(event.need("data.id")?)?;
    // The object IRI is the request path with the post id moved to its end (ERB's rule).
    let path = event
        .need_str("context.path")?
        .trim_end_matches('/')
        .replace(object_id.as_ref(), "");
    let path = path.trim_end_matches('/');
    let mut definition = obj([("type", s(v::DISCUSSION))]);
    // `if title:` (Python truthiness: 0 and false give no name); the writer prunes the title
    // as prune(obj) would when it is not a string.
    if let Some(title) = event.get("data.title") {
        if title.truthy() {
            definition.set("name", obj([("en", J::In(title))]));
        }
    }
    let object = obj([
        (
            "id",
            J::Str(Cow::Owned(cat(&[&b.root, path, "/", &object_id]))),
        ),
        ("objectType", s("Activity")),
        ("definition", definition),
    ]);
    let mut activities = Activities::Course;
    if let Some(discussion) = event.get("data.discussion.id") {
        if discussion.truthy() {
            let grouping = obj([
                (
                    "id",
                    J::Str(Cow::Owned(cat(&[
                        &b.root,
                        "/api/discussion/v1/threads/",
                        &py_str(discussion)?,
                    ]))),
                ),
                ("objectType", s("Activity")),
                ("definition", obj([("type", s(v::DISCUSSION))])),
            ]);
            // dict(course_parent(event) or {}) with "grouping" added after "parent"
            let mut kinds = Vec::with_capacity(2);
            if let Some(course_id) = event.get("context.course_id") {
                let course = b.course_activity(&py_str(course_id)?, "en-US")?;
                kinds.push((Cow::Borrowed("parent"), Some(vec![J::Raw(course)])));
            }
            kinds.push((Cow::Borrowed("grouping"), Some(vec![grouping])));
            activities = Activities::Custom(kinds);
        }
    }
    let extensions = match mode_key {
        Some(key) => vec![(v::EXT_MODE, J::opt(event.get(key)))],
        None => Vec::new(),
    };
    let opts = Opts {
        context_activities: activities,
        extensions,
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &verb, object, opts)?])
}
