/** Small shared pieces of the engine: conversion-issue counts and the operations log. */
import type pg from 'pg';
import { quoteIdent } from '../sql/sql.js';
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

/**
 * Count legacy rows per conversion issue, with up to 5 sample keys for each issue found. One query
 * per issue with the predicate as the top-level WHERE: that is what lets PostgreSQL turn an
 * orphan check's NOT EXISTS into a hash anti-join (inside count(*) FILTER it would run per row).
 */
export async function countConversionIssues(c: pg.ClientBase, tables: MappedTable[]): Promise<IssueCount[]> {
  const out: IssueCount[] = [];
  for (const t of tables) {
    // cascade issues follow from their parents' quarantine; only the root causes are counted here
    for (const i of t.issues.filter((x) => !x.id.endsWith('.parent_quarantined'))) {
      const from = `${q(legacyLiveOf(t.def))} s`;
      const counted = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} WHERE ${i.predicate}`);
      const count = Number(counted.rows[0]?.n ?? 0);
      let sample: unknown[] = [];
      if (count > 0) {
        const pk = t.primaryKey.map((k) => `'${k}', s."${k}"`).join(', ');
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
 * SQL for an order-independent checksum of a set of row texts: the sum of 60-bit md5 prefixes,
 * as numeric so it cannot overflow. Same rows (in any order) → same text.
 */
export const setChecksumSql = (rowText: string) =>
  `coalesce(sum(('x' || substr(md5(${rowText}), 1, 15))::bit(60)::bigint::numeric), 0)::text`;

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
