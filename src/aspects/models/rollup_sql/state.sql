-- The refresher's snapshot of what the cache's validity depends on, read before it computes.
SELECT
    now64(6, 'UTC') AS now,
    (
        SELECT groupBitXor(cityHash64(voided_id))
        FROM (SELECT DISTINCT voided_id FROM ${db}.voided_statements)
    ) AS voided_mark,
    (SELECT max(erased_at) FROM ${db}.privacy_tombstones) AS erased_last,
    (SELECT max(first_uncached) FROM ${db}.operator_kpis_refreshes) AS previous_first_uncached
