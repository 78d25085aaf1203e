-- dfc bookkeeping 0013: backup create nearer COPY speed, same guarantees (one snapshot, a hash per
-- row, count + checksum per table). Profiled at 100,000 domains (bench/backup.ts): of 5.2 s, the
-- copies took 0.3 s; the rest was each row rendered as text twice (md5(r::text) into the hash
-- table, then again for the table's checksum) and a btree on dfc_row_hashes (tbl, k) (0.7 s).
--   - the checksum is aggregated from the hashes as they are inserted (RETURNING): one render;
--   - the btree becomes a BRIN on tbl (hashes are appended table by table, so a table's rows are
--     one block range) plus ANALYZE: verify and incremental read one table's hashes with a range
--     scan and join them by hash, which is what they did with the btree too.
-- The row hash, the checksum and the layout of dfc_row_hashes are unchanged, so backups taken
-- before this file verify, restore and serve as incremental bases exactly as before.

-- Hash one backed-up copy into the row-hash table; returns its manifest entry (count, checksum).
CREATE OR REPLACE FUNCTION safety.backup_hash_copy(p_backup_schema text, p_schema text, p_table text, p_keys text[], p_copy text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_rows bigint; v_sum text;
BEGIN
  EXECUTE format('WITH h AS (INSERT INTO %I.dfc_row_hashes (tbl, k, h) SELECT %L, %s, md5(r::text) FROM %I.%I r RETURNING h)
                  SELECT count(*), %s FROM h',
                 p_backup_schema, p_schema || '.' || p_table, safety.row_key_sql(p_keys, 'r'), p_backup_schema, p_copy,
                 safety.checksum_sql('h'))
    INTO v_rows, v_sum;
  RETURN jsonb_build_object('table', p_schema || '.' || p_table, 'schema', p_schema, 'name', p_table, 'copy', p_copy,
                            'key', to_jsonb(p_keys), 'rows', v_rows, 'checksum', v_sum);
END $$;

-- Finish a backup: manifest, sizes, schema DDL, sequences; status completed.
CREATE OR REPLACE FUNCTION safety.backup_finish(p_name text, p_tables jsonb, p_details jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_schema text; v_size bigint;
BEGIN
  SELECT location INTO v_schema FROM safety.backup_registry WHERE backup_id = p_name;
  EXECUTE format('CREATE INDEX ON %I.dfc_row_hashes USING brin (tbl)', v_schema);
  EXECUTE format('ANALYZE %I.dfc_row_hashes', v_schema);
  SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) INTO v_size
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v_schema AND c.relkind = 'r';
  UPDATE safety.backup_registry
     SET tables = p_tables, size_bytes = v_size, status = 'completed',
         details = details || jsonb_build_object('ddl', safety.schema_ddl(), 'sequences', safety.sequence_positions(),
                                                 'server_version_num', current_setting('server_version_num')::int)
                           || p_details
   WHERE backup_id = p_name;
  RETURN jsonb_build_object('backup_id', p_name, 'location', v_schema, 'tables', jsonb_array_length(p_tables),
                            'rows', (SELECT coalesce(sum((t->>'rows')::bigint), 0) FROM jsonb_array_elements(p_tables) t),
                            'size_bytes', v_size);
END $$;
