-- fact_activity: one narrow row per statement (its id, timestamp, course, learner, ingest lag), for
-- the site-wide reports that count distinct learners and statements over millions of rows
-- (active_learners, operator_kpis). The raw table holds the same figures, but reading them
-- there costs: actor_id is a LowCardinality string that uniqExact hashes row by row (SipHash-128)
-- and statement ids are counted with a hash set. Here the learner is stored already hashed,
-- actor_key = sipHash128(actor_id): uniqExact of a string keeps exactly that 128-bit SipHash
-- per value, so counting distinct actor_key values is the same figure as counting distinct
-- actor_id values, at a fraction of the CPU (docs/reports.md, "Site-wide reports").
--
-- Deduplication: the key is the raw table's (org, course_key, emission_time, statement_id), so a
-- statement stored twice collapses here exactly as in the raw table, and reports count rows with
-- FINAL (each statement once; the copy kept is the last inserted, as in the raw table). A
-- SummingMergeTree or a count per learner and day would count a re-inserted statement twice.
-- Voiding: reports still leave out the ids in voided_statements at read time, so a voiding that
-- arrives later removes the statement from every figure. `voiding` marks the voiding statements.
-- Erasure finds the learner's rows by actor_id (aspects.privacy.erasure discovers the column).
--
-- aspects:retention fact_activity emission_time
-- aspects:sharding fact_activity cityHash64(statement_id)
CREATE TABLE IF NOT EXISTS ${db}.fact_activity ${on_cluster}
(
    statement_id UUID,
    emission_time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    org LowCardinality(String),
    course_key LowCardinality(String),
    actor_id LowCardinality(String) CODEC(ZSTD(1)),
    actor_key UInt128,
    lag_ms Int64 CODEC(T64, ZSTD(1)),
    voiding Bool
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(emission_time)
ORDER BY (org, course_key, emission_time, statement_id);

-- actor_key is 0 for a statement without an actor (none are counted as learners).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.fact_activity_mv ${on_cluster}
TO ${db}.fact_activity AS
SELECT statement_id, emission_time, org, course_key, actor_id,
       if(actor_id = '', toUInt128(0), reinterpretAsUInt128(sipHash128(actor_id))) AS actor_key,
       dateDiff('millisecond', emission_time, stored_time) AS lag_ms,
       verb_id = 'http://adlnet.gov/expapi/verbs/voided' AS voiding
FROM ${db}.xapi_statements;

-- Backfill: the statements stored before this migration (FINAL: the copy the raw table keeps).
-- Safe to repeat, and safe if a writer inserted in between: a row written twice collapses.
INSERT INTO ${db}.fact_activity
SELECT statement_id, emission_time, org, course_key, actor_id,
       if(actor_id = '', toUInt128(0), reinterpretAsUInt128(sipHash128(actor_id))) AS actor_key,
       dateDiff('millisecond', emission_time, stored_time) AS lag_ms,
       verb_id = 'http://adlnet.gov/expapi/verbs/voided' AS voiding
FROM ${db}.xapi_statements FINAL;
