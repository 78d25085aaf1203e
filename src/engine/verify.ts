/**
 * `dfc verify` (guide: run_comprehensive_validation). After cutover: referential integrity
 * (each FK checked by an anti-join, not only by the catalog flag), constraints validated, v2 vs
 * the rollback copy (counts and order-independent checksums of every carried column), all in one
 * snapshot with the reverse capture's queue applied inside it, and a catalog diff against a fresh
 * `dfc install` of v2.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connect, inTransaction, withClient } from '../db/connection.js';
import { DOMAINFLOW_EXTENSIONS_SQL, dropDatabase, recreateDatabase } from '../db/databases.js';
import { sqlstate } from '../errors.js';
import { installV2 } from '../install.js';
import { diffCatalogs, readCatalog } from '../schema/catalog.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { quoteIdent } from '../sql/sql.js';
import { captureTriggerName } from './capture.js';
import { type MappedTable, mapTable } from './mapping.js';
import { legacyRollbackOf, liveOf, q, ROLLBACK_SCHEMA } from './names.js';
import { privilegesMatchRollbackCopy } from './privileges.js';
import { applyCaptureBatch } from './reconcile.js';
import { legacySideSql, rowDifferences, v2SideSql } from './verify-compare.js';

export interface VerifyCheck {
  category: 'referential_integrity' | 'constraints' | 'consistency' | 'completeness' | 'catalog';
  check: string;
  passed: boolean;
  details?: unknown;
}

export interface VerifyReport {
  passed: boolean;
  checks: VerifyCheck[];
}

/**
 * v2 rows vs the rollback copy mapped forward, for the columns both carry: count and
 * order-independent checksum per side (verify-compare.ts: the same forward conversion, cheaper);
 * on a mismatch the row-level diff names the rows.
 */
export async function compareWithRollbackCopy(c: pg.ClientBase, t: MappedTable): Promise<VerifyCheck[]> {
  const carried = t.def.columns
    .filter((col) =>
      t.targetColumns.reverse.some((r) => r.column === (t.def.mapping[col.name]!.legacyColumn ?? col.name)),
    )
    .map((col) => col.name);
  const copy = legacyRollbackOf(t.def);
  const legacySide = await legacySideSql(c, t, copy, carried);
  const l = await c.query<{ n: string; sum: string }>(legacySide.sql);
  const v = await c.query<{ n: string; sum: string }>(v2SideSql(t, liveOf(t.def), carried));
  const rows = { v2: Number(v.rows[0]!.n), legacy: Number(l.rows[0]!.n) };
  const same = rows.v2 === rows.legacy && v.rows[0]!.sum === l.rows[0]!.sum;
  const name = `${t.def.schema}.${t.def.name}`;
  return [
    {
      category: 'completeness',
      check: `${name}: row count equals the rollback copy`,
      passed: rows.v2 === rows.legacy,
      details: rows,
    },
    {
      category: 'consistency',
      check: `${name}: checksum of ${carried.length} carried columns equals the rollback copy`,
      passed: same,
      ...(same ? {} : { details: await rowDifferences(c, t, copy, liveOf(t.def), carried) }),
    },
  ];
}

