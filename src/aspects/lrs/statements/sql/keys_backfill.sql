-- Index the statements stored before the key table existed (migration 0014 creates it empty; its
-- view indexes every statement stored after): those older than the oldest indexed one. Run at
-- start-up; with nothing older it inserts nothing. The keys are those of the view in 0014.
INSERT INTO ${db}.lrs_statement_keys (key, stored_time, statement_id, retained_from)
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
    arrayMap(x -> concat('O ', x), related_activities))) AS key
WHERE stored_time < (SELECT if(count() = 0, toDateTime64('2300-01-01 00:00:00', 6, 'UTC'), min(stored_time)) FROM ${db}.lrs_statement_keys)
