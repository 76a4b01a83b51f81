-- Report facts: narrow tables extracted from the raw xAPI table at insert time by materialized
-- views, so reports never parse JSON at query time (see docs/reports.md for every figure).
--
-- Deduplication: a materialized view fires on every INSERT, so a re-inserted statement reaches
-- these tables again. Each fact table is a ReplacingMergeTree whose sorting key ends with
-- statement_id (and holds only values derived from the statement itself), so copies of one
-- statement are identical keys: merges collapse them and readers use FINAL.
-- Voiding: voided_statements lists every voided statement id; reports leave those ids out.
--
-- aspects:retention voided_statements stored_time
-- aspects:retention fact_enrollment emission_time
-- aspects:retention fact_video emission_time
-- aspects:retention fact_problem emission_time
-- aspects:retention fact_navigation emission_time
-- aspects:retention fact_grades emission_time
-- aspects:retention fact_completion emission_time
-- aspects:retention fact_forum emission_time
-- aspects:sharding voided_statements cityHash64(voided_id)
-- aspects:sharding fact_enrollment cityHash64(statement_id)
-- aspects:sharding fact_video cityHash64(statement_id)
-- aspects:sharding fact_problem cityHash64(statement_id)
-- aspects:sharding fact_navigation cityHash64(statement_id)
-- aspects:sharding fact_grades cityHash64(statement_id)
-- aspects:sharding fact_completion cityHash64(statement_id)
-- aspects:sharding fact_forum cityHash64(statement_id)

