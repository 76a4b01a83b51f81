-- title: Operator KPIs per day
-- description: Per day (UTC, by statement timestamp) in [since, until), over all courses (or
-- description: `org`): statements (stored, each id once, neither voided nor voiding), courses and
-- description: orgs (distinct, with a statement), active_learners (distinct actors),
-- description: median_lag_s and p95_lag_s (ingest lag: stored time - statement timestamp, in
-- description: seconds).
SELECT
    day,
    sum(rows) AS statements,
    uniqExactIf(course_key, course_key != '') AS courses,
    uniqExactIf(org, org != '') AS orgs,
    uniqExactMerge(actors) AS active_learners,
    round(quantilesExactMerge(0.5, 0.95)(lags)[1] / 1000, 3) AS median_lag_s,
    round(quantilesExactMerge(0.5, 0.95)(lags)[2] / 1000, 3) AS p95_lag_s
FROM
(
    -- Per day and course first: course and org are LowCardinality keys, cheap to group by.
    SELECT
        toDate(emission_time) AS day,
        org,
        course_key,
        count() AS rows,
        uniqExactStateIf(actor_key, actor_key != 0) AS actors,
        quantilesExactState(0.5, 0.95)(lag_ms) AS lags
    -- fact_activity (migration 0030): the raw table's key, so FINAL keeps the same rows; the
    -- learner as its 128-bit SipHash (what uniqExact keeps for a string), the lag precomputed.
    FROM ${db}.fact_activity FINAL
    WHERE ({org:String} = '' OR org = {org:String})
      AND emission_time >= {since:DateTime64(6, 'UTC')}
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND NOT voiding
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY day, org, course_key
)
GROUP BY day
ORDER BY day;
