-- dfc bookkeeping 0014: an incremental backup records the count and checksum of every table as it
-- stood at the incremental's time (details.state), so `dfc backup restore INCREMENTAL` can prove
-- that base + chain reproduced the source exactly. Computed from the full row hashes the
-- incremental keeps anyway (no second pass over the rows). Otherwise as 0013.

CREATE OR REPLACE FUNCTION safety.backup_finish(p_name text, p_tables jsonb, p_details jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_schema text; v_size bigint; v_type text; v_state jsonb := NULL;
BEGIN
  SELECT location, backup_type INTO v_schema, v_type FROM safety.backup_registry WHERE backup_id = p_name;
  EXECUTE format('CREATE INDEX ON %I.dfc_row_hashes USING brin (tbl)', v_schema);
  EXECUTE format('ANALYZE %I.dfc_row_hashes', v_schema);
  IF v_type = 'incremental' THEN
    -- a table without rows has no hashes: its state is 0 rows, checksum 0
    EXECUTE format('SELECT jsonb_object_agg(t.schema_name || ''.'' || t.table_name,
                                            jsonb_build_object(''rows'', coalesce(x.n, 0), ''checksum'', coalesce(x.s, ''0'')))
                      FROM safety.domainflow_tables() t
                      LEFT JOIN (SELECT tbl, count(*) AS n, %s AS s FROM %I.dfc_row_hashes GROUP BY tbl) x
                        ON x.tbl = t.schema_name || ''.'' || t.table_name',
                   safety.checksum_sql('h'), v_schema)
      INTO v_state;
  END IF;
  SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) INTO v_size
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v_schema AND c.relkind = 'r';
  UPDATE safety.backup_registry
     SET tables = p_tables, size_bytes = v_size, status = 'completed',
         details = details || jsonb_build_object('ddl', safety.schema_ddl(), 'sequences', safety.sequence_positions(),
                                                 'server_version_num', current_setting('server_version_num')::int)
                           || CASE WHEN v_state IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('state', v_state) END
                           || p_details
   WHERE backup_id = p_name;
  RETURN jsonb_build_object('backup_id', p_name, 'location', v_schema, 'tables', jsonb_array_length(p_tables),
                            'rows', (SELECT coalesce(sum((t->>'rows')::bigint), 0) FROM jsonb_array_elements(p_tables) t),
                            'size_bytes', v_size);
END $$;
