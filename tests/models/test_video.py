"""Video engagement: views, viewers, full/partial views, captions, the 5-second heatmap."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.courses.structure import CourseStructure
from aspects.models import run_report
from tests.models.conftest import COURSE, key
from tests.models.statements import at, save, video, voiding

LENGTH = 184.0  # 37 segments; a full view needs at least 34 (90%)


def _scenario(client: Client, db: str, demo: CourseStructure) -> str:
    clip = key(demo, "Welcome video")

    def v(who: str, second: float, verb: str, **kwargs: object) -> dict[str, object]:
        return video(who, at(5, 10, 0, second), clip, verb, length=LENGTH, **kwargs)  # type: ignore[arg-type]

    l3_play = v("L3", 0, "played", time=0)
    l1_pause = v("L1", 1, "paused", time=100)
    l4_pause = v("L4", 11, "paused", time=20)
    save(
        client,
        db,
        [
            # L1 watches everything in two plays: segments 0-19 and 20-36.
            v("L1", 0, "played", time=0),
            l1_pause,
            v("L1", 2, "played", time=100),
            v("L1", 3, "terminated", time=184),
            # L2: 0-30 s, seeks to 150, watches 150-160 s; turns captions on.
            v("L2", 0, "played", time=0),
            v("L2", 1, "paused", time=30),
            v("L2", 2, "seeked", time=30, seek_to=150),
            v("L2", 3, "played", time=150),
            v("L2", 4, "paused", time=160),
            v("L2", 5, "interacted", time=160, cc=True),
            # L3 plays to the end (completed).
            l3_play,
            v("L3", 1, "completed", time=184),
            # L4 plays at 10 s; the pause that would close the interval is voided.
            v("L4", 10, "played", time=10),
            l4_pause,
            v("L4", 12, "interacted", time=20, cc=False),
        ],
    )
    # Duplicates (stored again, not merged yet): a play and an event that closes an interval.
    save(client, db, [l3_play, l1_pause])
    save(client, db, [voiding(l4_pause, at(6))])
    return clip


def test_video_engagement(store: Client, db: str, demo: CourseStructure) -> None:
    _scenario(store, db, demo)
    result = run_report(store, db, "video_engagement", {"course_key": COURSE})
    rows = {r["video_name"]: r for r in result.as_dicts()}
    assert len(rows) == 4
    welcome = rows["Welcome video"]
    assert (
        welcome["views"],
        welcome["unique_viewers"],
        welcome["full_viewers"],
        welcome["partial_viewers"],
        welcome["caption_users"],
        welcome["length_seconds"],
    ) == (6, 4, 2, 2, 1, LENGTH)
    assert welcome["subsection_name"] == "Welcome"
    assert rows["Anatomy of an event"]["views"] == 0


def test_video_heatmap(store: Client, db: str, demo: CourseStructure) -> None:
    clip = _scenario(store, db, demo)
    result = run_report(store, db, "video_heatmap", {"course_key": COURSE, "video_id": clip})
    heat = {r["segment_start"]: (r["viewers"], r["plays"]) for r in result.as_dicts()}
    assert heat[0] == (3, 3)  # L1, L2, L3
    assert heat[25] == (3, 3)  # L2's 0-30 s ends in segment 5
    assert heat[30] == (2, 2)  # L1, L3
    assert heat[95] == (2, 2)  # L1's first play ends at 100 s, exactly at this segment's end
    assert heat[100] == (2, 2)  # so segment 20 is L1's replay only (and L3)
    assert heat[150] == (3, 3)  # L2 after the seek
    assert heat[160] == (2, 2)  # L2 stopped at 160 s
    assert heat[180] == (2, 2)
    assert sorted(heat) == list(range(0, 185, 5))
    assert {r["video_name"] for r in result.as_dicts()} == {"Welcome video"}
    segments = run_report(
        store, db, "video_watched_segments", {"course_key": COURSE, "video_id": clip}
    )
    per_learner: dict[str, int] = {}
    for row in segments.as_dicts():
        per_learner[row["actor_id"]] = per_learner.get(row["actor_id"], 0) + 1
    assert per_learner == {"L1": 37, "L2": 8, "L3": 37}
