//! Block completion: progress on a block, completed at 100 % (mirrors
//! src/aspects/transform/xapi/completion.py).

use crate::builder::{Builder, Opts, Stmt};
use crate::event::{Event, Num};
use crate::out::{obj, s, J};
use crate::vocab as v;
use crate::{Fallback, Res};

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &["edx.completion.block_completion.changed"];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let completion = event.get_number("data.completion")?.ok_or(Fallback)?;
    let object = obj([
        (
            "id",
            J::opt_str(b.iri("xblock", event.get("data.block_id"))?),
        ),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(v::RESOURCE))])),
    ]);
    let (done, progress) = match completion {
        Num::Int(i) => (i == 1, J::Int(i.checked_mul(100).ok_or(Fallback)?)),
        Num::Float(f) => (f == 1.0, J::Float(f * 100.0)),
    };
    let result = obj([
        ("completion", J::Bool(done)),
        ("extensions", obj([(v::EXT_PROGRESS, progress)])),
    ]);
    let opts = Opts {
        result: Some(result),
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &v::PROGRESSED, object, opts)?])
}
