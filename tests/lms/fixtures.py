"""Reusable pytest fixtures around the test LMS.

Import them into a test package's conftest.py::

    from tests.lms.fixtures import lms, lms_state  # noqa: F401

``lms_state`` is a fresh population per test (see :func:`demo_state`); ``lms`` serves it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lms.server import LMSState, RunningLMS, running_lms

COURSE_A = "course-v1:OrgA+Chem101+2026"
COURSE_B = "course-v1:OrgB+Phys201+2026"
COURSE_C = "course-v1:OrgA+Bio110+2026"
CLIENT_ID = "aspects-sso"
CLIENT_SECRET = "aspects-sso-secret"


def demo_state(redirect_uris: list[str] | None = None) -> LMSState:
    """Users of every kind the role mapping distinguishes, and three courses.

    - ``superuser``: LMS superuser; ``staff``: global staff (``administrator``);
    - ``instructor_a``: course staff of COURSE_A and COURSE_C; ``instructor_b``: of COURSE_B;
    - ``learner``: no role anywhere.
    """
    state = LMSState()
    state.add_user("superuser", superuser=True, administrator=True, name="Ada Admin")
    state.add_user("staff", administrator=True, name="Sam Staff")
    state.add_user("instructor_a", name="Ina Alpha")
    state.add_user("instructor_b", name="Ben Beta")
    state.add_user("learner", name="Lee Learner")
    state.add_course(COURSE_A, "Chemistry 101", {"instructor_a"})
    state.add_course(COURSE_B, "Physics 201", {"instructor_b"})
    state.add_course(COURSE_C, "Biology 110", {"instructor_a"})
    state.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris or [])
    return state


@pytest.fixture
def lms_state() -> LMSState:
    return demo_state()


@pytest.fixture
def lms(lms_state: LMSState) -> Iterator[RunningLMS]:
    with running_lms(lms_state) as running:
        yield running
