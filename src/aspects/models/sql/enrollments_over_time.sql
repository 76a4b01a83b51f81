-- title: Enrollments over time
-- description: Per day (UTC) with enrollment activity in [since, until): enrollments (a learner
-- description: went from not enrolled to enrolled: a registration that is the learner's first, or
-- description: follows an unregistration; a mode change is not an enrollment), unenrollments (an
-- description: unregistration of an enrolled learner), net (enrollments - unenrollments), and
-- description: total_enrolled (learners enrolled at the end of that day, counting all history).
SELECT day, enrollments, unenrollments, net, total_enrolled
FROM
(
    SELECT
        day,
        countIf(change = 1) AS enrollments,
        countIf(change = -1) AS unenrollments,
        toInt64(enrollments) - toInt64(unenrollments) AS net,
        sum(net) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            AS total_enrolled
    FROM
    (
        SELECT
            toDate(emission_time) AS day,
            multiIf(action = 'registered' AND previous != 'registered', 1,
                    action = 'unregistered' AND previous = 'registered', -1,
                    0) AS change
        FROM
        (
            SELECT
                emission_time,
                action,
                lagInFrame(action, 1, '') OVER (
                    PARTITION BY course_key, actor_id ORDER BY emission_time, statement_id
                    ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS previous
            FROM
            (
                -- Each statement once (GROUP BY its id: unlike FINAL, cheap however many parts).
                SELECT
                    statement_id,
                    any(course_key) AS course_key,
                    any(actor_id) AS actor_id,
                    any(emission_time) AS emission_time,
                    any(action) AS action
                FROM
                (
                    SELECT statement_id, course_key, actor_id, emission_time, action
                    FROM ${db}.fact_enrollment
                    WHERE ({org:String} = '' OR org = {org:String})
                      AND ({course_key:String} = '' OR course_key = {course_key:String})
                      AND emission_time < {until:DateTime64(6, 'UTC')}
                      AND statement_id GLOBAL NOT IN (
                          SELECT voided_id FROM ${db}.voided_statements)
                )
                GROUP BY statement_id
            )
        )
    )
    GROUP BY day
)
WHERE day >= toDate({since:DateTime64(6, 'UTC')}) AND (enrollments > 0 OR unenrollments > 0)
ORDER BY day;
