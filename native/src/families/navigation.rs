//! Navigation in the courseware: links, outline, sequence tabs, all `navigated` (mirrors
//! src/aspects/transform/xapi/navigation.py).

use crate::builder::{Builder, Opts, Stmt};
use crate::event::Event;
use crate::out::{obj, s, J};
use crate::vocab as v;
use crate::{Fallback, Res};

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "edx.ui.lms.link_clicked",
    "edx.ui.lms.outline.selected",
    "edx.ui.lms.sequence.outline.selected",
    "edx.ui.lms.sequence.tab_selected",
    "edx.ui.lms.sequence.next_selected",
    "edx.ui.lms.sequence.previous_selected",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    match event.name {
        "edx.ui.lms.link_clicked" => link_clicked(b, event),
        "edx.ui.lms.outline.selected" | "edx.ui.lms.sequence.outline.selected" => {
            outline_selected(b, event)
        }
        "edx.ui.lms.sequence.tab_selected" => sequence_tab(b, event, None),
        "edx.ui.lms.sequence.next_selected" => sequence_tab(b, event, Some("next unit")),
        "edx.ui.lms.sequence.previous_selected" => sequence_tab(b, event, Some("previous unit")),
        _ => Err(Fallback),
    }
}

fn link_clicked(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let object = obj([
        ("id", s(event.need_str("data.target_url")?)),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(v::LINK))])),
    ]);
    Ok(vec![b.statement(
        event,
        &v::NAVIGATED,
        object,
        Opts::default(),
    )?])
}

fn outline_selected(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let object = obj([
        ("id", J::opt_str(event.get_str("data.target_url")?)),
        ("objectType", s("Activity")),
        (
            "definition",
            obj([
                ("type", s(v::MODULE)),
                ("name", obj([("en", J::opt(event.get("data.target_name")))])),
            ]),
        ),
    ]);
    Ok(vec![b.statement(
        event,
        &v::NAVIGATED,
        object,
        Opts::default(),
    )?])
}

/// `ending`: where the learner went (ENDING in the Python module; None: data.target_tab).
fn sequence_tab(
    b: &mut Builder,
    event: &Event<'_>,
    ending: Option<&'static str>,
) -> Res<Vec<Stmt>> {
    let object = obj([
        ("id", J::opt_str(b.iri("xblock", event.get("data.id"))?)),
        ("objectType", s("Activity")),
        (
            "definition",
            obj([
                ("type", s(v::RESOURCE)),
                (
                    "extensions",
                    obj([(v::EXT_TOTAL_ITEMS, J::opt(event.get("data.tab_count")))]),
                ),
            ]),
        ),
    ]);
    let ending = match ending {
        Some(text) => s(text),
        None => J::opt(event.get("data.target_tab")),
    };
    let extensions = vec![
        (
            v::EXT_STARTING_POSITION,
            J::opt(event.get("data.current_tab")),
        ),
        (v::EXT_ENDING_POSITION, ending),
    ];
    let opts = Opts {
        extensions,
        ..Opts::default()
    };
    Ok(vec![b.statement(event, &v::NAVIGATED, object, opts)?])
}
