/**
 * Fingerprints of a database for "nothing changed" assertions: one over the catalog of every
 * user schema (relations, columns, constraints, indexes, triggers, functions, extensions) and one
 * per table over its rows.
 */
import { withClient } from '../../src/db/connection.js';
import { build, ident, sql } from '../../src/sql/sql.js';

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`;

const CATALOG_SQL = `
SELECT md5(string_agg(x, E'\\n' ORDER BY x)) AS h FROM (
  SELECT 'schema ' || n.nspname || ' ' || pg_get_userbyid(n.nspowner) AS x FROM pg_namespace n WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || pg_get_userbyid(c.relowner)
         || ' ' || coalesce(c.reloptions::text, '') || ' ' || c.relrowsecurity
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT 'col ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE ${USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'con ' || n.nspname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid) || ' ' || k.convalidated
    FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT 'idx ' || pg_get_indexdef(i.indexrelid) || ' ' || i.indisvalid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT 'trg ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_SCHEMAS} AND NOT t.tgisinternal
  UNION ALL
  SELECT 'fn ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || md5(coalesce(p.prosrc, ''))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMAS}
  UNION ALL
  SELECT 'ext ' || extname || ' ' || extversion FROM pg_extension
) s`;

export async function catalogChecksum(url: string): Promise<string> {
  return withClient(url, async (c) => (await c.query<{ h: string }>(CATALOG_SQL)).rows[0]!.h);
}

/** md5 of every table's rows (sorted by their text form), keyed `schema.table`. */
export async function dataChecksums(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const tables = await c.query<{ s: string; t: string }>(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm') AND c.relispopulated AND ${USER_SCHEMAS} ORDER BY 1, 2`,
    );
    const out: Record<string, string> = {};
    for (const { s, t } of tables.rows) {
      const q = build(
        sql`SELECT count(*) AS n, md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) AS h FROM ${ident({ schema: s, name: t })} r`,
      );
      const r = await c.query<{ n: string; h: string }>(q);
      out[`${s}.${t}`] = `${r.rows[0]!.n}:${r.rows[0]!.h}`;
    }
    return out;
  });
}
