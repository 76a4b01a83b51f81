-- The LRS's inverted index: one row per (key, statement) for every key a GET /statements filter
-- can ask for, ordered by key, so that a filtered query reads only its matches
-- (in stored order, stopping at the page's limit) instead of scanning lrs_statements, which is
-- ordered by stored time. Keys are '<kind> <value>':
--   v <verb id>   r <registration>   w <authority key> (statements/read/mine)
--   a <agent key>  (actor, or object Agent/Group, incl. group members; see aspects.xapi.agents)
--   A <agent key>  (related_agents=true: every agent the statement mentions)
--   o <activity id> (the object Activity)   O <activity id> (related_activities=true)
--   R <statement id> (the statement's object is a StatementRef to it)
--   V <statement id> (the statement is a voiding statement of it)
-- Filled by a materialized view inside each LRS commit, so an answered POST is in the index.
-- (Statements an LRS stored before this migration are indexed when the LRS starts, see
-- aspects.lrs.statements.keys: migrations are DDL only.)
-- Erasure and retention treat the keys like their statements: `agents` (not stored) exposes the
-- agent keys under the column name by which the privacy erasure finds the tables naming a
-- learner (and the statement ids of the learner's statements go with it), and `retained_from` is
-- the time lrs_statements' retention counts from (migration 0062), so keys expire with them.
-- aspects:sharding lrs_statement_keys cityHash64(statement_id)
-- aspects:retention lrs_statement_keys retained_from
CREATE TABLE IF NOT EXISTS ${db}.lrs_statement_keys ${on_cluster}
(
    key String,
    stored_time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    statement_id UUID,
    retained_from DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    agents Array(String) ALIAS if(match(key, '^[aA] '), [substring(key, 3)], [])
)
ENGINE = ReplacingMergeTree
ORDER BY (key, stored_time, statement_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.lrs_statement_keys_mv ${on_cluster}
TO ${db}.lrs_statement_keys AS
SELECT key, stored_time, statement_id,
    least(stored_time, ifNull(parseDateTime64BestEffortOrNull(JSONExtractString(statement, 'timestamp'), 6, 'UTC'), stored_time)) AS retained_from
FROM ${db}.lrs_statements
ARRAY JOIN arrayDistinct(arrayConcat(
    [concat('v ', verb_id), concat('w ', authority)],
    if(registration = '', [], [concat('r ', registration)]),
    if(ref_target = '', [], [concat('R ', ref_target)]),
    if(voiding_target = '', [], [concat('V ', voiding_target)]),
    arrayMap(x -> concat('a ', x), agents),
    arrayMap(x -> concat('A ', x), related_agents),
    arrayMap(x -> concat('o ', x), activities),
    arrayMap(x -> concat('O ', x), related_activities))) AS key;
