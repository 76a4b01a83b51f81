-- The LRS's serving index of the statements it stored (the raw table xapi_statements keeps the
-- analytic copy, ordered for reports by course and emission time). xAPI reads need another order
-- (stored time, for `since`/`until`/paging) and the identities a statement mentions (agents,
-- activities, incl. related ones) that cannot be extracted in SQL reliably, so the LRS writes
-- these columns itself, in the same group commit as the raw rows.
-- agents / related_agents hold identity keys (aspects.xapi.agents.ifi_key); activities /
-- related_activities hold activity ids; voiding_target / ref_target the StatementRef target of a
-- voiding / any statement (text UUID, '' when none); content_hash decides same-content re-posts.
CREATE TABLE IF NOT EXISTS ${db}.lrs_statements ${on_cluster}
(
    statement_id UUID,
    stored_time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    statement String CODEC(LZ4),
    content_hash FixedString(32),
    verb_id String,
    registration String,
    authority String,
    agents Array(String),
    related_agents Array(String),
    activities Array(String),
    related_activities Array(String),
    voiding_target String,
    ref_target String,
    attachment_hashes Array(String),

    INDEX idx_statement_id statement_id TYPE bloom_filter(0.001) GRANULARITY 8,
    INDEX idx_ref_target ref_target TYPE bloom_filter(0.01) GRANULARITY 8
)
-- Filtered reads find their statements in lrs_statement_keys (migration 0014) and then fetch
-- each by primary key here; a fetch decompresses the granule holding the statement, so granules
-- are small: 128 rows. Measured, 100 statements picked at random from 300k: 72 ms with 1,024-row
-- granules, 32 ms with 256, 21 ms with 128 (docs/lrs.md). The JSON is LZ4-compressed (not
-- ZSTD(3)): 40% larger, but a fetch of 100 statements costs 12 instead of 22 ms CPU (measured,
-- 100k statements). Compressed blocks are small too (4-64 KiB, not 64 KiB-1 MiB): with the
-- default, one statement's stored_time and statement_id meant decompressing 8,192 and 4,096 of
-- them; at 1M statements a 100-statement fetch cost 24 ms CPU instead of 14 (one part).
-- (Stores created before November 2026 keep ZSTD(3), 1,024-row granules and
-- six more bloom-filter indexes, which the key table made useless.)
ENGINE = ReplacingMergeTree
ORDER BY (stored_time, statement_id)
SETTINGS index_granularity = 128, min_compress_block_size = 4096, max_compress_block_size = 65536;
