-- operator_kpis over many days re-reads one row per statement (10M rows: ~1 s CPU for 30 days,
-- ~4 s for 120). Its figures per day cannot be summed at insert time exactly (a copy of a
-- statement arrives in a separate insert and must count once; a voiding arrives later), so
-- instead a refresher (aspects.models.rollup) recomputes whole past days exactly from
-- fact_activity into operator_kpis_daily, and the report takes a cached day only while nothing
-- has changed it since (docs/reports.md, "operator_kpis cache"). The report itself never writes.
--
-- activity_day_changes: when each (day, org) last received rows in fact_activity, by insert time
-- (now64() of the insert, not the statement's stored time: the LRS journal or a replay can insert
-- a statement long after it was stored). One row per (day, org) per insert, collapsed by merges
-- to the latest; the report reads max(inserted_at) per day, so unmerged rows cost nothing but
-- their few bytes. Rows inserted before this migration have no marker: the refresher's first
-- run covers them.
-- aspects:retention activity_day_changes day
-- aspects:sharding activity_day_changes cityHash64(day, org)
CREATE TABLE IF NOT EXISTS ${db}.activity_day_changes ${on_cluster}
(
    day Date,
    org LowCardinality(String),
    inserted_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY (day, org);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.activity_day_changes_mv ${on_cluster}
TO ${db}.activity_day_changes AS
SELECT toDate(emission_time) AS day, org, max(now64(6, 'UTC')) AS inserted_at
FROM ${db}.fact_activity
GROUP BY day, org;

-- operator_kpis_daily: one row per whole UTC day of the site-wide report (no org filter), exact
-- as of `as_of` (an instant at least the refresher's margin before its snapshot of
-- fact_activity), with `voided_mark` (a fingerprint of the set of voided ids) at that snapshot.
-- `statements` = 0 marks a day whose statements are all voided or voiding (the report shows no
-- row for it, as the live query). No learner ids: counts only. Newer rows of a day replace
-- older ones (version as_of).
-- aspects:retention operator_kpis_daily day
-- aspects:sharding operator_kpis_daily cityHash64(day)
CREATE TABLE IF NOT EXISTS ${db}.operator_kpis_daily ${on_cluster}
(
    day Date,
    statements UInt64,
    courses UInt64,
    orgs UInt64,
    active_learners UInt64,
    median_lag_s Float64,
    p95_lag_s Float64,
    as_of DateTime64(6, 'UTC'),
    voided_mark UInt64
)
ENGINE = ReplacingMergeTree(as_of)
ORDER BY day;

-- The last completed refresh (older rows collapse into it): the days before `first_uncached`
-- that had rows at its snapshot are all in operator_kpis_daily, or have a change marker after
-- their row's as_of. Bookkeeping without personal data, one row: exempt from retention
-- (tests/privacy/test_retention.py).
CREATE TABLE IF NOT EXISTS ${db}.operator_kpis_refreshes ${on_cluster}
(
    as_of DateTime64(6, 'UTC'),
    first_uncached Date,
    voided_mark UInt64,
    days_computed UInt32,
    seconds Float64
)
ENGINE = ReplacingMergeTree(as_of)
ORDER BY tuple();
