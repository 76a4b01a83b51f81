-- fact_video_mv reads each video statement's JSON once: one JSONExtract into a tuple of exactly
-- the fields it needs (playhead, seek start and target, captions flag, video length), where
-- 0021 parsed the statement five times (JSONHas, JSONExtractBool, three JSONExtractFloat). The
-- view runs inside every insert of a video statement (37% of a course's statements): measured
-- on 200k video statements, the view's CPU went from 1.20 s to 0.43 s, the whole insert from
-- 4.90 s to 4.13 s (medians of 5, docs/reports.md). Same rows for every value ERB emits: a
-- missing number is 0, a missing cc-enabled NULL; a cc-enabled that is not a JSON boolean
-- (never emitted) reads as NULL or by its truth value instead of false.
-- Dropped and created again (the table keeps its rows): run migrations while writers are stopped,
-- as for every migration, or a video statement inserted in between misses fact_video.
DROP VIEW IF EXISTS ${db}.fact_video_mv ${on_cluster};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_video_mv ${on_cluster}
TO ${db}.fact_video AS
WITH
    JSONExtract(statement, 'Tuple(result Tuple(extensions Tuple(`https://w3id.org/xapi/video/extensions/time` Nullable(Float64), `https://w3id.org/xapi/video/extensions/time-from` Nullable(Float64), `https://w3id.org/xapi/video/extensions/time-to` Nullable(Float64), `https://w3id.org/xapi/video/extensions/cc-enabled` Nullable(Bool))), context Tuple(extensions Tuple(`https://w3id.org/xapi/video/extensions/length` Nullable(Float64))))') AS parsed,
    tupleElement(tupleElement(parsed, 'result'), 'extensions') AS result_extensions
SELECT statement_id, emission_time, org, course_key, actor_id,
       block_id AS video_id,
       replaceRegexpOne(verb_id, '^.*/', '') AS verb,
       ifNull(if(verb = 'seeked',
                 tupleElement(result_extensions, 'https://w3id.org/xapi/video/extensions/time-from'),
                 tupleElement(result_extensions, 'https://w3id.org/xapi/video/extensions/time')),
              0) AS video_time,
       ifNull(tupleElement(result_extensions, 'https://w3id.org/xapi/video/extensions/time-to'), 0)
           AS seek_to,
       ifNull(tupleElement(tupleElement(tupleElement(parsed, 'context'), 'extensions'),
                           'https://w3id.org/xapi/video/extensions/length'), 0) AS video_length,
       tupleElement(result_extensions, 'https://w3id.org/xapi/video/extensions/cc-enabled')
           AS cc_enabled
FROM ${db}.xapi_statements
WHERE object_type = 'https://w3id.org/xapi/video/activity-type/video';
