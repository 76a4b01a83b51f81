from tests.lms.fixtures import lms, lms_state  # noqa: F401
