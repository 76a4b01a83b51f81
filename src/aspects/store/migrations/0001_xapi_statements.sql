-- The raw xAPI table: the one source of truth. One row per statement, whatever its way in
-- (transformer or LRS). Writers insert statement_id, statement (the JSON text), stored_time and
-- source; every other column is extracted from the JSON by ClickHouse at insert time, so all
-- writers agree and reports never parse JSON at query time.
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

    emission_time DateTime64(6, 'UTC')
        DEFAULT parseDateTime64BestEffortOrZero(JSONExtractString(statement, 'timestamp'), 6, 'UTC')
        CODEC(Delta, ZSTD(1)),
    actor_id String
        DEFAULT multiIf(
            JSONHas(statement, 'actor', 'account'), JSONExtractString(statement, 'actor', 'account', 'name'),
            JSONHas(statement, 'actor', 'mbox'), JSONExtractString(statement, 'actor', 'mbox'),
            JSONHas(statement, 'actor', 'mbox_sha1sum'), concat('sha1:', JSONExtractString(statement, 'actor', 'mbox_sha1sum')),
            JSONHas(statement, 'actor', 'openid'), JSONExtractString(statement, 'actor', 'openid'),
            '')
        CODEC(ZSTD(1)),
    verb_id LowCardinality(String) DEFAULT JSONExtractString(statement, 'verb', 'id'),
    object_id String DEFAULT JSONExtractString(statement, 'object', 'id') CODEC(ZSTD(1)),
    object_type LowCardinality(String)
        DEFAULT JSONExtractString(statement, 'object', 'definition', 'type'),
    registration String DEFAULT JSONExtractString(statement, 'context', 'registration'),
    -- Open edX keys, from the object id or else the context activities:
    -- block-v1:ORG+COURSE+RUN+type@... and course-v1:ORG+COURSE+RUN both give course-v1:ORG+COURSE+RUN.
    course_key LowCardinality(String)
        DEFAULT replaceRegexpOne(
            extract(concat(object_id, ' ', JSONExtractRaw(statement, 'context', 'contextActivities')),
                    '(?:course|block)-v1:[^+/\\s"]+\\+[^+/\\s"]+\\+[^+/?#@\\s"]+'),
            '^block-v1:', 'course-v1:'),
    org LowCardinality(String)
        DEFAULT if(course_key = '', '', splitByChar('+', substring(course_key, 11))[1]),
    block_id String DEFAULT extract(object_id, 'block-v1:[^/?#\\s]+') CODEC(ZSTD(1)),
    result_success Nullable(Bool)
        DEFAULT if(JSONHas(statement, 'result', 'success'),
                   JSONExtractBool(statement, 'result', 'success'), NULL),
    result_completion Nullable(Bool)
        DEFAULT if(JSONHas(statement, 'result', 'completion'),
                   JSONExtractBool(statement, 'result', 'completion'), NULL),
    result_score_scaled Nullable(Float64)
        DEFAULT if(JSONHas(statement, 'result', 'score', 'scaled'),
                   JSONExtractFloat(statement, 'result', 'score', 'scaled'), NULL),
    result_score_raw Nullable(Float64)
        DEFAULT if(JSONHas(statement, 'result', 'score', 'raw'),
                   JSONExtractFloat(statement, 'result', 'score', 'raw'), NULL),
    result_score_max Nullable(Float64)
        DEFAULT if(JSONHas(statement, 'result', 'score', 'max'),
                   JSONExtractFloat(statement, 'result', 'score', 'max'), NULL),
    result_duration String DEFAULT JSONExtractString(statement, 'result', 'duration'),

    INDEX idx_statement_id statement_id TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_actor_id actor_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_verb_id verb_id TYPE set(256) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, emission_time, statement_id)
SETTINGS index_granularity = 8192;
