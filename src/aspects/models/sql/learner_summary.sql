-- title: Learner summary
-- required: course_key
-- description: For one course (`course_key`), as of `until`, one row per learner with any
-- description: statement in the course: actor_id (pseudonymous), enrolled (latest enrollment
-- description: statement is a registration), enrollment_mode, enrolled_at (first registration),
-- description: last_visit (latest statement of any kind), last_activity (latest statement other
-- description: than enrollment; NULL if none), progress_pct (completed completable blocks, as in
-- description: completion), grade_pct (latest course grade x 100; NULL if none), passed (latest
-- description: passed/failed statement is passed).
WITH
    completable AS
    (
        SELECT block_id
        FROM ${db}.course_structure
        WHERE course_key = {course_key:String}
          AND block_type NOT IN ('course', 'chapter', 'sequential', 'vertical', 'discussion')
    ),
    activity AS
    (
        SELECT
            actor_id,
            max(emission_time) AS last_visit,
            maxIf(emission_time, verb_id NOT IN ('http://adlnet.gov/expapi/verbs/registered',
                                                 'http://id.tincanapi.com/verb/unregistered'))
                AS last_activity,
            countIf(verb_id NOT IN ('http://adlnet.gov/expapi/verbs/registered',
                                    'http://id.tincanapi.com/verb/unregistered')) > 0
                AS was_active
        FROM ${db}.xapi_statements
        WHERE course_key = {course_key:String}
          AND actor_id != ''
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY actor_id
    ),
    enrollment AS
    (
        SELECT
            actor_id,
            minIf(emission_time, action = 'registered') AS enrolled_at,
            -- time_and_id: (timestamp, statement id) as one number (docs/reports.md, Performance).
            argMax(action,
                   bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                                + 4611686018427387904), 128),
                         toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id)
                = 'registered' AS enrolled,
            argMax(enrollment_mode, time_and_id) AS enrollment_mode
        FROM ${db}.fact_enrollment
        WHERE course_key = {course_key:String}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY actor_id
    ),
    -- A scalar: counted once, not once per use.
    (SELECT count() FROM completable) AS completable_blocks,
    progress AS
    (
        SELECT actor_id, uniqExact(block_id) AS done
        FROM ${db}.fact_completion
        WHERE course_key = {course_key:String}
          AND completed
          AND block_id GLOBAL IN (SELECT block_id FROM completable)
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY actor_id
    ),
    grades AS
    (
        SELECT
            actor_id,
            argMaxIf(ifNull(score_scaled, 0),
                     bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                                  + 4611686018427387904), 128),
                           toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id,
                     kind = 'course')
                AS grade,
            countIf(kind = 'course') > 0 AS has_grade,
            argMaxIf(kind, time_and_id, kind IN ('passed', 'failed'))
                AS status
        FROM ${db}.fact_grades
        WHERE course_key = {course_key:String}
          -- kind is in the table's key: subsection grades and certificates (most rows) are
          -- skipped by index instead of read and ignored.
          AND kind IN ('course', 'passed', 'failed')
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY actor_id
    )
SELECT
    a.actor_id AS actor_id,
    e.enrolled AS enrolled,
    e.enrollment_mode AS enrollment_mode,
    if(e.actor_id = '' OR e.enrolled_at = 0, NULL, e.enrolled_at) AS enrolled_at,
    a.last_visit AS last_visit,
    if(a.was_active, a.last_activity, NULL) AS last_activity,
    round(100 * if(completable_blocks = 0, 0, p.done / completable_blocks), 1) AS progress_pct,
    if(g.has_grade, round(100 * g.grade, 1), NULL) AS grade_pct,
    g.status = 'passed' AS passed
FROM activity AS a
LEFT JOIN enrollment AS e ON e.actor_id = a.actor_id
LEFT JOIN progress AS p ON p.actor_id = a.actor_id
LEFT JOIN grades AS g ON g.actor_id = a.actor_id
ORDER BY a.actor_id;
