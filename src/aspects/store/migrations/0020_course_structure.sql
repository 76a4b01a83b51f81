-- Course structure: the dimension tables that give reports names instead of ids.
-- Filled by `aspects courses import` (OLX export) and `aspects courses sync` (LMS Course Blocks
-- API). A new import of a course replaces its rows: ReplacingMergeTree keeps the row with the
-- highest imported_at per key, and readers use FINAL (the tables are small).
-- aspects:sharding courses cityHash64(course_key)
-- aspects:sharding course_blocks cityHash64(course_key)
CREATE TABLE IF NOT EXISTS ${db}.courses ${on_cluster}
(
    course_key String,
    org LowCardinality(String),
    display_name String,
    block_count UInt32,
    source LowCardinality(String),
    imported_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(imported_at)
ORDER BY course_key;

-- One row per block (course, section, subsection, unit, component), denormalised with the names
-- and positions of its section, subsection and unit so reports need a single join.
-- `position` is the block's rank in a depth-first walk of the course (the learner's reading order);
-- section_index/subsection_index/unit_index are 1-based within their parent.
-- A stale block (removed from the course) is not in the latest import: `imported_at` below the
-- course's latest `courses.imported_at` marks it; readers join with the latest import only.
CREATE TABLE IF NOT EXISTS ${db}.course_blocks ${on_cluster}
(
    course_key String,
    block_id String,
    block_type LowCardinality(String),
    display_name String,
    parent_id String,
    position UInt32,
    depth UInt8,
    graded Bool,
    format LowCardinality(String),
    section_id String,
    section_name String,
    section_index UInt16,
    subsection_id String,
    subsection_name String,
    subsection_index UInt16,
    unit_id String,
    unit_name String,
    unit_index UInt16,
    imported_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(imported_at)
ORDER BY (course_key, block_id);

-- The latest import of every course: what reports join with (stale blocks left out).
CREATE VIEW IF NOT EXISTS ${db}.course_structure ${on_cluster} AS
SELECT b.*
FROM ${db}.course_blocks AS b FINAL
INNER JOIN (SELECT course_key, imported_at FROM ${db}.courses FINAL) AS c
    ON b.course_key = c.course_key AND b.imported_at = c.imported_at;
