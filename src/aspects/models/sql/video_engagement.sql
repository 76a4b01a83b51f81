-- title: Video engagement
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), per video (course order; videos with activity but
-- description: missing from the structure last, named by id) over [since, until): views (played
-- description: statements), unique_viewers (learners with a played statement), full_viewers
-- description: (viewers who completed the video, or watched at least 90% of its 5-second segments,
-- description: the length being the longest the player reported), partial_viewers (unique_viewers
-- description: - full_viewers), caption_users (learners who turned captions or the transcript on:
-- description: an interacted statement with cc-enabled true), length_seconds.
WITH
    per_video AS
    (
        SELECT
            video_id,
            uniqExactIf(statement_id, verb = 'played') AS views,
            uniqExactIf(actor_id, verb = 'played') AS unique_viewers,
            uniqExactIf(actor_id, verb = 'interacted' AND cc_enabled = true) AS caption_users,
            max(video_length) AS length_seconds,
            groupUniqArrayIf(actor_id, verb = 'completed') AS completers,
            groupUniqArrayIf(actor_id, verb = 'played') AS viewers
        FROM ${db}.fact_video
        WHERE course_key = {course_key:String}
          AND ({video_id:String} = '' OR video_id = {video_id:String})
          AND emission_time >= {since:DateTime64(6, 'UTC')}
          AND emission_time < {until:DateTime64(6, 'UTC')}
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY video_id
    ),
    watched AS
    (
        SELECT video_id, actor_id, count() AS segments
        FROM (${report_video_watched_segments})
        GROUP BY video_id, actor_id
    ),
    full_by_segments AS
    (
        SELECT w.video_id AS video_id, groupArray(w.actor_id) AS actors
        FROM watched AS w
        INNER JOIN per_video AS v ON v.video_id = w.video_id
        WHERE v.length_seconds > 0 AND w.segments >= 0.9 * ceil(v.length_seconds / 5)
        GROUP BY w.video_id
    ),
    per_video_full AS
    (
        SELECT
            v.video_id AS video_id,
            length(arrayIntersect(v.viewers, arrayDistinct(arrayConcat(v.completers, f.actors))))
                AS full_viewers
        FROM per_video AS v
        LEFT JOIN full_by_segments AS f ON f.video_id = v.video_id
    ),
    structure AS
    (
        SELECT block_id, display_name, section_name, subsection_name, position
        FROM ${db}.course_structure
        WHERE course_key = {course_key:String} AND block_type = 'video'
          AND ({video_id:String} = '' OR block_id = {video_id:String})
    )
SELECT
    if(s.block_id = '', v.video_id, s.display_name) AS video_name,
    s.section_name AS section_name,
    s.subsection_name AS subsection_name,
    v.views AS views,
    v.unique_viewers AS unique_viewers,
    f.full_viewers AS full_viewers,
    v.unique_viewers - f.full_viewers AS partial_viewers,
    v.caption_users AS caption_users,
    v.length_seconds AS length_seconds,
    if(s.block_id = '', v.video_id, s.block_id) AS video_id
FROM structure AS s
FULL OUTER JOIN per_video AS v ON v.video_id = s.block_id
LEFT JOIN per_video_full AS f ON f.video_id = v.video_id
ORDER BY s.block_id = '', s.position, v.video_id;
