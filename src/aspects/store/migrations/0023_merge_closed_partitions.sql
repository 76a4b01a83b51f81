-- Merge each month of the report facts into one part once nobody writes to it for an hour.
--
-- Every insert adds a part to each fact table it touches (the fact views fire per insert), and
-- background merges leave a month in several parts (the 10M benchmark dataset: fact_video in 8
-- parts a month, 32 for a course's four months). A report reads, decompresses and aggregates
-- every part separately, so the parts count costs: on the same rows, with each month in one
-- part, video_engagement took 223 ms CPU instead of 333, learner_summary 196 instead of 253,
-- video_heatmap 293 instead of 358 (docs/reports.md, "Course-level reports (session 4)").
--
-- min_age_to_force_merge_seconds with min_age_to_force_merge_on_partition_only: when every part
-- of a partition (a month) is older than the age, ClickHouse merges the whole partition into one
-- part in the background. A month still written to keeps young parts and is left to the
-- ordinary merges; a closed month is merged once, and again an hour after a late statement
-- lands in it (a rewrite of that month's rows). ReplacingMergeTree drops a re-inserted copy of a
-- statement in that merge, as in any merge: reports already count each statement once.
-- On a cluster, the settings go to each shard's local table (aspects.store.migrate).
-- fact_activity (0030) comes after this migration: not covered here.
ALTER TABLE ${db}.fact_enrollment ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
ALTER TABLE ${db}.fact_video ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
ALTER TABLE ${db}.fact_problem ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
ALTER TABLE ${db}.fact_navigation ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
ALTER TABLE ${db}.fact_grades ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
ALTER TABLE ${db}.fact_completion ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
ALTER TABLE ${db}.fact_forum ${on_cluster}
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
