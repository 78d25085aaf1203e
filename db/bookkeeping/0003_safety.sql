-- dfc bookkeeping 0003: the `safety` schema — backups, integrity monitoring, emergency contacts,
-- procedures and incident log, with the dashboards the guide reads.
--
-- No template contacts are inserted (the upstream tooling inserts four placeholder addresses):
-- a placeholder that pages nobody is worse than an empty table the dashboard reports as empty.

-- Plain CREATE SCHEMA: a schema of that name left by other tooling must stop the install, not be
-- silently mixed with ours.
CREATE SCHEMA safety;

CREATE TABLE safety.backup_registry (
  -- the guide names them pre_consolidation_YYYYMMDD_HHMMSS
  backup_id    text PRIMARY KEY,
  backup_type  text NOT NULL CHECK (backup_type IN ('pre_consolidation', 'incremental', 'rollback_copy', 'external')),
  run_id       bigint,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- schema name for in-database copies, path or URL for external dumps
  location     text NOT NULL,
  -- [{"table": "public.campaigns", "rows": 123, "checksum": "..."}]
  tables       jsonb NOT NULL DEFAULT '[]',
  size_bytes   bigint CHECK (size_bytes >= 0),
  status       text NOT NULL DEFAULT 'creating'
               CHECK (status IN ('creating', 'completed', 'verified', 'failed', 'expired', 'dropped')),
  verified_at  timestamptz,
  expires_at   timestamptz,
  details      jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE safety.backup_verification_log (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  backup_id         text NOT NULL REFERENCES safety.backup_registry (backup_id) ON DELETE CASCADE,
  verified_at       timestamptz NOT NULL DEFAULT now(),
  verification_type text NOT NULL,
  status            text NOT NULL CHECK (status IN ('passed', 'failed')),
  details           jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE safety.integrity_monitoring (
  check_name           text PRIMARY KEY,
  description          text NOT NULL,
  -- a SELECT returning one jsonb column (the key of a violating row) per violating row
  check_sql            text NOT NULL,
  severity             text NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
  enabled              boolean NOT NULL DEFAULT true,
  last_run_at          timestamptz,
  last_violation_count bigint,
  last_error           text,
  created_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE safety.integrity_violations (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  check_name      text NOT NULL REFERENCES safety.integrity_monitoring (check_name) ON DELETE CASCADE,
  detected_at     timestamptz NOT NULL DEFAULT now(),
  violation_count bigint NOT NULL CHECK (violation_count > 0),
  sample_keys     jsonb NOT NULL DEFAULT '[]',
  resolved_at     timestamptz
);
CREATE INDEX integrity_violations_open ON safety.integrity_violations (check_name) WHERE resolved_at IS NULL;

CREATE VIEW safety.integrity_dashboard AS
SELECT m.check_name,
       m.description,
       m.severity,
       m.enabled,
       m.last_run_at,
       m.last_violation_count,
       m.last_error,
       (SELECT count(*) FROM safety.integrity_violations v
         WHERE v.check_name = m.check_name AND v.resolved_at IS NULL) AS open_violations,
       CASE WHEN m.last_run_at IS NULL THEN 'never_run'
            WHEN m.last_error IS NOT NULL THEN 'error'
            WHEN m.last_violation_count > 0 THEN 'violations'
            ELSE 'ok' END AS status
  FROM safety.integrity_monitoring m;

CREATE TABLE safety.emergency_contacts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact_name     text NOT NULL,
  contact_role     text NOT NULL,
  contact_method   text NOT NULL CHECK (contact_method IN ('email', 'phone', 'sms', 'slack', 'pagerduty', 'other')),
  contact_details  text NOT NULL,
  -- 1 = first to call
  escalation_level integer NOT NULL DEFAULT 1 CHECK (escalation_level BETWEEN 1 AND 5),
  is_active        boolean NOT NULL DEFAULT true,
  notes            text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE safety.emergency_procedures (
  procedure_name  text PRIMARY KEY,
  incident_type   text NOT NULL,
  severity_level  text NOT NULL CHECK (severity_level IN ('low', 'medium', 'high', 'critical')),
  -- ordered steps: [{"step": 1, "action": "...", "command": "dfc ..."}]
  steps           jsonb NOT NULL,
  notify_up_to_escalation_level integer NOT NULL DEFAULT 1 CHECK (notify_up_to_escalation_level BETWEEN 1 AND 5),
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE safety.emergency_response_log (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_timestamp      timestamptz NOT NULL DEFAULT now(),
  incident_type           text NOT NULL,
  severity_level          text NOT NULL CHECK (severity_level IN ('low', 'medium', 'high', 'critical')),
  description             text NOT NULL,
  response_status         text NOT NULL DEFAULT 'open' CHECK (response_status IN ('open', 'responding', 'escalated', 'resolved')),
  procedure_name          text REFERENCES safety.emergency_procedures (procedure_name) ON DELETE SET NULL,
  run_id                  bigint,
  actions_taken           jsonb NOT NULL DEFAULT '[]',
  resolved_at             timestamptz,
  resolution_time_seconds numeric GENERATED ALWAYS AS (extract(epoch FROM resolved_at - incident_timestamp)) STORED,
  CHECK ((resolved_at IS NULL) = (response_status <> 'resolved'))
);
CREATE INDEX emergency_response_log_timestamp ON safety.emergency_response_log (incident_timestamp DESC);

CREATE VIEW safety.emergency_dashboard AS
SELECT l.incident_timestamp,
       l.incident_type,
       l.severity_level,
       l.response_status,
       l.description,
       l.procedure_name,
       l.run_id,
       l.resolution_time_seconds,
       (SELECT count(*) FROM safety.emergency_response_log o
         WHERE o.response_status <> 'resolved') AS open_incidents,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.contact_name, 'role', c.contact_role,
                                                     'method', c.contact_method, 'details', c.contact_details)
                                  ORDER BY c.escalation_level, c.id), '[]')
          FROM safety.emergency_contacts c
         WHERE c.is_active
           AND c.escalation_level <= coalesce(p.notify_up_to_escalation_level, 1)) AS contacts_to_notify
  FROM safety.emergency_response_log l
  LEFT JOIN safety.emergency_procedures p ON p.procedure_name = l.procedure_name;

