"""A realistic demo site, emitted as real tracking-log lines.

Learners enrol (some late, some change mode, some leave and come back), open the course outline,
walk through units in order, watch videos (partly or fully, with pauses, seeks, transcripts and
captions), answer problems (right or wrong by their ability, retrying), get subsection and course
grades, pass, post in the forums, and drop out at their own pace. The events have the shapes the
LMS writes to tracking.log (server events with ``event`` as an object, browser events with
``event`` as a JSON string, ``time`` and not ``timestamp``), one file per day, the newest plain,
the older gzipped as logrotate leaves them. Everything is derived from a seed, so the same
arguments give the same files.

The course structure comes in the LMS Course Blocks API shape (``{usage key: {"type",
"display_name", "children", "graded"}}``), so the generator follows whatever course it is given.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

Blocks = Mapping[str, Mapping[str, Any]]

_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]
_LANGUAGES = ["en-US,en;q=0.9", "fr-FR,fr;q=0.8,en;q=0.5", "es-ES,es;q=0.9", "de-DE,de;q=0.9"]


@dataclass(frozen=True)
class DemoCourse:
    """One course run of the demo: its key, name and structure."""

    course_key: str
    display_name: str
    blocks: Blocks
    root: str


@dataclass
class DemoConfig:
    learners: int = 400
    weeks: int = 6
    start: dt.date = field(default_factory=lambda: dt.date.today() - dt.timedelta(weeks=6))
    seed: int = 42
    lms_host: str = "localhost:18000"
    logger_prefix: bool = True
    first_user_id: int = 100


@dataclass
class _Unit:
    chapter: str
    sequential: str
    sequential_name: str
    graded: bool
    vertical: str
    components: list[tuple[str, str, str]]  # (type, usage key, display name)


@dataclass
class _Learner:
    user_id: int
    username: str
    course: DemoCourse
    units: list[_Unit]
    enroll_day: int
    mode: str
    ability: float
    activity: float
    weekly_dropout: float
    agent: str
    language: str
    ip: str
    position: int = 0
    enrolled: bool = False
    dropped: bool = False
    passed: bool = False
    earned: dict[str, float] = field(default_factory=dict)  # problem -> best score
    attempts: dict[str, int] = field(default_factory=dict)


def course_units(course: DemoCourse) -> list[_Unit]:
    """The course's units in outline order, with their components."""
    blocks = course.blocks
    units: list[_Unit] = []
    for chapter in blocks[course.root].get("children", []):
        for sequential in blocks[chapter].get("children", []):
            seq = blocks[sequential]
            for vertical in seq.get("children", []):
                components = [
                    (blocks[child]["type"], child, str(blocks[child].get("display_name", "")))
                    for child in blocks[vertical].get("children", [])
                ]
                units.append(
                    _Unit(
                        chapter,
                        sequential,
                        str(seq.get("display_name", "")),
                        bool(seq.get("graded")),
                        vertical,
                        components,
                    )
                )
    return units


def _block_hash(usage_key: str) -> str:
    return usage_key.rsplit("@", 1)[-1]


