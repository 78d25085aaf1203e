/**
 * analyze — planner statistics for every shadow table (autovacuum is off on the shadow).
 * analyze:start, right after the index builds, runs the ANALYZEs in a session of their own, biggest
 * table first, while the constraints are added and validated; analyze waits for them (a resumed
 * run, whose background session died with the old process, analyzes here). ANALYZE's SHARE UPDATE
 * EXCLUSIVE lock conflicts only with our own DDL on the same table, which then waits its turn; the
 * background session never waits on us while it holds a lock, so they cannot deadlock.
 */
import type pg from 'pg';
import type { Step } from '../../core/step.js';
import { SideSession } from '../../db/side-session.js';
import type { TableDef } from '../../schema/v2/model.js';
import { build, ident, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { shadowOf } from '../names.js';
import type { ConsolidateContext } from './context.js';

async function analyzeAll(c: pg.ClientBase, tables: TableDef[]): Promise<number> {
  const sized = await c.query<{ name: string; pages: number }>(
    `SELECT t.name, coalesce(cl.relpages, 0)::int AS pages FROM unnest($1::text[]) AS t(name)
       LEFT JOIN pg_class cl ON cl.oid = to_regclass(t.name) ORDER BY 2 DESC`,
    [tables.map((t) => build(ident(shadowOf(t))).text)],
  );
  const byName = new Map(tables.map((t) => [build(ident(shadowOf(t))).text, t]));
  for (const r of sized.rows) await c.query(build(sql`ANALYZE ${ident(shadowOf(byName.get(r.name)!))}`));
  return sized.rows.length;
}

/** The ANALYZEs, in a session of their own. */
export const backgroundAnalyze = (url: string, tables: TableDef[]): SideSession<number> =>
  new SideSession(url, 'dfc-consolidate-analyze', (c) => analyzeAll(c, tables));

export function analyzeStartStep(): Step<ConsolidateContext> {
  return {
    id: 'analyze:start',
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary:
        'start ANALYZE of every shadow table in a session of its own (biggest first), beside the constraints',
    }),
    async run(ctx) {
      if (ctx.url && !ctx.analyzer) ctx.analyzer = backgroundAnalyze(ctx.url, allTables(ctx.v2));
      return { background: Boolean(ctx.analyzer) };
    },
  };
}

export function analyzeStep(): Step<ConsolidateContext> {
  return {
    id: 'analyze',
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary: 'ANALYZE every shadow table (waits for analyze:start, or runs them here on a resumed run)',
    }),
    async run(ctx) {
      if (ctx.analyzer) {
        const tables = await ctx.analyzer.result().catch(() => null);
        if (tables !== null) return { tables, background: true };
      }
      return { tables: await analyzeAll(ctx.session.client, allTables(ctx.v2)), background: false };
    },
  };
}
