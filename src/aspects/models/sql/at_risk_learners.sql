-- title: At-risk learners
-- required: course_key
-- description: For one course (`course_key`), as of `until`: learners who are enrolled, were
-- description: active before (at least one statement other than enrollment), have had no such
-- description: activity for at least `inactive_days` days (last_activity <= until - inactive_days
-- description: days), and have not passed. Pseudonymous ids; the contact list with names and
-- description: emails is at_risk_contacts (needs PII enabled). Longest inactive first.
SELECT
    actor_id,
    enrollment_mode,
    enrolled_at,
    last_activity,
    dateDiff('day', last_activity, {until:DateTime64(6, 'UTC')}) AS days_inactive,
    progress_pct,
    grade_pct
FROM (${report_learner_summary})
WHERE enrolled
  AND last_activity IS NOT NULL
  AND last_activity <= {until:DateTime64(6, 'UTC')} - toIntervalDay({inactive_days:UInt32})
  AND NOT passed
ORDER BY last_activity, actor_id;