-- Guide: SELECT safety.setup_standard_integrity_checks();  Idempotent (existing checks kept).
-- The checks read the legacy and the v2 shape alike (user ids compared as text).
CREATE FUNCTION safety.setup_standard_integrity_checks()
RETURNS jsonb LANGUAGE sql AS $$
  WITH defaults (check_name, description, severity, check_sql) AS (
    VALUES
      ('orphaned_generated_domains', 'generated domains whose campaign does not exist', 'critical',
       'SELECT jsonb_build_object(''id'', d.id) FROM public.generated_domains d WHERE NOT EXISTS (SELECT 1 FROM public.campaigns c WHERE c.id = d.domain_generation_campaign_id)'),
      ('orphaned_dns_results', 'DNS results whose campaign does not exist', 'critical',
       'SELECT jsonb_build_object(''id'', r.id) FROM public.dns_validation_results r WHERE NOT EXISTS (SELECT 1 FROM public.campaigns c WHERE c.id = r.dns_campaign_id)'),
      ('orphaned_http_results', 'HTTP keyword results whose campaign does not exist', 'critical',
       'SELECT jsonb_build_object(''id'', r.id) FROM public.http_keyword_results r WHERE NOT EXISTS (SELECT 1 FROM public.campaigns c WHERE c.id = r.http_keyword_campaign_id)'),
      ('campaigns_unknown_user', 'campaigns whose user_id names no user', 'warning',
       'SELECT jsonb_build_object(''id'', c.id) FROM public.campaigns c WHERE c.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id::text = lower(c.user_id::text))'),
      ('audit_logs_unknown_user', 'audit log rows whose user_id names no user', 'info',
       'SELECT jsonb_build_object(''id'', a.id) FROM public.audit_logs a WHERE a.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id::text = lower(a.user_id::text))'),
      ('campaign_progress_out_of_range', 'campaigns with progress outside 0..100 or processed > total', 'warning',
       'SELECT jsonb_build_object(''id'', c.id) FROM public.campaigns c WHERE c.progress_percentage NOT BETWEEN 0 AND 100 OR c.processed_items > c.total_items')
  ), added AS (
    INSERT INTO safety.integrity_monitoring (check_name, description, severity, check_sql)
    SELECT check_name, description, severity, check_sql FROM defaults
    ON CONFLICT (check_name) DO NOTHING
    RETURNING check_name
  )
  SELECT jsonb_build_object(
    'added', coalesce((SELECT jsonb_agg(check_name ORDER BY check_name) FROM added), '[]'),
    'total', (SELECT count(*) FROM safety.integrity_monitoring) + (SELECT count(*) FROM added));
$$;

-- Run every enabled check; a check that errors (e.g. a table is missing) records the error
-- instead of aborting the others.
CREATE FUNCTION safety.run_integrity_checks()
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  c record;
  v_count bigint;
  v_samples jsonb;
  v_results jsonb := '[]';
