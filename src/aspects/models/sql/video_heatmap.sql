-- title: Video heatmap (5-second segments)
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), per video and watched
-- description: 5-second segment (see video_watched_segments) in [since, until): segment_start
-- description: (seconds), viewers (learners who watched the segment), plays (watch intervals that
-- description: covered it, over all learners).
--
-- The watch intervals of video_watched_segments, but counted per video without a row per learner
-- and segment: each learner's covered segments (one entry per covering interval) are summed per
-- video with sumMap, once as they are (plays) and once distinct (viewers). The few per-video rows
-- are then named and spread into one row per segment (docs/reports.md, Performance).
SELECT
    if(s.display_name = '', v.video_id, s.display_name) AS video_name,
    segment * 5 AS segment_start,
    viewers,
    plays,
    v.video_id AS video_id
FROM
(
    SELECT
        video_id,
        sumMap(arrayDistinct(watched) AS learner_segments,
               arrayWithConstant(length(learner_segments), toUInt64(1))) AS viewers_map,
        sumMap(watched, arrayWithConstant(length(watched), toUInt64(1))) AS plays_map
    FROM
    (
        -- Pairs each played statement with the learner's next statement on the video exactly as
        -- video_watched_segments does (same event arrays, same order, copies side by side).
        SELECT
            video_id,
            arrayFlatten(arrayMap(
                (verb, at, next_verb, next_at) ->
                    if(verb = 1  -- played
                           AND next_verb IN (2, 3, 4, 5)  -- paused ... completed
                           AND next_at > at,
                       range(toUInt32(floor(at / 5)), toUInt32(ceil(next_at / 5))),
                       []),
                arrayPopBack(events.1), arrayPopBack(events.2),
                arrayPopFront(events.1), arrayPopFront(events.2))) AS watched
        FROM
        (
            SELECT
                video_id,
                arraySort(
                    (event, at, id) -> (at, id),
                    arrayZip(
                        groupArray(indexOf(
                            ['played', 'paused', 'seeked', 'terminated', 'completed'], verb)),
                        groupArray(video_time)),
                    groupArray(toUnixTimestamp64Micro(emission_time)),
                    groupArray(reinterpretAsUInt128(statement_id))) AS events
            FROM ${db}.fact_video
            WHERE course_key = {course_key:String}
              AND ({video_id:String} = '' OR video_id = {video_id:String})
              AND verb IN ('played', 'paused', 'seeked', 'terminated', 'completed')
              AND emission_time >= {since:DateTime64(6, 'UTC')}
              AND emission_time < {until:DateTime64(6, 'UTC')}
              AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
            GROUP BY video_id, actor_id
        )
    )
    WHERE notEmpty(watched)
    GROUP BY video_id
) AS v
LEFT JOIN
(
    SELECT block_id, display_name
    FROM ${db}.course_structure
    WHERE course_key = {course_key:String}
) AS s ON s.block_id = v.video_id
ARRAY JOIN viewers_map.1 AS segment, viewers_map.2 AS viewers, plays_map.2 AS plays
ORDER BY video_id, segment;
