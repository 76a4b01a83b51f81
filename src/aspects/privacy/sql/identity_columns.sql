-- Tables of a database and which of the columns that can identify a learner each one has.
-- Only stored tables (MergeTree family): views read from them and Distributed tables forward to
-- their *_local tables, which are listed themselves.
SELECT
    c.table AS table_name,
    groupArray(c.name) AS columns
FROM system.columns AS c
INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
WHERE c.database = {db:String}
  AND t.engine LIKE '%MergeTree'
  AND c.name IN ('actor_id', 'user_id', 'username', 'email', 'agents', 'related_agents',
                 'statement_id', 'attachment_hashes')
GROUP BY c.table
ORDER BY c.table
