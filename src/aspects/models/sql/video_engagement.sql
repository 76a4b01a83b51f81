-- title: Video engagement
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), per video (course order;
-- description: videos with activity but missing from the structure last, named by id) over
-- description: [since, until): views (played statements), unique_viewers (learners with a played
-- description: statement), full_viewers (viewers who completed the video, or watched at least 90%
-- description: of its 5-second segments, the length being the longest the player reported),
-- description: partial_viewers (unique_viewers - full_viewers), caption_users (learners who turned
-- description: captions or the transcript on: an interacted statement with cc-enabled true),
-- description: length_seconds.
WITH
    per_learner AS
    (
        -- One pass over the facts: each learner's figures per video.
        SELECT
            video_id,
            actor_id,
            uniqExactIf(statement_id, verb = 'played') AS plays,
            countIf(verb = 'completed') > 0 AS completed,
            countIf(verb = 'interacted' AND cc_enabled = true) > 0 AS captions,
            max(video_length) AS length_seen
        FROM ${db}.fact_video
        WHERE course_key = {course_key:String}
          AND ({video_id:String} = '' OR video_id = {video_id:String})
          AND emission_time >= {since:DateTime64(6, 'UTC')}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY video_id, actor_id
    ),
    per_video AS
    (
        SELECT
            l.video_id AS video_id,
            sum(l.plays) AS views,
            countIf(l.plays > 0) AS unique_viewers,
            countIf(l.plays > 0 AND (l.completed OR w.segments >= 0.9 * ceil(l.video_length / 5)
                                     AND l.video_length > 0)) AS full_viewers,
            countIf(l.captions) AS caption_users,
            any(l.video_length) AS length_seconds
        FROM
        (
            SELECT p.*, m.video_length AS video_length
            FROM per_learner AS p
            INNER JOIN
            (
                SELECT video_id, max(video_length) AS video_length
                FROM ${db}.fact_video
                WHERE course_key = {course_key:String}
                  AND ({video_id:String} = '' OR video_id = {video_id:String})
                  AND emission_time >= {since:DateTime64(6, 'UTC')}
                  AND emission_time < {until:DateTime64(6, 'UTC')}
                  AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
                GROUP BY video_id
            ) AS m ON m.video_id = p.video_id
        ) AS l
        LEFT JOIN
        (
            SELECT video_id, actor_id, count() AS segments
            FROM (${report_video_watched_segments})
            GROUP BY video_id, actor_id
        ) AS w ON w.video_id = l.video_id AND w.actor_id = l.actor_id
        GROUP BY l.video_id
    )
SELECT
    if(s.block_id = '', v.video_id, s.display_name) AS video_name,
    s.section_name AS section_name,
    s.subsection_name AS subsection_name,
    v.views AS views,
    v.unique_viewers AS unique_viewers,
    v.full_viewers AS full_viewers,
    v.unique_viewers - v.full_viewers AS partial_viewers,
    v.caption_users AS caption_users,
    v.length_seconds AS length_seconds,
    if(s.block_id = '', v.video_id, s.block_id) AS video_id
FROM
(
    SELECT block_id, display_name, section_name, subsection_name, position
    FROM ${db}.course_structure
    WHERE course_key = {course_key:String} AND block_type = 'video'
      AND ({video_id:String} = '' OR block_id = {video_id:String})
) AS s
FULL OUTER JOIN per_video AS v ON v.video_id = s.block_id
ORDER BY s.block_id = '', s.position, v.video_id;
