-- dfc bookkeeping 0010: in-database backups (guide step 2) — one consistent snapshot of every
-- DomainFlow table (public and auth, discovered from the catalog, so the legacy and the v2 layout
-- alike) copied into a schema dfc_backup_<name>, per-row hashes for verification and incremental
-- backups, and the schema DDL generated from the catalog so `dfc backup restore` can rebuild a
-- database from the backup alone.
--
-- Row hash: md5 of the row's text form. Table checksum: count and the sum of the hashes' 60-bit
-- prefixes (order-independent, as numeric so it cannot overflow) — the same expression
-- src/safety/checksum.ts computes on a restored database.
--
-- The archive variant (per-table COPY files + manifest) is written by the client:
-- `dfc backup create --to-dir DIR`.

-- The tables a backup covers, with their primary-key columns (null for a table without one).
CREATE FUNCTION safety.domainflow_tables()
RETURNS TABLE (schema_name text, table_name text, key_columns text[])
LANGUAGE sql STABLE AS $$
  SELECT n.nspname::text, c.relname::text,
         (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
            FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
           WHERE i.indrelid = c.oid AND i.indisprimary)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   ORDER BY 1, 2
$$;

-- SQL expression (over alias p_alias) for a row's key: its primary key as jsonb, or the whole row.
CREATE FUNCTION safety.row_key_sql(p_keys text[], p_alias text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_keys IS NULL OR cardinality(p_keys) = 0 THEN format('to_jsonb(%I)', p_alias)
              ELSE format('jsonb_build_object(%s)',
                          (SELECT string_agg(format('%L, %I.%I', k, p_alias, k), ', ') FROM unnest(p_keys) k))
         END
$$;

-- Aggregate over a set of md5 hex hashes named h: the order-independent table checksum.
CREATE FUNCTION safety.checksum_sql(p_hash_expr text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT format('coalesce(sum((''x'' || substr(%s, 1, 15))::bit(60)::bigint::numeric), 0)::text', p_hash_expr)
$$;

-- Count and checksum of any table's rows, computed the way backups record them.
CREATE FUNCTION safety.table_checksum(p_schema text, p_table text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE v_rows bigint; v_sum text;
BEGIN
  EXECUTE format('SELECT count(*), %s FROM %I.%I r', safety.checksum_sql('md5(r::text)'), p_schema, p_table)
    INTO v_rows, v_sum;
  RETURN jsonb_build_object('rows', v_rows, 'checksum', v_sum);
END $$;

-- The schema of p_schemas as SQL, generated from the catalog (search_path pg_catalog, so every
-- name is qualified): {extensions, pre: [...], post: [...], acl: [...], refresh: [...], skipped}.
-- pre = schemas, sequences, tables (no defaults), functions, defaults, sequence ownership;
-- post = constraints (FKs last), views, indexes, triggers, RLS, comments; acl = owners, grants and
-- policies (roles may not exist where it is restored; each runs on its own).
CREATE FUNCTION safety.schema_ddl(p_schemas text[] DEFAULT ARRAY['public', 'auth'])
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  v_pre text[] := '{}';
  v_post text[] := '{}';
  v_acl text[] := '{}';
  v_skipped text[] := '{}';
  r record;
BEGIN
  FOR r IN SELECT nspname FROM pg_namespace WHERE nspname = ANY (p_schemas) AND nspname <> 'public' ORDER BY 1 LOOP
    v_pre := v_pre || format('CREATE SCHEMA IF NOT EXISTS %I', r.nspname);
  END LOOP;
  FOR r IN SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner FROM pg_namespace n WHERE n.nspname = ANY (p_schemas) LOOP
    v_acl := v_acl || format('ALTER SCHEMA %I OWNER TO %I', r.nspname, r.owner);
  END LOOP;
  FOR r IN SELECT n.nspname, a.privilege_type, a.grantee, a.is_grantable
             FROM pg_namespace n, aclexplode(n.nspacl) a
            WHERE n.nspname = ANY (p_schemas) AND a.grantee <> n.nspowner LOOP
    v_acl := v_acl || format('GRANT %s ON SCHEMA %I TO %s%s', r.privilege_type, r.nspname,
                             CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END,
                             CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;

  -- sequences, except identity sequences (created with their column)
  FOR r IN SELECT c.oid, n.nspname, c.relname, s.*
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('i', 'e'))
            ORDER BY 2, 3 LOOP
    v_pre := v_pre || format('CREATE SEQUENCE %I.%I AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s%s',
                             r.nspname, r.relname, format_type(r.seqtypid, NULL), r.seqincrement, r.seqmin, r.seqmax,
                             r.seqstart, r.seqcache, CASE WHEN r.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END);
  END LOOP;

  -- tables: columns with types, collations, NOT NULL, identity and generated expressions
  FOR r IN SELECT c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
                  (SELECT string_agg(format('%I %s%s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                            CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid)
                                 THEN ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                        FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                                       WHERE co.oid = a.attcollation) ELSE '' END,
                            CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED' ELSE '' END,
                            CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                            CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                                               WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END),
                                     ', ' ORDER BY a.attnum)
                     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY 2, 3 LOOP
    v_pre := v_pre || format('CREATE TABLE %I.%I (%s)', r.nspname, r.relname, coalesce(r.cols, ''));
    IF r.relrowsecurity THEN v_post := v_post || format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', r.nspname, r.relname); END IF;
    IF r.relforcerowsecurity THEN v_post := v_post || format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', r.nspname, r.relname); END IF;
  END LOOP;

  -- functions (bodies are not checked at restore: they may name tables created later)
  FOR r IN SELECT p.oid, n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY (p_schemas) AND p.prokind IN ('f', 'p', 'w')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
            ORDER BY p.oid LOOP
    v_pre := v_pre || pg_get_functiondef(r.oid);
    v_acl := v_acl || format('ALTER ROUTINE %s OWNER TO %I', r.oid::regprocedure, (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = r.oid));
  END LOOP;

  -- column defaults (after functions, which they may call) and sequence ownership
  FOR r IN SELECT n.nspname, c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) AS expr
             FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
             JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas) AND c.relkind IN ('r', 'p') AND a.attgenerated = '' AND NOT a.attisdropped
            ORDER BY 1, 2, a.attnum LOOP
    v_pre := v_pre || format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %s', r.nspname, r.relname, r.attname, r.expr);
  END LOOP;
  FOR r IN SELECT sn.nspname AS sschema, s.relname AS sname, tn.nspname AS tschema, t.relname AS tname, a.attname
             FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_namespace sn ON sn.oid = s.relnamespace
             JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE d.deptype = 'a' AND sn.nspname = ANY (p_schemas) AND tn.nspname = ANY (p_schemas) LOOP
    v_pre := v_pre || format('ALTER SEQUENCE %I.%I OWNED BY %I.%I.%I', r.sschema, r.sname, r.tschema, r.tname, r.attname);
  END LOOP;

  -- constraints: keys and checks first, foreign keys last (they need the keys they reference)
  FOR r IN SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid) AS def
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas) AND k.contype IN ('p', 'u', 'x', 'c', 'f') AND k.conislocal
              AND c.relkind IN ('r', 'p')
            ORDER BY (k.contype = 'f'), 1, 2, 3 LOOP
    v_post := v_post || format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', r.nspname, r.relname, r.conname, r.def);
  END LOOP;

  -- views and materialized views in creation order (a view is created after what it reads)
  FOR r IN SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispopulated, pg_get_viewdef(c.oid) AS def
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas) AND c.relkind IN ('v', 'm')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY c.oid LOOP
    IF r.relkind = 'v' THEN
      v_post := v_post || format('CREATE VIEW %I.%I AS %s', r.nspname, r.relname, rtrim(r.def, ';'));
    ELSE
      v_post := v_post || format('CREATE MATERIALIZED VIEW %I.%I AS %s WITH NO DATA', r.nspname, r.relname, rtrim(r.def, ';'));
    END IF;
  END LOOP;

  -- indexes not backing a constraint (those came with ADD CONSTRAINT)
  FOR r IN SELECT pg_get_indexdef(i.indexrelid) AS def
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
            WHERE n.nspname = ANY (p_schemas)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
            ORDER BY ic.relname LOOP
    v_post := v_post || r.def;
  END LOOP;

  -- triggers; one calling a function outside the dumped schemas (e.g. dfc's own change capture)
  -- is left out and reported
  FOR r IN SELECT t.oid, n.nspname, c.relname, t.tgname, t.tgenabled, pn.nspname AS fschema, pg_get_triggerdef(t.oid) AS def,
                  EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = t.tgfoid AND d.deptype = 'e') AS ext
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
            WHERE n.nspname = ANY (p_schemas) AND NOT t.tgisinternal
            ORDER BY 2, 3, 4 LOOP
    IF NOT (r.fschema = ANY (p_schemas)) AND NOT r.ext AND r.fschema <> 'pg_catalog' THEN
      v_skipped := v_skipped || format('trigger %s on %I.%I (calls a function in schema %s)', r.tgname, r.nspname, r.relname, r.fschema);
      CONTINUE;
    END IF;
    v_post := v_post || r.def;
    IF r.tgenabled <> 'O' THEN
      v_post := v_post || format('ALTER TABLE %I.%I %s TRIGGER %I', r.nspname, r.relname,
                                 CASE r.tgenabled WHEN 'A' THEN 'ENABLE ALWAYS' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'DISABLE' END, r.tgname);
    END IF;
  END LOOP;

  -- comments
  FOR r IN SELECT format('COMMENT ON %s IS %L',
                         CASE WHEN d.classoid = 'pg_class'::regclass AND d.objsubid > 0
                                THEN format('COLUMN %s.%I', d.objoid::regclass, (SELECT attname FROM pg_attribute WHERE attrelid = d.objoid AND attnum = d.objsubid))
                              WHEN d.classoid = 'pg_class'::regclass
                                THEN (CASE (SELECT relkind FROM pg_class WHERE oid = d.objoid) WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW '
                                        WHEN 'S' THEN 'SEQUENCE ' WHEN 'i' THEN 'INDEX ' ELSE 'TABLE ' END) || d.objoid::regclass::text
                              WHEN d.classoid = 'pg_proc'::regclass THEN 'ROUTINE ' || d.objoid::regprocedure::text
                              WHEN d.classoid = 'pg_constraint'::regclass
                                THEN (SELECT format('CONSTRAINT %I ON %s', conname, conrelid::regclass) FROM pg_constraint WHERE oid = d.objoid)
                              WHEN d.classoid = 'pg_trigger'::regclass
                                THEN (SELECT format('TRIGGER %I ON %s', tgname, tgrelid::regclass) FROM pg_trigger WHERE oid = d.objoid)
                         END, d.description) AS stmt
             FROM pg_description d
            WHERE (d.classoid = 'pg_class'::regclass AND EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = d.objoid AND n.nspname = ANY (p_schemas)))
               OR (d.classoid = 'pg_proc'::regclass AND EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = d.objoid AND n.nspname = ANY (p_schemas)
                     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')))
               OR (d.classoid = 'pg_constraint'::regclass AND EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.oid = d.objoid AND n.nspname = ANY (p_schemas) AND k.conrelid <> 0))
               OR (d.classoid = 'pg_trigger'::regclass AND EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.oid = d.objoid AND n.nspname = ANY (p_schemas)))
  LOOP
    IF r.stmt IS NOT NULL THEN v_post := v_post || r.stmt; END IF;
  END LOOP;

  -- owners and grants of relations; policies (they name roles)
  FOR r IN SELECT c.oid, c.relkind, pg_get_userbyid(c.relowner) AS owner, c.relacl, c.relowner
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('i', 'e'))
            ORDER BY c.oid LOOP
    v_acl := v_acl || format('ALTER %s %s OWNER TO %I',
                             CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                             r.oid::regclass, r.owner);
  END LOOP;
  FOR r IN SELECT c.oid, c.relkind, a.privilege_type, a.grantee, a.is_grantable
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
            WHERE n.nspname = ANY (p_schemas) AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND a.grantee <> c.relowner
            ORDER BY c.oid, a.grantee, a.privilege_type LOOP
    v_acl := v_acl || format('GRANT %s ON %s %s TO %s%s', r.privilege_type, CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                             r.oid::regclass,
                             CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END,
                             CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  FOR r IN SELECT p.polname, p.polrelid, p.polpermissive, p.polcmd, p.polroles,
                  pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS chk
             FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (p_schemas) ORDER BY 2, 1 LOOP
    v_acl := v_acl || format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', r.polname, r.polrelid::regclass,
                             CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                             CASE r.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                             (SELECT string_agg(CASE WHEN x = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x)) END, ', ') FROM unnest(r.polroles) x),
                             CASE WHEN r.qual IS NOT NULL THEN ' USING (' || r.qual || ')' ELSE '' END,
                             CASE WHEN r.chk IS NOT NULL THEN ' WITH CHECK (' || r.chk || ')' ELSE '' END);
  END LOOP;

  RETURN jsonb_build_object(
    'extensions', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', e.extname, 'schema', n.nspname) ORDER BY e.oid), '[]')
                     FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'),
    'pre', to_jsonb(v_pre), 'post', to_jsonb(v_post), 'acl', to_jsonb(v_acl),
    'refresh', (SELECT coalesce(jsonb_agg(format('%I.%I', n.nspname, c.relname) ORDER BY c.oid), '[]')
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = ANY (p_schemas) AND c.relkind = 'm' AND c.relispopulated),
    'skipped', to_jsonb(v_skipped));
