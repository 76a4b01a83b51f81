-- Reports API keys (`aspects api keys create|list|revoke`). Only the SHA-256 of a key is stored:
-- keys are 256-bit random tokens, so a fast hash is enough (no password stretching needed) and
-- lookups by hash are exact. Revoking writes a newer version of the row (revoked_at set); readers
-- use FINAL. courses / orgs: the scope; all_courses: global access (operators only).
-- aspects:sharding api_keys cityHash64(key_id)
CREATE TABLE IF NOT EXISTS ${db}.api_keys ${on_cluster}
(
    key_id String,
    key_hash FixedString(64),
    name String,
    courses Array(String),
    orgs Array(String),
    all_courses Bool,
    pii Bool,
    erase Bool,
    created_at DateTime64(6, 'UTC'),
    revoked_at Nullable(DateTime64(6, 'UTC')),
    version DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key_id;
