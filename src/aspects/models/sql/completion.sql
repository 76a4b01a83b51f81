-- title: Completion and certificates
-- description: Per course with completion activity, as of `until`: completable_blocks (components
-- description: of the latest imported structure other than discussions), learners (with at least
-- description: one completed block), avg_completion_pct (mean over those learners of completed
-- description: completable blocks / completable_blocks x 100), learners_half (at least 50%),
-- description: learners_complete (100%), certificates (learners who earned a certificate).
WITH
    completable AS
    (
        SELECT course_key, block_id
        FROM ${db}.course_structure
        WHERE block_type NOT IN ('course', 'chapter', 'sequential', 'vertical', 'discussion')
          AND ({course_key:String} = '' OR course_key = {course_key:String})
          AND ({org:String} = '' OR splitByChar('+', substring(course_key, 11))[1] = {org:String})
    ),
    -- The completable blocks as two parallel arrays: a completion's block becomes its position
    -- (a small number, cheap to count distinct) and matches only in its own course.
    (SELECT (groupArray(block_id), groupArray(course_key)) FROM completable) AS blocks,
    totals AS (SELECT course_key, count() AS completable_blocks FROM completable GROUP BY course_key),
    per_learner AS
    (
        SELECT course_key, actor_id, groupBitmap(block) AS done
        FROM
        (
            SELECT course_key, actor_id,
                   transform(block_id, blocks.1, arrayEnumerate(blocks.1), 0) AS block
            FROM ${db}.fact_completion
            WHERE ({org:String} = '' OR org = {org:String})
              AND ({course_key:String} = '' OR course_key = {course_key:String})
              AND completed
              AND emission_time < {until:DateTime64(6, 'UTC')}
              AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        )
        WHERE block > 0 AND blocks.2[block] = course_key
        GROUP BY course_key, actor_id
    ),
    certificates AS
    (
        SELECT course_key, uniqExact(actor_id) AS certificates
        FROM ${db}.fact_grades
        WHERE ({org:String} = '' OR org = {org:String})
          AND ({course_key:String} = '' OR course_key = {course_key:String})
          AND kind = 'certificate'
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY course_key
    )
SELECT
    p.course_key AS course_key,
    if(c.display_name = '', p.course_key, c.display_name) AS course_name,
    any(t.completable_blocks) AS completable_blocks,
    count() AS learners,
    round(100 * avg(p.done / t.completable_blocks), 1) AS avg_completion_pct,
    countIf(2 * p.done >= t.completable_blocks) AS learners_half,
    countIf(p.done >= t.completable_blocks) AS learners_complete,
    any(x.certificates) AS certificates
FROM per_learner AS p
INNER JOIN totals AS t ON t.course_key = p.course_key
LEFT JOIN certificates AS x ON x.course_key = p.course_key
LEFT JOIN (SELECT course_key, display_name FROM ${db}.courses FINAL) AS c
    ON c.course_key = p.course_key
GROUP BY p.course_key, course_name
ORDER BY p.course_key;
