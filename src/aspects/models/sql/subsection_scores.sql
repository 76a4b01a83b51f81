-- title: Subsection scores
-- required: course_key
-- description: For one course (`course_key`), per subsection with grades (course order;
-- description: unknown subsections last, by id), as of `until`: graded_learners (learners with a
-- description: subsection grade), avg_score_pct (mean of each learner's latest scaled subsection
-- description: score, x 100), full_marks (learners whose latest score is 100%).
SELECT
    if(s.block_id = '', g.block_id, s.display_name) AS subsection_name,
    s.section_name AS section_name,
    s.graded AS graded,
    count() AS graded_learners,
    round(100 * avg(g.score), 1) AS avg_score_pct,
    countIf(g.score >= 1) AS full_marks,
    g.block_id AS subsection_id
FROM
(
    SELECT
        block_id,
        actor_id,
        -- time_and_id: (timestamp, statement id) as one number (docs/reports.md, Performance).
        argMax(ifNull(score_scaled, 0),
               bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                            + 4611686018427387904), 128),
                     toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id)
            AS score
    FROM ${db}.fact_grades
    WHERE course_key = {course_key:String}
      AND kind = 'subsection'
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY block_id, actor_id
) AS g
LEFT JOIN
(
    SELECT block_id, display_name, section_name, graded, position
    FROM ${db}.course_structure
    WHERE course_key = {course_key:String}
) AS s ON s.block_id = g.block_id
GROUP BY g.block_id, subsection_name, s.section_name, s.graded, s.position, s.block_id
ORDER BY s.block_id = '', s.position, g.block_id;
