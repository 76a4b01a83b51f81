-- title: Problem response distribution
-- required: course_key
-- description: For one course (`course_key`; optionally one `problem_id`), per question and
-- description: distinct response text, over graded submissions in [since, until) that carry a
-- description: response: submissions (statements), learners (who gave this response at least
-- description: once), correct (whether the response was marked correct).
SELECT
    if(s.display_name = '', p.problem_id, s.display_name) AS problem_name,
    p.question_id AS question_id,
    p.response AS response,
    p.correct AS correct,
    p.submissions AS submissions,
    p.learners AS learners,
    p.problem_id AS problem_id
FROM
(
    SELECT
        problem_id,
        question_id,
        response,
        max(ifNull(success, false)) AS correct,
        uniqExact(statement_id) AS submissions,
        uniqExact(actor_id) AS learners
    FROM ${db}.fact_problem
    WHERE course_key = {course_key:String}
      AND ({problem_id:String} = '' OR problem_id = {problem_id:String})
      AND response != ''
      AND emission_time >= {since:DateTime64(6, 'UTC')}
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY problem_id, question_id, response
) AS p
LEFT JOIN
(
    SELECT block_id, display_name, position
    FROM ${db}.course_structure
    WHERE course_key = {course_key:String}
) AS s ON s.block_id = p.problem_id
ORDER BY s.position, p.problem_id, p.question_id, p.submissions DESC, p.response;
