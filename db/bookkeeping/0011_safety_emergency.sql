-- dfc bookkeeping 0011: emergency response that acts — registered procedures with an automated
-- action (terminate idle sessions, cancel a lock blocker, cancel runaway queries, pause the
-- consolidation), health detection, the emergency rollback request, and a log of every
-- notification attempt shown on the emergency dashboard.
--
-- Sessions the actions never touch: this session, the tool's own (application_name dfc*),
-- superusers', replication connections, background workers, and other databases' sessions.

-- webhook (details = URL) and command (details = shell command) contacts are delivered by dfc
ALTER TABLE safety.emergency_contacts DROP CONSTRAINT emergency_contacts_contact_method_check;
ALTER TABLE safety.emergency_contacts ADD CONSTRAINT emergency_contacts_contact_method_check
  CHECK (contact_method IN ('email', 'phone', 'sms', 'slack', 'pagerduty', 'other', 'webhook', 'command'));

ALTER TABLE safety.emergency_procedures
  ADD COLUMN automated_action text
    CHECK (automated_action IN ('terminate_idle_sessions', 'cancel_lock_blocker', 'cancel_runaway_queries', 'pause_consolidation')),
  ADD COLUMN action_params jsonb NOT NULL DEFAULT '{}';

CREATE TABLE safety.notification_deliveries (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES safety.emergency_response_log (id) ON DELETE CASCADE,
  contact_id   bigint REFERENCES safety.emergency_contacts (id) ON DELETE SET NULL,
  channel      text NOT NULL,
  attempt      integer NOT NULL CHECK (attempt >= 1),
  status       text NOT NULL CHECK (status IN ('delivered', 'failed')),
  -- HTTP status, or the command's exit code
  response     text,
  error        text,
  duration_ms  numeric,
  attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_deliveries_incident ON safety.notification_deliveries (incident_id, id);

-- The sessions an emergency action may touch (see the header).
CREATE FUNCTION safety.actionable_sessions()
RETURNS TABLE (pid integer, usename text, application_name text, state text, state_seconds numeric,
               query_seconds numeric, wait_event_type text, query text)
LANGUAGE sql STABLE AS $$
  SELECT a.pid, a.usename::text, a.application_name, a.state,
         extract(epoch FROM now() - a.state_change)::numeric, extract(epoch FROM now() - a.query_start)::numeric,
         a.wait_event_type, left(a.query, 200)
    FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
   WHERE a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
     AND a.datname = current_database()
     AND NOT r.rolsuper AND NOT r.rolreplication
     AND coalesce(a.application_name, '') NOT LIKE 'dfc%'
$$;

-- One automated action; returns what it did, session by session.
CREATE FUNCTION safety.run_emergency_action(p_action text, p_params jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_out jsonb := '[]';
  s record;
  v_waiter record;
  v_blocker int;
  v_idle numeric := coalesce((p_params->>'idle_seconds')::numeric, 300);
  v_max numeric := coalesce((p_params->>'max_query_seconds')::numeric, 300);
BEGIN
  IF p_action = 'terminate_idle_sessions' THEN
    FOR s IN SELECT * FROM safety.actionable_sessions()
              WHERE state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)') AND state_seconds >= v_idle
              ORDER BY state_seconds DESC LOOP
      v_out := v_out || jsonb_build_object('action', 'terminate', 'pid', s.pid, 'user', s.usename, 'application', s.application_name,
                                           'state', s.state, 'idle_seconds', round(s.state_seconds, 1), 'done', pg_terminate_backend(s.pid));
    END LOOP;
  ELSIF p_action = 'cancel_lock_blocker' THEN
    SELECT a.pid, extract(epoch FROM now() - coalesce(a.state_change, a.query_start)) AS waited INTO v_waiter
      FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND cardinality(pg_blocking_pids(a.pid)) > 0
     ORDER BY a.state_change NULLS LAST LIMIT 1;
    IF FOUND THEN
      FOREACH v_blocker IN ARRAY pg_blocking_pids(v_waiter.pid) LOOP
        SELECT * INTO s FROM safety.actionable_sessions() x WHERE x.pid = v_blocker;
        IF NOT FOUND THEN
          v_out := v_out || jsonb_build_object('action', 'none', 'pid', v_blocker, 'waiter', v_waiter.pid,
                                               'reason', 'blocker is protected (this tool, a superuser, replication or another database)');
        ELSIF s.state LIKE 'idle in transaction%' THEN
          -- an idle transaction has no query to cancel: ending the session releases its locks
          v_out := v_out || jsonb_build_object('action', 'terminate', 'pid', v_blocker, 'waiter', v_waiter.pid, 'user', s.usename,
                                               'state', s.state, 'done', pg_terminate_backend(v_blocker));
        ELSE
          v_out := v_out || jsonb_build_object('action', 'cancel', 'pid', v_blocker, 'waiter', v_waiter.pid, 'user', s.usename,
                                               'query', s.query, 'done', pg_cancel_backend(v_blocker));
        END IF;
      END LOOP;
    END IF;
  ELSIF p_action = 'cancel_runaway_queries' THEN
    FOR s IN SELECT * FROM safety.actionable_sessions() WHERE state = 'active' AND query_seconds >= v_max ORDER BY query_seconds DESC LOOP
      v_out := v_out || jsonb_build_object('action', 'cancel', 'pid', s.pid, 'user', s.usename, 'query', s.query,
                                           'running_seconds', round(s.query_seconds, 1), 'done', pg_cancel_backend(s.pid));
    END LOOP;
  ELSIF p_action = 'pause_consolidation' THEN
    IF to_regclass('consolidation.engine_runs') IS NOT NULL THEN
      FOR s IN UPDATE consolidation.engine_runs SET paused = true, updated_at = now()
                WHERE state NOT IN ('cut_over', 'rolled_back', 'aborted') RETURNING run_id, state LOOP
        v_out := v_out || jsonb_build_object('action', 'pause', 'run_id', s.run_id, 'state', s.state, 'done', true,
                                             'next', 'dfc consolidate resume, or dfc consolidate abort');
      END LOOP;
    END IF;
  ELSE
    RAISE EXCEPTION 'unknown emergency action %', p_action USING ERRCODE = '22023';
  END IF;
  RETURN v_out;
END $$;

-- Guide: SELECT safety.setup_default_emergency_procedures();  Replaces 0003's version: the same
-- procedures plus lock pile-up, runaway query and critical consolidation failure, each with its
-- automated action. Idempotent; an existing procedure only gains a missing automated action.
CREATE OR REPLACE FUNCTION safety.setup_default_emergency_procedures()
RETURNS jsonb LANGUAGE sql AS $$
  WITH defaults (procedure_name, incident_type, severity_level, notify_up_to_escalation_level, steps, automated_action, action_params) AS (
    VALUES
      ('performance_degradation', 'performance', 'high', 1, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'dfc consolidate pause (the run stops between batches)'),
         jsonb_build_object('step', 2, 'action', 'check monitoring.migration_dashboard and pg_stat_activity for blockers'),
         jsonb_build_object('step', 3, 'action', 'dfc consolidate resume with a smaller batch size or longer pause')), NULL, '{}'::jsonb),
      ('data_integrity_failure', 'data_integrity', 'critical', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'interrupt the run; do not cut over'),
         jsonb_build_object('step', 2, 'action', 'dfc integrity run; read safety.integrity_dashboard and consolidation.engine_quarantine'),
         jsonb_build_object('step', 3, 'action', 'if already cut over: dfc emergency rollback --reason TEXT')), 'pause_consolidation', '{}'),
      ('cutover_failure', 'cutover', 'critical', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'the cutover transaction rolled back on its own: confirm the legacy tables are in place'),
         jsonb_build_object('step', 2, 'action', 'dfc emergency health: find the lock holder that made it time out'),
         jsonb_build_object('step', 3, 'action', 'retry in a quieter moment or with a longer lock timeout')), NULL, '{}'),
      ('connection_exhaustion', 'system_failure', 'critical', 1, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'terminate idle and idle-in-transaction sessions older than idle_seconds (not dfc, superuser or replication sessions)'),
         jsonb_build_object('step', 2, 'action', 'find the application pool that leaks connections; lower its size')), 'terminate_idle_sessions', '{"idle_seconds": 300}'),
      ('lock_pileup', 'lock_pileup', 'high', 1, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'cancel the blocker of the longest lock wait (terminate it when idle in transaction)'),
         jsonb_build_object('step', 2, 'action', 'dfc emergency health again; repeat or escalate')), 'cancel_lock_blocker', '{}'),
      ('runaway_query', 'runaway_query', 'high', 1, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'cancel queries running longer than max_query_seconds'),
         jsonb_build_object('step', 2, 'action', 'ask the owner of the statement; add statement_timeout for that role')), 'cancel_runaway_queries', '{"max_query_seconds": 300}'),
      ('consolidation_critical_failure', 'critical_failure', 'critical', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'pause the consolidation (consolidation.engine_runs.paused)'),
         jsonb_build_object('step', 2, 'action', 'before cutover: dfc consolidate abort (legacy untouched); after cutover: dfc emergency rollback --reason TEXT')), 'pause_consolidation', '{}'),
      ('post_cutover_regression', 'application_error', 'high', 2, jsonb_build_array(
         jsonb_build_object('step', 1, 'action', 'dfc emergency rollback --reason TEXT (reverse sync keeps every write since cutover)'),
         jsonb_build_object('step', 2, 'action', 'record the failing statements for the v2 compatibility suite')), NULL, '{}')
  ), added AS (
    INSERT INTO safety.emergency_procedures (procedure_name, incident_type, severity_level, notify_up_to_escalation_level, steps,
                                             automated_action, action_params)
    SELECT * FROM defaults
    ON CONFLICT (procedure_name) DO UPDATE
      SET automated_action = EXCLUDED.automated_action, action_params = EXCLUDED.action_params
      WHERE safety.emergency_procedures.automated_action IS NULL AND EXCLUDED.automated_action IS NOT NULL
    RETURNING procedure_name, (xmax = 0) AS inserted
  )
  SELECT jsonb_build_object(
    'added', coalesce((SELECT jsonb_agg(procedure_name ORDER BY procedure_name) FROM added WHERE inserted), '[]'),
    'total', (SELECT count(*) FROM safety.emergency_procedures) + (SELECT count(*) FROM added WHERE inserted),
    'active_contacts', (SELECT count(*) FROM safety.emergency_contacts WHERE is_active));
