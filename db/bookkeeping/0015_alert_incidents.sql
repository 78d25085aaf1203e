-- dfc bookkeeping 0015: alerts reach people. An alert worth notifying (critical; warnings too when
-- asked) opens an incident in safety.emergency_response_log (type monitoring_alert), and the
-- incident goes through the emergency contacts' channels (src/safety/notify.ts: a database function
-- cannot reach a webhook, so `dfc monitor check|start` sends it and logs every attempt in
-- safety.notification_deliveries). De-duplication: an alert whose metric already has an open
-- incident of at least its severity opened within the interval joins that incident instead of
-- opening another, so one alert storm is one notification per metric per interval (a critical after
-- a warning is an escalation: it opens its own incident). alert_log.incident_id keeps the link.

ALTER TABLE monitoring.alert_log
  ADD COLUMN incident_id bigint REFERENCES safety.emergency_response_log (id) ON DELETE SET NULL;
CREATE INDEX alert_log_metric_incident ON monitoring.alert_log (metric_name, id DESC) WHERE incident_id IS NOT NULL;

-- Link the alerts of one sample (default: the latest) to incidents; returns one entry per alert
-- considered: {alert_id, metric, severity, value, incident_id, new}. A DBA-registered procedure
-- named monitoring_alert (safety.emergency_procedures) sets the escalation level notified.
CREATE FUNCTION monitoring.alert_incidents(p_system_metric_id bigint DEFAULT NULL,
                                           p_min_severity text DEFAULT 'critical',
                                           p_interval_seconds numeric DEFAULT 900)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  a monitoring.alert_log;
  v_min int;
  v_rank int;
  v_incident bigint;
  v_new boolean;
  v_proc text;
  v_out jsonb := '[]';
BEGIN
  IF p_min_severity IS NULL OR p_min_severity NOT IN ('warning', 'critical') THEN
    RAISE EXCEPTION 'alert_incidents: severity must be warning or critical, got %', p_min_severity USING ERRCODE = '22023';
  END IF;
  IF p_interval_seconds IS NULL OR p_interval_seconds <= 0 THEN
    RAISE EXCEPTION 'alert_incidents: interval must be > 0 seconds, got %', p_interval_seconds USING ERRCODE = '22023';
  END IF;
  -- two samplers at once must not open two incidents for one metric
  PERFORM pg_advisory_xact_lock(hashtext('dfc:alert_incidents'));
  v_min := CASE p_min_severity WHEN 'critical' THEN 2 ELSE 1 END;
  SELECT procedure_name INTO v_proc FROM safety.emergency_procedures WHERE procedure_name = 'monitoring_alert';
  FOR a IN SELECT * FROM monitoring.alert_log l
            WHERE l.incident_id IS NULL
              AND l.system_metric_id = coalesce(p_system_metric_id, (SELECT max(id) FROM monitoring.system_metrics))
              AND (CASE l.severity_level WHEN 'critical' THEN 2 ELSE 1 END) >= v_min
            ORDER BY l.id LOOP
    v_rank := CASE a.severity_level WHEN 'critical' THEN 2 ELSE 1 END;
    SELECT l.incident_id INTO v_incident
      FROM monitoring.alert_log l JOIN safety.emergency_response_log i ON i.id = l.incident_id
     WHERE l.metric_name = a.metric_name AND l.incident_id IS NOT NULL
       AND (CASE l.severity_level WHEN 'critical' THEN 2 ELSE 1 END) >= v_rank
       AND i.response_status <> 'resolved'
       AND i.incident_timestamp > a.alert_timestamp - make_interval(secs => p_interval_seconds::double precision)
     ORDER BY i.id DESC LIMIT 1;
    v_new := v_incident IS NULL;
    IF v_new THEN
      INSERT INTO safety.emergency_response_log (incident_type, severity_level, description, procedure_name, actions_taken)
      VALUES ('monitoring_alert', CASE a.severity_level WHEN 'critical' THEN 'critical' ELSE 'medium' END,
              a.alert_message, v_proc,
              jsonb_build_array(jsonb_build_object(
                'at', a.alert_timestamp, 'by', session_user,
                'alert', jsonb_build_object('alert_id', a.id, 'metric', a.metric_name, 'value', a.metric_value,
                                            'threshold', a.threshold_value, 'severity', a.severity_level,
                                            'system_metric_id', a.system_metric_id))))
      RETURNING id INTO v_incident;
    END IF;
    UPDATE monitoring.alert_log SET incident_id = v_incident WHERE id = a.id;
    v_out := v_out || jsonb_build_object('alert_id', a.id, 'metric', a.metric_name, 'severity', a.severity_level,
                                         'value', a.metric_value, 'incident_id', v_incident, 'new', v_new);
  END LOOP;
  RETURN v_out;
END $$;
