//! The problem family (mirrors src/aspects/transform/xapi/problem.py): NOT PORTED YET, every event
//! falls back to the Python path.

use crate::builder::{Builder, Stmt};
use crate::event::Event;
use crate::{Fallback, Res};

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "showanswer",
    "edx.problem.completed",
    "edx.problem.hint.demandhint_displayed",
    "edx.grades.problem.submitted",
    "problem_check",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(_b: &mut Builder, _event: &Event<'_>) -> Res<Vec<Stmt>> {
    Err(Fallback)
}
