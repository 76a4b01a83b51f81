//! The grading family (mirrors src/aspects/transform/xapi/grading.py): NOT PORTED YET, every event
//! falls back to the Python path.

use crate::builder::{Builder, Stmt};
use crate::event::Event;
use crate::{Fallback, Res};

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "edx.grades.subsection.grade_calculated",
    "edx.grades.course.grade_calculated",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(_b: &mut Builder, _event: &Event<'_>) -> Res<Vec<Stmt>> {
    Err(Fallback)
}