class _Emitter:
    """Builds events in the tracking-log shape for one learner session."""

    def __init__(self, config: DemoConfig, learner: _Learner, session: str) -> None:
        self.config = config
        self.learner = learner
        self.session = session
        self.events: list[tuple[dt.datetime, dict[str, Any]]] = []
        # ERB's statement ids hash actor, verb and time: two events of one learner at the same
        # instant could collapse into one statement, so every instant is used once.
        self._instants: set[dt.datetime] = set()

    def _context(self, path: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        learner = self.learner
        course_key = learner.course.course_key
        context: dict[str, Any] = {
            "course_id": course_key,
            "course_user_tags": {},
            "org_id": course_key.split(":", 1)[1].split("+", 1)[0],
            "path": path,
            "user_id": learner.user_id,
            "enterprise_uuid": "",
        }
        if extra:
            context.update(extra)
        return context

    def emit(
        self,
        when: dt.datetime,
        name: str,
        data: dict[str, Any],
        *,
        browser: bool = False,
        path: str = "/event",
        page: str | None = None,
        module: str | None = None,
    ) -> None:
        while when in self._instants:
            when += dt.timedelta(milliseconds=1)
        self._instants.add(when)
        learner = self.learner
        host = self.config.lms_host
        course_key = learner.course.course_key
        context = self._context(path)
        if module is not None:
            context["module"] = {"display_name": "", "usage_key": module}
        page = page or f"http://{host}/courses/{course_key}/courseware/"
        event: dict[str, Any] = {
            "name": name,
            "context": context,
            "username": learner.username,
            "session": self.session,
            "ip": learner.ip,
            "agent": learner.agent,
            "host": host,
            "referer": page,
            "accept_language": learner.language,
            # Browser events carry their payload as a JSON string, server events as an object.
            "event": orjson.dumps(data).decode() if browser else data,
            "time": when.isoformat(),
            "event_type": name,
            "event_source": "browser" if browser else "server",
            "page": page if browser else "x_module",
        }
        self.events.append((when, event))


def _timestamp(base: dt.datetime, seconds: float) -> dt.datetime:
    return base + dt.timedelta(seconds=seconds)


class _Simulation:
    def __init__(self, config: DemoConfig, courses: list[DemoCourse]) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 (simulation, not security)
        self.courses = courses
        self.units = {course.course_key: course_units(course) for course in courses}
        self.learners = [self._new_learner(index) for index in range(config.learners)]
        self.threads: dict[str, list[str]] = {course.course_key: [] for course in courses}

    def _new_learner(self, index: int) -> _Learner:
        rng = self.rng
        course = self.courses[index % len(self.courses)]
        days = self.config.weeks * 7
        # Most learners enrol in the first fortnight, a tail later.
        enroll_day = min(days - 1, int(rng.expovariate(1 / 6)))
        return _Learner(
            user_id=self.config.first_user_id + index,
            username=f"learner{index:05d}",
            course=course,
            units=self.units[course.course_key],
            enroll_day=enroll_day,
            mode="verified" if rng.random() < 0.25 else "audit",
            ability=rng.betavariate(5, 2.5),
            activity=rng.betavariate(2, 3),
            weekly_dropout=rng.uniform(0.03, 0.3),
            agent=rng.choice(_AGENTS),
            language=rng.choice(_LANGUAGES),
            ip=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        )

    def day(self, day: int) -> list[tuple[dt.datetime, dict[str, Any]]]:
        """Every event of one day, in time order."""
        date = self.config.start + dt.timedelta(days=day)
        events: list[tuple[dt.datetime, dict[str, Any]]] = []
        for learner in self.learners:
            events.extend(self._learner_day(learner, day, date))
        events.sort(key=lambda item: item[0])
        return events

    def _learner_day(
        self, learner: _Learner, day: int, date: dt.date
    ) -> list[tuple[dt.datetime, dict[str, Any]]]:
        rng = self.rng
        if day < learner.enroll_day or learner.dropped:
            return []
        start = dt.datetime.combine(date, dt.time(), dt.UTC) + dt.timedelta(
            hours=rng.choice([8, 9, 12, 13, 18, 19, 20, 21, 22]), minutes=rng.randrange(60)
        )
        emitter = _Emitter(self.config, learner, uuid.UUID(int=rng.getrandbits(128)).hex)
        course_key = learner.course.course_key
        if day == learner.enroll_day and not learner.enrolled:
            learner.enrolled = True
            data = {"course_id": course_key, "mode": learner.mode, "user_id": learner.user_id}
            emitter.emit(start, "edx.course.enrollment.activated", data, path="/change_enrollment")
            if learner.mode == "verified" and rng.random() < 0.2:
                # Upgraded a little later: audit first, then verified.
                data = dict(data, mode="verified")
                emitter.emit(
                    _timestamp(start, 40), "edx.course.enrollment.mode_changed", data, path="/"
                )
        elif day % 7 == 0 and rng.random() < learner.weekly_dropout:
            learner.dropped = True
            if rng.random() < 0.25:
                data = {"course_id": course_key, "mode": learner.mode, "user_id": learner.user_id}
                emitter.emit(
                    start, "edx.course.enrollment.deactivated", data, path="/change_enrollment"
                )
                learner.enrolled = False
            return emitter.events
        if not learner.enrolled:
            return emitter.events
        if rng.random() < learner.activity * 0.8:
            self._session(emitter, _timestamp(start, 60))
        return emitter.events

    def _session(self, emitter: _Emitter, start: dt.datetime) -> None:
        rng = self.rng
        learner = emitter.learner
        course_key = learner.course.course_key
        host = self.config.lms_host
        clock = 0.0
        if learner.position >= len(learner.units):
            # Finished: come back to look at the forum or review a video.
            learner.position = rng.randrange(len(learner.units))
        unit = learner.units[learner.position]
        emitter.emit(
            _timestamp(start, clock),
            "edx.ui.lms.outline.selected",
            {
                "current_url": f"http://{host}/courses/{course_key}/course/",
                "target_name": unit.sequential_name,
                "target_url": f"http://{host}/courses/{course_key}/jump_to/{unit.sequential}",
                "widget_placement": "accordion",
            },
            browser=True,
            page=f"http://{host}/courses/{course_key}/course/",
        )
        for _ in range(rng.randint(1, 4)):
            if learner.position >= len(learner.units):
                break
            unit = learner.units[learner.position]
            clock += rng.uniform(5, 30)
            siblings = [u for u in learner.units if u.sequential == unit.sequential]
            tab = siblings.index(unit) + 1
            emitter.emit(
                _timestamp(start, clock),
                "edx.ui.lms.sequence.next_selected"
                if tab > 1
                else "edx.ui.lms.sequence.tab_selected",
                {
                    "current_tab": max(1, tab - 1),
                    "id": unit.sequential,
                    "tab_count": len(siblings),
                    "target_tab": tab,
                    "widget_placement": "top",
                },
                browser=True,
            )
            for kind, key, _name in unit.components:
                clock += rng.uniform(3, 20)
                if kind == "video":
                    clock = self._video(emitter, start, clock, key)
                elif kind == "problem":
                    clock = self._problem(emitter, start, clock, key)
                self._completion(emitter, _timestamp(start, clock), key, kind)
            if unit.graded:
                self._subsection_grade(emitter, _timestamp(start, clock + 1), unit)
            learner.position += 1
        if rng.random() < 0.08:
            self._forum(emitter, _timestamp(start, clock + rng.uniform(30, 300)))

    def _video(self, emitter: _Emitter, start: dt.datetime, clock: float, key: str) -> float:
        rng = self.rng
        duration = 60 + (int(_block_hash(key)[:4], 16) % 540)
        ids = {"id": _block_hash(key), "code": "html5", "duration": duration}
        emitter.emit(_timestamp(start, clock), "load_video", ids, browser=True)
        watch = (
            duration if rng.random() < emitter.learner.ability * 0.9 else rng.uniform(5, duration)
        )
        position = 0.0
        clock += 2
        if rng.random() < 0.15:
            emitter.emit(
                _timestamp(start, clock),
                "show_transcript",
                {**ids, "current_time": position},
                browser=True,
            )
        if rng.random() < 0.1:
            emitter.emit(
                _timestamp(start, clock),
                "edx.video.closed_captions.shown",
                {**ids, "current_time": position},
                browser=True,
            )
        while position < watch:
            emitter.emit(
                _timestamp(start, clock),
                "play_video",
                {**ids, "currentTime": position},
                browser=True,
            )
            segment = min(watch - position, rng.uniform(20, duration))
            position += segment
            clock += segment
            if position >= duration:
                break
            if rng.random() < 0.2:
                new_time = max(0.0, position - rng.uniform(5, 30))
                emitter.emit(
                    _timestamp(start, clock),
                    "seek_video",
                    {**ids, "old_time": position, "new_time": new_time, "type": "onSlideSeek"},
                    browser=True,
                )
                position = new_time
            else:
                emitter.emit(
                    _timestamp(start, clock),
                    "pause_video",
                    {**ids, "currentTime": position},
                    browser=True,
                )
                clock += rng.uniform(1, 20)
                if rng.random() < 0.3:
                    break
        if position >= duration:
            emitter.emit(_timestamp(start, clock), "complete_video", ids, browser=True)
        emitter.emit(
            _timestamp(start, clock + 0.5),
            "stop_video",
            {**ids, "currentTime": min(position, duration)},
            browser=True,
        )
        return clock + 1

    def _problem(self, emitter: _Emitter, start: dt.datetime, clock: float, key: str) -> float:
        rng = self.rng
        learner = emitter.learner
        course_key = learner.course.course_key
        response_id = f"{_block_hash(key)}_2_1"
        path = f"/courses/{course_key}/xblock/{key}/handler/xmodule_handler/problem_check"
        for _ in range(3):
            clock += rng.uniform(10, 90)
            attempt = learner.attempts.get(key, 0) + 1
            learner.attempts[key] = attempt
            # Ability sets the chance of a right answer; each retry helps a little.
            correct = rng.random() < min(0.97, learner.ability * (0.75 + 0.15 * attempt))
            choice = "choice_1" if correct else rng.choice(["choice_0", "choice_2", "choice_3"])
            correctness = "correct" if correct else "incorrect"
            correct_map = {
                response_id: {
                    "answervariable": None,
                    "correctness": correctness,
                    "hint": "",
                    "hintmode": None,
                    "msg": "",
                    "npoints": None,
                    "queuestate": None,
                }
            }
            grade = 1 if correct else 0
            data = {
                "answers": {response_id: choice},
                "attempts": attempt,
                "correct_map": correct_map,
                "grade": grade,
                "max_grade": 1,
                "problem_id": key,
                "state": {
                    "correct_map": {},
                    "done": attempt > 1,
                    "has_saved_answers": False,
                    "input_state": {response_id: {}},
                    "seed": 1,
                    "student_answers": {},
                },
                "submission": {
                    response_id: {
                        "answer": "The right answer" if correct else "A wrong answer",
                        "correct": correct,
                        "group_label": "",
                        "input_type": "choicegroup",
                        "question": "Which of these is right?",
                        "response_type": "multiplechoiceresponse",
                        "variant": "",
                    }
                },
                "success": correctness,
            }
            when = _timestamp(start, clock)
            emitter.emit(when, "problem_check", data, path=path, module=key)
            emitter.emit(
                _timestamp(start, clock + 0.1),
                "edx.grades.problem.submitted",
                {
                    "course_id": course_key,
                    "event_transaction_id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "event_transaction_type": "edx.grades.problem.submitted",
                    "problem_id": key,
                    "user_id": str(learner.user_id),
                    "weighted_earned": grade,
                    "weighted_possible": 1,
                },
                path=path,
                module=key,
            )
            learner.earned[key] = max(learner.earned.get(key, 0.0), float(grade))
            if correct or rng.random() < 0.4:
                break
        return clock

    def _completion(self, emitter: _Emitter, when: dt.datetime, key: str, kind: str) -> None:
        learner = emitter.learner
        emitter.emit(
            when,
            "edx.completion.block_completion.changed",
            {
                "user_id": learner.user_id,
                "course_id": learner.course.course_key,
                "context_key": learner.course.course_key,
                "block_id": key,
                "block_type": kind,
                "completion": 1.0,
                "is_new": True,
            },
            path=f"/courses/{learner.course.course_key}/xblock/{key}/handler/progress",
            module=key,
        )

    def _subsection_grade(self, emitter: _Emitter, when: dt.datetime, unit: _Unit) -> None:
        learner = emitter.learner
        course_key = learner.course.course_key
        problems = [
            key
            for u in learner.units
            if u.sequential == unit.sequential
            for kind, key, _ in u.components
            if kind == "problem"
        ]
        earned = sum(learner.earned.get(key, 0.0) for key in problems)
        emitter.emit(
            when,
            "edx.grades.subsection.grade_calculated",
            {
                "user_id": str(learner.user_id),
                "course_id": course_key,
                "block_id": unit.sequential,
                "course_version": "demo",
                "weighted_total_earned": earned,
                "weighted_total_possible": float(len(problems)),
                "weighted_graded_earned": earned,
                "weighted_graded_possible": float(len(problems)),
                "first_attempted": when.isoformat(sep=" "),
                "subtree_edited_timestamp": when.isoformat(sep=" "),
                "event_transaction_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "event_transaction_type": "edx.grades.problem.submitted",
                "visible_blocks_hash": "demo",
            },
        )
        graded = [
            key
            for u in learner.units
            if u.graded
            for kind, key, _ in u.components
            if kind == "problem"
        ]
        percent = round(sum(learner.earned.get(k, 0.0) for k in graded) / max(1, len(graded)), 4)
        passed = percent >= 0.5
        emitter.emit(
            _timestamp(when, 0.2),
            "edx.grades.course.grade_calculated",
            {
                "user_id": str(learner.user_id),
                "course_id": course_key,
                "course_version": "demo",
                "percent_grade": percent,
                "letter_grade": "Pass" if passed else "",
                "course_edited_timestamp": when.isoformat(sep=" "),
                "event_transaction_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "event_transaction_type": "edx.grades.problem.submitted",
                "grading_policy_hash": "demo",
            },
        )
        if passed and not learner.passed:
            learner.passed = True
            data = {"course_id": course_key, "user_id": learner.user_id}
            emitter.emit(_timestamp(when, 0.3), "edx.course.grade.passed.first_time", data)
            # A distinct instant: ERB's ids hash actor, verb and time, and both say "passed".
            emitter.emit(_timestamp(when, 0.301), "edx.course.grade.now_passed", data)

    def _forum(self, emitter: _Emitter, when: dt.datetime) -> None:
        rng = self.rng
        course_key = emitter.learner.course.course_key
        threads = self.threads[course_key]
        common = {
            "commentable_id": "course",
            "options": {"followed": True},
            "from_mfe_sidebar": False,
            "truncated": False,
            "url": f"http://{self.config.lms_host}/courses/{course_key}/discussion/forum",
            "user_forums_roles": ["Student"],
            "user_course_roles": [],
        }
        if not threads or rng.random() < 0.4:
            thread_id = uuid.UUID(int=rng.getrandbits(128)).hex[:24]
            threads.append(thread_id)
            emitter.emit(
                when,
                "edx.forum.thread.created",
                {
                    **common,
                    "group_id": None,
                    "thread_type": rng.choice(["discussion", "question"]),
                    "anonymous": False,
                    "anonymous_to_peers": False,
                    "title_truncated": False,
                    "title": "A question about this week",
                    "body": "<p>Could someone explain the second problem?</p>",
                    "id": thread_id,
                },
                path="/api/discussion/v1/threads/",
            )
            return
        thread_id = rng.choice(threads)
        emitter.emit(
            when,
            "edx.forum.thread.viewed",
            {
                **common,
                "id": thread_id,
                "title": "A question about this week",
                "title_truncated": False,
            },
            path=f"/api/discussion/v1/threads/{thread_id}",
        )
        emitter.emit(
            _timestamp(when, 45),
            "edx.forum.response.created",
            {
                **common,
                "discussion": {"id": thread_id},
                "body": "<p>Here is how I understood it.</p>",
                "id": uuid.UUID(int=rng.getrandbits(128)).hex[:24],
            },
            path="/api/discussion/v1/comments/",
        )


def generate_events(
    config: DemoConfig, courses: list[DemoCourse]
) -> Iterator[tuple[dt.date, list[dict[str, Any]]]]:
    """(day, that day's events in time order), day by day."""
    simulation = _Simulation(config, courses)
    for day in range(config.weeks * 7):
        date = config.start + dt.timedelta(days=day)
        yield date, [event for _when, event in simulation.day(day)]


def format_line(event: dict[str, Any], logger_prefix: bool) -> str:
    """One tracking.log line, optionally behind the logger prefix some deployments write."""
    body = orjson.dumps(event).decode()
    if not logger_prefix:
        return body
    when = dt.datetime.fromisoformat(event["time"])
    stamp = when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"
    user, ip = event["context"]["user_id"], event["ip"]
    return f"{stamp} INFO 7 [tracking] [user {user}] [ip {ip}] logger.py:41 - {body}"


def write_logs(
    config: DemoConfig, courses: list[DemoCourse], directory: Path
) -> tuple[int, list[Path]]:
    """Write the demo site's tracking logs into ``directory``; returns (events, files).

    Days before the last go to ``tracking.log-YYYYMMDD.gz`` (rotated and compressed, as logrotate
    with dateext leaves them), the last day to ``tracking.log``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    days = list(range(config.weeks * 7))
    count = 0
    files: list[Path] = []
    for index, (date, events) in enumerate(generate_events(config, courses)):
        last = index == len(days) - 1
        path = directory / ("tracking.log" if last else f"tracking.log-{date:%Y%m%d}.gz")
        opener: Any = open if last else gzip.open
        with opener(path, "wt", encoding="utf-8") as handle:
            for event in events:
                handle.write(format_line(event, config.logger_prefix))
                handle.write("\n")
        count += len(events)
        files.append(path)
    return count, files
