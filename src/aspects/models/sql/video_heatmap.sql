-- title: Video heatmap (5-second segments)
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), per video and watched
-- description: 5-second segment (see video_watched_segments) in [since, until): segment_start
-- description: (seconds), viewers (learners who watched the segment), plays (watch intervals that
-- description: covered it, over all learners).
SELECT
    if(s.display_name = '', w.video_id, s.display_name) AS video_name,
    w.segment * 5 AS segment_start,
    count() AS viewers,  -- rows of video_watched_segments are one per learner and segment
    sum(w.plays) AS plays,
    w.video_id AS video_id
FROM (${report_video_watched_segments}) AS w
LEFT JOIN
(
    SELECT block_id, display_name
    FROM ${db}.course_structure
    WHERE course_key = {course_key:String}
) AS s ON s.block_id = w.video_id
GROUP BY w.video_id, video_name, w.segment
ORDER BY w.video_id, w.segment;
