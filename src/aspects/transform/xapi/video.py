"""Video player events, legacy names and the newer ``edx.video.*`` aliases."""

from __future__ import annotations

from typing import Any

from aspects.transform.errors import MalformedEvent
from aspects.transform.event import Event
from aspects.transform.statement import Builder, iso_duration, seconds
from aspects.transform.xapi import vocabulary as v
from aspects.transform.xapi.types import Statement, Transform

Result = dict[str, Any] | None


def _time(event: Event) -> float | None:
    return _seconds(event, "data.current_time") or _seconds(event, "data.currentTime")


def _seconds(event: Event, key: str) -> float | None:
    try:
        return seconds(event.get(key))
    except (TypeError, ValueError):
        raise MalformedEvent(f"{event.name}: {key} is not a number of seconds") from None


# Result builders write no None member (what pruning would remove is never added).


def _loaded(event: Event) -> Result:
    return None


def _position(event: Event) -> Result:
    time = _time(event)
    return {"extensions": {v.EXT_VIDEO_TIME: time} if time is not None else {}}


def _captions(shown: bool) -> Any:
    def result(event: Event) -> Result:
        extensions: dict[str, Any] = {}
        time = _time(event)
        if time is not None:
            extensions[v.EXT_VIDEO_TIME] = time
        extensions[v.EXT_CC_ENABLED] = shown
        return {"extensions": extensions}

    return result


def _completed(event: Event) -> Result:
    duration = _seconds(event, "data.duration")
    if duration is None:
        return {"extensions": {}, "completion": True}
    return {
        "extensions": {v.EXT_VIDEO_TIME: duration},
        "completion": True,
        "duration": iso_duration(duration),
    }


def _seeked(event: Event) -> Result:
    extensions: dict[str, Any] = {}
    old, new = _seconds(event, "data.old_time"), _seconds(event, "data.new_time")
    if old is not None:
        extensions[v.EXT_VIDEO_TIME_FROM] = old
    if new is not None:
        extensions[v.EXT_VIDEO_TIME_TO] = new
    return {"extensions": extensions}


def _speed(event: Event) -> Result:
    old, new = event.get("data.old_speed"), event.get("data.new_speed")
    if not isinstance(old, str) or not isinstance(new, str):
        raise MalformedEvent(f"{event.name}: data.old_speed and data.new_speed must be strings")
    return {"extensions": {v.EXT_SPEED_FROM: f"{old}x", v.EXT_SPEED_TO: f"{new}x"}}


# event name -> (verb, result builder)
MAPPING: dict[str, tuple[dict[str, Any], Any]] = {
    "load_video": (v.INITIALIZED, _loaded),
    "edx.video.loaded": (v.INITIALIZED, _loaded),
    "play_video": (v.PLAYED, _position),
    "edx.video.played": (v.PLAYED, _position),
    "pause_video": (v.PAUSED, _position),
    "edx.video.paused": (v.PAUSED, _position),
    "stop_video": (v.TERMINATED, _position),
    "edx.video.stopped": (v.TERMINATED, _position),
    "complete_video": (v.COMPLETED, _completed),
    "edx.video.completed": (v.COMPLETED, _completed),
    "seek_video": (v.SEEKED, _seeked),
    "edx.video.position.changed": (v.SEEKED, _seeked),
    "speed_change_video": (v.INTERACTED, _speed),
    "show_transcript": (v.INTERACTED, _captions(True)),
    "edx.video.transcript.shown": (v.INTERACTED, _captions(True)),
    "video_show_cc_menu": (v.INTERACTED, _captions(True)),
    "edx.video.closed_captions.shown": (v.INTERACTED, _captions(True)),
    "hide_transcript": (v.INTERACTED, _captions(False)),
    "edx.video.transcript.hidden": (v.INTERACTED, _captions(False)),
    "video_hide_cc_menu": (v.INTERACTED, _captions(False)),
    "edx.video.closed_captions.hidden": (v.INTERACTED, _captions(False)),
}


def block_version(course_id: str) -> str:
    """``block-v1`` for ``course-v1:...``, ``ccx-block-v1`` for ``ccx-v1:...`` course keys."""
    prefix = course_id.split(":")[0]
    version = "block-" + prefix.split("-")[-1]
    return f"ccx-{version}" if "ccx" in prefix else version


def usage_key(course_id: str, block_type: str, block_id: str) -> str | None:
    parts = course_id.split(":")
    if len(parts) < 2:
        return None
    return f"{block_version(course_id)}:{parts[1]}+type@{block_type}+block@{block_id}"


def video(b: Builder, event: Event) -> list[Statement]:
    verb, result = MAPPING[event.name]
    course_id = event.need_str("context.course_id")
    video_id = str(event.need("data.id"))
    cache_key = ("video", course_id, video_id)
    obj = b.shared_object(cache_key)
    if obj is None:
        key = usage_key(course_id, "video", video_id)
        if key is None:
            raise MalformedEvent(f"{event.name}: context.course_id is not a course key")
        obj = {
            "id": f"{b.root}/xblock/{key}",
            "objectType": "Activity",
            "definition": {"type": v.VIDEO},
        }
        obj = b.share_object(cache_key, obj)
    extensions = {v.EXT_VIDEO_LENGTH: _seconds(event, "data.duration")}
    return [
        b.statement(
            event,
            verb,
            obj,
            result=result(event),
            extensions=extensions,
            object_pruned=True,
            result_pruned=True,
        )
    ]


TRANSFORMS: dict[str, Transform] = dict.fromkeys(MAPPING, video)
