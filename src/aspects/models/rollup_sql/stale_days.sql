-- Days before {until_day} to (re)compute: cached rows no longer valid (rows inserted for the
-- day after the row's as_of, another set of voided ids, an erasure after as_of), days with a
-- change marker and no cached row, and every day with rows since the previous refresh's
-- first_uncached (all days on the first refresh: the rows stored before migration 0031 have
-- no markers).
SELECT day
FROM
(
    SELECT c.day AS day
    FROM ${db}.operator_kpis_daily AS c FINAL
    LEFT JOIN
    (
        SELECT day, max(inserted_at) AS changed FROM ${db}.activity_day_changes GROUP BY day
    ) AS m ON m.day = c.day
    WHERE c.day < {until_day:Date}
      AND (c.voided_mark != {voided_mark:UInt64}
           OR c.as_of <= {erased_last:DateTime64(6, 'UTC')}
           OR m.changed > c.as_of)
    UNION ALL
    SELECT day
    FROM ${db}.activity_day_changes
    WHERE day < {until_day:Date} AND day NOT IN (SELECT day FROM ${db}.operator_kpis_daily)
    UNION ALL
    SELECT DISTINCT toDate(emission_time) AS day
    FROM ${db}.fact_activity
    WHERE emission_time >= toDateTime64({previous_first_uncached:Date}, 6, 'UTC')
      AND emission_time < toDateTime64({until_day:Date}, 6, 'UTC')
)
GROUP BY day
ORDER BY day