async function referentialChecks(c: pg.ClientBase, v2: V2Definition): Promise<VerifyCheck[]> {
  const out: VerifyCheck[] = [];
  for (const t of v2.tables) {
    for (const fk of t.foreignKeys) {
      const join = fk.columns
        .map((col, i) => `p.${quoteIdent(fk.references.columns[i]!)} = c.${quoteIdent(col)}`)
        .join(' AND ');
      const notNull = fk.columns.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(' AND ');
      const r = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${q(liveOf(t))} c WHERE ${notNull}
           AND NOT EXISTS (SELECT 1 FROM ${quoteIdent(fk.references.schema)}.${quoteIdent(fk.references.table)} p WHERE ${join})`,
      );
      out.push({
        category: 'referential_integrity',
        check: `${t.schema}.${t.name}.${fk.name}: no orphans`,
        passed: r.rows[0]!.n === '0',
        details: { orphans: Number(r.rows[0]!.n) },
      });
    }
  }
  const unvalidated = await c.query(
    `SELECT n.nspname, cl.relname, k.conname FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname IN ('public','auth') AND NOT k.convalidated`,
  );
  out.push({
    category: 'constraints',
    check: 'every CHECK and FK constraint is validated',
    passed: unvalidated.rows.length === 0,
    details: unvalidated.rows,
  });
  return out;
}

/**
 * What the cutover carried from legacy on top of v2 (issue 8): grants to roles, RLS switched on,
 * policies, other applications' triggers, comments. A fresh install has none of it; it is the
 * application's surface, compared with the rollback copy by the privileges check, not v2 drift.
 * Only additions count (something of v2's own missing or changed still fails).
 */
function isCarriedSurface(d: string): boolean {
  if (/: grant to [^:]+: only in b$/.test(d)) return true;
  if (/: rls: (enabled|forced): a false, b true$/.test(d)) return true;
  if (/: (policy|trigger) [^:]+: only in b$/.test(d)) return true;
  return /: comment: a null, b /.test(d);
}

/** Catalog of public+auth vs a fresh install of v2 in a scratch database. */
export async function catalogDiff(url: string, c: pg.ClientBase): Promise<VerifyCheck> {
  const scratch = `dfc_verify_${randomBytes(4).toString('hex')}`;
  const scratchUrl = await recreateDatabase(url, scratch);
  try {
    await withClient(scratchUrl, (s) => s.query(DOMAINFLOW_EXTENSIONS_SQL));
    await installV2(scratchUrl);
    const fresh = await withClient(scratchUrl, (s) => readCatalog(s, ['public', 'auth']));
    const live = await readCatalog(c, ['public', 'auth']);
    // the reverse capture triggers are the rollback mechanism, not part of v2
    const all = diffCatalogs(fresh, live).filter((d) => !d.includes(captureTriggerName('reverse')));
    const carried = all.filter(isCarriedSurface);
    const differences = all.filter((d) => !isCarriedSurface(d));
    return {
      category: 'catalog',
      check: 'public+auth catalog equals a fresh v2 install',
      passed: differences.length === 0,
      details: differences.length
        ? differences.slice(0, 50)
        : carried.length
          ? { carried: carried.slice(0, 50) }
          : [],
    };
  } finally {
    await dropDatabase(url, scratch).catch(() => {});
  }
}

/**
 * Everything compared in ONE snapshot: a REPEATABLE READ transaction that first applies the changes
 * still queued in the reverse capture log (so the rollback copy is brought to the same instant as
 * v2), then runs the referential checks and every table comparison. Writes the application commits
 * meanwhile are outside the snapshot and their log rows stay queued, so verify passes under live
 * traffic; a rollback-copy row changed behind the capture's back is not queued and fails the check.
 * The applied queue is committed (it is the normal reconcile, exact at the snapshot); a concurrent
 * drain of the same rows is a serialization failure, retried with a new snapshot.
 */
export async function verify(url: string, opts: { v2?: V2Definition } = {}): Promise<VerifyReport> {
  const v2 = opts.v2 ?? V2;
  const c = await connect(url, 'dfc-verify');
  try {
    let checks: VerifyCheck[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        checks = await inTransaction(c, () => snapshotChecks(c, v2), 'ISOLATION LEVEL REPEATABLE READ');
        break;
      } catch (e) {
        if (sqlstate(e) !== '40001' || attempt >= 3) throw e;
      }
    }
    checks.push(await catalogDiff(url, c));
    return { passed: checks.every((x) => x.passed), checks };
  } finally {
    await c.end().catch(() => {});
  }
}

/** The data checks, run inside the caller's REPEATABLE READ transaction. */
async function snapshotChecks(c: pg.ClientBase, v2: V2Definition): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const rollback = await c.query(`SELECT to_regnamespace($1) IS NOT NULL AS ok`, [ROLLBACK_SCHEMA.public]);
  let withCopy: MappedTable[] = [];
  if (rollback.rows[0]?.ok) {
    const tables = v2.tables.map((t) => mapTable(t, v2.tables));
    for (const t of tables) {
      const r = await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [q(legacyRollbackOf(t.def))]);
      if (r.rows[0]?.ok) withCopy.push(t);
    }
    // the queue as of this snapshot, applied inside it (the first statement fixed the snapshot)
    let applied = 0;
    for (;;) {
      const n = await applyCaptureBatch(c, withCopy, 'reverse', QUEUE_BATCH, { inTransaction: true });
      applied += n;
      if (n < QUEUE_BATCH) break;
    }
    checks.push({
      category: 'consistency',
      check: 'changes queued for the rollback copy applied in the verification snapshot',
      passed: true,
      details: { applied },
    });
  } else {
    withCopy = [];
    checks.push({
      category: 'consistency',
      check: 'rollback copy present',
      passed: false,
      details: 'no dfc_rollback_public schema: not consolidated by dfc, or the rollback point was cleaned up',
    });
  }
  checks.push(...(await referentialChecks(c, v2)));
  // without any row kept out (read in this snapshot, after the queue), every "parent quarantined"
  // cascade predicate is false: comparing without them is exact, and their per-row subplans
  // (which also rule out a parallel scan) go away
  const keptOut = await c.query<{ any: boolean }>(
    `SELECT to_regclass('consolidation.engine_quarantine') IS NOT NULL
            AND EXISTS (SELECT 1 FROM consolidation.engine_quarantine WHERE action = 'exclude_row') AS any`,
  );
  const compared = keptOut.rows[0]?.any
    ? withCopy
    : withCopy.map((t) => mapTable(stripCascade(t), [stripCascade(t)]));
  for (const t of compared) checks.push(...(await compareWithRollbackCopy(c, t)));
  if (withCopy.length) checks.push(await privilegesMatchRollbackCopy(c, ROLLBACK_SCHEMA));
  return checks;
}

const QUEUE_BATCH = 5000;

/** The table's own definition, without the cascade issues mapTable added from its parents. */
function stripCascade(t: MappedTable) {
  return {
    ...t.def,
    conversionIssues: t.def.conversionIssues.filter((i) => !i.id.endsWith('.parent_quarantined')),
  };
}
