/**
 * `dfc verify` (guide: run_comprehensive_validation). After cutover: referential integrity
 * (each FK checked by an anti-join, not only by the catalog flag), constraints validated, v2 vs
 * the rollback copy (counts and order-independent checksums of every carried column), all in one
 * snapshot with the reverse capture's queue applied inside it, and a catalog diff against a fresh
 * `dfc install` of v2.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { withClient } from '../db/connection.js';
import { DOMAINFLOW_EXTENSIONS_SQL, dropDatabase, recreateDatabase } from '../db/databases.js';
import { sqlstate } from '../errors.js';
import { installV2 } from '../install.js';
import { diffCatalogs, readCatalog } from '../schema/catalog.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { captureTriggerName } from './capture.js';
import { openSnapshotSessions } from './verify-parallel.js';
import { snapshotChecks } from './verify-snapshot.js';

export interface VerifyCheck {
  category: 'referential_integrity' | 'constraints' | 'consistency' | 'completeness' | 'catalog';
  check: string;
  passed: boolean;
  details?: unknown;
}

export interface VerifyTiming {
  /** job name (e.g. `copy public.audit_logs`, `v2 public.audit_logs`, `fk …`) */
  name: string;
  /** which snapshot session ran it (0 = the coordinator; -1 = outside the snapshot) */
  session: number;
  seconds: number;
}

export interface VerifyReport {
  passed: boolean;
  checks: VerifyCheck[];
  /** per job, for bench/verify's profile */
  timings?: VerifyTiming[];
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
 * Everything compared in ONE snapshot, shared by `sessions` connections (verify-parallel.ts: the
 * coordinator exports it, the others import it): per table the changes still queued in the reverse
 * capture log are applied inside it (so the rollback copy is brought to the same instant as v2),
 * then v2 and the copy are compared; the referential checks and the privileges run beside them.
 * Writes the application commits meanwhile are outside the snapshot and their log rows stay
 * queued, so verify passes under live traffic; a rollback-copy row changed behind the capture's
 * back is not queued and fails the check. The applied queue is committed (it is the normal
 * reconcile, exact at the snapshot); a concurrent drain of the same rows is a serialization
 * failure, retried with a new snapshot. The catalog diff (no snapshot needed) runs meanwhile.
 */
export async function verify(
  url: string,
  opts: { v2?: V2Definition; sessions?: number } = {},
): Promise<VerifyReport> {
  const v2 = opts.v2 ?? V2;
  const sessions = Math.max(1, Math.floor(opts.sessions ?? VERIFY_SESSIONS));
  const data = async (): Promise<{ checks: VerifyCheck[]; timings: VerifyTiming[] }> => {
    for (let attempt = 1; ; attempt++) {
      const s = await openSnapshotSessions(url, sessions, 'dfc-verify');
      try {
        const result = await snapshotChecks(s.sessions, v2);
        await s.commit();
        return result;
      } catch (e) {
        if (sqlstate(e) !== '40001' || attempt >= 3) throw e;
      } finally {
        await s.close();
      }
    }
  };
  const t0 = process.hrtime.bigint();
  const catalog = withClient(url, (c) => catalogDiff(url, c), 'dfc-verify').then((check) => ({
    check,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
  }));
  // both settle before either's failure is reported: no scratch database left behind
  const [d, cat] = await Promise.allSettled([data(), catalog]);
  if (d.status === 'rejected') throw d.reason;
  if (cat.status === 'rejected') throw cat.reason;
  const checks = [...d.value.checks, cat.value.check];
  const timings = [...d.value.timings, { name: 'catalog diff', session: -1, seconds: cat.value.seconds }];
  return { passed: checks.every((x) => x.passed), checks, timings };
}

/** Sessions sharing verify's snapshot: 2 keeps a 2-core server busy without starving the application. */
export const VERIFY_SESSIONS = 2;
