-- title: Operator KPIs per day
-- description: Per day (UTC, by statement timestamp) in [since, until), over all courses (or
-- description: `org`): statements (stored, each id once, neither voided nor voiding), courses and
-- description: orgs (distinct, with a statement), active_learners (distinct actors),
-- description: median_lag_s and p95_lag_s (ingest lag: stored time - statement timestamp, in
-- description: seconds).
SELECT
    toDate(emission_time) AS day,
    count() AS statements,
    uniqExactIf(course_key, course_key != '') AS courses,
    uniqExactIf(org, org != '') AS orgs,
    uniqExactIf(actor_id, actor_id != '') AS active_learners,
    round(quantileExact(0.5)(lag), 3) AS median_lag_s,
    round(quantileExact(0.95)(lag), 3) AS p95_lag_s
FROM
(
    SELECT emission_time, course_key, org, actor_id,
           dateDiff('millisecond', emission_time, stored_time) / 1000 AS lag
    FROM ${db}.xapi_statements FINAL
    WHERE ({org:String} = '' OR org = {org:String})
      AND emission_time >= {since:DateTime64(6, 'UTC')}
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND verb_id != 'http://adlnet.gov/expapi/verbs/voided'
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
)
GROUP BY day
ORDER BY day;
