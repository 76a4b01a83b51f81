-- How far the LRS has copied its statements into the raw table. The LRS commits a request to
-- its own table lrs_statements (its source of truth) and answers; a background task of the same
-- process copies what it committed into xapi_statements in large batches, where the report
-- views run once per batch instead of once per request. One row per LRS process name
-- (lrs.instance); a restarted process resumes after its copied_through, so a crash between
-- commit and copy loses nothing (a re-copy is harmless: the raw table and every report table
-- collapse copies of one statement id).
CREATE TABLE IF NOT EXISTS ${db}.lrs_raw_copy ${on_cluster}
(
    name String,
    copied_through DateTime64(6, 'UTC'),
    updated DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated)
ORDER BY name;
