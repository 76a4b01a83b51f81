-- title: Forum participation
-- description: Per course with discussion activity in [since, until): threads and comments
-- description: (distinct posts created, responses and comments together, not deleted in the
-- description: period), posters (learners who created a post), participants (learners with any
-- description: discussion statement: post, edit, vote, view, report...), votes, views, reports
-- description: (statements of those verbs).
SELECT
    f.course_key AS course_key,
    if(c.display_name = '', f.course_key, c.display_name) AS course_name,
    uniqExactIf(f.post_id, f.verb = 'posted' AND f.post_kind = 'thread' AND NOT f.deleted)
        AS threads,
    uniqExactIf(f.post_id, f.verb = 'posted' AND f.post_kind = 'comment' AND NOT f.deleted)
        AS comments,
    uniqExactIf(f.actor_id, f.verb = 'posted') AS posters,
    uniqExact(f.actor_id) AS participants,
    uniqExactIf(f.statement_id, f.verb = 'voted') AS votes,
    uniqExactIf(f.statement_id, f.verb = 'viewed') AS views,
    uniqExactIf(f.statement_id, f.verb = 'reported') AS reports
FROM
(
    SELECT
        course_key, actor_id, verb, post_kind, post_id, statement_id,
        (course_key, post_id) GLOBAL IN (
            SELECT course_key, post_id FROM ${db}.fact_forum
            WHERE verb = 'deleted'
              AND emission_time < {until:DateTime64(6, 'UTC')}
              AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
        ) AS deleted
    FROM ${db}.fact_forum
    WHERE ({org:String} = '' OR org = {org:String})
      AND ({course_key:String} = '' OR course_key = {course_key:String})
      AND emission_time >= {since:DateTime64(6, 'UTC')}
      AND emission_time < {until:DateTime64(6, 'UTC')}
      AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
) AS f
LEFT JOIN (SELECT course_key, display_name FROM ${db}.courses FINAL) AS c
    ON c.course_key = f.course_key
GROUP BY f.course_key, course_name
ORDER BY f.course_key;
