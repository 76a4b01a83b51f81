//! The video family (mirrors src/aspects/transform/xapi/video.py): NOT PORTED YET, every event
//! falls back to the Python path.

use crate::builder::{Builder, Stmt};
use crate::event::Event;
use crate::{Fallback, Res};

/// The event names of this family (the Python module's TRANSFORMS).
pub const NAMES: &[&str] = &[
    "load_video",
    "edx.video.loaded",
    "play_video",
    "edx.video.played",
    "pause_video",
    "edx.video.paused",
    "stop_video",
    "edx.video.stopped",
    "complete_video",
    "edx.video.completed",
    "seek_video",
    "edx.video.position.changed",
    "speed_change_video",
    "show_transcript",
    "edx.video.transcript.shown",
    "video_show_cc_menu",
    "edx.video.closed_captions.shown",
    "hide_transcript",
    "edx.video.transcript.hidden",
    "video_hide_cc_menu",
    "edx.video.closed_captions.hidden",
];

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(_b: &mut Builder, _event: &Event<'_>) -> Res<Vec<Stmt>> {
    Err(Fallback)
}
