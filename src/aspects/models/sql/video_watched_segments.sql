-- title: Watched video segments per learner
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), each 5-second segment of
-- description: each video that each learner watched in [since, until). A watch interval runs from
-- description: a `played` statement's playhead to the playhead of the learner's next statement on
-- description: that video when that next one is paused, seeked (its time-from), terminated or
-- description: completed; segment n covers seconds [5n, 5n+5) and is watched when an interval
-- description: overlaps it. plays: how many intervals covered the segment.
SELECT
    video_id,
    actor_id,
    segment,
    count() AS plays
FROM
(
    SELECT
        video_id,
        actor_id,
        arrayJoin(range(toUInt32(floor(video_time / 5)), toUInt32(ceil(next_time / 5))))
            AS segment
    FROM
    (
        SELECT
            video_id,
            actor_id,
            verb,
            video_time,
            leadInFrame(verb, 1, '') OVER w AS next_verb,
            leadInFrame(video_time, 1, 0.) OVER w AS next_time
        FROM
        (
            -- Each statement once (GROUP BY its id: unlike FINAL, cheap however many parts).
            SELECT
                statement_id,
                any(emission_time) AS emission_time,
                any(video_id) AS video_id,
                any(actor_id) AS actor_id,
                any(verb) AS verb,
                any(video_time) AS video_time
            FROM
            (
                SELECT statement_id, emission_time, video_id, actor_id, verb, video_time
                FROM ${db}.fact_video
                WHERE course_key = {course_key:String}
                  AND ({video_id:String} = '' OR video_id = {video_id:String})
                  AND verb IN ('played', 'paused', 'seeked', 'terminated', 'completed')
                  AND emission_time >= {since:DateTime64(6, 'UTC')}
                  AND emission_time < {until:DateTime64(6, 'UTC')}
                  AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
            )
            GROUP BY statement_id
        )
        WINDOW w AS (PARTITION BY video_id, actor_id ORDER BY emission_time, statement_id
                     ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)
    )
    WHERE verb = 'played'
      AND next_verb IN ('paused', 'seeked', 'terminated', 'completed')
      AND next_time > video_time
)
GROUP BY video_id, actor_id, segment
ORDER BY video_id, actor_id, segment;
