-- dfc bookkeeping 0012: integrity monitoring generated from the catalog — orphans per foreign key
-- (anti-joins built from pg_constraint, so legacy and v2 alike), invalid constraints and indexes,
-- sequences behind their column's max, stale materialized views, and the backup registry against
-- the schemas that really exist. Each check is a row of safety.integrity_monitoring; violations are
-- recorded with time and sample keys by safety.run_integrity_checks() (0003).

-- The anti-join for one foreign key: one jsonb key per child row whose parent is missing
-- (MATCH SIMPLE: a row with any NULL in the key references nothing).
CREATE FUNCTION safety.fk_orphans_sql(p_constraint oid)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT format('SELECT jsonb_build_object(%s) FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                (SELECT string_agg(format('%L, c.%I', a.attname, a.attname), ', ' ORDER BY k.i)
                   FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n),
                con.conrelid::regclass,
                (SELECT string_agg(format('c.%I IS NOT NULL', a.attname), ' AND ' ORDER BY k.i)
                   FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n),
                con.confrelid::regclass,
                (SELECT string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' AND ' ORDER BY k.i)
                   FROM unnest(con.conkey, con.confkey) WITH ORDINALITY k(cn, pn, i)
                   JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.cn
                   JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pn))
    FROM pg_constraint con WHERE con.oid = p_constraint AND con.contype = 'f'
$$;

-- Guide (troubleshooting 1): SELECT consolidation.validate_referential_integrity();
CREATE FUNCTION consolidation.validate_referential_integrity()
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  f record;
  v_count bigint;
  v_samples jsonb;
  v_out jsonb := '[]';
  v_fks int := 0;
BEGIN
  FOR f IN SELECT con.oid, con.conname, con.conrelid::regclass::text AS child, con.confrelid::regclass::text AS parent, con.convalidated
             FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
            WHERE con.contype = 'f' AND n.nspname IN ('public', 'auth')
            ORDER BY 3, 2 LOOP
    v_fks := v_fks + 1;
    EXECUTE format('SELECT (SELECT count(*) FROM (%1$s) q(k)), (SELECT coalesce(jsonb_agg(k), ''[]'') FROM (SELECT k FROM (%1$s) q(k) LIMIT 5) s)',
                   safety.fk_orphans_sql(f.oid))
      INTO v_count, v_samples;
    IF v_count > 0 THEN
      v_out := v_out || jsonb_build_object('constraint', f.conname, 'table', f.child, 'references', f.parent,
                                           'validated', f.convalidated, 'orphans', v_count, 'samples', v_samples);
    END IF;
  END LOOP;
  RETURN jsonb_build_object('checked_at', now(), 'foreign_keys_checked', v_fks,
                            'orphaned_rows', (SELECT coalesce(sum((x->>'orphans')::bigint), 0) FROM jsonb_array_elements(v_out) x),
                            'valid', jsonb_array_length(v_out) = 0, 'violations', v_out);
END $$;

CREATE FUNCTION safety.check_invalid_constraints()
RETURNS SETOF jsonb LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT jsonb_build_object('constraint', con.conname, 'table', con.conrelid::regclass::text)
    FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
   WHERE n.nspname IN ('public', 'auth') AND NOT con.convalidated
$$;

CREATE FUNCTION safety.check_invalid_indexes()
RETURNS SETOF jsonb LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT jsonb_build_object('index', c.relname, 'table', i.indrelid::regclass::text, 'valid', i.indisvalid, 'ready', i.indisready)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('public', 'auth') AND (NOT i.indisvalid OR NOT i.indisready)
$$;

-- A sequence feeding a column (serial or identity) whose next value is not above the column's max:
-- the next insert collides (typical after a copy that forgot setval).
CREATE FUNCTION safety.check_sequences_behind()
RETURNS SETOF jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE s record; v_last bigint; v_called boolean; v_max bigint;
BEGIN
  FOR s IN SELECT seq.oid::regclass::text AS seq, t.oid::regclass::text AS tbl, a.attname
             FROM pg_depend d JOIN pg_class seq ON seq.oid = d.objid AND seq.relkind = 'S'
             JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
             JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE d.deptype IN ('a', 'i') AND n.nspname IN ('public', 'auth') AND t.relkind IN ('r', 'p')
              AND format_type(a.atttypid, NULL) IN ('smallint', 'integer', 'bigint') LOOP
    EXECUTE format('SELECT last_value, is_called FROM %s', s.seq) INTO v_last, v_called;
    EXECUTE format('SELECT max(%I)::bigint FROM %s', s.attname, s.tbl) INTO v_max;
    IF v_max IS NOT NULL AND ((v_called AND v_max > v_last) OR (NOT v_called AND v_max >= v_last)) THEN
      RETURN NEXT jsonb_build_object('sequence', s.seq, 'column', s.tbl || '.' || s.attname, 'last_value', v_last,
                                     'is_called', v_called, 'column_max', v_max);
    END IF;
  END LOOP;
