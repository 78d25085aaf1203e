/**
 * verify's data checks as jobs on the sessions that share its snapshot (verify-parallel.ts):
 * per table the copy side (its reverse queue applied, then the copy mapped forward: count +
 * checksum) and the v2 side, one anti-join per foreign key, the constraint flags, the privileges.
 * A table's mismatch is then diffed row by row in the session that applied its queue.
 */
import type pg from 'pg';
import type { TableDef, V2Definition } from '../schema/v2/model.js';
import { quoteIdent } from '../sql/sql.js';
import { type MappedTable, mapTable } from './mapping.js';
import { legacyRollbackOf, liveOf, q, ROLLBACK_SCHEMA } from './names.js';
import { privilegesMatchRollbackCopy } from './privileges.js';
import { applyCaptureBatch, unknownCaptureTables } from './reconcile.js';
import { carriedColumns } from './rollback-points.js';
import type { VerifyCheck, VerifyTiming } from './verify.js';
import { legacySideSql, rowDifferences, v2SideSql } from './verify-compare.js';
import { type Job, runJobs } from './verify-parallel.js';

const QUEUE_BATCH = 5000;

interface Side {
  n: string;
  sum: string;
  applied?: number;
}

type Out = { kind: 'side'; side: Side } | { kind: 'checks'; checks: VerifyCheck[] };

/**
 * The table's queued reverse changes as of the snapshot, applied in this session's transaction
 * (as applyCaptureBatch does for all tables: deletes, then inserts, then the log rows go).
 */
/** The table's queued reverse changes applied to the copy, in this session's snapshot transaction. */
async function applyQueue(c: pg.ClientBase, t: MappedTable): Promise<number> {
  let applied = 0;
  for (;;) {
    const n = await applyCaptureBatch(c, [t], 'reverse', QUEUE_BATCH, {
      inTransaction: true,
      onlyTables: true,
    });
    applied += n;
    if (n < QUEUE_BATCH) return applied;
  }
}

