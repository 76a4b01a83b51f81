-- title: Current enrollments by mode
-- description: Learners enrolled as of `until`, per course and enrollment mode. A learner is
-- description: enrolled when their latest enrollment statement (registered or unregistered) up to
-- description: `until` is a registration; the mode is that statement's mode.
SELECT
    e.course_key AS course_key,
    if(c.display_name = '', e.course_key, c.display_name) AS course_name,
    e.enrollment_mode AS enrollment_mode,
    count() AS enrolled_learners
FROM
(
    SELECT
        course_key,
        actor_id,
        -- time_and_id: (timestamp, statement id) as one number (docs/reports.md, Performance).
        argMax(action,
               bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                            + 4611686018427387904), 128),
                     toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id)
            AS last_action,
        argMax(enrollment_mode, time_and_id) AS enrollment_mode
    FROM ${db}.fact_enrollment
    WHERE ({org:String} = '' OR org = {org:String})
      AND ({course_key:String} = '' OR course_key = {course_key:String})
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY course_key, actor_id
) AS e
LEFT JOIN (SELECT course_key, display_name FROM ${db}.courses FINAL) AS c
    ON c.course_key = e.course_key
WHERE e.last_action = 'registered'
GROUP BY e.course_key, course_name, e.enrollment_mode
ORDER BY e.course_key, e.enrollment_mode;
