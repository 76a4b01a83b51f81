-- title: Watched video segments per learner
-- required: course_key
-- description: For one course (`course_key`; optionally one `video_id`), each 5-second segment of
-- description: each video that each learner watched in [since, until). A watch interval runs from
-- description: a `played` statement's playhead to the playhead of the learner's next statement on
-- description: that video when that next one is paused, seeked (its time-from), terminated or
-- description: completed; segment n covers seconds [5n, 5n+5) and is watched when an interval
-- description: overlaps it. plays: how many intervals covered the segment.
SELECT video_id, actor_id, run.1 AS segment, run.2 AS plays
FROM
(
    -- Each learner's watched segments, sorted, repeats kept (one per covering interval), then
    -- counted as runs of equal values: no hash aggregation on (video, learner, segment).
    SELECT
        video_id,
        actor_id,
        arrayJoin(arrayZip(
            arrayFilter((segment, starts) -> starts, watched, starts_run),
            arrayPopFront(arrayDifference(arrayPushBack(
                arrayFilter((index, starts) -> starts, arrayEnumerate(watched), starts_run),
                toUInt32(length(watched) + 1)))))) AS run
    FROM
    (
        SELECT
            video_id,
            actor_id,
            watched,
            arrayMap((segment, previous, index) -> index = 1 OR segment != previous,
                     watched, arrayPushFront(arrayPopBack(watched), toUInt32(0)),
                     arrayEnumerate(watched)) AS starts_run
        FROM
        (
            -- Pair each played statement with the learner's next statement on the video, in
            -- (timestamp, statement id) order, from one sorted array per learner and video: a
            -- hash aggregation, several times cheaper here than a window over many small
            -- partitions. groupUniqArray keeps each statement once (copies are identical).
            -- Each event beside the next one (arrays shifted by one, zipped): a lambda that
            -- indexed into the whole array would copy it for every element (quadratic).
            SELECT
                video_id,
                actor_id,
                arraySort(arrayFlatten(arrayMap(
                    (verb, at, next_verb, next_at) ->
                        if(verb = 'played'
                               AND next_verb IN ('paused', 'seeked', 'terminated', 'completed')
                               AND next_at > at,
                           range(toUInt32(floor(at / 5)), toUInt32(ceil(next_at / 5))),
                           []),
                    arrayPopBack(events.3), arrayPopBack(events.4),
                    arrayPopFront(events.3), arrayPopFront(events.4)))) AS watched
            FROM
            (
                SELECT
                    video_id,
                    actor_id,
                    arraySort(groupUniqArray(
                        (emission_time, statement_id, verb, video_time))) AS events
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
    )
)
ORDER BY video_id, actor_id, segment;