END $$;

-- A materialized view is stale when it is not populated, or when its rows differ from what its
-- query returns now. Views whose query reads the clock (now(), CURRENT_TIMESTAMP...) always differ,
-- so for them only "not populated" counts.
CREATE FUNCTION safety.check_stale_matviews()
RETURNS SETOF jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE m record; v_a text; v_b text; v_na bigint; v_nb bigint;
BEGIN
  FOR m IN SELECT c.oid, c.oid::regclass::text AS name, c.relispopulated, rtrim(pg_get_viewdef(c.oid), '; ') AS def
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'm' AND n.nspname IN ('public', 'auth') LOOP
    IF NOT m.relispopulated THEN
      RETURN NEXT jsonb_build_object('matview', m.name, 'reason', 'not populated');
      CONTINUE;
    END IF;
    IF m.def ~* '\m(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\(|\mcurrent_(timestamp|date|time)\M|\mlocaltimestamp\M' THEN
      CONTINUE;
    END IF;
    EXECUTE format('SELECT count(*), %s FROM %s r', safety.checksum_sql('md5(r::text)'), m.name) INTO v_na, v_a;
    EXECUTE format('SELECT count(*), %s FROM (%s) r', safety.checksum_sql('md5(r::text)'), m.def) INTO v_nb, v_b;
    IF v_a <> v_b OR v_na <> v_nb THEN
      RETURN NEXT jsonb_build_object('matview', m.name, 'reason', 'rows differ from its query: REFRESH MATERIALIZED VIEW',
                                     'rows', v_na, 'query_rows', v_nb);
    END IF;
  END LOOP;
END $$;

-- The registry against reality: registered backups whose schema or copies are gone, and backup
-- schemas nobody registered.
CREATE FUNCTION safety.check_backup_registry()
RETURNS SETOF jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('backup_id', b.backup_id, 'problem', 'schema missing', 'schema', b.location)
    FROM safety.backup_registry b
   WHERE b.status IN ('completed', 'verified') AND b.location LIKE 'dfc\_backup\_%' AND to_regnamespace(b.location) IS NULL
  UNION ALL
  SELECT jsonb_build_object('backup_id', b.backup_id, 'problem', 'copy missing', 'table', t->>'table')
    FROM safety.backup_registry b, jsonb_array_elements(b.tables) t
   WHERE b.status IN ('completed', 'verified') AND to_regnamespace(b.location) IS NOT NULL
     AND to_regclass(format('%I.%I', b.location, t->>'copy')) IS NULL
  UNION ALL
  SELECT jsonb_build_object('schema', n.nspname, 'problem', 'backup schema not in safety.backup_registry')
    FROM pg_namespace n
   WHERE n.nspname LIKE 'dfc\_backup\_%'
     AND NOT EXISTS (SELECT 1 FROM safety.backup_registry b WHERE b.location = n.nspname AND b.status <> 'dropped')
$$;

-- Guide: SELECT safety.setup_standard_integrity_checks();  Replaces 0003's: the same six checks,
-- the catalog checks above, and one orphan check per foreign key in public/auth (regenerated on
-- every call; a check whose constraint is gone is disabled, its history kept).
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
         'SELECT k FROM safety.check_backup_registry() k')
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

-- Guide: SELECT safety.run_all_integrity_checks();  Every enabled check, violations recorded.
CREATE FUNCTION safety.run_all_integrity_checks()
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_results jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM safety.integrity_monitoring) THEN
    PERFORM safety.setup_standard_integrity_checks();
  END IF;
  v_results := safety.run_integrity_checks();
  RETURN jsonb_build_object(
    'checked_at', now(), 'checks', jsonb_array_length(v_results),
    'violations', (SELECT coalesce(sum((x->>'violations')::bigint), 0) FROM jsonb_array_elements(v_results) x),
    'errors', (SELECT count(*) FROM jsonb_array_elements(v_results) x WHERE x ? 'error'),
    'results', v_results);
END $$;
