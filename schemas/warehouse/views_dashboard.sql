-- Dashboard and Looker Studio views over the warehouse tables of tables.json
-- (wheel_scores, files). Portable between DuckDB and BigQuery GoogleSQL: `{ds}` is the
-- dataset reference, as in views/*.sql. Statements end with ';' at the end of a line.
-- The site rule (score below 70 = bad wheel) is the default of the alerts config; the
-- dashboard queries with the configured threshold, these views serve Looker Studio as is.
-- A wheel's position is (site_id, train_id, camera, position); a replaced wheel gets a
-- new wheel_id on the same position. Scans without a position (no manifest or wheel map)
-- count as their own position.

-- Latest scan on every wheel position: the fleet's current state.
CREATE OR REPLACE VIEW {ds}.dash_position_latest AS
SELECT site_id, train_id, camera, side, position, wheel_id, score, defect, run_id,
       capture_time
FROM {ds}.wheel_scores
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY site_id, train_id, camera,
               COALESCE(CAST(position AS STRING), CONCAT('wheel:', wheel_id))
  ORDER BY capture_time DESC) = 1;

-- One row per wheel and day: trend of score, tread height and intensity, and the wheel's
-- last scan of the day. The DuckDB dashboard keeps this as a table (dash_wheel_day),
-- refreshed incrementally; on BigQuery make it a scheduled query or materialized view.
CREATE OR REPLACE VIEW {ds}.dash_wheel_daily AS
SELECT site_id, train_id, camera, side, position, wheel_id,
       CAST(capture_time AS DATE) AS day,
       COUNT(*) AS runs,
       MIN(score) AS score_min,
       AVG(score) AS score_mean,
       AVG(height_mean) AS height_mean,
       MIN(height_p05) AS height_p05_min,
       MAX(height_mean - height_p05) AS depth_below_mean_max,
       AVG(intensity_mean) AS intensity_mean,
       MAX(capture_time) AS last_capture,
       MAX_BY(score, capture_time) AS last_score,
       MAX_BY(defect, capture_time) AS last_defect,
       MAX_BY(run_id, capture_time) AS last_run
FROM {ds}.wheel_scores
GROUP BY site_id, train_id, camera, side, position, wheel_id, CAST(capture_time AS DATE);

-- One row per site and day: wheels scanned and wheels whose lowest score was under 70.
CREATE OR REPLACE VIEW {ds}.dash_fleet_daily AS
SELECT site_id, CAST(capture_time AS DATE) AS day,
       COUNT(DISTINCT wheel_id) AS wheels_scanned,
       COUNT(DISTINCT CASE WHEN score < 70 THEN wheel_id END) AS wheels_under_70
FROM {ds}.wheel_scores
GROUP BY site_id, CAST(capture_time AS DATE);

-- Files per pass as the warehouse saw them: received, written, rejected.
CREATE OR REPLACE VIEW {ds}.dash_pass_files AS
SELECT site_id, run_id,
       MIN(train_id) AS train_id,
       MIN(capture_time) AS pass_time,
       COUNT(*) AS received,
       SUM(CASE WHEN state = 'written' THEN 1 ELSE 0 END) AS written,
       SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END) AS rejected
FROM {ds}.files
GROUP BY site_id, run_id;

-- Last file per camera.
CREATE OR REPLACE VIEW {ds}.dash_camera_last AS
SELECT site_id, camera, MAX(capture_time) AS last_capture,
       MAX(last_chunk_at) AS last_received
FROM {ds}.files
GROUP BY site_id, camera;
