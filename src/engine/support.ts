/** Small shared pieces of the engine: conversion-issue counts and the operations log. */
import type pg from 'pg';
import { type OperationRecord, recordOperation } from '../bookkeeping.js';
import type { MappedTable } from './mapping.js';
import { legacyLiveOf, q } from './names.js';

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

/** Append to monitoring.migration_operations (installing the bookkeeping schemas on first use). */
export async function recordOp(c: pg.ClientBase, op: OperationRecord): Promise<void> {
  await recordOperation(c, op);
}

/**
 * SQL for an order-independent checksum of a set of row texts: the sum of 60-bit md5 prefixes,
 * as numeric so it cannot overflow. Same rows (in any order) → same text.
 */
export const setChecksumSql = (rowText: string) =>
  `coalesce(sum(('x' || substr(md5(${rowText}), 1, 15))::bit(60)::bigint::numeric), 0)::text`;