END $$;

-- Sequence positions at backup time (sequences are not transactional: read, not snapshotted).
CREATE FUNCTION safety.sequence_positions(p_schemas text[] DEFAULT ARRAY['public', 'auth'])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE r record; v_last bigint; v_called boolean; v_out jsonb := '[]';
BEGIN
  FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'S' AND n.nspname = ANY (p_schemas) ORDER BY 1, 2 LOOP
    EXECUTE format('SELECT last_value, is_called FROM %I.%I', r.nspname, r.relname) INTO v_last, v_called;
    v_out := v_out || jsonb_build_object('sequence', format('%I.%I', r.nspname, r.relname), 'last_value', v_last, 'is_called', v_called);
  END LOOP;
  RETURN v_out;
END $$;

-- Start a backup: its schema, its row-hash table and its registry row (status creating). Run in
-- the backup's transaction: a failure rolls all of it back.
CREATE FUNCTION safety.backup_prepare(p_name text, p_type text DEFAULT 'pre_consolidation', p_base text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE v_schema text := 'dfc_backup_' || p_name;
BEGIN
  IF p_name !~ '^[a-z0-9_]{1,48}$' THEN
    RAISE EXCEPTION 'backup name "%" must be 1-48 characters of a-z, 0-9 and _', p_name USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM safety.backup_registry WHERE backup_id = p_name) THEN
    RAISE EXCEPTION 'a backup named "%" is already registered', p_name USING ERRCODE = '42710',
      HINT = 'choose another --name, or remove the old one with dfc backup cleanup';
  END IF;
  IF to_regnamespace(v_schema) IS NOT NULL THEN
    RAISE EXCEPTION 'schema % already exists but is not a registered backup', v_schema USING ERRCODE = '42P06',
      HINT = 'drop it or choose another --name';
  END IF;
  EXECUTE format('CREATE SCHEMA %I', v_schema);
  EXECUTE format('CREATE TABLE %I.dfc_row_hashes (tbl text NOT NULL, k jsonb NOT NULL, h text NOT NULL)', v_schema);
  INSERT INTO safety.backup_registry (backup_id, backup_type, location, status, details)
  VALUES (p_name, p_type, v_schema, 'creating',
          jsonb_build_object('base', p_base, 'snapshot_isolation', current_setting('transaction_isolation'),
                             'created_by', session_user, 'database', current_database()));
  RETURN v_schema;
