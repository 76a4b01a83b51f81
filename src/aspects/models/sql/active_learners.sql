-- title: Active learners per day, week or month
-- description: For each period (`period`: day, week starting Monday, or month; UTC) in [since,
-- description: until): active_learners, the distinct learners with at least one statement (any
-- description: verb, not voided) in the selected courses; statements, the number of those
-- description: statements (each statement id once).
SELECT
    multiIf({period:String} = 'week', toMonday(emission_time),
            {period:String} = 'month', toStartOfMonth(emission_time),
            toDate(emission_time)) AS period_start,
    uniqExact(actor_key) AS active_learners,
    count() AS statements
-- fact_activity (migration 0030): learners as their 128-bit SipHash (what uniqExact keeps for a
-- string anyway), statements as rows under FINAL (copies of a statement share its key).
FROM ${db}.fact_activity FINAL
WHERE ({org:String} = '' OR org = {org:String})
  AND ({course_key:String} = '' OR course_key = {course_key:String})
  AND course_key != ''
  AND actor_key != 0
  AND emission_time >= {since:DateTime64(6, 'UTC')}
  AND emission_time < {until:DateTime64(6, 'UTC')}
  AND statement_id GLOBAL NOT IN (SELECT voided_id FROM ${db}.voided_statements)
GROUP BY period_start
ORDER BY period_start;
