-- The report tables without automatic column statistics. ClickHouse 26 collects statistics
-- (auto_statistics_types = 'basic, uniq_v2') for every column of every part a merge writes, and
-- a backfill merges each report table's rows several times. Measured (docs/ingest.md, session
-- 9): one merge of all parts (OPTIMIZE FINAL) of copies of the eight fact tables of a 2M-statement
-- benchmarks/reports.py dataset costs 1.29 instead of 1.54 us per raw statement (-16%; medians
-- of alternated rounds, load ~8). The reports do not need them: their plans on the same merged
-- parts differ only in the order of PREWHERE conditions (grades_distribution, completion: same
-- granules read), and the CPU of every report case summed 4,015 against 4,011 ms (3 alternated
-- rounds of benchmarks/reports.py, load 5-8). The raw table: 0041.
-- Metadata only: parts written before keep their statistics until a merge rewrites them.
ALTER TABLE ${db}.voided_statements ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_enrollment ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_video ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_problem ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_navigation ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_grades ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_completion ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_forum ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.fact_activity ${on_cluster} MODIFY SETTING auto_statistics_types = '';
ALTER TABLE ${db}.activity_day_changes ${on_cluster} MODIFY SETTING auto_statistics_types = '';