BEGIN
  FOR c IN SELECT * FROM safety.integrity_monitoring WHERE enabled ORDER BY check_name LOOP
    BEGIN
      EXECUTE format('SELECT (SELECT count(*) FROM (%1$s) q(k)),
                             (SELECT coalesce(jsonb_agg(k), ''[]'') FROM (SELECT k FROM (%1$s) q(k) LIMIT 5) x)', c.check_sql)
        INTO v_count, v_samples;
      UPDATE safety.integrity_monitoring
         SET last_run_at = now(), last_violation_count = v_count, last_error = NULL
       WHERE check_name = c.check_name;
      IF v_count > 0 THEN
        INSERT INTO safety.integrity_violations (check_name, violation_count, sample_keys)
        VALUES (c.check_name, v_count, v_samples);
      ELSE
        UPDATE safety.integrity_violations SET resolved_at = now()
         WHERE check_name = c.check_name AND resolved_at IS NULL;
      END IF;
      v_results := v_results || jsonb_build_object('check', c.check_name, 'violations', v_count);
    EXCEPTION WHEN OTHERS THEN
      UPDATE safety.integrity_monitoring
         SET last_run_at = now(), last_violation_count = NULL, last_error = SQLERRM
       WHERE check_name = c.check_name;
      v_results := v_results || jsonb_build_object('check', c.check_name, 'error', SQLERRM);
    END;
  END LOOP;
  RETURN v_results;
END $$;

-- Guide: SELECT safety.get_integrity_status();  Runs the checks, then summarises the dashboard.
CREATE FUNCTION safety.get_integrity_status()
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM safety.run_integrity_checks();
  RETURN (
    SELECT jsonb_build_object(
      'checked_at', now(),
      'checks', count(*),
      'ok', count(*) FILTER (WHERE status = 'ok'),
      'with_violations', count(*) FILTER (WHERE status = 'violations'),
      'errors', count(*) FILTER (WHERE status = 'error'),
      'critical_violations', coalesce(sum(last_violation_count) FILTER (WHERE severity = 'critical'), 0),
      'details', coalesce(jsonb_agg(jsonb_build_object('check', check_name, 'status', status,
                                                       'violations', last_violation_count, 'error', last_error)
                                    ORDER BY check_name), '[]'))
      FROM safety.integrity_dashboard WHERE enabled);
END $$;

-- Guide: SELECT safety.setup_default_emergency_procedures();  Idempotent. The steps are for a
-- human: SQL functions cannot stop a Node process or page anyone.
CREATE FUNCTION safety.setup_default_emergency_procedures()
RETURNS jsonb LANGUAGE sql AS $$
  WITH defaults (procedure_name, incident_type, severity_level, notify_up_to_escalation_level, steps) AS (
    VALUES
      ('performance_degradation', 'performance', 'high', 1, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'interrupt dfc consolidate (Ctrl-C); a rerun resumes from consolidation.table_progress'),
         jsonb_build_object('step', 2, 'action', 'check monitoring.migration_dashboard and pg_stat_activity for blockers'),
         jsonb_build_object('step', 3, 'action', 'resume with a smaller batch size or longer pause'))),
      ('data_integrity_failure', 'data_integrity', 'critical', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'interrupt the run; do not cut over'),
         jsonb_build_object('step', 2, 'action', 'read safety.integrity_dashboard and consolidation.quarantine'),
         jsonb_build_object('step', 3, 'action', 'if already cut over, roll back to the legacy tables (consolidation.rollback_points)'))),
      ('cutover_failure', 'cutover', 'critical', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'the cutover transaction rolled back on its own: confirm the legacy tables are in place'),
         jsonb_build_object('step', 2, 'action', 'find the lock holder that made it time out (pg_stat_activity, pg_locks)'),
         jsonb_build_object('step', 3, 'action', 'retry in a quieter moment or with a longer lock timeout'))),
      ('connection_exhaustion', 'system_failure', 'critical', 1, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'interrupt dfc consolidate (Ctrl-C) to free its connections'),
         jsonb_build_object('step', 2, 'action', 'terminate idle-in-transaction sessions after confirming with the application owner'))),
      ('post_cutover_regression', 'application_error', 'high', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'roll back to the legacy tables (reverse sync keeps every write since cutover)'),
         jsonb_build_object('step', 2, 'action', 'record the failing statements for the v2 compatibility suite')))
  ), added AS (
    INSERT INTO safety.emergency_procedures (procedure_name, incident_type, severity_level, notify_up_to_escalation_level, steps)
    SELECT * FROM defaults
    ON CONFLICT (procedure_name) DO NOTHING
    RETURNING procedure_name
  )
  SELECT jsonb_build_object(
    'added', coalesce((SELECT jsonb_agg(procedure_name ORDER BY procedure_name) FROM added), '[]'),
    'total', (SELECT count(*) FROM safety.emergency_procedures) + (SELECT count(*) FROM added),
    'active_contacts', (SELECT count(*) FROM safety.emergency_contacts WHERE is_active));
$$;