-- Voiding statements (verb voided, object a StatementRef): the ids they void.
CREATE TABLE IF NOT EXISTS ${db}.voided_statements ${on_cluster}
(
    voided_id UUID,
    voiding_statement_id UUID,
    stored_time DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (voided_id, voiding_statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.voided_statements_mv ${on_cluster}
TO ${db}.voided_statements AS
SELECT toUUIDOrZero(object_id) AS voided_id, statement_id AS voiding_statement_id, stored_time
FROM ${db}.xapi_statements
WHERE verb_id = 'http://adlnet.gov/expapi/verbs/voided'
  AND JSONExtractString(statement, 'object', 'objectType') = 'StatementRef';

-- Enrollment events: registered (enrollment activated or mode changed) and unregistered.
CREATE TABLE IF NOT EXISTS ${db}.fact_enrollment ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    stored_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    action LowCardinality(String),
    enrollment_mode LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, actor_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_enrollment_mv ${on_cluster}
TO ${db}.fact_enrollment AS
SELECT statement_id, emission_time, stored_time, org, course_key, actor_id,
       replaceRegexpOne(verb_id, '^.*/', '') AS action,
       JSONExtractString(statement, 'object', 'definition', 'extensions',
                         'https://w3id.org/xapi/acrossx/extensions/type') AS enrollment_mode
FROM ${db}.xapi_statements
WHERE verb_id IN ('http://adlnet.gov/expapi/verbs/registered',
                  'http://id.tincanapi.com/verb/unregistered')
  AND object_type = 'http://adlnet.gov/expapi/activities/course';

-- Video player events, one row per statement. video_time is the playhead (for seeked: where the
-- seek started), seek_to the seek target, video_length the length the player reported.
CREATE TABLE IF NOT EXISTS ${db}.fact_video ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    video_id String,
    verb LowCardinality(String),
    video_time Float64,
    seek_to Float64,
    video_length Float64,
    cc_enabled Nullable(Bool)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, video_id, actor_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_video_mv ${on_cluster}
TO ${db}.fact_video AS
SELECT statement_id, emission_time, org, course_key, actor_id,
       block_id AS video_id,
       replaceRegexpOne(verb_id, '^.*/', '') AS verb,
       if(verb = 'seeked',
          JSONExtractFloat(statement, 'result', 'extensions',
                           'https://w3id.org/xapi/video/extensions/time-from'),
          JSONExtractFloat(statement, 'result', 'extensions',
                           'https://w3id.org/xapi/video/extensions/time')) AS video_time,
       JSONExtractFloat(statement, 'result', 'extensions',
                        'https://w3id.org/xapi/video/extensions/time-to') AS seek_to,
       JSONExtractFloat(statement, 'context', 'extensions',
                        'https://w3id.org/xapi/video/extensions/length') AS video_length,
       if(JSONHas(statement, 'result', 'extensions',
                  'https://w3id.org/xapi/video/extensions/cc-enabled'),
          JSONExtractBool(statement, 'result', 'extensions',
                          'https://w3id.org/xapi/video/extensions/cc-enabled'),
          NULL) AS cc_enabled
FROM ${db}.xapi_statements
WHERE object_type = 'https://w3id.org/xapi/video/activity-type/video';

-- Graded problem checks (verb evaluated). problem_id is the problem block; question_id is the
-- object's own id, which for a problem with several questions ends with _<n>_<m> and carries
-- that question's response and correctness (is_question = 1).
CREATE TABLE IF NOT EXISTS ${db}.fact_problem ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    problem_id String,
    question_id String,
    is_question Bool,
    success Nullable(Bool),
    score_scaled Nullable(Float64),
    score_raw Nullable(Float64),
    score_max Nullable(Float64),
    response String,
    attempt UInt32
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, problem_id, actor_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_problem_mv ${on_cluster}
TO ${db}.fact_problem AS
SELECT statement_id, emission_time, org, course_key, actor_id,
       replaceRegexpOne(block_id, '_\\d+_\\d+$$', '') AS problem_id,
       block_id AS question_id,
       problem_id != question_id AS is_question,
       result_success AS success,
       result_score_scaled AS score_scaled,
       result_score_raw AS score_raw,
       result_score_max AS score_max,
       JSONExtractString(statement, 'result', 'response') AS response,
       JSONExtractUInt(statement, 'object', 'definition', 'extensions',
                       'http://id.tincanapi.com/extension/attempt-id') AS attempt
FROM ${db}.xapi_statements
WHERE verb_id = 'https://w3id.org/xapi/acrossx/verbs/evaluated'
  AND object_type = 'http://adlnet.gov/expapi/activities/cmi.interaction'
  AND block_id != '';

-- Navigation within the courseware (verb navigated): block_id is the subsection (sequential)
-- the learner went to or moved within.
CREATE TABLE IF NOT EXISTS ${db}.fact_navigation ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    block_id String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, block_id, actor_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_navigation_mv ${on_cluster}
TO ${db}.fact_navigation AS
SELECT statement_id, emission_time, org, course_key, actor_id, block_id
FROM ${db}.xapi_statements
WHERE verb_id = 'https://w3id.org/xapi/dod-isd/verbs/navigated' AND block_id != '';

-- Grades and certificates. kind: course (course grade calculated, verb earned on the course),
-- subsection (subsection grade calculated, verb earned on a sequential), passed / failed (the
-- course grade crossed the pass mark), certificate (a certificate was earned).
CREATE TABLE IF NOT EXISTS ${db}.fact_grades ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    kind LowCardinality(String),
    block_id String,
    score_scaled Nullable(Float64),
    score_raw Nullable(Float64),
    score_max Nullable(Float64),
    letter_grade String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, kind, actor_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_grades_mv ${on_cluster}
TO ${db}.fact_grades AS
SELECT statement_id, emission_time, org, course_key, actor_id,
       multiIf(object_type ILIKE '%certificate%' OR position(object_id, '/certificates/') > 0,
                   'certificate',
               verb_id = 'http://adlnet.gov/expapi/verbs/passed', 'passed',
               verb_id = 'http://adlnet.gov/expapi/verbs/failed', 'failed',
               object_type = 'http://adlnet.gov/expapi/activities/course', 'course',
               'subsection') AS kind,
       block_id,
       result_score_scaled AS score_scaled,
       result_score_raw AS score_raw,
       result_score_max AS score_max,
       JSONExtractString(statement, 'result', 'extensions',
                         'http://www.tincanapi.co.uk/activitytypes/grade_classification')
           AS letter_grade
FROM ${db}.xapi_statements
WHERE course_key != ''
  AND ((verb_id = 'http://id.tincanapi.com/verb/earned'
        AND (object_type = 'http://adlnet.gov/expapi/activities/course'
             OR position(block_id, '+type@sequential+') > 0
             OR object_type ILIKE '%certificate%'
             OR position(object_id, '/certificates/') > 0))
       OR (verb_id IN ('http://adlnet.gov/expapi/verbs/passed',
                       'http://adlnet.gov/expapi/verbs/failed')
           AND object_type = 'http://adlnet.gov/expapi/activities/course'));

-- Block completion (verb progressed): the learner completed a block.
CREATE TABLE IF NOT EXISTS ${db}.fact_completion ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    block_id String,
    progress Float64,
    completed Bool
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, actor_id, block_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_completion_mv ${on_cluster}
TO ${db}.fact_completion AS
SELECT statement_id, emission_time, org, course_key, actor_id, block_id,
       JSONExtractFloat(statement, 'result', 'extensions',
                        'https://w3id.org/xapi/cmi5/result/extensions/progress') AS progress,
       ifNull(result_completion, false) OR progress >= 100 AS completed
FROM ${db}.xapi_statements
WHERE verb_id = 'http://adlnet.gov/expapi/verbs/progressed' AND block_id != '';

-- Discussion forum events. post_kind: thread, or comment (responses and comments alike: the
-- xAPI statements do not tell them apart).
CREATE TABLE IF NOT EXISTS ${db}.fact_forum ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC'),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id String,
    verb LowCardinality(String),
    post_kind LowCardinality(String),
    post_id String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, verb, actor_id, emission_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_forum_mv ${on_cluster}
TO ${db}.fact_forum AS
SELECT statement_id, emission_time, org, course_key, actor_id,
       replaceRegexpOne(verb_id, '^.*/', '') AS verb,
       if(position(object_id, '/threads/') > 0, 'thread', 'comment') AS post_kind,
       replaceRegexpOne(object_id, '^.*/', '') AS post_id
FROM ${db}.xapi_statements
WHERE object_type = 'http://id.tincanapi.com/activitytype/discussion';
