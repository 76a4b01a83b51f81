-- title: Course grade distribution
-- description: Per course, as of `until`: how many learners' latest course grade falls in each
-- description: 10-point band. bucket_start_pct is the band's lower bound (0, 10, ..., 90); the 90
-- description: band includes 100%. Learners without a course grade are not counted.
SELECT
    course_key,
    toUInt8(least(floor(grade * 10), 9) * 10) AS bucket_start_pct,
    count() AS learners
FROM
(
    SELECT
        course_key,
        actor_id,
        -- time_and_id: (timestamp, statement id) as one number (docs/reports.md, Performance).
        argMax(ifNull(score_scaled, 0),
               bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                            + 4611686018427387904), 128),
                     toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id)
            AS grade
    FROM ${db}.fact_grades
    WHERE ({org:String} = '' OR org = {org:String})
      AND ({course_key:String} = '' OR course_key = {course_key:String})
      AND kind = 'course'
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY course_key, actor_id
)
GROUP BY course_key, bucket_start_pct
ORDER BY course_key, bucket_start_pct;
