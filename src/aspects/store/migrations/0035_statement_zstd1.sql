-- The raw table's statement JSON compressed with ZSTD(1) instead of ZSTD(3) (migration 0001).
-- Every INSERT compresses it and every merge decompresses and compresses it again; on the
-- statements' JSON level 1 gives the same size as level 3 for less CPU. Measured with
-- benchmarks/ingest_insert.py (1.03M statements of the backfill benchmark in INSERTs of
-- 100,000, all views, chDB's CPU until merges are idle, 3 interleaved rounds, load 9-14):
-- ZSTD(3) 29.4 / 31.6 / 31.1 us per statement (median 31.1, merges 6.2), ZSTD(1) 27.5 / 27.3 /
-- 30.0 (median 27.5, merges 5.4); the raw table once merged 74 MB against 73 MB. Again at
-- load 4-6 (3 rounds): ZSTD(3) 23.9 / 23.8 / 25.2, ZSTD(1) 22.7 / 23.2 / 22.9 (medians 23.9 ->
-- 22.9, merges 5.2 -> 4.8): 1-3.6 us per statement, the more the busier the machine.
-- LZ4 saved more CPU (median 25.8) but made the table 1.7x larger (125 MB).
-- Metadata only: parts written before keep ZSTD(3) until a merge rewrites them.
ALTER TABLE ${db}.xapi_statements ${on_cluster}
    MODIFY COLUMN statement String CODEC(ZSTD(1));
