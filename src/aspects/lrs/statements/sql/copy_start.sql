-- Where a process that never copied starts: after the newest statement already stored (earlier
-- versions of the LRS wrote the raw table synchronously, so those rows are there already).
SELECT max(stored_time), count() FROM ${db}.lrs_statements
