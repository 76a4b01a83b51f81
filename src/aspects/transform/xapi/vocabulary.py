"""The xAPI vocabulary event-routing-backends uses (verbs, activity types, extensions).

Kept as data so that each family module reads like the mapping it implements.
"""

from __future__ import annotations

from typing import Final

XAPI_VERSION: Final = "1.0.3"


def verb(iri: str, display: str) -> dict[str, object]:
    return {"id": iri, "display": {"en": display}}


ATTEMPTED = verb("http://adlnet.gov/expapi/verbs/attempted", "attempted")
EVALUATED = verb("https://w3id.org/xapi/acrossx/verbs/evaluated", "evaluated")
REGISTERED = verb("http://adlnet.gov/expapi/verbs/registered", "registered")
UNREGISTERED = verb("http://id.tincanapi.com/verb/unregistered", "unregistered")
COMPLETED = verb("http://adlnet.gov/expapi/verbs/completed", "completed")
PASSED = verb("http://adlnet.gov/expapi/verbs/passed", "passed")
FAILED = verb("http://adlnet.gov/expapi/verbs/failed", "failed")
NAVIGATED = verb("https://w3id.org/xapi/dod-isd/verbs/navigated", "navigated")
POSTED = verb("https://w3id.org/xapi/acrossx/verbs/posted", "posted")
EDITED = verb("https://w3id.org/xapi/acrossx/verbs/edited", "edited")
VIEWED = verb("http://id.tincanapi.com/verb/viewed", "viewed")
DELETED = verb("https://w3id.org/xapi/dod-isd/verbs/deleted", "deleted")
VOTED = verb("https://w3id.org/xapi/openedx/verb/voted", "voted")
REPORTED = verb("https://w3id.org/xapi/acrossx/verbs/reported", "reported")
UNREPORTED = verb("https://w3id.org/xapi/openedx/verb/unreported", "unreported")
EARNED = verb("http://id.tincanapi.com/verb/earned", "earned")
PROGRESSED = verb("http://adlnet.gov/expapi/verbs/progressed", "progressed")
TERMINATED = verb("http://adlnet.gov/expapi/verbs/terminated", "terminated")
ASKED = verb("http://adlnet.gov/expapi/verbs/asked", "asked")
INITIALIZED = verb("http://adlnet.gov/expapi/verbs/initialized", "initialized")
PLAYED = verb("https://w3id.org/xapi/video/verbs/played", "played")
PAUSED = verb("https://w3id.org/xapi/video/verbs/paused", "paused")
SEEKED = verb("https://w3id.org/xapi/video/verbs/seeked", "seeked")
INTERACTED = verb("http://adlnet.gov/expapi/verbs/interacted", "interacted")

# activity types
QUESTION = "http://adlnet.gov/expapi/activities/question"
SOLUTION = "http://id.tincanapi.com/activitytype/solution"
RESOURCE = "http://id.tincanapi.com/activitytype/resource"
INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
SUPPLEMENTAL_INFO = "https://w3id.org/xapi/acrossx/extensions/supplemental-info"
COURSE = "http://adlnet.gov/expapi/activities/course"
MODULE = "http://adlnet.gov/expapi/activities/module"
VIDEO = "https://w3id.org/xapi/video/activity-type/video"
DISCUSSION = "http://id.tincanapi.com/activitytype/discussion"
LINK = "http://adlnet.gov/expapi/activities/link"
TIMED_ASSESSMENT = "https://w3id.org/xapi/openedx/activity/timed-assessment"
PRACTICE_ASSESSMENT = "https://w3id.org/xapi/openedx/activity/practice-assessment"
PROCTORED_ASSESSMENT = "https://w3id.org/xapi/openedx/activity/proctored-assessment"
EXAM_ATTEMPT = "http://adlnet.gov/expapi/activities/attempt"

# extensions
EXT_TOTAL_ITEMS = "https://w3id.org/xapi/acrossx/extensions/total-items"
EXT_MODE = "https://w3id.org/xapi/acrossx/extensions/type"
EXT_ATTEMPT_ID = "http://id.tincanapi.com/extension/attempt-id"
EXT_GRADE_CLASSIFICATION = "http://www.tincanapi.co.uk/activitytypes/grade_classification"
EXT_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
EXT_TIME_LIMIT = "https://w3id.org/xapi/acrossx/extensions/time-limit"
EXT_ATTEMPT_STARTED = "https://w3id.org/xapi/openedx/extension/attempt-started"
EXT_ATTEMPT_COMPLETED = "https://w3id.org/xapi/openedx/extension/attempt-completed"
EXT_DURATION = "http://id.tincanapi.com/extension/duration"
EXT_VIDEO_LENGTH = "https://w3id.org/xapi/video/extensions/length"
EXT_STARTING_POSITION = "http://id.tincanapi.com/extension/starting-position"
EXT_ENDING_POSITION = "http://id.tincanapi.com/extension/ending-point"
EXT_SESSION_ID = "https://w3id.org/xapi/openedx/extensions/session-id"
EXT_TRANSFORMER_VERSION = "https://w3id.org/xapi/openedx/extension/transformer-version"
EXT_VIDEO_TIME = "https://w3id.org/xapi/video/extensions/time"
EXT_VIDEO_TIME_FROM = "https://w3id.org/xapi/video/extensions/time-from"
EXT_VIDEO_TIME_TO = "https://w3id.org/xapi/video/extensions/time-to"
EXT_SPEED_FROM = "https://w3id.org/xapi/openedx/extension/speed-from"
EXT_SPEED_TO = "https://w3id.org/xapi/openedx/extension/speed-to"
EXT_CC_ENABLED = "https://w3id.org/xapi/video/extensions/cc-enabled"
