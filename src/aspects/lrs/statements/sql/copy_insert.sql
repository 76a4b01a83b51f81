-- The raw-table copy when no learner has been erased: inside ClickHouse, no row leaves the engine.
-- ${db}: database (substituted); the window (lower, upper] of stored_time is a parameter.
INSERT INTO ${db}.xapi_statements (statement_id, statement, stored_time, source)
SELECT statement_id, statement, stored_time, 'lrs'
FROM ${db}.lrs_statements
WHERE stored_time > {lower:DateTime64(6, 'UTC')} AND stored_time <= {upper:DateTime64(6, 'UTC')}
