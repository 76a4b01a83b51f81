-- The raw table without its two bloom-filter skip indexes (migration 0001: idx_statement_id on
-- statement_id, idx_actor_id on actor_id). Every INSERT hashed each row into both and every merge
-- built them again, and no read of this code is pruned by them: the raw table is read by its
-- sorting key (org, course_key, emission_time: reports, export, learner summaries); the erasure
-- selects and deletes `toString(actor_id) IN (...) OR statement_id IN (...)`, which a bloom
-- filter on actor_id cannot serve (EXPLAIN indexes = 1: 48 of 48 granules read either way, and
-- an OR with an unindexed side reads everything); the LRS looks statements up by id in its own
-- table (lrs_statements, which keeps its own index). idx_verb_id (a set of 256 values) stays: it
-- prunes the erasure's `actor_id IN (...) AND verb_id = voided` to the granules holding voiding
-- statements. Measured with benchmarks/ingest_insert.py (`#nobloom`, docs/ingest.md).
-- Metadata only for existing parts: DROP INDEX removes the index files, no data is rewritten.
ALTER TABLE ${db}.xapi_statements ${on_cluster} DROP INDEX IF EXISTS idx_statement_id;
ALTER TABLE ${db}.xapi_statements ${on_cluster} DROP INDEX IF EXISTS idx_actor_id;
