//! The xAPI vocabulary (mirrors src/aspects/transform/xapi/vocabulary.py; same names).

use crate::builder::Verb;

pub const XAPI_VERSION: &str = "1.0.3";

pub const ATTEMPTED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/attempted",
    display: "attempted",
};
pub const EVALUATED: Verb = Verb {
    iri: "https://w3id.org/xapi/acrossx/verbs/evaluated",
    display: "evaluated",
};
pub const REGISTERED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/registered",
    display: "registered",
};
pub const UNREGISTERED: Verb = Verb {
    iri: "http://id.tincanapi.com/verb/unregistered",
    display: "unregistered",
};
pub const COMPLETED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/completed",
    display: "completed",
};
pub const PASSED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/passed",
    display: "passed",
};
pub const FAILED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/failed",
    display: "failed",
};
pub const NAVIGATED: Verb = Verb {
    iri: "https://w3id.org/xapi/dod-isd/verbs/navigated",
    display: "navigated",
};
pub const POSTED: Verb = Verb {
    iri: "https://w3id.org/xapi/acrossx/verbs/posted",
    display: "posted",
};
pub const EDITED: Verb = Verb {
    iri: "https://w3id.org/xapi/acrossx/verbs/edited",
    display: "edited",
};
pub const VIEWED: Verb = Verb {
    iri: "http://id.tincanapi.com/verb/viewed",
    display: "viewed",
};
pub const DELETED: Verb = Verb {
    iri: "https://w3id.org/xapi/dod-isd/verbs/deleted",
    display: "deleted",
};
pub const VOTED: Verb = Verb {
    iri: "https://w3id.org/xapi/openedx/verb/voted",
    display: "voted",
};
pub const REPORTED: Verb = Verb {
    iri: "https://w3id.org/xapi/acrossx/verbs/reported",
    display: "reported",
};
pub const UNREPORTED: Verb = Verb {
    iri: "https://w3id.org/xapi/openedx/verb/unreported",
    display: "unreported",
};
pub const EARNED: Verb = Verb {
    iri: "http://id.tincanapi.com/verb/earned",
    display: "earned",
};
pub const PROGRESSED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/progressed",
    display: "progressed",
};
pub const TERMINATED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/terminated",
    display: "terminated",
};
pub const ASKED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/asked",
    display: "asked",
};
pub const INITIALIZED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/initialized",
    display: "initialized",
};
pub const PLAYED: Verb = Verb {
    iri: "https://w3id.org/xapi/video/verbs/played",
    display: "played",
};
pub const PAUSED: Verb = Verb {
    iri: "https://w3id.org/xapi/video/verbs/paused",
    display: "paused",
};
pub const SEEKED: Verb = Verb {
    iri: "https://w3id.org/xapi/video/verbs/seeked",
    display: "seeked",
};
pub const INTERACTED: Verb = Verb {
    iri: "http://adlnet.gov/expapi/verbs/interacted",
    display: "interacted",
};
pub const QUESTION: &str = "http://adlnet.gov/expapi/activities/question";
pub const SOLUTION: &str = "http://id.tincanapi.com/activitytype/solution";
pub const RESOURCE: &str = "http://id.tincanapi.com/activitytype/resource";
pub const INTERACTION: &str = "http://adlnet.gov/expapi/activities/cmi.interaction";
pub const SUPPLEMENTAL_INFO: &str = "https://w3id.org/xapi/acrossx/extensions/supplemental-info";
pub const COURSE: &str = "http://adlnet.gov/expapi/activities/course";
pub const MODULE: &str = "http://adlnet.gov/expapi/activities/module";
pub const VIDEO: &str = "https://w3id.org/xapi/video/activity-type/video";
pub const DISCUSSION: &str = "http://id.tincanapi.com/activitytype/discussion";
pub const LINK: &str = "http://adlnet.gov/expapi/activities/link";
pub const TIMED_ASSESSMENT: &str = "https://w3id.org/xapi/openedx/activity/timed-assessment";
pub const PRACTICE_ASSESSMENT: &str = "https://w3id.org/xapi/openedx/activity/practice-assessment";
pub const PROCTORED_ASSESSMENT: &str =
    "https://w3id.org/xapi/openedx/activity/proctored-assessment";
pub const EXAM_ATTEMPT: &str = "http://adlnet.gov/expapi/activities/attempt";
pub const EXT_TOTAL_ITEMS: &str = "https://w3id.org/xapi/acrossx/extensions/total-items";
pub const EXT_MODE: &str = "https://w3id.org/xapi/acrossx/extensions/type";
pub const EXT_ATTEMPT_ID: &str = "http://id.tincanapi.com/extension/attempt-id";
pub const EXT_GRADE_CLASSIFICATION: &str =
    "http://www.tincanapi.co.uk/activitytypes/grade_classification";
pub const EXT_PROGRESS: &str = "https://w3id.org/xapi/cmi5/result/extensions/progress";
pub const EXT_TIME_LIMIT: &str = "https://w3id.org/xapi/acrossx/extensions/time-limit";
pub const EXT_ATTEMPT_STARTED: &str = "https://w3id.org/xapi/openedx/extension/attempt-started";
pub const EXT_ATTEMPT_COMPLETED: &str = "https://w3id.org/xapi/openedx/extension/attempt-completed";
pub const EXT_DURATION: &str = "http://id.tincanapi.com/extension/duration";
pub const EXT_VIDEO_LENGTH: &str = "https://w3id.org/xapi/video/extensions/length";
pub const EXT_STARTING_POSITION: &str = "http://id.tincanapi.com/extension/starting-position";
pub const EXT_ENDING_POSITION: &str = "http://id.tincanapi.com/extension/ending-point";
pub const EXT_SESSION_ID: &str = "https://w3id.org/xapi/openedx/extensions/session-id";
pub const EXT_TRANSFORMER_VERSION: &str =
    "https://w3id.org/xapi/openedx/extension/transformer-version";
pub const EXT_VIDEO_TIME: &str = "https://w3id.org/xapi/video/extensions/time";
pub const EXT_VIDEO_TIME_FROM: &str = "https://w3id.org/xapi/video/extensions/time-from";
pub const EXT_VIDEO_TIME_TO: &str = "https://w3id.org/xapi/video/extensions/time-to";
pub const EXT_SPEED_FROM: &str = "https://w3id.org/xapi/openedx/extension/speed-from";
pub const EXT_SPEED_TO: &str = "https://w3id.org/xapi/openedx/extension/speed-to";
pub const EXT_CC_ENABLED: &str = "https://w3id.org/xapi/video/extensions/cc-enabled";
