-- dfc bookkeeping 0002: the `monitoring` schema the guide reads (migration_operations,
-- migration_dashboard, system_metrics, alert thresholds and log).
--
-- Deliberate difference from the upstream tooling: system_metrics holds only what PostgreSQL
-- itself can observe (connections, locks, query age, sizes, cache hits). CPU, memory and disk
-- usage are not visible from SQL, so there are no columns or thresholds pretending to have them.

-- Plain CREATE SCHEMA: a schema of that name left by other tooling must stop the install, not be
-- silently mixed with ours.
CREATE SCHEMA monitoring;

CREATE TABLE monitoring.migration_operations (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id              bigint,
  operation_timestamp timestamptz NOT NULL DEFAULT now(),
  migration_phase     text NOT NULL,
  -- table_creation | data_copy | index_creation | constraint_validation | cutover | ...
  operation_type      text NOT NULL,
  -- the table, index or constraint acted on
  operation_target    text NOT NULL,
  operation_status    text NOT NULL
                      CHECK (operation_status IN ('started', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
  duration_seconds    numeric(12, 3) CHECK (duration_seconds >= 0),
  rows_affected       bigint,
  error_message       text,
  details             jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX migration_operations_timestamp ON monitoring.migration_operations (operation_timestamp DESC);
CREATE INDEX migration_operations_run ON monitoring.migration_operations (run_id, operation_timestamp);
COMMENT ON TABLE monitoring.migration_operations IS 'Every step dfc takes, as it takes it (guide appendix: Monitor Active Operations).';

CREATE TABLE monitoring.system_metrics (
  id                            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  metric_timestamp              timestamptz NOT NULL DEFAULT now(),
  migration_phase               text,
  run_id                        bigint,
  active_connections            integer,
  idle_connections              integer,
  idle_in_transaction           integer,
  waiting_locks                 integer,
  longest_running_query_seconds numeric(12, 3),
  longest_transaction_seconds   numeric(12, 3),
  database_size_bytes           bigint,
  buffer_cache_hit_ratio        numeric(5, 2),
  deadlocks                     bigint,
  temp_bytes                    bigint,
  details                       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX system_metrics_timestamp ON monitoring.system_metrics (metric_timestamp DESC);

CREATE TABLE monitoring.alert_thresholds (
  -- must name a numeric column of monitoring.system_metrics
  metric_name         text PRIMARY KEY,
  comparison_operator text NOT NULL CHECK (comparison_operator IN ('>', '>=', '<', '<=')),
  warning_threshold   numeric,
  critical_threshold  numeric,
  enabled             boolean NOT NULL DEFAULT true,
  description         text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (warning_threshold IS NOT NULL OR critical_threshold IS NOT NULL)
);

CREATE TABLE monitoring.alert_log (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_timestamp  timestamptz NOT NULL DEFAULT now(),
  system_metric_id bigint REFERENCES monitoring.system_metrics (id) ON DELETE CASCADE,
  metric_name      text NOT NULL,
  metric_value     numeric NOT NULL,
  threshold_value  numeric NOT NULL,
  severity_level   text NOT NULL CHECK (severity_level IN ('warning', 'critical')),
  alert_message    text NOT NULL,
  acknowledged     boolean NOT NULL DEFAULT false,
  acknowledged_by  text,
  acknowledged_at  timestamptz
);
CREATE INDEX alert_log_timestamp ON monitoring.alert_log (alert_timestamp DESC);

-- One row per metrics snapshot with the alerts it raised.
CREATE VIEW monitoring.migration_dashboard AS
SELECT m.metric_timestamp,
       m.migration_phase,
       m.run_id,
       m.active_connections,
       m.idle_in_transaction,
       m.waiting_locks,
       m.longest_running_query_seconds,
       m.longest_transaction_seconds,
       m.buffer_cache_hit_ratio,
       m.database_size_bytes,
       m.deadlocks,
       count(a.id) FILTER (WHERE a.severity_level = 'warning')  AS warning_alerts,
       count(a.id) FILTER (WHERE a.severity_level = 'critical') AS critical_alerts,
       (SELECT count(*) FROM monitoring.migration_operations o
         WHERE o.operation_status = 'failed'
           AND o.operation_timestamp > m.metric_timestamp - interval '1 hour'
           AND o.operation_timestamp <= m.metric_timestamp) AS failed_operations_last_hour
  FROM monitoring.system_metrics m
  LEFT JOIN monitoring.alert_log a ON a.system_metric_id = m.id
 GROUP BY m.id;

-- Take one snapshot of what the server can tell about itself, then evaluate the thresholds.
CREATE FUNCTION monitoring.collect_system_metrics(p_phase text DEFAULT NULL, p_run_id bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO monitoring.system_metrics (
    migration_phase, run_id, active_connections, idle_connections, idle_in_transaction, waiting_locks,
    longest_running_query_seconds, longest_transaction_seconds, database_size_bytes,
    buffer_cache_hit_ratio, deadlocks, temp_bytes)
  SELECT p_phase, p_run_id,
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'),
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle'),
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'),
         (SELECT count(*) FROM pg_locks WHERE NOT granted),
         (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start)), 0) FROM pg_stat_activity
           WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()),
         (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) FROM pg_stat_activity
           WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()),
         pg_database_size(current_database()),
         (SELECT round(100.0 * blks_hit / nullif(blks_hit + blks_read, 0), 2) FROM pg_stat_database
           WHERE datname = current_database()),
         (SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()),
         (SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database())
  RETURNING id INTO v_id;
  RETURN jsonb_build_object('system_metric_id', v_id, 'alerts', monitoring.check_alert_thresholds(v_id));
END $$;

-- Compare a snapshot (default: the latest) with the enabled thresholds; log and return the alerts.
CREATE FUNCTION monitoring.check_alert_thresholds(p_system_metric_id bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_row jsonb;
  v_id bigint;
  t record;
  v_value numeric;
  v_hit text;
  v_threshold numeric;
  v_alerts jsonb := '[]';
BEGIN
  SELECT id, to_jsonb(m) INTO v_id, v_row FROM monitoring.system_metrics m
   WHERE p_system_metric_id IS NULL OR id = p_system_metric_id
   ORDER BY metric_timestamp DESC, id DESC LIMIT 1;
  IF v_id IS NULL THEN
    RETURN v_alerts;
  END IF;
  FOR t IN SELECT * FROM monitoring.alert_thresholds WHERE enabled ORDER BY metric_name LOOP
    v_value := (v_row ->> t.metric_name)::numeric;
    CONTINUE WHEN v_value IS NULL;
    v_hit := NULL;
    FOREACH v_hit IN ARRAY ARRAY['critical', 'warning'] LOOP
      v_threshold := CASE v_hit WHEN 'critical' THEN t.critical_threshold ELSE t.warning_threshold END;
      EXIT WHEN v_threshold IS NOT NULL AND CASE t.comparison_operator
        WHEN '>' THEN v_value > v_threshold WHEN '>=' THEN v_value >= v_threshold
        WHEN '<' THEN v_value < v_threshold ELSE v_value <= v_threshold END;
      v_threshold := NULL;
    END LOOP;
    CONTINUE WHEN v_threshold IS NULL;
    INSERT INTO monitoring.alert_log (system_metric_id, metric_name, metric_value, threshold_value, severity_level, alert_message)
    VALUES (v_id, t.metric_name, v_value, v_threshold, v_hit,
            format('%s is %s (%s threshold %s %s)', t.metric_name, v_value, v_hit, t.comparison_operator, v_threshold));
    v_alerts := v_alerts || jsonb_build_object('metric', t.metric_name, 'value', v_value, 'severity', v_hit,
                                               'threshold', v_threshold);
  END LOOP;
  RETURN v_alerts;
END $$;

-- Guide: SELECT monitoring.setup_default_alert_thresholds();  Idempotent: existing rows (possibly
-- tuned by the DBA) are left alone; returns which thresholds were added.
CREATE FUNCTION monitoring.setup_default_alert_thresholds()
RETURNS jsonb LANGUAGE sql AS $$
  WITH defaults (metric_name, comparison_operator, warning_threshold, critical_threshold, description) AS (
    VALUES
      ('active_connections', '>=', 80, 150, 'client backends running a query'),
      ('idle_in_transaction', '>=', 5, 20, 'sessions holding a transaction open while idle: they block cutover locks'),
      ('waiting_locks', '>=', 5, 25, 'lock requests not granted: cutover or backfill is contending'),
      ('longest_running_query_seconds', '>=', 60, 300, 'oldest running statement'),
      ('longest_transaction_seconds', '>=', 300, 1800, 'oldest open transaction: holds back vacuum and blocks ALTER'),
      ('buffer_cache_hit_ratio', '<', 95, 85, 'shared buffer hit ratio, percent'),
      ('deadlocks', '>', 0, 10, 'deadlocks since statistics reset')
  ), added AS (
    INSERT INTO monitoring.alert_thresholds (metric_name, comparison_operator, warning_threshold, critical_threshold, description)
    SELECT * FROM defaults
    ON CONFLICT (metric_name) DO NOTHING
    RETURNING metric_name
  )
  SELECT jsonb_build_object(
    'added', coalesce((SELECT jsonb_agg(metric_name ORDER BY metric_name) FROM added), '[]'),
    -- the outer query sees the table as it was before the INSERT
    'total', (SELECT count(*) FROM monitoring.alert_thresholds) + (SELECT count(*) FROM added));
$$;
