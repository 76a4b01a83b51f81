-- title: Course grades and pass rate
-- description: Per course, as of `until`: graded_learners (learners with a course grade or a
-- description: passed/failed statement), passed_learners (whose latest passed/failed statement
-- description: is passed), pass_rate_pct (passed / graded x 100), avg_grade_pct (mean over
-- description: learners of their latest course grade, x 100), certificates (learners who earned
-- description: a certificate).
SELECT
    g.course_key AS course_key,
    if(c.display_name = '', g.course_key, c.display_name) AS course_name,
    count() AS graded_learners,
    countIf(g.status = 'passed') AS passed_learners,
    round(100 * passed_learners / graded_learners, 1) AS pass_rate_pct,
    round(100 * avgIf(g.grade, g.has_grade), 1) AS avg_grade_pct,
    countIf(g.certified) AS certificates
FROM
(
    SELECT
        course_key,
        actor_id,
        -- time_and_id: (timestamp, statement id) as one number (docs/reports.md, Performance).
        argMaxIf(kind,
                 bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                              + 4611686018427387904), 128),
                       toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id,
                 kind IN ('passed', 'failed')) AS status,
        argMaxIf(ifNull(score_scaled, 0), time_and_id, kind = 'course')
            AS grade,
        countIf(kind = 'course') > 0 AS has_grade,
        countIf(kind = 'certificate') > 0 AS certified
    FROM ${db}.fact_grades
    WHERE ({org:String} = '' OR org = {org:String})
      AND ({course_key:String} = '' OR course_key = {course_key:String})
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY course_key, actor_id
    HAVING has_grade OR status != '' OR certified
) AS g
LEFT JOIN (SELECT course_key, display_name FROM ${db}.courses FINAL) AS c
    ON c.course_key = g.course_key
GROUP BY g.course_key, course_name
ORDER BY g.course_key;
