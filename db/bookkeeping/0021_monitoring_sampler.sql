-- dfc bookkeeping 0021: what `dfc monitor` samples beyond 0002 (lock waits, long-running
-- queries, dead tuples, replication lag, the consolidation's own progress), monitoring sessions,
-- query-performance snapshots from pg_stat_statements, threshold overrides and the report.

ALTER TABLE monitoring.system_metrics
  ADD COLUMN longest_lock_wait_seconds numeric(12, 3),
  ADD COLUMN long_running_queries integer,
  ADD COLUMN dead_tuples bigint,
  ADD COLUMN replication_lag_seconds numeric(12, 3),
  ADD COLUMN capture_backlog bigint,
  ADD COLUMN rows_copied bigint,
  ADD COLUMN rows_estimate bigint,
  ADD COLUMN consolidation_progress_pct numeric(5, 2);

CREATE TABLE monitoring.monitoring_sessions (
  session_name text PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT now(),
  run_id       bigint,
  details      jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE monitoring.query_performance (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label           text NOT NULL,
  collected_at    timestamptz NOT NULL DEFAULT now(),
  queryid         bigint,
  query           text,
  calls           bigint,
  total_ms        numeric,
  mean_ms         numeric,
  rows            bigint,
  shared_blks_hit bigint,
  shared_blks_read bigint
);
CREATE INDEX query_performance_label ON monitoring.query_performance (label, collected_at DESC);

-- The consolidation's own progress; the engine creates its tables on first run, so read them
-- only when they exist.
CREATE FUNCTION monitoring.consolidation_progress()
RETURNS TABLE (run_id bigint, state text, rows_copied bigint, rows_estimate bigint, capture_backlog bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF to_regclass('consolidation.engine_runs') IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE $q$
    SELECT r.run_id, r.state,
           (SELECT coalesce(sum(t.rows_copied), 0)::bigint FROM consolidation.engine_tables t WHERE t.run_id = r.run_id),
           (SELECT coalesce(sum(greatest(t.rows_estimate, t.rows_copied)), 0)::bigint FROM consolidation.engine_tables t WHERE t.run_id = r.run_id),
           (SELECT count(*) FROM consolidation.capture_log)::bigint
      FROM consolidation.engine_runs r ORDER BY r.run_id DESC LIMIT 1 $q$;
END $$;

-- One snapshot (replaces 0002's: same signature and result, more columns filled).
CREATE OR REPLACE FUNCTION monitoring.collect_system_metrics(p_phase text DEFAULT NULL, p_run_id bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  p record;
BEGIN
  SELECT * INTO p FROM monitoring.consolidation_progress();
  INSERT INTO monitoring.system_metrics (
    migration_phase, run_id, active_connections, idle_connections, idle_in_transaction, waiting_locks,
    longest_running_query_seconds, longest_transaction_seconds, database_size_bytes,
    buffer_cache_hit_ratio, deadlocks, temp_bytes, longest_lock_wait_seconds, long_running_queries,
    dead_tuples, replication_lag_seconds, capture_backlog, rows_copied, rows_estimate,
    consolidation_progress_pct, details)
  SELECT coalesce(p_phase, p.state), coalesce(p_run_id, p.run_id),
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()),
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle'),
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'),
         (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
           WHERE NOT l.granted AND d.datname = current_database()),
         (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start)), 0) FROM pg_stat_activity
           WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()),
         (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) FROM pg_stat_activity
           WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()),
         pg_database_size(current_database()),
         (SELECT round(100.0 * blks_hit / nullif(blks_hit + blks_read, 0), 2) FROM pg_stat_database
           WHERE datname = current_database()),
         (SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()),
         (SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()),
         -- a backend waiting on a heavyweight lock has waited since its statement started
         (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start)), 0) FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'),
         (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
           AND pid <> pg_backend_pid() AND clock_timestamp() - query_start > interval '60 seconds'),
         (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables),
         (SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication),
         p.capture_backlog, p.rows_copied, p.rows_estimate,
         round(100.0 * p.rows_copied / nullif(p.rows_estimate, 0), 2),
         jsonb_build_object('connections_by_state',
           (SELECT coalesce(jsonb_object_agg(s, n), '{}') FROM (
              SELECT coalesce(state, 'background') AS s, count(*) AS n FROM pg_stat_activity
               WHERE datname = current_database() GROUP BY 1) x))
  RETURNING id INTO v_id;
  RETURN jsonb_build_object('system_metric_id', v_id, 'alerts', monitoring.check_alert_thresholds(v_id));
END $$;