$$;

-- What `dfc emergency health` reports: each condition with its measured value and threshold.
CREATE FUNCTION safety.emergency_health(p_params jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_max_conn int := current_setting('max_connections')::int;
  v_used int;
  v_ratio numeric := coalesce((p_params->>'connection_ratio')::numeric, 0.8);
  v_idle_s numeric := coalesce((p_params->>'idle_seconds')::numeric, 300);
  v_max_idle int := coalesce((p_params->>'max_idle_sessions')::int, 20);
  v_idle int;
  v_waiters int;
  v_longest numeric;
  v_max_waiters int := coalesce((p_params->>'max_lock_waiters')::int, 5);
  v_lock_s numeric := coalesce((p_params->>'lock_wait_seconds')::numeric, 30);
  v_run_s numeric := coalesce((p_params->>'max_query_seconds')::numeric, 300);
  v_runaway int;
  v_run_id bigint;
  v_run_state text;
  v_paused boolean;
  v_crit bigint := 0;
  v_conditions jsonb := '[]';
BEGIN
  SELECT count(*) INTO v_used FROM pg_stat_activity WHERE backend_type = 'client backend';
  SELECT count(*) INTO v_idle FROM safety.actionable_sessions()
   WHERE state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)') AND state_seconds >= v_idle_s;
  SELECT count(*), max(extract(epoch FROM now() - coalesce(state_change, query_start))) INTO v_waiters, v_longest
    FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock';
  SELECT count(*) INTO v_runaway FROM safety.actionable_sessions() WHERE state = 'active' AND query_seconds >= v_run_s;
  v_conditions := v_conditions || jsonb_build_object(
    'type', 'connection_exhaustion', 'severity', 'critical',
    'detected', v_used >= v_ratio * v_max_conn OR v_idle >= v_max_idle,
    'value', jsonb_build_object('connections', v_used, 'max_connections', v_max_conn, 'idle_sessions', v_idle),
    'threshold', jsonb_build_object('connection_ratio', v_ratio, 'max_idle_sessions', v_max_idle, 'idle_seconds', v_idle_s));
  v_conditions := v_conditions || jsonb_build_object(
    'type', 'lock_pileup', 'severity', 'high',
    'detected', v_waiters >= v_max_waiters OR coalesce(v_longest, 0) >= v_lock_s,
    'value', jsonb_build_object('lock_waiters', v_waiters, 'longest_wait_seconds', round(coalesce(v_longest, 0), 1)),
    'threshold', jsonb_build_object('max_lock_waiters', v_max_waiters, 'lock_wait_seconds', v_lock_s));
  v_conditions := v_conditions || jsonb_build_object(
    'type', 'runaway_query', 'severity', 'high', 'detected', v_runaway > 0,
    'value', jsonb_build_object('queries', v_runaway), 'threshold', jsonb_build_object('max_query_seconds', v_run_s));
  IF to_regclass('consolidation.engine_runs') IS NOT NULL THEN
    EXECUTE $q$SELECT run_id, state, paused FROM consolidation.engine_runs
                WHERE state NOT IN ('cut_over', 'rolled_back', 'aborted') ORDER BY run_id DESC LIMIT 1$q$ INTO v_run_id, v_run_state, v_paused;
  END IF;
  SELECT coalesce(sum(v.violation_count), 0) INTO v_crit
    FROM safety.integrity_violations v JOIN safety.integrity_monitoring m USING (check_name)
   WHERE v.resolved_at IS NULL AND m.severity = 'critical';
  v_conditions := v_conditions || jsonb_build_object(
    'type', 'critical_failure', 'severity', 'critical',
    'detected', v_run_id IS NOT NULL AND v_crit > 0,
    'value', jsonb_build_object('active_run', v_run_id, 'run_state', v_run_state, 'paused', v_paused,
                                'open_critical_integrity_violations', v_crit),
    'threshold', jsonb_build_object('open_critical_integrity_violations', 0));
  RETURN jsonb_build_object('checked_at', now(), 'database', current_database(),
                            'healthy', NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_conditions) c WHERE (c->>'detected')::boolean),
                            'conditions', v_conditions);
