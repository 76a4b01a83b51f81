//! Event name -> family function (mirrors src/aspects/transform/xapi/registry.py).
//!
//! Each family module has `NAMES` (its Python module's TRANSFORMS keys) and one entry function
//! `transform(b, event) -> Res<Vec<Stmt>>` that dispatches on `event.name` as the Python
//! family does. A family (or one of its names) not ported yet returns `Err(Fallback)`.

use crate::builder::{Builder, Stmt};
use crate::event::Event;
use crate::Res;

pub mod completion;
pub mod enrollment;
pub mod exam;
pub mod forum;
pub mod grading;
pub mod navigation;
pub mod problem;
pub mod video;

/// A family's entry function.
pub type Family = fn(&mut Builder, &Event<'_>) -> Res<Vec<Stmt>>;

/// Every family, in registry.py's order.
pub const FAMILIES: &[(&[&str], Family)] = &[
    (enrollment::NAMES, enrollment::transform),
    (completion::NAMES, completion::transform),
    (grading::NAMES, grading::transform),
    (problem::NAMES, problem::transform),
    (video::NAMES, video::transform),
    (navigation::NAMES, navigation::transform),
    (forum::NAMES, forum::transform),
    (exam::NAMES, exam::transform),
];

/// The family that transforms events of this name.
pub fn lookup(name: &str) -> Option<Family> {
    FAMILIES
        .iter()
        .find(|(names, _)| {
            // length and last byte first: most names share their first bytes ("edx.")
            names.iter().any(|n| {
                n.len() == name.len() && n.as_bytes().last() == name.as_bytes().last() && *n == name
            })
        })
        .map(|(_, family)| *family)
}
