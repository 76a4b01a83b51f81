-- title: Engagement per section and subsection
-- required: course_key
-- description: For one course (`course_key`), every subsection of its latest imported structure
-- description: in course order, with activity in [since, until): page_viewers / page_views
-- description: (learners who navigated to the subsection / navigation statements), video_viewers /
-- description: video_plays (learners who played / play statements of videos in the subsection),
-- description: problem_learners / problem_checks (learners who submitted / graded submissions of
-- description: problems in the subsection). Each statement counts once; voided ones not at all.
WITH
    blocks AS
    (
        SELECT block_id, subsection_id
        FROM ${db}.course_structure
        WHERE course_key = {course_key:String} AND subsection_id != ''
    ),
    events AS
    (
        SELECT 'page' AS kind, block_id AS subsection_id, actor_id, statement_id
        FROM ${db}.fact_navigation
        WHERE course_key = {course_key:String}
          AND emission_time >= {since:DateTime64(6, 'UTC')}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        UNION ALL
        SELECT 'video' AS kind, b.subsection_id AS subsection_id, v.actor_id, v.statement_id
        FROM ${db}.fact_video AS v
        GLOBAL INNER JOIN blocks AS b ON b.block_id = v.video_id
        WHERE v.course_key = {course_key:String}
          AND v.verb = 'played'
          AND v.emission_time >= {since:DateTime64(6, 'UTC')}
          AND v.emission_time < {until:DateTime64(6, 'UTC')}
          AND v.statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        UNION ALL
        SELECT 'problem' AS kind, b.subsection_id AS subsection_id, p.actor_id, p.statement_id
        FROM ${db}.fact_problem AS p
        GLOBAL INNER JOIN blocks AS b ON b.block_id = p.problem_id
        WHERE p.course_key = {course_key:String}
          AND NOT p.is_question
          AND p.emission_time >= {since:DateTime64(6, 'UTC')}
          AND p.emission_time < {until:DateTime64(6, 'UTC')}
          AND p.statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    ),
    counts AS
    (
        SELECT
            subsection_id,
            uniqExactIf(actor_id, kind = 'page') AS page_viewers,
            uniqExactIf(statement_id, kind = 'page') AS page_views,
            uniqExactIf(actor_id, kind = 'video') AS video_viewers,
            uniqExactIf(statement_id, kind = 'video') AS video_plays,
            uniqExactIf(actor_id, kind = 'problem') AS problem_learners,
            uniqExactIf(statement_id, kind = 'problem') AS problem_checks
        FROM events
        GROUP BY subsection_id
    )
SELECT
    s.section_index AS section_index,
    s.section_name AS section_name,
    s.subsection_index AS subsection_index,
    s.display_name AS subsection_name,
    s.graded AS graded,
    c.page_viewers AS page_viewers,
    c.page_views AS page_views,
    c.video_viewers AS video_viewers,
    c.video_plays AS video_plays,
    c.problem_learners AS problem_learners,
    c.problem_checks AS problem_checks,
    s.block_id AS subsection_id
FROM ${db}.course_structure AS s
LEFT JOIN counts AS c ON c.subsection_id = s.block_id
WHERE s.course_key = {course_key:String} AND s.block_type = 'sequential'
ORDER BY s.position;
