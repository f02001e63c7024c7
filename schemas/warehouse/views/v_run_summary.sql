-- One row per run: how many wheels were scored, the worst score, and defects found.
SELECT
  site_id, run_id, train_id,
  MIN(capture_time) AS first_capture,
  COUNT(*) AS wheels_scored,
  MIN(score) AS min_score,
  SUM(CASE WHEN defect <> 'none' THEN 1 ELSE 0 END) AS defects
FROM {ds}.v_wheel_scores
GROUP BY site_id, run_id, train_id
