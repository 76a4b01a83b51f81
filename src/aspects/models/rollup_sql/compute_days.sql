-- operator_kpis (site-wide) for whole days: the report's live query restricted to a set of days.
-- Keep in step with src/aspects/models/sql/operator_kpis.sql (a test compares the two).
SELECT
    day,
    sum(rows) AS statements,
    toUInt64(uniqExactIf(course_key, course_key != '')) AS courses,
    toUInt64(uniqExactIf(org, org != '')) AS orgs,
    toUInt64(uniqExactMerge(actors)) AS active_learners,
    round(quantilesExactMerge(0.5, 0.95)(lags)[1] / 1000, 3) AS median_lag_s,
    round(quantilesExactMerge(0.5, 0.95)(lags)[2] / 1000, 3) AS p95_lag_s
FROM
(
    SELECT
        toDate(emission_time) AS day,
        org,
        course_key,
        count() AS rows,
        uniqExactStateIf(actor_key, actor_key != 0) AS actors,
        quantilesExactState(0.5, 0.95)(lag_ms) AS lags
    FROM ${db}.fact_activity FINAL
    WHERE toDate(emission_time) IN {days:Array(Date)}
      AND NOT voiding
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
    GROUP BY day, org, course_key
)
GROUP BY day
ORDER BY day