END $$;

-- Manifest entry of one backed-up copy: count and checksum.
CREATE FUNCTION safety.backup_copy_stats(p_backup_schema text, p_schema text, p_table text, p_keys text[], p_copy text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_rows bigint; v_sum text;
BEGIN
  EXECUTE format('SELECT count(*), %s FROM %I.%I r', safety.checksum_sql('md5(r::text)'), p_backup_schema, p_copy)
    INTO v_rows, v_sum;
  RETURN jsonb_build_object('table', p_schema || '.' || p_table, 'schema', p_schema, 'name', p_table, 'copy', p_copy,
                            'key', to_jsonb(p_keys), 'rows', v_rows, 'checksum', v_sum);
END $$;

-- Hash one backed-up copy into the row-hash table; returns its manifest entry.
CREATE FUNCTION safety.backup_hash_copy(p_backup_schema text, p_schema text, p_table text, p_keys text[], p_copy text)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO %I.dfc_row_hashes (tbl, k, h) SELECT %L, %s, md5(r::text) FROM %I.%I r',
                 p_backup_schema, p_schema || '.' || p_table, safety.row_key_sql(p_keys, 'r'), p_backup_schema, p_copy);
  RETURN safety.backup_copy_stats(p_backup_schema, p_schema, p_table, p_keys, p_copy);
