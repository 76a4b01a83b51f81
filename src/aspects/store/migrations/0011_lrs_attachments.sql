-- Attachment bodies sent to the LRS in multipart/mixed requests, by their SHA-2 hash (the key
-- statements use to reference them). Re-sent bodies collapse.
CREATE TABLE IF NOT EXISTS ${db}.lrs_attachments ${on_cluster}
(
    sha2 String,
    content_type String,
    content String CODEC(ZSTD(3)),
    stored_time DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(stored_time)
ORDER BY sha2;
