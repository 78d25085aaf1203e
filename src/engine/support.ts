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

/** Count legacy rows per conversion issue with up to 5 sample keys. */
export async function countConversionIssues(c: pg.ClientBase, tables: MappedTable[]): Promise<IssueCount[]> {
  const out: IssueCount[] = [];
  for (const t of tables) {
    // cascade issues follow from their parents' quarantine; only the root causes are counted here
    for (const i of t.issues.filter((x) => !x.id.endsWith('.parent_quarantined'))) {
      const pk = t.primaryKey.map((k) => `'${k}', s."${k}"`).join(', ');
      const r = await c.query<{ n: string; sample: unknown[] | null }>(
        `SELECT count(*) AS n, (array_agg(jsonb_build_object(${pk})))[1:5] AS sample
           FROM ${q(legacyLiveOf(t.def))} s WHERE coalesce((${i.predicate}), false)`,
      );
      out.push({
        id: i.id,
        table: t.captureName.forward,
        count: Number(r.rows[0]?.n ?? 0),
        sample: r.rows[0]?.sample ?? [],
        reason: i.reason,
        fix: i.fix,
      });
    }
  }
  return out;
}

/** Append to monitoring.migration_operations (installing the bookkeeping schemas on first use). */
export async function recordOp(c: pg.ClientBase, op: OperationRecord): Promise<void> {
  await recordOperation(c, op);
}
