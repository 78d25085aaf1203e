/**
 * `dfc migrate verify`: on a scratch copy of the database, each pending migration goes up, down
 * and up again, and the catalogs are compared (src/schema/catalog.ts): down must restore the
 * catalog the file started from, and the second up must give the catalog of the first.
 *
 * @example
 *   await verifyMigrations(url, { dir: 'migrations' })
 *   // → { ok: false, steps: [{ version: 18, downRestores: false,
 *   //      downDiff: ['table public.campaigns: column analytics_enabled: only in after down'], … }] }
 */
import path from 'node:path';
import type pg from 'pg';
import { withClient } from '../db/connection.js';
import { DfcError } from '../errors.js';
import { type Catalog, diffCatalogs, readCatalog } from '../schema/catalog.js';
import { baselineOf, loadMigrations, migrateDown, migrateUp, migrationStatus } from './runner.js';
import { scratchCopy } from './scratch.js';

export interface VerifyStep {
  version: number;
  name: string;
  downRestores: boolean;
  upRepeatable: boolean;
  /** catalog differences: before up vs after down */
  downDiff: string[];
  /** catalog differences: first up vs second up */
  reupDiff: string[];
  error?: string;
}

export interface MigrationVerifyReport {
  dir: string;
  scratch: 'clone' | 'install';
  from: number | null;
  steps: VerifyStep[];
  ok: boolean;
}

/** dfc's own bookkeeping is not part of what a migration changes. */
const SKIP_SCHEMAS = ['consolidation', 'monitoring', 'safety', 'benchmarks'];

async function snapshot(url: string): Promise<Catalog> {
  return withClient(url, async (c: pg.ClientBase) => {
    const r = await c.query<{ nspname: string }>(
      `SELECT nspname FROM pg_catalog.pg_namespace
        WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
          AND nspname <> ALL ($1::text[]) ORDER BY 1`,
      [SKIP_SCHEMAS],
    );
    return readCatalog(
      c,
      r.rows.map((x) => x.nspname),
    );
  });
}

/**
 * Verify the pending migrations of `dir` (or only `versions` of them).
 */
export async function verifyMigrations(
  url: string,
  opts: { dir: string; versions?: number[]; baseline?: number },
): Promise<MigrationVerifyReport> {
  const migrations = loadMigrations(opts.dir);
  const baseline = baselineOf(migrations, opts.baseline);
  const status = await migrationStatus(url, { dir: opts.dir, baseline: opts.baseline });
  if (status.dirty) {
    throw new DfcError('DFC_DIRTY', `the database is dirty at version ${status.version}`, {
      fix: 'repair it and run `dfc migrate force V` first; verify needs a clean starting point',
    });
  }
  const pending = migrations.filter(
    (m) =>
      status.pending.some((p) => p.version === m.version) &&
      (!opts.versions || opts.versions.includes(m.version)),
  );
  const scratch = await scratchCopy(url, { dir: opts.dir });
  const steps: VerifyStep[] = [];
  const run = { dir: opts.dir, baseline: opts.baseline, backup: false };
  try {
    for (const m of migrations) {
      const idx = migrations.indexOf(m);
      const prev = idx > 0 ? migrations[idx - 1]!.version : (baseline ?? 0);
      if (!pending.includes(m)) {
        // an earlier pending file the caller did not name still has to be applied to reach this one
        if (status.pending.some((p) => p.version === m.version) && pending.some((p) => p.version > m.version))
          await migrateUp(scratch.url, { ...run, to: m.version });
        continue;
      }
      const step: VerifyStep = {
        version: m.version,
        name: m.name,
        downRestores: false,
        upRepeatable: false,
        downDiff: [],
        reupDiff: [],
      };
      steps.push(step);
      try {
        const start = await snapshot(scratch.url);
        await migrateUp(scratch.url, { ...run, to: m.version });
        const up1 = await snapshot(scratch.url);
        await migrateDown(scratch.url, { ...run, to: prev });
        const down = await snapshot(scratch.url);
        step.downDiff = diffCatalogs(start, down, { a: 'before up', b: 'after down' });
        step.downRestores = step.downDiff.length === 0;
        await migrateUp(scratch.url, { ...run, to: m.version });
        const up2 = await snapshot(scratch.url);
        step.reupDiff = diffCatalogs(up1, up2, { a: 'first up', b: 'second up' });
        step.upRepeatable = step.reupDiff.length === 0;
      } catch (e) {
        step.error = e instanceof Error ? e.message : String(e);
        break;
      }
      if (!step.downRestores || !step.upRepeatable) break;
    }
  } finally {
    await scratch.drop().catch(() => {});
  }
  return {
    dir: path.resolve(opts.dir),
    scratch: scratch.method,
    from: status.version,
    steps,
    ok: steps.every((s) => s.downRestores && s.upRepeatable && !s.error),
  };
}
