-- title: At-risk learners with contact details
-- required: course_key
-- requires: pii
-- description: at_risk_learners with each learner's username, email and name from the PII table
-- description: (empty when unknown). Runs only when PII is enabled (courses.pii).
SELECT
    r.actor_id AS actor_id,
    u.username AS username,
    u.email AS email,
    u.name AS name,
    r.enrollment_mode AS enrollment_mode,
    r.enrolled_at AS enrolled_at,
    r.last_activity AS last_activity,
    r.days_inactive AS days_inactive,
    r.progress_pct AS progress_pct,
    r.grade_pct AS grade_pct
FROM (${report_at_risk_learners}) AS r
LEFT JOIN (SELECT actor_id, username, email, name FROM ${db}.user_pii FINAL) AS u
    ON u.actor_id = r.actor_id
ORDER BY r.last_activity, r.actor_id;
