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
        -- One pass over the facts: each learner's figures per video, and the learner's watch
        -- events as one array of (verb number, playhead) sorted by (timestamp, statement id),
        -- exactly as in video_watched_segments (numbers, copies side by side).
        SELECT
            video_id,
            actor_id,
            uniqExactIf(statement_id, verb = 'played') AS plays,
            countIf(verb = 'completed') > 0 AS completed,
            countIf(verb = 'interacted' AND cc_enabled = true) > 0 AS captions,
            max(video_length) AS length_seen,
            arraySort(
                (event, at, id) -> (at, id),
                arrayZip(groupArrayIf(
                             indexOf(['played', 'paused', 'seeked', 'terminated', 'completed'],
                                     verb) AS verb_number,
                             verb_number > 0),
                         groupArrayIf(video_time, verb_number > 0)),
                groupArrayIf(toUnixTimestamp64Micro(emission_time), verb_number > 0),
                groupArrayIf(reinterpretAsUInt128(statement_id), verb_number > 0)) AS events
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
            video_id,
            sum(plays) AS views,
            countIf(plays > 0) AS unique_viewers,
            countIf(plays > 0 AND (completed OR segments >= 0.9 * ceil(video_length / 5)
                                   AND video_length > 0)) AS full_viewers,
            countIf(captions) AS caption_users,
            any(video_length) AS length_seconds
        FROM
        (
            SELECT
                video_id,
                plays,
                completed,
                captions,
                max(length_seen) OVER (PARTITION BY video_id) AS video_length,
                -- Distinct watched segments: the intervals of video_watched_segments.
                length(arrayDistinct(arrayFlatten(arrayMap(
                    (verb, at, next_verb, next_at) ->
                        if(verb = 1  -- played
                               AND next_verb IN (2, 3, 4, 5)  -- paused ... completed
                               AND next_at > at,
                           range(toUInt32(floor(at / 5)), toUInt32(ceil(next_at / 5))),
                           []),
                    arrayPopBack(events.1), arrayPopBack(events.2),
                    arrayPopFront(events.1), arrayPopFront(events.2))))) AS segments
            FROM per_learner
        )
        GROUP BY video_id
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
