-- title: Operator KPIs per day
-- description: Per day (UTC, by statement timestamp) in [since, until), over all courses (or
-- description: `org`): statements (stored, each id once, neither voided nor voiding), courses and
-- description: orgs (distinct, with a statement), active_learners (distinct actors),
-- description: median_lag_s and p95_lag_s (ingest lag: stored time - statement timestamp, in
-- description: seconds).
--
-- Site-wide, whole past days come from operator_kpis_daily (migration 0031, written by
-- aspects.models.rollup) while nothing has changed them since their refresh: no rows inserted
-- for the day after the row's as_of (activity_day_changes), the same set of voided ids
-- (voided_mark) and no erasure after as_of (privacy_tombstones). Every other day in the range
-- (partial days at either end, today, changed or never cached days, any day with `org`) is
-- computed here from fact_activity as before, so the figures are exact at every moment.
WITH
    {org:String} = '' AS use_cache,
    toDate({since:DateTime64(6, 'UTC')}) AS since_day,
    toDate({until:DateTime64(6, 'UTC')}) AS until_day,
    -- Whole days: [first_whole, until_day).
    since_day + (toDateTime64(since_day, 6, 'UTC') < {since:DateTime64(6, 'UTC')}) AS first_whole,
    (
        SELECT groupBitXor(cityHash64(voided_id))
        FROM (SELECT DISTINCT voided_id FROM ${db}.voided_statements)
    ) AS voided_now,
    (SELECT max(erased_at) FROM ${db}.privacy_tombstones) AS erased_last,
    -- Days before this one that had rows at the last refresh's snapshot are all cached (or have a
    -- change marker after their as_of); 1970-01-01 when nothing was ever refreshed.
    (SELECT max(first_uncached) FROM ${db}.operator_kpis_refreshes) AS first_uncached,
    (
        SELECT groupArray(day)
        FROM ${db}.operator_kpis_daily AS c FINAL
        LEFT JOIN
        (
            SELECT day, max(inserted_at) AS changed
            FROM ${db}.activity_day_changes
            WHERE day >= first_whole AND day < until_day
            GROUP BY day
        ) AS m ON m.day = c.day
        WHERE use_cache AND c.day >= first_whole AND c.day < until_day
          AND c.voided_mark = voided_now AND c.as_of > erased_last AND m.changed <= c.as_of
    ) AS cached_days,
    -- Days that may hold rows and are not served by the cache: those with a stale cached row or
    -- a change marker, the partial days at the ends, and every day from first_uncached on.
    (
        SELECT groupUniqArray(day)
        FROM
        (
            SELECT day FROM ${db}.operator_kpis_daily
            WHERE day >= since_day AND day <= until_day
            UNION ALL
            SELECT day FROM ${db}.activity_day_changes
            WHERE day >= since_day AND day <= until_day
        )
    ) AS known_days,
    arrayFilter(
        d -> NOT has(cached_days, d),
        arrayConcat(
            known_days,
            [since_day, until_day],
            arrayMap(
                i -> toDate(greatest(first_uncached, since_day) + i),
                range(toUInt32(greatest(0, toInt64(until_day) + 1 - toInt64(greatest(first_uncached, since_day)))))
            )
        )
    ) AS live_days
SELECT day, statements, courses, orgs, active_learners, median_lag_s, p95_lag_s
FROM
(
    SELECT day, statements, courses, orgs, active_learners, median_lag_s, p95_lag_s
    FROM ${db}.operator_kpis_daily FINAL
    WHERE has(cached_days, day) AND statements > 0
    UNION ALL
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
          -- A set of days: the table's min-max and primary indexes skip the other days' rows.
          AND toDate(emission_time) IN (SELECT arrayJoin(live_days))
          AND NOT voiding
          AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        GROUP BY day, org, course_key
    )
    GROUP BY day
)
ORDER BY day;
