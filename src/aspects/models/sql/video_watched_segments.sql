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
            -- partitions. The events are (verb number, playhead) pairs, the verb numbered by its
            -- place in the list below (1 = played), sorted by (timestamp, statement id) as plain
            -- numbers: groupArray of numbers is cheaper than of a tuple holding a UUID and a
            -- string, or than groupUniqArray (docs/reports.md). reinterpretAsUInt128 orders ids
            -- as UUIDs order. Copies of a statement (identical) sort side by side, where they add
            -- nothing: a played followed by its own copy pairs with no interval, and the copy
            -- pairs as the original would; so no deduplication is needed.
            -- Each event beside the next one (arrays shifted by one, zipped): a lambda that
            -- indexed into the whole array would copy it for every element (quadratic).
            SELECT
                video_id,
                actor_id,
                arraySort(arrayFlatten(arrayMap(
                    (verb, at, next_verb, next_at) ->
                        if(verb = 1  -- played
                               AND next_verb IN (2, 3, 4, 5)  -- paused ... completed
                               AND next_at > at,
                           range(toUInt32(floor(at / 5)), toUInt32(ceil(next_at / 5))),
                           []),
                    arrayPopBack(events.1), arrayPopBack(events.2),
                    arrayPopFront(events.1), arrayPopFront(events.2)))) AS watched
            FROM
            (
                SELECT
                    video_id,
                    actor_id,
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
    )
)
ORDER BY video_id, actor_id, segment;
