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
    -- Counted per block first (learners as exact-distinct states, statements as distinct
    -- counts), then per subsection: a statement is about one block, so a subsection's
    -- statements are the sum over its blocks, and its learners the merge of the blocks'
    -- states. The join to the structure then sees one row per block, not one per statement.
    per_block AS
    (
        SELECT 'page' AS kind, block_id, uniqExactState(actor_id) AS learners,
               uniqExact(statement_id) AS statements
        FROM ${db}.fact_navigation
        WHERE course_key = {course_key:String}
          AND emission_time >= {since:DateTime64(6, 'UTC')}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY block_id
        UNION ALL
        SELECT 'video' AS kind, video_id AS block_id, uniqExactState(actor_id) AS learners,
               uniqExact(statement_id) AS statements
        FROM ${db}.fact_video
        WHERE course_key = {course_key:String}
          AND verb = 'played'
          AND emission_time >= {since:DateTime64(6, 'UTC')}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY video_id
        UNION ALL
        SELECT 'problem' AS kind, problem_id AS block_id, uniqExactState(actor_id) AS learners,
               uniqExact(statement_id) AS statements
        FROM ${db}.fact_problem
        WHERE course_key = {course_key:String}
          AND NOT is_question
          AND emission_time >= {since:DateTime64(6, 'UTC')}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY problem_id
    ),
    counts AS
    (
        -- Navigation is about the subsection itself; videos and problems belong to one.
        SELECT
            if(e.kind = 'page', e.block_id, b.subsection_id) AS subsection_id,
            uniqExactMergeIf(e.learners, e.kind = 'page') AS page_viewers,
            sumIf(e.statements, e.kind = 'page') AS page_views,
            uniqExactMergeIf(e.learners, e.kind = 'video') AS video_viewers,
            sumIf(e.statements, e.kind = 'video') AS video_plays,
            uniqExactMergeIf(e.learners, e.kind = 'problem') AS problem_learners,
            sumIf(e.statements, e.kind = 'problem') AS problem_checks
        FROM per_block AS e
        GLOBAL LEFT JOIN blocks AS b ON b.block_id = e.block_id
        WHERE e.kind = 'page' OR b.subsection_id != ''
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
