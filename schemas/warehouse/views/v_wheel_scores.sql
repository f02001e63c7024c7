-- One row per scan and model version (deduplicates a streaming insert retried without its row id).
SELECT * EXCEPT (rn) FROM (
  SELECT s.*, ROW_NUMBER() OVER (PARTITION BY file_id, model_version ORDER BY scored_at) AS rn
  FROM {ds}.wheel_scores AS s
) AS d
WHERE rn = 1
