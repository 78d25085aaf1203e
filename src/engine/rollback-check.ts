/**
 * What `dfc rollback test` checks and `dfc rollback execute` relies on: the point is open, every
 * relation it moves back is where it should be, reverse capture is on every v2 table (else a write
 * since cutover could be missing from the copy), the backlog names only known tables, and v2 agrees
 * with the copy row for row (one snapshot per table; keys with a pending change are left to the drain).
 * The row comparisons are independent statements, so with a URL they run on several sessions at
 * once, biggest table first (the comparison is most of `rollback test`'s and `execute`'s time).
 */
import type pg from 'pg';
import { connect } from '../db/connection.js';
import { V2 } from '../schema/v2/index.js';
import { allTables } from './build.js';
import { captureCompleteSql } from './capture.js';
import { q, ROLLBACK_SCHEMA } from './names.js';
import { kindWord, type PointTable, type RollbackPoint, relOf } from './rollback-points.js';
import { runJobs } from './verify-parallel.js';

/** Sessions comparing rows at once (this machine class: 2 cores; the server does the work). */
export const ROLLBACK_CHECK_SESSIONS = 2;

export interface RollbackCheck {
  check: string;
  passed: boolean;
  details?: unknown;
}

const exists = async (c: pg.ClientBase, rel: string) =>
  Boolean((await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [rel])).rows[0]?.ok);

export async function checkPoint(
  c: pg.ClientBase,
  point: RollbackPoint,
  opts: { checksums?: boolean; url?: string; sessions?: number } = {},
): Promise<RollbackCheck[]> {
  const checks: RollbackCheck[] = [];
  checks.push({
    check: 'the point is open (state valid)',
    passed: point.state === 'valid',
    details: {
      state: point.state,
      hint:
        point.state === 'used'
          ? 'already rolled back through this point'
          : point.state === 'finalized' || point.state === 'dropped'
            ? 'the rollback window was closed (dfc finalize / cleanup); the copy is no longer kept current'
            : undefined,
    },
  });
  if (point.state !== 'valid') return checks;
  const run = await c.query<{ state: string }>(
    'SELECT state FROM consolidation.engine_runs WHERE run_id = $1',
    [point.runId],
  );
  checks.push({
    check: `run ${point.runId} is cut over`,
    passed: run.rows[0]?.state === 'cut_over',
    details: run.rows[0]?.state ?? 'missing',
  });
  const missingCopy: string[] = [];
  for (const m of point.details.movedOut)
    if (!(await exists(c, q(relOf(m, 'rollback')))))
      missingCopy.push(`${kindWord(m.kind)} ${q(relOf(m, 'rollback'))}`);
  checks.push({
    check: `every relation of the rollback copy present in ${Object.values(ROLLBACK_SCHEMA).join(', ')}`,
    passed: missingCopy.length === 0 && point.details.movedOut.length > 0,
    details: { expected: point.details.movedOut.length, missing: missingCopy },
  });
  const missingLive: string[] = [];
  for (const m of point.details.movedIn)
    if (!(await exists(c, q(relOf(m, 'live'))))) missingLive.push(q(relOf(m, 'live')));
  checks.push({
    check: 'every v2 relation the cutover moved in is live',
    passed: missingLive.length === 0,
    details: { missing: missingLive },
  });
  const noTrigger = await c.query<{ v2: string }>(
    `SELECT x.v2 FROM jsonb_to_recordset($1::jsonb) AS x(v2 text)
      WHERE NOT ${captureCompleteSql('to_regclass(x.v2)', 'reverse')}`,
    [JSON.stringify(point.tables)],
  );
  checks.push({
    check: 'reverse capture installed on every v2 table with a copy',
    passed: noTrigger.rows.length === 0,
    details: { missing: noTrigger.rows.map((r) => r.v2) },
  });
  const unknown = await c.query<{ table_name: string; n: string }>(
    `SELECT l.table_name, count(*) AS n FROM consolidation.capture_log l
      WHERE l.direction = 'reverse' AND NOT (l.table_name = ANY ($1)) GROUP BY 1`,
    [point.tables.map((t) => t.reverse)],
  );
  checks.push({
    check: 'the reverse capture backlog names only tables of the copy (drainable)',
    passed: unknown.rows.length === 0,
    details: unknown.rows,
  });
  const shadowFree = await c.query<{ name: string }>(
    `SELECT n.nspname || '.' || cl.relname AS name FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname IN ('dfc_shadow_public','dfc_shadow_auth') AND cl.relkind IN ('r','p','v','m')`,
  );
  checks.push({
    check: 'the shadow schemas are free to take v2 back',
    passed: shadowFree.rows.length === 0,
    details: shadowFree.rows.map((r) => r.name),
  });
  const v2Tables = allTables(V2).length;
  checks.push({
    check: 'the point moves back every v2 table',
    passed: point.details.movedIn.filter((m) => m.kind === 'r' || m.kind === 'p').length === v2Tables,
    details: { v2Tables },
  });
  if (opts.checksums !== false && checks.every((x) => x.passed))
    checks.push(...(await compareRows(c, point.tables, opts.url, opts.sessions ?? ROLLBACK_CHECK_SESSIONS)));
  return checks;
}

/** Each table's stored comparison (one statement, one snapshot), on `sessions` sessions, results in the point's order. */
async function compareRows(
  c: pg.ClientBase,
  tables: PointTable[],
  url: string | undefined,
  sessions: number,
): Promise<RollbackCheck[]> {
  const size = await c.query<{ v2: string; pages: number }>(
    `SELECT x.v2, coalesce((SELECT relpages FROM pg_class WHERE oid = to_regclass(x.v2)), 0)::int AS pages
       FROM jsonb_to_recordset($1::jsonb) AS x(v2 text)`,
    [JSON.stringify(tables.map((t) => ({ v2: t.v2 })))],
  );
  const pages = new Map(size.rows.map((r) => [r.v2, r.pages]));
  const extra: pg.Client[] = [];
  try {
    if (url)
      for (let i = 1; i < Math.min(sessions, tables.length); i++)
        extra.push(await connect(url, 'dfc-rollback-check'));
    const done = await runJobs(
      [c, ...extra],
      tables.map((t) => ({
        name: t.v2,
        cost: pages.get(t.v2) ?? 0,
        run: async (s: pg.ClientBase): Promise<RollbackCheck> => {
          const r = await s.query<{ legacy_rows: string; v2_rows: string; same: boolean; pending: string }>(
            t.compare_sql,
          );
          const row = r.rows[0]!;
          return {
            check: `${t.v2}: rows and checksum of the carried columns equal the rollback copy`,
            passed: row.same,
            details: { v2: Number(row.v2_rows), copy: Number(row.legacy_rows), pending: Number(row.pending) },
          };
        },
      })),
    );
    const byName = new Map(done.map((d) => [d.name, d.value]));
    return tables.map((t) => byName.get(t.v2)!);
  } finally {
    await Promise.all(extra.map((x) => x.end().catch(() => {})));
  }
}