-- Guide: setup_default_alert_thresholds(), now with the sampler's metrics too (replaces 0002's;
-- same result shape, still idempotent: thresholds the DBA tuned are left alone).
CREATE OR REPLACE FUNCTION monitoring.setup_default_alert_thresholds()
RETURNS jsonb LANGUAGE sql AS $$
  WITH defaults (metric_name, comparison_operator, warning_threshold, critical_threshold, description) AS (
    VALUES
      ('active_connections', '>=', 80, 150, 'client backends running a query'),
      ('idle_in_transaction', '>=', 5, 20, 'sessions holding a transaction open while idle: they block cutover locks'),
      ('waiting_locks', '>=', 5, 25, 'lock requests not granted: cutover or backfill is contending'),
      ('longest_running_query_seconds', '>=', 60, 300, 'oldest running statement'),
      ('longest_transaction_seconds', '>=', 300, 1800, 'oldest open transaction: holds back vacuum and blocks ALTER'),
      ('buffer_cache_hit_ratio', '<', 95, 85, 'shared buffer hit ratio, percent'),
      ('deadlocks', '>', 0, 10, 'deadlocks since statistics reset'),
      ('longest_lock_wait_seconds', '>=', 5, 30, 'longest wait for a heavyweight lock: the application queues behind it'),
      ('long_running_queries', '>=', 1, 5, 'statements running longer than 60 s'),
      ('replication_lag_seconds', '>=', 10, 60, 'replay lag of the slowest standby'),
      ('capture_backlog', '>=', 100000, 1000000, 'captured changes not yet applied to the shadow')
  ), added AS (
    INSERT INTO monitoring.alert_thresholds (metric_name, comparison_operator, warning_threshold, critical_threshold, description)
    SELECT * FROM defaults
    ON CONFLICT (metric_name) DO NOTHING
    RETURNING metric_name
  )
  SELECT jsonb_build_object(
    'added', coalesce((SELECT jsonb_agg(metric_name ORDER BY metric_name) FROM added), '[]'),
    'total', (SELECT count(*) FROM monitoring.alert_thresholds) + (SELECT count(*) FROM added));
$$;

-- An override: the DBA's threshold for one metric (a NULL level keeps what is there).
CREATE FUNCTION monitoring.set_alert_threshold(p_metric text, p_warning numeric, p_critical numeric DEFAULT NULL,
                                               p_operator text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'monitoring'
                  AND table_name = 'system_metrics' AND column_name = p_metric
                  AND data_type IN ('integer', 'bigint', 'numeric')) THEN
    RAISE EXCEPTION 'no numeric metric named % in monitoring.system_metrics', p_metric
      USING HINT = 'see the columns of monitoring.system_metrics (dfc monitor check lists them)', ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO monitoring.alert_thresholds AS t (metric_name, comparison_operator, warning_threshold, critical_threshold, description)
  VALUES (p_metric, coalesce(p_operator, '>='), p_warning, p_critical, 'set by the DBA')
  ON CONFLICT (metric_name) DO UPDATE
    SET warning_threshold = coalesce(EXCLUDED.warning_threshold, t.warning_threshold),
        critical_threshold = coalesce(p_critical, t.critical_threshold),
        comparison_operator = coalesce(p_operator, t.comparison_operator),
        enabled = true, updated_at = now()
  RETURNING * INTO r;
  RETURN to_jsonb(r);
END $$;

