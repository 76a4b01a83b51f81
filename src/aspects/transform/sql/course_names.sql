-- Display names of every imported course (table `courses`, migration 0020), latest import wins.
SELECT course_key, display_name
FROM ${db}.courses FINAL
WHERE display_name != ''