function fkJob(t: TableDef, fk: TableDef['foreignKeys'][number], rows: number): Job<Out> {
  const join = fk.columns
    .map((col, i) => `p.${quoteIdent(fk.references.columns[i]!)} = c.${quoteIdent(col)}`)
    .join(' AND ');
  const notNull = fk.columns.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(' AND ');
  return {
    name: `fk ${t.schema}.${t.name}.${fk.name}`,
    cost: rows,
    async run(c) {
      const r = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${q(liveOf(t))} c WHERE ${notNull}
           AND NOT EXISTS (SELECT 1 FROM ${quoteIdent(fk.references.schema)}.${quoteIdent(fk.references.table)} p WHERE ${join})`,
      );
      const check: VerifyCheck = {
        category: 'referential_integrity',
        check: `${t.schema}.${t.name}.${fk.name}: no orphans`,
        passed: r.rows[0]!.n === '0',
        details: { orphans: Number(r.rows[0]!.n) },
      };
      return { kind: 'checks', checks: [check] };
    },
  };
}

const constraintsJob: Job<Out> = {
  name: 'constraints validated',
  cost: 0,
  async run(c) {
    const r = await c.query(
      `SELECT n.nspname, cl.relname, k.conname FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname IN ('public','auth') AND NOT k.convalidated`,
    );
    const check: VerifyCheck = {
      category: 'constraints',
      check: 'every CHECK and FK constraint is validated',
      passed: r.rows.length === 0,
      details: r.rows,
    };
    return { kind: 'checks', checks: [check] };
  },
};

/** reltuples per relation (0 when absent): the jobs' relative cost */
async function sizes(c: pg.ClientBase, rels: string[]): Promise<Map<string, number>> {
  const r = await c.query<{ r: string; n: number }>(
    `SELECT r, greatest(coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass(r)), 0), 0)::float8 AS n
       FROM unnest($1::text[]) r`,
    [rels],
  );
  return new Map(r.rows.map((x) => [x.r, x.n]));
}

/** The data checks; `sessions` are in one snapshot (sessions[0] exported it). */
export async function snapshotChecks(
  sessions: pg.ClientBase[],
  v2: V2Definition,
): Promise<{ checks: VerifyCheck[]; timings: VerifyTiming[] }> {
  const c = sessions[0]!;
  const head: VerifyCheck[] = [];
  const rollback = await c.query(`SELECT to_regnamespace($1) IS NOT NULL AS ok`, [ROLLBACK_SCHEMA.public]);
  let withCopy: MappedTable[] = [];
  if (rollback.rows[0]?.ok) {
    const tables = v2.tables.map((t) => mapTable(t, v2.tables));
    const exists = await c.query<{ r: string }>(
      'SELECT r FROM unnest($1::text[]) r WHERE to_regclass(r) IS NOT NULL',
      [tables.map((t) => q(legacyRollbackOf(t.def)))],
    );
    const found = new Set(exists.rows.map((x) => x.r));
    withCopy = tables.filter((t) => found.has(q(legacyRollbackOf(t.def))));
    // as applyCaptureBatch: a queued table this definition does not know stops verify
    const queued = await c.query<{ table_name: string }>(
      `SELECT DISTINCT table_name FROM consolidation.capture_log WHERE direction = 'reverse'`,
    );
    const unknown = queued.rows
      .map((x) => x.table_name)
      .filter((n) => !withCopy.some((t) => t.captureName.reverse === n));
    if (unknown.length) throw unknownCaptureTables(unknown);
  } else {
    head.push({
      category: 'consistency',
      check: 'rollback copy present',
      passed: false,
      details: 'no dfc_rollback_public schema: not consolidated by dfc, or the rollback point was cleaned up',
    });
  }
  // without any row kept out (read in this snapshot), every "parent quarantined" cascade predicate
  // is false: comparing without them is exact, and their per-row subplans go away
  const keptOut = await c.query<{ any: boolean }>(
    `SELECT to_regclass('consolidation.engine_quarantine') IS NOT NULL
            AND EXISTS (SELECT 1 FROM consolidation.engine_quarantine WHERE action = 'exclude_row') AS any`,
  );
  const compared = keptOut.rows[0]?.any
    ? withCopy
    : withCopy.map((t) => mapTable(stripCascade(t), [stripCascade(t)]));
  const size = await sizes(c, [
    ...v2.tables.map((t) => q(liveOf(t))),
    ...compared.map((t) => q(legacyRollbackOf(t.def))),
  ]);

  const jobs: Job<Out>[] = [];
  for (const t of compared) {
    const columns = carriedColumns(t);
    const copy = legacyRollbackOf(t.def);
    jobs.push({
      name: `copy ${t.captureName.reverse}`,
      // the forward conversion costs more per row than reading v2
      cost: 3 * (size.get(q(copy)) ?? 0),
      async run(s) {
        const applied = await applyQueue(s, t);
        const r = await s.query<Side>((await legacySideSql(s, t, copy, columns)).sql);
        return { kind: 'side', side: { ...r.rows[0]!, applied } };
      },
    });
    jobs.push({
      name: `v2 ${t.captureName.reverse}`,
      cost: size.get(q(liveOf(t.def))) ?? 0,
      async run(s) {
        const r = await s.query<Side>(v2SideSql(t, liveOf(t.def), columns));
        return { kind: 'side', side: r.rows[0]! };
      },
    });
  }
  for (const t of v2.tables)
    for (const fk of t.foreignKeys) jobs.push(fkJob(t, fk, size.get(q(liveOf(t))) ?? 0));
  jobs.push(constraintsJob);
  if (withCopy.length)
    jobs.push({
      name: 'privileges',
      cost: 0,
      run: async (s) => ({ kind: 'checks', checks: [await privilegesMatchRollbackCopy(s, ROLLBACK_SCHEMA)] }),
    });

  const done = await runJobs(sessions, jobs);
  const result = new Map(done.map((d) => [d.name, d]));
  const side = (name: string) => {
    const v = result.get(name)!.value;
    if (v.kind !== 'side') throw new Error(`verify: ${name} is not a table side`);
    return v.side;
  };
  const checksOf = (name: string) => {
    const v = result.get(name)?.value;
    return v?.kind === 'checks' ? v.checks : [];
  };

  // the mismatched tables, row by row, where their queue was applied
  const diffs = await runJobs(
    sessions,
    compared
      .filter((t) => {
        const l = side(`copy ${t.captureName.reverse}`);
        const v = side(`v2 ${t.captureName.reverse}`);
        return l.n !== v.n || l.sum !== v.sum;
      })
      .map((t) => ({
        name: `diff ${t.captureName.reverse}`,
        cost: 0,
        session: result.get(`copy ${t.captureName.reverse}`)!.session,
        run: (s: pg.ClientBase) =>
          rowDifferences(s, t, legacyRollbackOf(t.def), liveOf(t.def), carriedColumns(t)),
      })),
  );
  const diffOf = new Map(diffs.map((d) => [d.name, d.value]));

  const checks: VerifyCheck[] = [...head];
  if (rollback.rows[0]?.ok)
    checks.push({
      category: 'consistency',
      check: 'changes queued for the rollback copy applied in the verification snapshot',
      passed: true,
      details: {
        applied: compared.reduce((a, t) => a + (side(`copy ${t.captureName.reverse}`).applied ?? 0), 0),
      },
    });
  for (const t of v2.tables)
    for (const fk of t.foreignKeys) checks.push(...checksOf(`fk ${t.schema}.${t.name}.${fk.name}`));
  checks.push(...checksOf(constraintsJob.name));
  for (const t of compared) {
    const l = side(`copy ${t.captureName.reverse}`);
    const v = side(`v2 ${t.captureName.reverse}`);
    const rows = { v2: Number(v.n), legacy: Number(l.n) };
    const same = l.n === v.n && l.sum === v.sum;
    checks.push(
      {
        category: 'completeness',
        check: `${t.captureName.reverse}: row count equals the rollback copy`,
        passed: rows.v2 === rows.legacy,
        details: rows,
      },
      {
        category: 'consistency',
        check: `${t.captureName.reverse}: checksum of ${carriedColumns(t).length} carried columns equals the rollback copy`,
        passed: same,
        ...(same ? {} : { details: diffOf.get(`diff ${t.captureName.reverse}`) }),
      },
    );
  }
  checks.push(...checksOf('privileges'));
  const timings = [...done, ...diffs].map((d) => ({ name: d.name, session: d.session, seconds: d.seconds }));
  return { checks, timings };
}

/** The table's own definition, without the cascade issues mapTable added from its parents. */
function stripCascade(t: MappedTable) {
  return {
    ...t.def,
    conversionIssues: t.def.conversionIssues.filter((i) => !i.id.endsWith('.parent_quarantined')),
  };
}
