-- title: Watched video segments per learner
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), each 5-second segment of
-- description: each video that each learner watched in [since, until). A watch interval runs from
-- description: a `played` statement's playhead to the playhead of the learner's next statement on
-- description: that video when that next one is paused, seeked (its time-from), terminated or
-- description: completed; segment n covers seconds [5n, 5n+5) and is watched when an interval
-- description: overlaps it. plays: how many intervals covered the segment.
SELECT video_id, actor_id, segment, count() AS plays
FROM
(
    -- Pair each played statement with the learner's next statement on the video, in
    -- (timestamp, statement id) order, from one sorted array per learner and video: a hash
    -- aggregation, several times cheaper here than a window over many small partitions.
    -- groupUniqArray keeps each statement once (copies are identical tuples).
    SELECT
        video_id,
        actor_id,
        arrayJoin(arrayFlatten(arrayMap(
            i -> range(toUInt32(floor(events[i].4 / 5)), toUInt32(ceil(events[i + 1].4 / 5))),
            arrayFilter(
                i -> events[i].3 = 'played'
                     AND has(['paused', 'seeked', 'terminated', 'completed'], events[i + 1].3)
                     AND events[i + 1].4 > events[i].4,
                range(1, length(events)))))) AS segment
    FROM
    (
        SELECT
            video_id,
            actor_id,
            arraySort(groupUniqArray((emission_time, statement_id, verb, video_time))) AS events
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
GROUP BY video_id, actor_id, segment
ORDER BY video_id, actor_id, segment;
