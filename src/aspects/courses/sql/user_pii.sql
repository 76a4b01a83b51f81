-- Learners' personal data, by actor id: created only when PII is enabled (courses.pii), never by
-- the numbered migrations, so a site without PII has no such table at all. One row per actor;
-- a newer import replaces an older one (updated_at). user_id is the LMS user id.
-- aspects:sharding user_pii cityHash64(actor_id)
CREATE TABLE IF NOT EXISTS ${db}.user_pii ${on_cluster}
(
    actor_id String,
    user_id String,
    username String,
    email String,
    name String,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY actor_id;
