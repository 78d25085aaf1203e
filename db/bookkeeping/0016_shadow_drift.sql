-- dfc bookkeeping 0016: shadow/live drift during a consolidation, as an integrity check.
--
-- For every table of the active run whose backfill is done, in ONE snapshot (a STABLE function's
-- queries all see the calling query's snapshot): L = legacy rows, S = shadow rows, P = distinct keys
-- with captured changes not yet applied (forward capture_log, old and new keys), K = rows the run
-- keeps out under --on-invalid quarantine (engine_quarantine, action exclude_row).
-- Why that bounds the difference: the capture trigger logs a changed key in the changing
-- transaction, and the applier removes log rows in the transaction that applies them, so in any
-- snapshot a key without a pending log row exists in the shadow exactly when it exists in legacy
-- (unless kept out). Each pending key moves the difference by at most one. So
--     -P <= L - S <= P + K
-- always holds for a healthy run; outside it, rows were lost or invented (a TRUNCATE, a disabled
-- trigger, a hand edit of the shadow, a bug). It is a count check: a changed value of a row with
-- an unchanged count is not seen here (`dfc consolidate status` compares checksums per table).
-- The shadow of legacy S.T is dfc_shadow_S.T (schema v2 keeps every table's name); a table whose
-- shadow is not found under that name is skipped, not reported.

CREATE FUNCTION safety.check_shadow_drift()
RETURNS SETOF jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_run bigint;
  t record;
  v_legacy regclass;
  v_shadow regclass;
  v_l bigint; v_s bigint; v_p bigint; v_k bigint;
BEGIN
  IF to_regclass('consolidation.engine_runs') IS NULL OR to_regclass('consolidation.engine_tables') IS NULL THEN
    RETURN;
  END IF;
  SELECT run_id INTO v_run FROM consolidation.engine_runs
   WHERE state IN ('capturing', 'backfilling', 'optimizing', 'ready_for_cutover') ORDER BY run_id DESC LIMIT 1;
  IF v_run IS NULL THEN
    RETURN;
  END IF;
  FOR t IN SELECT e.table_name, split_part(e.table_name, '.', 1) AS sch, split_part(e.table_name, '.', 2) AS rel
             FROM consolidation.engine_tables e
            WHERE e.run_id = v_run AND e.backfill_done
            ORDER BY e.table_name LOOP
    v_legacy := to_regclass(format('%I.%I', t.sch, t.rel));
    v_shadow := to_regclass(format('%I.%I', 'dfc_shadow_' || t.sch, t.rel));
    CONTINUE WHEN v_legacy IS NULL OR v_shadow IS NULL;
    EXECUTE format('SELECT count(*) FROM %s', v_legacy) INTO v_l;
    EXECUTE format('SELECT count(*) FROM %s', v_shadow) INTO v_s;
    SELECT count(DISTINCT k) INTO v_p
      FROM consolidation.capture_log l, LATERAL (VALUES (l.old_key), (l.new_key)) v(k)
     WHERE l.direction = 'forward' AND l.table_name = t.table_name AND k IS NOT NULL;
    SELECT count(DISTINCT row_key) INTO v_k
      FROM consolidation.engine_quarantine q
     WHERE q.table_name = t.table_name AND q.action = 'exclude_row' AND (q.run_id = v_run OR q.run_id IS NULL);
    IF v_s - v_l > v_p OR v_l - v_s > v_p + v_k THEN
      RETURN NEXT jsonb_build_object('table', t.table_name, 'shadow', v_shadow::text, 'legacy_rows', v_l,
                                     'shadow_rows', v_s, 'pending_keys', v_p, 'kept_out', v_k,
                                     'unexplained', CASE WHEN v_s > v_l THEN v_s - v_l - v_p ELSE v_l - v_s - v_p - v_k END,
                                     'run_id', v_run);
    END IF;
  END LOOP;
END $$;

-- Guide: SELECT safety.setup_standard_integrity_checks();  As 0012, plus shadow_drift.
CREATE OR REPLACE FUNCTION safety.setup_standard_integrity_checks()
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  v_added text[] := '{}';
  v_disabled text[] := '{}';
  v_names text[] := '{}';
  v_exists boolean;
  r record;
BEGIN
  FOR r IN
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
         'SELECT jsonb_build_object(''id'', c.id) FROM public.campaigns c WHERE c.progress_percentage NOT BETWEEN 0 AND 100 OR c.processed_items > c.total_items'),
        ('invalid_constraints', 'constraints left NOT VALID in public/auth', 'warning',
         'SELECT k FROM safety.check_invalid_constraints() k'),
        ('invalid_indexes', 'indexes left invalid or not ready (a failed CREATE INDEX CONCURRENTLY)', 'critical',
         'SELECT k FROM safety.check_invalid_indexes() k'),
        ('sequences_behind', 'sequences whose next value is not above their column''s max', 'critical',
         'SELECT k FROM safety.check_sequences_behind() k'),
        ('stale_materialized_views', 'materialized views not populated or out of date with their query', 'info',
         'SELECT k FROM safety.check_stale_matviews() k'),
        ('backup_registry_vs_reality', 'registered backups whose schema or copies are missing, unregistered backup schemas', 'warning',
         'SELECT k FROM safety.check_backup_registry() k'),
        ('shadow_drift', 'during a consolidation: legacy and dfc_shadow_* row counts of a backfilled table further apart than its capture backlog explains', 'critical',
         'SELECT k FROM safety.check_shadow_drift() k')
    )
    SELECT * FROM defaults
    UNION ALL
    SELECT 'fk_orphans:' || con.conrelid::regclass::text || '.' || con.conname,
           format('rows of %s whose %s parent in %s is missing', con.conrelid::regclass, con.conname, con.confrelid::regclass),
           'critical', safety.fk_orphans_sql(con.oid)
      FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
     WHERE con.contype = 'f' AND n.nspname IN ('public', 'auth')
  LOOP
    v_names := v_names || r.check_name;
    v_exists := EXISTS (SELECT 1 FROM safety.integrity_monitoring WHERE check_name = r.check_name);
    IF r.check_name LIKE 'fk\_orphans:%' THEN
      -- regenerated: the constraint may have moved (cutover) or changed
      INSERT INTO safety.integrity_monitoring (check_name, description, severity, check_sql)
      VALUES (r.check_name, r.description, r.severity, r.check_sql)
      ON CONFLICT (check_name) DO UPDATE SET check_sql = EXCLUDED.check_sql, description = EXCLUDED.description, enabled = true;
      IF NOT v_exists THEN v_added := v_added || r.check_name; END IF;
    ELSE
      INSERT INTO safety.integrity_monitoring (check_name, description, severity, check_sql)
      VALUES (r.check_name, r.description, r.severity, r.check_sql)
      ON CONFLICT (check_name) DO NOTHING;
      IF FOUND THEN v_added := v_added || r.check_name; END IF;
    END IF;
  END LOOP;
  WITH gone AS (
    UPDATE safety.integrity_monitoring SET enabled = false
     WHERE check_name LIKE 'fk\_orphans:%' AND enabled AND NOT (check_name = ANY (v_names))
    RETURNING check_name)
  SELECT coalesce(array_agg(check_name), '{}') INTO v_disabled FROM gone;
  RETURN jsonb_build_object('added', to_jsonb(v_added), 'disabled', to_jsonb(v_disabled),
                            'total', (SELECT count(*) FROM safety.integrity_monitoring WHERE enabled));
END $$;