-- Guide step 5. Registers (or restarts) a monitoring session, installs the default thresholds and
-- takes the first sample. Continuous sampling is a loop outside any transaction: dfc monitor start.
CREATE FUNCTION monitoring.start_migration_monitoring(p_name text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_run bigint;
BEGIN
  SELECT run_id INTO v_run FROM monitoring.consolidation_progress();
  PERFORM monitoring.setup_default_alert_thresholds();
  INSERT INTO monitoring.monitoring_sessions (session_name, run_id) VALUES (p_name, v_run)
  ON CONFLICT (session_name) DO UPDATE SET started_at = now(), run_id = EXCLUDED.run_id;
  RETURN jsonb_build_object('session', p_name, 'run_id', v_run,
                            'first_sample', monitoring.collect_system_metrics(p_name, v_run),
                            'note', 'one sample taken; dfc monitor start samples continuously');
END $$;

-- Guide troubleshooting: snapshot the top statements of pg_stat_statements under a label.
-- Column names differ before PostgreSQL 13 (total_time vs total_exec_time).
CREATE FUNCTION monitoring.collect_query_performance(p_label text, p_limit integer DEFAULT 25)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_total text;
  v_mean text;
  v_n integer;
BEGIN
  IF to_regclass('pg_stat_statements') IS NULL AND to_regclass('public.pg_stat_statements') IS NULL THEN
    RETURN jsonb_build_object('label', p_label, 'collected', 0,
      'note', 'pg_stat_statements is not installed: CREATE EXTENSION pg_stat_statements (needs shared_preload_libraries)');
  END IF;
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'pg_stat_statements'::regclass AND attname = 'total_exec_time') THEN
    v_total := 'total_exec_time'; v_mean := 'mean_exec_time';
  ELSE
    v_total := 'total_time'; v_mean := 'mean_time';
  END IF;
  EXECUTE format($q$
    INSERT INTO monitoring.query_performance (label, queryid, query, calls, total_ms, mean_ms, rows, shared_blks_hit, shared_blks_read)
    SELECT $1, queryid, left(query, 2000), calls, round(%1$I::numeric, 3), round(%2$I::numeric, 3), rows, shared_blks_hit, shared_blks_read
      FROM pg_stat_statements s
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query !~* '^\s*(BEGIN|COMMIT|ROLLBACK|SET|SHOW|EXPLAIN)'
     ORDER BY %1$I DESC LIMIT $2 $q$, v_total, v_mean) USING p_label, p_limit;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN jsonb_build_object('label', p_label, 'collected', v_n,
    'top', (SELECT coalesce(jsonb_agg(jsonb_build_object('query', left(query, 200), 'calls', calls,
                                                         'mean_ms', mean_ms, 'total_ms', total_ms) ORDER BY total_ms DESC), '[]')
              FROM (SELECT * FROM monitoring.query_performance WHERE label = p_label
                     ORDER BY collected_at DESC, total_ms DESC LIMIT least(p_limit, 10)) q));
END $$;

-- Guide: generate_monitoring_report('consolidation', 4). Figures over the window, alerts, operations.
CREATE FUNCTION monitoring.generate_monitoring_report(p_name text, p_hours numeric DEFAULT 4)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH w AS (SELECT now() - make_interval(secs => p_hours * 3600) AS since),
  m AS (SELECT * FROM monitoring.system_metrics, w WHERE metric_timestamp >= w.since)
  SELECT jsonb_build_object(
    'session', p_name,
    'session_started_at', (SELECT started_at FROM monitoring.monitoring_sessions WHERE session_name = p_name),
    'hours', p_hours,
    'samples', (SELECT count(*) FROM m),
    'metrics', (SELECT jsonb_build_object(
        'max_active_connections', max(active_connections),
        'max_waiting_locks', max(waiting_locks),
        'max_lock_wait_seconds', max(longest_lock_wait_seconds),
        'max_running_query_seconds', max(longest_running_query_seconds),
        'max_transaction_seconds', max(longest_transaction_seconds),
        'min_buffer_cache_hit_ratio', min(buffer_cache_hit_ratio),
        'max_dead_tuples', max(dead_tuples),
        'max_replication_lag_seconds', max(replication_lag_seconds),
        'max_capture_backlog', max(capture_backlog),
        'latest_progress_pct', (SELECT consolidation_progress_pct FROM m ORDER BY metric_timestamp DESC, id DESC LIMIT 1))
      FROM m),
    'alerts', (SELECT jsonb_build_object(
        'warning', count(*) FILTER (WHERE severity_level = 'warning'),
        'critical', count(*) FILTER (WHERE severity_level = 'critical'),
        'by_metric', coalesce((SELECT jsonb_object_agg(metric_name, n) FROM (
            SELECT metric_name, count(*) AS n FROM monitoring.alert_log, w WHERE alert_timestamp >= w.since GROUP BY 1) x), '{}'))
      FROM monitoring.alert_log, w WHERE alert_timestamp >= w.since),
    'operations', (SELECT coalesce(jsonb_object_agg(operation_status, n), '{}') FROM (
        SELECT operation_status, count(*) AS n FROM monitoring.migration_operations, w
         WHERE operation_timestamp >= w.since GROUP BY 1) o),
    'latest_comparison', (SELECT overall_improvement_percentage FROM benchmarks.performance_comparisons
                           ORDER BY created_at DESC LIMIT 1));
$$;

-- 0002's dashboard with the new metrics appended (CREATE OR REPLACE keeps the existing columns).
CREATE OR REPLACE VIEW monitoring.migration_dashboard AS
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
           AND o.operation_timestamp <= m.metric_timestamp) AS failed_operations_last_hour,
       m.longest_lock_wait_seconds,
       m.long_running_queries,
       m.dead_tuples,
       m.replication_lag_seconds,
       m.capture_backlog,
       m.consolidation_progress_pct
  FROM monitoring.system_metrics m
  LEFT JOIN monitoring.alert_log a ON a.system_metric_id = m.id
 GROUP BY m.id;
