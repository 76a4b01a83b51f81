-- The raw-table copy when tombstones exist: the rows go through the store's tombstone filter
-- (aspects.store.statements.insert_statements), so an erased learner is never copied.
SELECT statement_id, statement, stored_time
FROM ${db}.lrs_statements
WHERE stored_time > {lower:DateTime64(6, 'UTC')} AND stored_time <= {upper:DateTime64(6, 'UTC')}