END $$;

-- Guide: SELECT safety.execute_emergency_response('system_failure', 'critical', 'Connection exhaustion during migration', true);
-- Logs the incident, finds the registered procedure (by name, else by incident type) and, when
-- p_auto, runs its automated action (p_params overrides the procedure's thresholds). Notifications
-- are sent by `dfc emergency respond` (a database function cannot reach a webhook).
CREATE FUNCTION safety.execute_emergency_response(p_type text, p_severity text, p_description text,
                                                  p_auto boolean DEFAULT false, p_params jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  p safety.emergency_procedures;
  v_actions jsonb := '[]';
  v_id bigint;
  v_status text := 'open';
BEGIN
  IF p_severity NOT IN ('low', 'medium', 'high', 'critical') THEN
    RAISE EXCEPTION 'severity must be low, medium, high or critical, got %', p_severity USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM safety.emergency_procedures) THEN
    PERFORM safety.setup_default_emergency_procedures();
  END IF;
  SELECT * INTO p FROM safety.emergency_procedures
   WHERE procedure_name = p_type OR incident_type = p_type
   ORDER BY (procedure_name = p_type) DESC, (automated_action IS NOT NULL) DESC, procedure_name LIMIT 1;
  IF p_auto AND p.automated_action IS NOT NULL THEN
    v_actions := safety.run_emergency_action(p.automated_action, p.action_params || coalesce(p_params, '{}'));
    v_status := 'responding';
  END IF;
  INSERT INTO safety.emergency_response_log (incident_type, severity_level, description, response_status, procedure_name,
                                             actions_taken)
  VALUES (p_type, p_severity, p_description, v_status, p.procedure_name,
          jsonb_build_array(jsonb_build_object('at', now(), 'by', session_user, 'auto', p_auto,
                                               'automated_action', p.automated_action, 'results', v_actions)))
  RETURNING id INTO v_id;
  RETURN jsonb_build_object(
    'incident_id', v_id, 'incident_type', p_type, 'severity', p_severity, 'description', p_description,
    'response_status', v_status, 'procedure', p.procedure_name, 'automated_action', p.automated_action,
    'auto', p_auto, 'actions_taken', v_actions, 'steps', coalesce(p.steps, '[]'),
    'notify_up_to_escalation_level', coalesce(p.notify_up_to_escalation_level, 1),
    'note', CASE WHEN p.procedure_name IS NULL THEN 'no registered procedure for this type: incident logged only'
                 WHEN NOT p_auto THEN 'not automatic: follow the steps, or rerun with auto = true' END);
END $$;

-- Guide: SELECT safety.initiate_emergency_rollback('reason', false);  Logs who, when and why, and
-- returns the `dfc rollback execute` command: a rollback takes short locks with retries, which one
-- function call (one transaction) cannot do. Unless forced, a valid rollback point must exist.
CREATE FUNCTION safety.initiate_emergency_rollback(p_reason text, p_force boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_point text;
  v_id bigint;
  v_cmd text;
BEGIN
  IF coalesce(btrim(p_reason), '') = '' THEN
    RAISE EXCEPTION 'initiate_emergency_rollback: a reason is required' USING ERRCODE = '22023';
  END IF;
  SELECT rollback_point_id INTO v_point FROM consolidation.rollback_points
   WHERE state = 'valid' AND (expires_at IS NULL OR expires_at > now())
   ORDER BY created_at DESC LIMIT 1;
  IF v_point IS NULL AND NOT p_force THEN
    RAISE EXCEPTION 'CONSOLIDATION_05: no valid rollback point (consolidation.rollback_points)'
      USING ERRCODE = 'P0005', HINT = 'dfc rollback list shows the points; force only when you know the legacy copy is complete';
  END IF;
  v_cmd := CASE WHEN v_point IS NULL THEN format('dfc rollback list  # then: dfc rollback execute POINT --reason %s', quote_literal(p_reason))
                ELSE format('dfc rollback execute %s --reason %s', v_point, quote_literal(p_reason)) END;
  INSERT INTO safety.emergency_response_log (incident_type, severity_level, description, response_status, procedure_name, actions_taken)
  VALUES ('emergency_rollback', 'critical', p_reason, 'responding',
          (SELECT procedure_name FROM safety.emergency_procedures WHERE procedure_name = 'post_cutover_regression'),
          jsonb_build_array(jsonb_build_object('at', now(), 'by', session_user, 'action', 'rollback_requested',
                                               'force', p_force, 'rollback_point', v_point, 'command', v_cmd)))
  RETURNING id INTO v_id;
  RETURN jsonb_build_object('incident_id', v_id, 'rollback_point', v_point, 'forced', p_force, 'requested_by', session_user,
                            'command', v_cmd,
                            'note', 'run the command: the rollback itself takes short locks with retries outside this transaction');
END $$;

-- The 0003 dashboard with the incident id and its notification deliveries appended.
CREATE OR REPLACE VIEW safety.emergency_dashboard AS
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
           AND c.escalation_level <= coalesce(p.notify_up_to_escalation_level, 1)) AS contacts_to_notify,
       l.id AS incident_id,
       l.actions_taken,
       (SELECT count(*) FROM safety.notification_deliveries d WHERE d.incident_id = l.id AND d.status = 'delivered') AS deliveries_ok,
       (SELECT count(*) FROM safety.notification_deliveries d WHERE d.incident_id = l.id AND d.status = 'failed') AS delivery_failures,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('contact_id', d.contact_id, 'channel', d.channel, 'attempt', d.attempt,
                                                     'status', d.status, 'response', d.response, 'error', d.error,
                                                     'at', d.attempted_at) ORDER BY d.id), '[]')
          FROM safety.notification_deliveries d WHERE d.incident_id = l.id) AS deliveries
  FROM safety.emergency_response_log l
  LEFT JOIN safety.emergency_procedures p ON p.procedure_name = l.procedure_name;
