-- Tombstones of erased learners: the SHA-256 (hex) of each actor id an erasure removed, never the
-- id itself, so the table holds no personal data of its own. Every write path
-- (aspects.store.statements.insert_statements) drops statements whose actor's hash is here, so
-- re-ingesting old tracking logs or an LRS POST cannot bring an erased learner back.
-- No retention: a tombstone must outlive every log that could still be replayed.
-- aspects:sharding privacy_tombstones cityHash64(actor_hash)
CREATE TABLE IF NOT EXISTS ${db}.privacy_tombstones ${on_cluster}
(
    actor_hash FixedString(64),
    erased_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(erased_at)
ORDER BY actor_hash;
