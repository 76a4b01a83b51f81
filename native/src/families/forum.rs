//! The forum family (mirrors src/aspects/transform/xapi/forum.py): NOT PORTED YET, every event
//! falls back to the Python path.

use crate::builder::{Builder, Stmt};
use crate::event::Event;
use crate::{Fallback, Res};

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

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(_b: &mut Builder, _event: &Event<'_>) -> Res<Vec<Stmt>> {
    Err(Fallback)
}
