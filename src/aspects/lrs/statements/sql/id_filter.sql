-- The two Bloom filter positions of every stored statement id (aspects.lrs.statements.idfilter):
-- the low and the high 64 bits of the UUID (its big-endian bytes, as Python's UUID.int reads
-- them), each masked to the filter's size.
SELECT
    bitAnd(reinterpretAsUInt64(reverse(substring(UUIDToNum(statement_id), 9, 8))), {mask:UInt64}),
    bitAnd(reinterpretAsUInt64(reverse(substring(UUIDToNum(statement_id), 1, 8))), {mask:UInt64})
FROM ${db}.lrs_statements
