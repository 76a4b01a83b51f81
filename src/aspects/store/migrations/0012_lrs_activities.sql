-- Activity definitions seen in stored statements, one row per distinct (activity, definition);
-- the Activities resource merges them in stored order into the LRS's canonical definition.
CREATE TABLE IF NOT EXISTS ${db}.lrs_activities ${on_cluster}
(
    activity_id String,
    definition_hash FixedString(32),
    definition String CODEC(ZSTD(3)),
    stored_time DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(stored_time)
ORDER BY (activity_id, definition_hash);
