//! Video player events, legacy names and the newer `edx.video.*` aliases (mirrors
//! src/aspects/transform/xapi/video.py).
//!
//! Every event names its video (`data.id`) in its course (`context.course_id`); the result
//! carries the player's position, the seek's ends, the speeds or the captions' state. Numbers
//! go through `units::seconds` (Python's `seconds`, bit for bit); anything the Python module
//! would reject (MalformedEvent, or a TypeError/ValueError) is a Fallback.

use crate::builder::{py_str, Builder, Opts, Stmt, Verb};
use crate::event::Event;
use crate::out::{cat, obj, s, J};
use crate::units::{iso_duration, seconds};
use crate::vocab as v;
use crate::{Fallback, Res};
use std::borrow::Cow;

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

/// The result builders of video.py (`_loaded`, `_position`, `_captions(shown)`, ...).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Loaded,
    Position,
    Captions(bool),
    Completed,
    Seeked,
    Speed,
}

/// video.py's MAPPING: event name -> (verb, result builder).
fn mapping(name: &str) -> Option<(&'static Verb, Kind)> {
    Some(match name {
        "load_video" | "edx.video.loaded" => (&v::INITIALIZED, Kind::Loaded),
        "play_video" | "edx.video.played" => (&v::PLAYED, Kind::Position),
        "pause_video" | "edx.video.paused" => (&v::PAUSED, Kind::Position),
        "stop_video" | "edx.video.stopped" => (&v::TERMINATED, Kind::Position),
        "complete_video" | "edx.video.completed" => (&v::COMPLETED, Kind::Completed),
        "seek_video" | "edx.video.position.changed" => (&v::SEEKED, Kind::Seeked),
        "speed_change_video" => (&v::INTERACTED, Kind::Speed),
        "show_transcript"
        | "edx.video.transcript.shown"
        | "video_show_cc_menu"
        | "edx.video.closed_captions.shown" => (&v::INTERACTED, Kind::Captions(true)),
        "hide_transcript"
        | "edx.video.transcript.hidden"
        | "video_hide_cc_menu"
        | "edx.video.closed_captions.hidden" => (&v::INTERACTED, Kind::Captions(false)),
        _ => return None,
    })
}

/// video._seconds: the value at `key` in ERB's seconds format (Fallback where Python raises).
fn secs(event: &Event<'_>, key: &str) -> Res<Option<f64>> {
    seconds(event.get(key))
}

/// video._time: `_seconds(current_time) or _seconds(currentTime)`: a position of 0.0 (falsy in
/// Python, either sign) also falls through to the second key.
fn time(event: &Event<'_>) -> Res<Option<f64>> {
    match secs(event, "data.current_time")? {
        Some(t) if t != 0.0 => Ok(Some(t)),
        _ => secs(event, "data.currentTime"),
    }
}

/// A result `{"extensions": {...}}` of the members that are not None, in order.
fn extensions_result<'a>(members: Vec<(&'a str, Option<J<'a>>)>) -> J<'a> {
    let extensions = members
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (Cow::Borrowed(key), value)))
        .collect();
    obj([("extensions", J::Obj(extensions))])
}

fn result<'a>(event: &Event<'a>, kind: Kind) -> Res<Option<J<'a>>> {
    Ok(Some(match kind {
        Kind::Loaded => return Ok(None),
        Kind::Position => extensions_result(vec![(v::EXT_VIDEO_TIME, time(event)?.map(J::Float))]),
        Kind::Captions(shown) => extensions_result(vec![
            (v::EXT_VIDEO_TIME, time(event)?.map(J::Float)),
            (v::EXT_CC_ENABLED, Some(J::Bool(shown))),
        ]),
        Kind::Completed => match secs(event, "data.duration")? {
            None => obj([
                ("extensions", J::Obj(Vec::new())),
                ("completion", J::Bool(true)),
            ]),
            Some(duration) => obj([
                ("extensions", obj([(v::EXT_VIDEO_TIME, J::Float(duration))])),
                ("completion", J::Bool(true)),
                ("duration", J::Str(Cow::Owned(iso_duration(duration)?))),
            ]),
        },
        Kind::Seeked => {
            let old = secs(event, "data.old_time")?;
            let new = secs(event, "data.new_time")?;
            extensions_result(vec![
                (v::EXT_VIDEO_TIME_FROM, old.map(J::Float)),
                (v::EXT_VIDEO_TIME_TO, new.map(J::Float)),
            ])
        }
        Kind::Speed => {
            // both must be strings (an empty one counts as missing, as event.get says)
            let old = event.get_str("data.old_speed")?.ok_or(Fallback)?;
            let new = event.get_str("data.new_speed")?.ok_or(Fallback)?;
            obj([(
                "extensions",
                obj([
                    (v::EXT_SPEED_FROM, J::Str(Cow::Owned(format!("{}x", old)))),
                    (v::EXT_SPEED_TO, J::Str(Cow::Owned(format!("{}x", new)))),
                ]),
            )])
        }
    }))
}

/// video.block_version + usage_key: `block-v1:<org+course+run>+type@video+block@<id>`
/// (`ccx-block-v1` for a CCX course); None when the course id has no `:`.
fn usage_key(course_id: &str, block_id: &str) -> Option<String> {
    let mut parts = course_id.split(':');
    let prefix = parts.next()?;
    let second = parts.next()?;
    // prefix.split("-")[-1]
    let last = prefix.rsplit('-').next().unwrap_or(prefix);
    let ccx = if prefix.contains("ccx") { "ccx-" } else { "" };
    Some(cat(&[
        ccx,
        "block-",
        last,
        ":",
        second,
        "+type@video+block@",
        block_id,
    ]))
}

/// The statements of one event of this family (`event.name` is one of [`NAMES`]).
pub fn transform(b: &mut Builder, event: &Event<'_>) -> Res<Vec<Stmt>> {
    let (verb, kind) = mapping(event.name).ok_or(Fallback)?;
    let course_id = event.need_str("context.course_id")?;
    let video_id = py_str(event.need("data.id")?)?;
    let key = usage_key(course_id, &video_id).ok_or(Fallback)?;
    // Built per event rather than shared: the builder's check_object reads the id of a J::Obj
    // (its IRI verdict is cached), and the object is a few short members.
    let object = obj([
        ("id", J::Str(Cow::Owned(cat(&[&b.root, "/xblock/", &key])))),
        ("objectType", s("Activity")),
        ("definition", obj([("type", s(v::VIDEO))])),
    ]);
    let length = secs(event, "data.duration")?;
    let result = result(event, kind)?;
    let opts = Opts {
        result,
        extensions: vec![(v::EXT_VIDEO_LENGTH, length.map_or(J::Null, J::Float))],
        ..Opts::default()
    };
    Ok(vec![b.statement(event, verb, object, opts)?])
}

#[cfg(test)]
mod tests {
    use super::usage_key;

    #[test]
    fn usage_keys_as_video_py_writes_them() {
        assert_eq!(
            usage_key("course-v1:edX+DemoX+Demo_Course", "abc").as_deref(),
            Some("block-v1:edX+DemoX+Demo_Course+type@video+block@abc")
        );
        assert_eq!(
            usage_key("ccx-v1:edX+DemoX+Demo_Course+ccx@1", "x").as_deref(),
            Some("ccx-block-v1:edX+DemoX+Demo_Course+ccx@1+type@video+block@x")
        );
        assert_eq!(
            usage_key("a:b:c", "x").as_deref(),
            Some("block-a:b+type@video+block@x")
        );
        assert_eq!(usage_key("nocolon", "x"), None);
    }
}
