-- Looker Studio: the latest scan of every wheel with its verdict (flat, one row per wheel).
SELECT * EXCEPT (rn) FROM (
  SELECT v.*, ROW_NUMBER() OVER (
    PARTITION BY site_id, wheel_id ORDER BY capture_time DESC, scored_at DESC) AS rn
  FROM {ds}.v_wheel_scores AS v
) AS d
WHERE rn = 1
