-- title: Problem performance
-- required: course_key
-- description: For one course (`course_key`), per problem (course order; problems with graded
-- description: submissions but missing from the structure come last, named by id), over
-- description: submissions in [since, until): learners (who submitted), attempts (graded
-- description: submissions of the whole problem), attempts_per_learner, first_attempt_correct
-- description: (learners whose first submission was fully correct), first_attempt_correct_pct
-- description: (of learners), correct_learners (whose latest submission is correct), avg_score_pct
-- description: (mean over learners of the scaled score of their latest submission, x 100).
WITH per_learner AS
(
    SELECT
        problem_id,
        actor_id,
        uniqExact(statement_id) AS attempts,
        -- First and latest by (timestamp, statement id), packed into one UInt256 so that
        -- argMin/argMax compare numbers (with a tuple they take ClickHouse's generic, slower
        -- path; docs/reports.md). The 2^62 offset keeps times before 1970 first;
        -- reinterpretAsUInt128 orders ids as UUIDs order.
        argMin(ifNull(success, false),
               bitOr(bitShiftLeft(toUInt256(toUnixTimestamp64Micro(emission_time)
                                            + 4611686018427387904), 128),
                     toUInt256(reinterpretAsUInt128(statement_id))) AS time_and_id)
            AS first_correct,
        argMax(ifNull(success, false), time_and_id) AS last_correct,
        argMax(score_scaled, time_and_id) AS last_score
    FROM ${db}.fact_problem
    WHERE course_key = {course_key:String}
      AND NOT is_question
      AND emission_time >= {since:DateTime64(6, 'UTC')}
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY problem_id, actor_id
),
per_problem AS
(
    SELECT
        problem_id,
        count() AS learners,
        sum(attempts) AS attempts,
        countIf(first_correct) AS first_attempt_correct,
        countIf(last_correct) AS correct_learners,
        avg(last_score) AS avg_score
    FROM per_learner
    GROUP BY problem_id
),
structure AS
(
    SELECT block_id, display_name, section_name, subsection_name, unit_name, graded, position
    FROM ${db}.course_structure
    WHERE course_key = {course_key:String} AND block_type = 'problem'
)
SELECT
    if(s.block_id = '', p.problem_id, s.display_name) AS problem_name,
    s.section_name AS section_name,
    s.subsection_name AS subsection_name,
    s.unit_name AS unit_name,
    s.graded AS graded,
    p.learners AS learners,
    p.attempts AS attempts,
    round(if(p.learners = 0, 0, p.attempts / p.learners), 2) AS attempts_per_learner,
    p.first_attempt_correct AS first_attempt_correct,
    round(if(p.learners = 0, 0, 100 * p.first_attempt_correct / p.learners), 1)
        AS first_attempt_correct_pct,
    p.correct_learners AS correct_learners,
    round(100 * ifNull(p.avg_score, 0), 1) AS avg_score_pct,
    if(s.block_id = '', p.problem_id, s.block_id) AS problem_id
FROM structure AS s
FULL OUTER JOIN per_problem AS p ON p.problem_id = s.block_id
ORDER BY s.block_id = '', s.position, p.problem_id;
