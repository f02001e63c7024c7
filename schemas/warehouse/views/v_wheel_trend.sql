-- Trend dashboard: per wheel and day, the score and height statistics.
SELECT
  site_id, train_id, camera, wheel_id,
  CAST(capture_time AS DATE) AS day,
  COUNT(*) AS scans,
  MIN(score) AS min_score,
  AVG(score) AS avg_score,
  AVG(height_mean) AS height_mean,
  AVG(intensity_mean) AS intensity_mean,
  MAX(capture_time) AS last_capture
FROM {ds}.v_wheel_scores
GROUP BY site_id, train_id, camera, wheel_id, CAST(capture_time AS DATE)