END $$;

-- Copy one table into the backup (in the caller's snapshot) and hash it.
CREATE FUNCTION safety.backup_table(p_backup_schema text, p_schema text, p_table text, p_keys text[])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_copy text := p_schema || '__' || p_table;
BEGIN
  IF length(v_copy) > 63 THEN
    RAISE EXCEPTION 'table name %.% is too long for a backup copy name', p_schema, p_table USING ERRCODE = '42622';
  END IF;
  EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I)', p_backup_schema, v_copy, p_schema, p_table);
  EXECUTE format('INSERT INTO %I.%I SELECT * FROM %I.%I', p_backup_schema, v_copy, p_schema, p_table);
  RETURN safety.backup_hash_copy(p_backup_schema, p_schema, p_table, p_keys, v_copy);
END $$;

-- Finish a backup: manifest, sizes, schema DDL, sequences; status completed.
CREATE FUNCTION safety.backup_finish(p_name text, p_tables jsonb, p_details jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_schema text; v_size bigint;
BEGIN
  SELECT location INTO v_schema FROM safety.backup_registry WHERE backup_id = p_name;
  EXECUTE format('CREATE INDEX ON %I.dfc_row_hashes (tbl, k)', v_schema);
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

-- Guide: SELECT safety.create_pre_consolidation_backup();  Every table copied by ONE statement
-- (data-modifying CTEs share one snapshot), so it is consistent under READ COMMITTED too.
CREATE FUNCTION safety.create_pre_consolidation_backup(p_name text DEFAULT NULL, p_to_dir text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_name text := coalesce(p_name, 'pre_consolidation_' || to_char(clock_timestamp(), 'YYYYMMDD_HH24MISS'));
  v_schema text;
  v_ctes text[] := '{}';
  v_tables jsonb := '[]';
  t record;
BEGIN
  IF p_to_dir IS NOT NULL THEN
    RAISE EXCEPTION 'a portable archive is written by the client, not by the server'
      USING ERRCODE = '0A000', HINT = format('run: dfc backup create --name %s --to-dir %s', v_name, p_to_dir);
  END IF;
  v_schema := safety.backup_prepare(v_name, 'pre_consolidation');
  FOR t IN SELECT * FROM safety.domainflow_tables() LOOP
    IF length(t.schema_name || '__' || t.table_name) > 63 THEN
      RAISE EXCEPTION 'table name %.% is too long for a backup copy name', t.schema_name, t.table_name;
    END IF;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I)', v_schema, t.schema_name || '__' || t.table_name, t.schema_name, t.table_name);
    v_ctes := v_ctes || format('c%s AS (INSERT INTO %I.%I SELECT * FROM %I.%I)', cardinality(v_ctes),
                               v_schema, t.schema_name || '__' || t.table_name, t.schema_name, t.table_name);
  END LOOP;
  IF cardinality(v_ctes) > 0 THEN
    EXECUTE 'WITH ' || array_to_string(v_ctes, ', ') || ' SELECT 1';
  END IF;
  FOR t IN SELECT * FROM safety.domainflow_tables() LOOP
    v_tables := v_tables || safety.backup_hash_copy(v_schema, t.schema_name, t.table_name, t.key_columns,
                                                    t.schema_name || '__' || t.table_name);
  END LOOP;
  RETURN safety.backup_finish(v_name, v_tables, jsonb_build_object('made_by', 'sql'));
END $$;

-- Guide: SELECT safety.verify_backup_integrity('pre_consolidation_...');  Recomputes every copy's
-- count and checksum against the registry; a mismatch is classified per row (changed, missing,
-- added) against the row hashes taken at backup time. Logged in backup_verification_log.
CREATE FUNCTION safety.verify_backup_integrity(p_name text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  b safety.backup_registry;
  t jsonb;
  v_rows bigint; v_sum text;
  v_changed bigint; v_missing bigint; v_added bigint; v_samples jsonb;
  v_problems jsonb := '[]';
  v_checked int := 0;
  v_incremental boolean;
BEGIN
  SELECT * INTO b FROM safety.backup_registry WHERE backup_id = p_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no backup named "%" in safety.backup_registry', p_name USING ERRCODE = '42704', HINT = 'dfc backup list shows them';
  END IF;
  IF b.status NOT IN ('completed', 'verified', 'failed') THEN
    RAISE EXCEPTION 'backup "%" is %, it cannot be verified', p_name, b.status USING ERRCODE = '55000';
  END IF;
  v_incremental := b.backup_type = 'incremental';
  IF to_regnamespace(b.location) IS NULL THEN
    v_problems := v_problems || jsonb_build_object('problem', 'schema_missing', 'schema', b.location);
  ELSE
    FOR t IN SELECT * FROM jsonb_array_elements(b.tables) LOOP
      v_checked := v_checked + 1;
      IF to_regclass(format('%I.%I', b.location, t->>'copy')) IS NULL THEN
        v_problems := v_problems || jsonb_build_object('table', t->>'table', 'problem', 'copy_missing');
        CONTINUE;
      END IF;
      EXECUTE format('SELECT count(*), %s FROM %I.%I r', safety.checksum_sql('md5(r::text)'), b.location, t->>'copy')
        INTO v_rows, v_sum;
      IF v_rows = (t->>'rows')::bigint AND v_sum = t->>'checksum' THEN CONTINUE; END IF;
      -- classify: the copy's rows against the hashes recorded when the backup was taken
      EXECUTE format(
        'WITH h AS (SELECT k, h FROM %1$I.dfc_row_hashes WHERE tbl = %2$L),
              c AS (SELECT %3$s AS k, md5(r::text) AS h FROM %1$I.%4$I r),
              d AS (SELECT h.k AS hk, c.k AS ck, h.h AS hh, c.h AS ch FROM h %5$s JOIN c ON c.k = h.k
                     WHERE h.k IS NULL OR c.k IS NULL OR h.h <> c.h)
         SELECT count(*) FILTER (WHERE hk IS NOT NULL AND ck IS NOT NULL),
                count(*) FILTER (WHERE ck IS NULL),
                count(*) FILTER (WHERE hk IS NULL),
                (SELECT coalesce(jsonb_agg(x), ''[]'') FROM (SELECT jsonb_build_object(''key'', coalesce(ck, hk),
                        ''kind'', CASE WHEN hk IS NULL THEN ''added'' WHEN ck IS NULL THEN ''missing'' ELSE ''changed'' END) AS x
                        FROM d LIMIT 5) s)
           FROM d',
        b.location, t->>'table', safety.row_key_sql(ARRAY(SELECT jsonb_array_elements_text(coalesce(nullif(t->'key', 'null'), '[]'))), 'r'),
        t->>'copy', CASE WHEN v_incremental THEN 'RIGHT' ELSE 'FULL' END)
        INTO v_changed, v_missing, v_added, v_samples;
      IF v_incremental THEN
        -- an incremental copy holds only the changed rows: rows of the full state it does not hold are expected
        v_missing := greatest((t->>'rows')::bigint - (v_rows - v_added), 0);
      END IF;
      v_problems := v_problems || jsonb_build_object('table', t->>'table', 'problem', 'checksum_mismatch',
                                                     'expected_rows', (t->>'rows')::bigint, 'actual_rows', v_rows,
                                                     'changed', v_changed, 'missing', v_missing, 'added', v_added,
                                                     'samples', v_samples);
    END LOOP;
  END IF;
  INSERT INTO safety.backup_verification_log (backup_id, verification_type, status, details)
  VALUES (p_name, 'checksums', CASE WHEN jsonb_array_length(v_problems) = 0 THEN 'passed' ELSE 'failed' END,
          jsonb_build_object('tables_checked', v_checked, 'problems', v_problems));
  UPDATE safety.backup_registry
     SET status = CASE WHEN jsonb_array_length(v_problems) = 0 THEN 'verified' ELSE 'failed' END,
         verified_at = now()
   WHERE backup_id = p_name;
  RETURN jsonb_build_object('backup_id', p_name, 'valid', jsonb_array_length(v_problems) = 0,
                            'tables_checked', v_checked, 'problems', v_problems);
END $$;

-- Guide: SELECT safety.create_incremental_backup('latest', 'name');  Rows added or changed since
-- the base (by key and row hash) are copied; removed keys go to dfc_removed; the full current row
-- hashes are kept, so this backup can be the base of the next one. One statement reads every
-- table, so the delta is one consistent snapshot.
CREATE FUNCTION safety.create_incremental_backup(p_base text, p_name text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_base safety.backup_registry;
  v_name text := coalesce(p_name, 'incremental_' || to_char(clock_timestamp(), 'YYYYMMDD_HH24MISS'));
  v_schema text;
  v_ctes text[] := '{}';
  v_tables jsonb := '[]';
  v_removed bigint;
  t record;
BEGIN
  SELECT * INTO v_base FROM safety.backup_registry
   WHERE status IN ('completed', 'verified') AND backup_type IN ('pre_consolidation', 'incremental')
     AND (backup_id = p_base OR (p_base = 'latest'))
   ORDER BY (backup_id = p_base) DESC, created_at DESC LIMIT 1;
  IF NOT FOUND OR to_regnamespace(v_base.location) IS NULL THEN
    RAISE EXCEPTION 'no usable base backup "%" (completed, with its schema present)', p_base
      USING ERRCODE = '42704', HINT = 'dfc backup list shows the backups; create one with dfc backup create';
  END IF;
  v_schema := safety.backup_prepare(v_name, 'incremental', v_base.backup_id);
  EXECUTE format('CREATE TABLE %I.dfc_removed (tbl text NOT NULL, k jsonb NOT NULL)', v_schema);
  FOR t IN SELECT * FROM safety.domainflow_tables() LOOP
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I)', v_schema, t.schema_name || '__' || t.table_name, t.schema_name, t.table_name);
    v_ctes := v_ctes || format('h%1$s AS (INSERT INTO %2$I.dfc_row_hashes (tbl, k, h) SELECT %3$L, %4$s, md5(r::text) FROM %5$I.%6$I r)',
                               cardinality(v_ctes), v_schema, t.schema_name || '.' || t.table_name,
                               safety.row_key_sql(t.key_columns, 'r'), t.schema_name, t.table_name);
    v_ctes := v_ctes || format('d%1$s AS (INSERT INTO %2$I.%3$I SELECT r.* FROM %4$I.%5$I r
                                          WHERE NOT EXISTS (SELECT 1 FROM %6$I.dfc_row_hashes b
                                                             WHERE b.tbl = %7$L AND b.k = %8$s AND b.h = md5(r::text)))',
                               cardinality(v_ctes), v_schema, t.schema_name || '__' || t.table_name, t.schema_name, t.table_name,
                               v_base.location, t.schema_name || '.' || t.table_name, safety.row_key_sql(t.key_columns, 'r'));
  END LOOP;
  IF cardinality(v_ctes) > 0 THEN
    EXECUTE 'WITH ' || array_to_string(v_ctes, ', ') || ' SELECT 1';
  END IF;
  EXECUTE format('INSERT INTO %1$I.dfc_removed (tbl, k)
                  SELECT b.tbl, b.k FROM %2$I.dfc_row_hashes b
                   WHERE NOT EXISTS (SELECT 1 FROM %1$I.dfc_row_hashes h WHERE h.tbl = b.tbl AND h.k = b.k)',
                 v_schema, v_base.location);
  FOR t IN SELECT * FROM safety.domainflow_tables() LOOP
    EXECUTE format('SELECT count(*) FROM %I.dfc_removed WHERE tbl = %L', v_schema, t.schema_name || '.' || t.table_name) INTO v_removed;
    v_tables := v_tables || (safety.backup_copy_stats(v_schema, t.schema_name, t.table_name, t.key_columns, t.schema_name || '__' || t.table_name) || jsonb_build_object('removed', v_removed));
  END LOOP;
  RETURN safety.backup_finish(v_name, v_tables, jsonb_build_object('made_by', 'sql', 'base', v_base.backup_id))
         || jsonb_build_object('base', v_base.backup_id,
                               'changed_rows', (SELECT coalesce(sum((x->>'rows')::bigint), 0) FROM jsonb_array_elements(v_tables) x),
                               'removed_rows', (SELECT coalesce(sum((x->>'removed')::bigint), 0) FROM jsonb_array_elements(v_tables) x));
END $$;

-- Guide-style listing: one row per registered backup, with whether its schema is still there.
CREATE FUNCTION safety.list_backups()
RETURNS TABLE (backup_id text, backup_type text, created_at timestamptz, status text, location text,
               schema_present boolean, archive_dir text, tables integer, rows bigint, size_bytes bigint,
               verified_at timestamptz, base text)
LANGUAGE sql STABLE AS $$
  SELECT b.backup_id, b.backup_type, b.created_at, b.status, b.location,
         to_regnamespace(b.location) IS NOT NULL, b.details->>'archive_dir',
         jsonb_array_length(b.tables),
         (SELECT coalesce(sum((t->>'rows')::bigint), 0) FROM jsonb_array_elements(b.tables) t)::bigint,
         b.size_bytes, b.verified_at, b.details->>'base'
    FROM safety.backup_registry b
   ORDER BY b.created_at DESC, b.backup_id
$$;

-- Drop the schemas of backups older than p_days (registry rows stay, status dropped). Archives
-- on disk are removed by `dfc backup cleanup`, which reads archive_dir from the result.
CREATE FUNCTION safety.cleanup_old_backups(p_days numeric DEFAULT 30)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE b record; v_out jsonb := '[]';
BEGIN
  IF p_days IS NULL OR p_days < 0 THEN
    RAISE EXCEPTION 'cleanup_old_backups: days must be >= 0, got %', p_days USING ERRCODE = '22023';
  END IF;
  FOR b IN SELECT * FROM safety.backup_registry
            WHERE created_at < now() - make_interval(secs => p_days * 86400)
              AND status NOT IN ('dropped', 'creating')
            ORDER BY created_at LOOP
    IF to_regnamespace(b.location) IS NOT NULL AND b.location LIKE 'dfc\_backup\_%' THEN
      EXECUTE format('DROP SCHEMA %I CASCADE', b.location);
    END IF;
    UPDATE safety.backup_registry SET status = 'dropped' WHERE backup_id = b.backup_id;
    v_out := v_out || jsonb_build_object('backup_id', b.backup_id, 'location', b.location,
                                         'archive_dir', b.details->>'archive_dir');
  END LOOP;
  RETURN jsonb_build_object('dropped', v_out, 'older_than_days', p_days);
END $$;
