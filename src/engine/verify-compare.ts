/**
 * verify's per-table comparison (v2 vs the rollback copy mapped forward), built so the expensive
 * part, the forward conversion of the copy, costs less without computing anything different:
 * a forward expression (or the exclude predicate) that reads only columns with few distinct values
 * is evaluated once per distinct value and joined back, instead of once per row. At 1M domains
 * that is audit_logs.user_id (two UUID regexes and a users lookup per row, 51 distinct values) and
 * the personas lookups of the result tables.
 *
 * Why it is the same function: the expressions are deterministic in one snapshot (what the
 * backfill relies on too) and read nothing of the row but the key columns (predicateColumns: a
 * bare `s` or no column at all = per row as before); the keys are of types whose equality means
 * identical values (text/varchar in a deterministic collation, uuid, integers, boolean: not numeric
 * 1.0 = 1.00, bpchar 'a ' = 'a', jsonb), so each row gets exactly the value its key's group got;
 * NULL keys (no equality) are evaluated per row. test/integration/verify-compare.test.ts checks it
 * row by row on hostile values.
 */
import type pg from 'pg';
import { quoteIdent } from '../sql/sql.js';
import type { MappedTable } from './mapping.js';
import { q, type Rel } from './names.js';
import { distinctEstimate, predicateColumns, setChecksumSql } from './support.js';

/** Key types whose `=` holds only for values that render and convert identically. */
const EXACT_KEY_TYPES = new Set([
  'text',
  'character varying',
  'uuid',
  'smallint',
  'integer',
  'bigint',
  'boolean',
]);

/** Worth a lookup: a subquery or a regex match per row (a cast or a column is cheaper than a join). */
const COSTLY = /\bSELECT\b|~/i;

/** Below this many rows the per-row evaluation is cheap enough; a lookup only adds a scan. */
const LOOKUP_MIN_ROWS = 10_000;

interface KeyColumn {
  type: string;
  deterministic: boolean;
}

