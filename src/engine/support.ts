/** Small shared pieces of the engine: conversion-issue counts and the operations log. */
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../sql/sql.js';
import type { MappedTable } from './mapping.js';
import { legacyLiveOf, q, type Rel } from './names.js';

export interface IssueCount {
  id: string;
  table: string;
  count: number;
  sample: unknown[];
  reason: string;
  fix: string;
}

const COLUMN_REF = /\bs\.("?)([a-z_][a-z0-9_]*)\1/g;

/**
 * The legacy columns a predicate reads (`s.col`), or null when it reads the whole row (a bare `s`)
 * or no column at all: then it must be evaluated per row.
 */
export function predicateColumns(predicate: string): string[] | null {
  const cols = new Set([...predicate.matchAll(COLUMN_REF)].map((m) => m[2]!));
  if (cols.size === 0 || /\bs\b/.test(predicate.replace(COLUMN_REF, ''))) return null;
  return [...cols];
}

/** Estimated distinct combinations of `cols` in a table (pg_stats), null without statistics. */
export async function distinctEstimate(c: pg.ClientBase, rel: Rel, cols: string[]): Promise<number | null> {
  const r = await c.query<{ attname: string; n_distinct: number; reltuples: number }>(
    `SELECT st.attname, st.n_distinct::float8 AS n_distinct, greatest(cl.reltuples, 0)::float8 AS reltuples
       FROM pg_stats st JOIN pg_class cl ON cl.oid = to_regclass($3)
      WHERE st.schemaname = $1 AND st.tablename = $2 AND st.attname = ANY ($4) AND NOT st.inherited`,
    [rel.schema, rel.name, q(rel), cols],
  );
  if (r.rows.length !== cols.length) return null;
  return r.rows.reduce((acc, x) => acc * (x.n_distinct >= 0 ? x.n_distinct : -x.n_distinct * x.reltuples), 1);
}

/** Rows a table must have before grouping by the predicate's columns is worth its aggregate. */
const GROUPING_MIN_ROWS = 10_000;

/**
 * Count legacy rows per conversion issue, with up to 5 sample keys for each issue found. One query
 * per issue with the predicate as the top-level WHERE: that is what lets PostgreSQL turn an
 * orphan check's NOT EXISTS into a hash anti-join (inside count(*) FILTER it would run per row).
 * When the columns the predicate reads have few distinct values (say audit_logs.user_id: a
 * regex and a lookup per row of 500k rows, 51 users), the predicate is evaluated once per
 * distinct value on `SELECT cols, count(*) … GROUP BY cols` — the same answer, since a predicate
 * is a function of the columns it reads — instead of once per row (OFFSET 0 keeps the planner
 * from pushing the predicate back below the aggregate).
 */
export async function countConversionIssues(c: pg.ClientBase, tables: MappedTable[]): Promise<IssueCount[]> {
  const out: IssueCount[] = [];
  for (const t of tables) {
    const legacy = legacyLiveOf(t.def);
    const from = `${q(legacy)} s`;
    const rows = await c.query<{ n: number }>(
      'SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = to_regclass($1)',
      [q(legacy)],
    );
    const tableRows = rows.rows[0]?.n ?? 0;
    // cascade issues follow from their parents' quarantine; only the root causes are counted here
    for (const i of t.issues.filter((x) => !x.id.endsWith('.parent_quarantined'))) {
      const cols = tableRows >= GROUPING_MIN_ROWS ? predicateColumns(i.predicate) : null;
      const distinct = cols ? await distinctEstimate(c, legacy, cols) : null;
      const grouped = cols && distinct !== null && distinct * 10 < tableRows;
      const list = cols?.map((x) => `s.${quoteIdent(x)}`).join(', ');
      const counted = await c.query<{ n: string }>(
        grouped
          ? `SELECT coalesce(sum(s.dfc_rows), 0) AS n FROM (SELECT ${list}, count(*) AS dfc_rows FROM ${from} GROUP BY ${list} OFFSET 0) s WHERE ${i.predicate}`
          : `SELECT count(*) AS n FROM ${from} WHERE ${i.predicate}`,
      );
      const count = Number(counted.rows[0]?.n ?? 0);
      let sample: unknown[] = [];
      if (count > 0) {
        const pk = t.primaryKey.map((k) => `${quoteLiteral(k)}, s.${quoteIdent(k)}`).join(', ');
        const r = await c.query<{ k: unknown }>(
          `SELECT jsonb_build_object(${pk}) AS k FROM ${from} WHERE ${i.predicate} LIMIT 5`,
        );
        sample = r.rows.map((x) => x.k);
      }
      out.push({ id: i.id, table: t.captureName.forward, count, sample, reason: i.reason, fix: i.fix });
    }
  }
  return out;
}

/**
 * SQL for an order-independent checksum of a set of row texts: the sum of each row's 64-bit
 * hashtextextended (PostgreSQL 11+), accumulated by sum(bigint) in 128 bits and returned as
 * numeric, so it cannot overflow. Same rows (in any order) → same text. Both sides of a comparison
 * are computed in one server, so the hash need not be stable across versions; it detects
 * accidental differences as well as the 60-bit md5 prefix it replaces, at a fraction of the cost
 * (md5 hex → bit → numeric per row was most of verify's time at 1M rows).
 */
export const setChecksumSql = (rowText: string) => `coalesce(sum(hashtextextended(${rowText}, 0)), 0)::text`;

export interface RowSetComparison {
  legacyRows: number;
  v2Rows: number;
  checksumsMatch: boolean;
}

/**
 * Compare a legacy table, mapped forward and minus the rows quarantine keeps out, with a table of
 * v2 rows (the shadow before cutover, the live v2 table after it): counts and an order-independent
 * checksum over `columns` (v2 column names). `checksum: false` counts only.
 */
export async function compareMappedRows(
  c: pg.ClientBase,
  t: MappedTable,
  legacy: Rel,
  v2: Rel,
  columns: string[],
  opts: { checksum?: boolean } = {},
): Promise<RowSetComparison> {
  const forward = new Map(t.targetColumns.forward.map((x) => [x.column, x.expr]));
  const types = new Map(t.def.columns.map((col) => [col.name, col.type]));
  const withSum = opts.checksum !== false;
  const sum = (rowText: string) => (withSum ? `, ${setChecksumSql(rowText)} AS sum` : ", '' AS sum");
  const legacyRow = `ROW(${columns.map((col) => `(${forward.get(col)})::${types.get(col)}`).join(', ')})::text`;
  const v2Row = `ROW(${columns.map((col) => `t.${quoteIdent(col)}`).join(', ')})::text`;
  const l = await c.query<{ n: string; sum: string }>(
    `SELECT count(*) AS n${sum(legacyRow)} FROM ${q(legacy)} s WHERE NOT (${t.excludePredicate})`,
  );
  const v = await c.query<{ n: string; sum: string }>(`SELECT count(*) AS n${sum(v2Row)} FROM ${q(v2)} t`);
  return {
    legacyRows: Number(l.rows[0]!.n),
    v2Rows: Number(v.rows[0]!.n),
    checksumsMatch: l.rows[0]!.n === v.rows[0]!.n && l.rows[0]!.sum === v.rows[0]!.sum,
  };
}
