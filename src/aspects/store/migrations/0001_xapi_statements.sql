-- The raw xAPI table: the one source of truth. One row per statement, whatever its way in
-- (transformer or LRS). Writers insert statement_id, statement (the JSON text), stored_time and
-- source; every other column is extracted from the JSON by ClickHouse at insert time, so all
-- writers agree and reports never parse JSON at query time. The JSON is parsed once, into the
-- EPHEMERAL tuple `fields` (not stored), and every extracted column reads from that tuple: one
-- JSONExtract per column instead cost 2-2.6x the insert CPU (measured, docs/store.md).
-- ReplacingMergeTree on the sorting key collapses re-inserted statements (same id, same timestamp
-- and course); read with FINAL, or through derived tables that are themselves deduplicated.
-- aspects:retention xapi_statements emission_time
-- aspects:sharding xapi_statements cityHash64(statement_id)
CREATE TABLE IF NOT EXISTS ${db}.xapi_statements ${on_cluster}
(
    statement_id UUID,
    statement String CODEC(ZSTD(3)),
    stored_time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    source LowCardinality(String),

    fields Tuple(
        timestamp String,
        actor Tuple(account Tuple(name String), mbox String, mbox_sha1sum String, openid String),
        verb Tuple(id String),
        object Tuple(id String, definition Tuple(type String)),
        context Tuple(
            registration String,
            contextActivities Tuple(
                parent Array(Tuple(id String)),
                grouping Array(Tuple(id String)),
                category Array(Tuple(id String)),
                other Array(Tuple(id String)))),
        result Tuple(
            success Nullable(Bool),
            completion Nullable(Bool),
            score Tuple(scaled Nullable(Float64), raw Nullable(Float64), max Nullable(Float64)),
            duration String)
    ) EPHEMERAL JSONExtract(statement, 'Tuple(timestamp String, actor Tuple(account Tuple(name String), mbox String, mbox_sha1sum String, openid String), verb Tuple(id String), object Tuple(id String, definition Tuple(type String)), context Tuple(registration String, contextActivities Tuple(parent Array(Tuple(id String)), grouping Array(Tuple(id String)), category Array(Tuple(id String)), other Array(Tuple(id String)))), result Tuple(success Nullable(Bool), completion Nullable(Bool), score Tuple(scaled Nullable(Float64), raw Nullable(Float64), max Nullable(Float64)), duration String))'),

    emission_time DateTime64(6, 'UTC')
        DEFAULT parseDateTime64BestEffortOrZero(tupleElement(fields, 'timestamp'), 6, 'UTC')
        CODEC(Delta, ZSTD(1)),
    actor_id LowCardinality(String)
        DEFAULT multiIf(
            tupleElement(tupleElement(tupleElement(fields, 'actor'), 'account'), 'name') != '', tupleElement(tupleElement(tupleElement(fields, 'actor'), 'account'), 'name'),
            tupleElement(tupleElement(fields, 'actor'), 'mbox') != '', tupleElement(tupleElement(fields, 'actor'), 'mbox'),
            tupleElement(tupleElement(fields, 'actor'), 'mbox_sha1sum') != '', concat('sha1:', tupleElement(tupleElement(fields, 'actor'), 'mbox_sha1sum')),
            tupleElement(tupleElement(fields, 'actor'), 'openid'))
        CODEC(ZSTD(1)),
    verb_id LowCardinality(String) DEFAULT tupleElement(tupleElement(fields, 'verb'), 'id'),
    object_id String DEFAULT tupleElement(tupleElement(fields, 'object'), 'id') CODEC(ZSTD(1)),
    object_type LowCardinality(String) DEFAULT tupleElement(tupleElement(tupleElement(fields, 'object'), 'definition'), 'type'),
    registration String DEFAULT tupleElement(tupleElement(fields, 'context'), 'registration'),
    course_key LowCardinality(String)
        DEFAULT replaceRegexpOne(
            extract(
                arrayStringConcat(
                    arrayConcat(
                        [tupleElement(tupleElement(fields, 'object'), 'id')],
                        arrayMap(a -> tupleElement(a, 'id'), tupleElement(tupleElement(tupleElement(fields, 'context'), 'contextActivities'), 'parent')),
                        arrayMap(a -> tupleElement(a, 'id'), tupleElement(tupleElement(tupleElement(fields, 'context'), 'contextActivities'), 'grouping')),
                        arrayMap(a -> tupleElement(a, 'id'), tupleElement(tupleElement(tupleElement(fields, 'context'), 'contextActivities'), 'category')),
                        arrayMap(a -> tupleElement(a, 'id'), tupleElement(tupleElement(tupleElement(fields, 'context'), 'contextActivities'), 'other'))),
                    ' '),
                '(?:course|block)-v1:[^+/\\s"]+\\+[^+/\\s"]+\\+[^+/?#@\\s"]+'),
            '^block-v1:', 'course-v1:'),
    org LowCardinality(String)
        DEFAULT if(course_key = '', '', splitByChar('+', substring(course_key, 11))[1]),
    block_id String DEFAULT extract(object_id, 'block-v1:[^/?#\\s]+') CODEC(ZSTD(1)),
    result_success Nullable(Bool) DEFAULT tupleElement(tupleElement(fields, 'result'), 'success'),
    result_completion Nullable(Bool) DEFAULT tupleElement(tupleElement(fields, 'result'), 'completion'),
    result_score_scaled Nullable(Float64) DEFAULT tupleElement(tupleElement(tupleElement(fields, 'result'), 'score'), 'scaled'),
    result_score_raw Nullable(Float64) DEFAULT tupleElement(tupleElement(tupleElement(fields, 'result'), 'score'), 'raw'),
    result_score_max Nullable(Float64) DEFAULT tupleElement(tupleElement(tupleElement(fields, 'result'), 'score'), 'max'),
    result_duration String DEFAULT tupleElement(tupleElement(fields, 'result'), 'duration'),

    INDEX idx_statement_id statement_id TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_actor_id actor_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_verb_id verb_id TYPE set(256) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, emission_time, statement_id)
SETTINGS index_granularity = 8192;