async function keyColumns(c: pg.ClientBase, rel: Rel): Promise<Map<string, KeyColumn>> {
  const r = await c.query<{ attname: string; type: string; deterministic: boolean }>(
    `SELECT a.attname, format_type(a.atttypid, NULL) AS type, coalesce(co.collisdeterministic, true) AS deterministic
       FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [q(rel)],
  );
  return new Map(r.rows.map((x) => [x.attname, { type: x.type, deterministic: x.deterministic }]));
}

export interface LegacySide {
  /** SELECT count(*) AS n, <checksum> AS sum … over the copy mapped forward, minus rows kept out */
  sql: string;
  /** per lookup: the key columns and how many expressions it answers (for the report) */
  lookups: { columns: string[]; expressions: number }[];
}

/**
 * The legacy side of compareMappedRows (support.ts) for `columns`, with lookups where they apply.
 * With `rowsSql` the same expressions are returned per row instead (key + row text), for naming
 * the rows on a mismatch.
 */
export async function legacySideSql(
  c: pg.ClientBase,
  t: MappedTable,
  legacy: Rel,
  columns: string[],
  opts: { perRow?: boolean } = {},
): Promise<LegacySide> {
  const forward = new Map(t.targetColumns.forward.map((x) => [x.column, x.expr]));
  const types = new Map(t.def.columns.map((col) => [col.name, col.type]));
  const exprs = columns.map((col) => `(${forward.get(col)})::${types.get(col)}`);
  const all = [...exprs, t.excludePredicate];
  const rows = await c.query<{ n: number }>(
    'SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = to_regclass($1)',
    [q(legacy)],
  );
  const tableRows = rows.rows[0]?.n ?? 0;
  const groups = new Map<string, { columns: string[]; members: number[] }>();
  if (tableRows >= LOOKUP_MIN_ROWS) {
    const info = await keyColumns(c, legacy);
    for (const [i, e] of all.entries()) {
      const cols = COSTLY.test(e) ? predicateColumns(e) : null;
      if (!cols) continue;
      cols.sort();
      const exact = cols.every((x) => {
        const k = info.get(x);
        return k !== undefined && EXACT_KEY_TYPES.has(k.type) && k.deterministic;
      });
      if (!exact) continue;
      const id = cols.join(',');
      const g = groups.get(id) ?? { columns: cols, members: [] };
      g.members.push(i);
      groups.set(id, g);
    }
    for (const [id, g] of groups) {
      const distinct = await distinctEstimate(c, legacy, g.columns);
      if (distinct === null || distinct * 10 >= tableRows) groups.delete(id);
    }
  }
  const replaced = [...all];
  const joins: string[] = [];
  let n = 0;
  for (const g of groups.values()) {
    const alias = `dfc_k${n++}`;
    const keys = g.columns.map((x) => `s.${quoteIdent(x)}`);
    const notNull = keys.map((k) => `${k} IS NOT NULL`).join(' AND ');
    const values = g.members.map((m) => `${all[m]} AS v${m}`).join(', ');
    // OFFSET 0: evaluated here, once per key, not pushed back into the per-row scan
    joins.push(
      `LEFT JOIN (SELECT ${keys.join(', ')}, ${values} FROM (SELECT DISTINCT ${keys.join(', ')} FROM ${q(legacy)} s WHERE ${notNull}) s OFFSET 0) ${alias}
         ON ${g.columns.map((x) => `${alias}.${quoteIdent(x)} = s.${quoteIdent(x)}`).join(' AND ')}`,
    );
    for (const m of g.members) replaced[m] = `(CASE WHEN ${notNull} THEN ${alias}.v${m} ELSE ${all[m]} END)`;
  }
  const rowText = `ROW(${replaced.slice(0, -1).join(', ')})::text`;
  const from = `FROM ${q(legacy)} s ${joins.join(' ')} WHERE NOT (${replaced.at(-1)})`;
  // the key as v2 spells it (a legacy text id renders as the uuid it converts to)
  const pk = t.primaryKey.map((k) => `(${forward.get(k)})::${types.get(k)}`).join(', ');
  return {
    sql: opts.perRow
      ? `SELECT ROW(${pk})::text AS k, ${rowText} AS r ${from}`
      : `SELECT count(*) AS n, ${setChecksumSql(rowText)} AS sum ${from}`,
    lookups: [...groups.values()].map((g) => ({ columns: g.columns, expressions: g.members.length })),
  };
}

/** The v2 side: the same row text over the live table's columns. */
export function v2SideSql(
  t: MappedTable,
  v2: Rel,
  columns: string[],
  opts: { perRow?: boolean } = {},
): string {
  const rowText = `ROW(${columns.map((col) => `t.${quoteIdent(col)}`).join(', ')})::text`;
  const pk = t.primaryKey.map((k) => `t.${quoteIdent(k)}`).join(', ');
  return opts.perRow
    ? `SELECT ROW(${pk})::text AS k, ${rowText} AS r FROM ${q(v2)} t`
    : `SELECT count(*) AS n, ${setChecksumSql(rowText)} AS sum FROM ${q(v2)} t`;
}

export interface RowDifferences {
  /** primary keys (row text) present only on one side, or on both with different values */
  onlyInV2: string[];
  onlyInCopy: string[];
  differ: string[];
}

/**
 * On a count or checksum mismatch: which rows differ, by primary key (up to `limit` each), from the
 * same row texts the checksums summed (a full join by key, in the caller's snapshot).
 */
export async function rowDifferences(
  c: pg.ClientBase,
  t: MappedTable,
  legacy: Rel,
  v2: Rel,
  columns: string[],
  limit = 10,
): Promise<RowDifferences> {
  const l = await legacySideSql(c, t, legacy, columns, { perRow: true });
  const r = await c.query<{ side: 'v2' | 'copy' | 'differ'; k: string }>(
    `WITH l AS MATERIALIZED (${l.sql}), v AS MATERIALIZED (${v2SideSql(t, v2, columns, { perRow: true })}),
          d AS (SELECT CASE WHEN l.k IS NULL THEN 'v2' WHEN v.k IS NULL THEN 'copy' ELSE 'differ' END AS side,
                       coalesce(v.k, l.k) AS k
                  FROM l FULL JOIN v ON v.k = l.k WHERE l.r IS DISTINCT FROM v.r),
          n AS (SELECT side, k, row_number() OVER (PARTITION BY side ORDER BY k) AS i FROM d)
     SELECT side, k FROM n WHERE i <= $1 ORDER BY side, k`,
    [limit],
  );
  const of = (s: string) => r.rows.filter((x) => x.side === s).map((x) => x.k);
  return { onlyInV2: of('v2'), onlyInCopy: of('copy'), differ: of('differ') };
}
