/**
 * `seedDatabase`: fill a DomainFlow legacy database (schema_migrations = 17, clean, no campaigns
 * yet) with realistic, referentially valid data, deterministic for a seed: same (seed, domains,
 * asOf) → byte-identical rows, UUIDs included. Everything loads by COPY in ONE transaction, so a
 * failed seed leaves the database as it was. Clean data is loaded with every trigger and FK in
 * force (bulk tables get their FKs re-added, i.e. validated, after the COPY) and every FK in the
 * catalog is then checked for orphans. `dirty` adds rows of known kinds that break consolidations.
 *
 * @example
 *   const report = await seedDatabase(url, { domains: 100_000, seed: 7, dirty: true });
 *   report.counts['public.generated_domains'] // 100_000 + dirty orphans + duplicate offsets
 *   report.dirty.generated_domains_orphaned   // 100
 */
import type pg from 'pg';
import { connect, query } from '../src/db/connection.js';
import { acquireAdvisoryLock, releaseAdvisoryLock } from '../src/db/lock.js';
import { DfcError, sqlstate } from '../src/errors.js';
import { ident, sql } from '../src/sql/sql.js';
import { type DirtyKind, type DirtyLoad, dirtyTables } from './seed/dirty.js';
import { countForeignKeyOrphans, type FkOrphans } from './seed/fk-check.js';
import { copyTable, deferIndexesAndForeignKeys, restoreIndexesAndForeignKeys } from './seed/loader.js';
import { buildPlan, DEFAULT_AS_OF } from './seed/plan.js';
import { authTables } from './seed/rows-auth.js';
import { campaignTables } from './seed/rows-campaigns.js';
import { catalogTables } from './seed/rows-catalog.js';
import { resultTables } from './seed/rows-results.js';
import { qualified, type SeededIds, type TableLoad } from './seed/table.js';

export { DIRTY_KINDS, DIRTY_PROBES, type DirtyKind } from './seed/dirty.js';
export { countForeignKeyOrphans, type FkOrphans } from './seed/fk-check.js';
export { DEFAULT_AS_OF } from './seed/plan.js';

/** The legacy version the seed expects (golang-migrate's schema_migrations row). */
export const LEGACY_VERSION = 17;

export interface SeedOptions {
  /** number of generated domains (exact) */
  domains: number;
  /** PRNG seed (32-bit unsigned); default 1 */
  seed?: number;
  /** add the dirty rows listed in SeedReport.dirty */
  dirty?: boolean;
  /** reference "now" of the data in ms since epoch; default DEFAULT_AS_OF, so data depends only on the seed */
  asOf?: number;
  onProgress?: (e: SeedProgress) => void;
}

export interface SeedProgress {
  phase: 'copy' | 'rebuild' | 'verify' | 'analyze' | 'done';
  table?: string;
  /** rows written so far, all tables */
  rows: number;
  /** rows the seed will write in total */
  totalRows: number;
}

export interface TableTiming {
  table: string;
  rows: number;
  /** COPY time */
  copySeconds: number;
  /** index rebuild and FK validation time (bulk tables only) */
  rebuildSeconds: number;
  dirty?: boolean;
}

export interface SeedReport {
  /** rows written per table (schema.table), clean and dirty together */
  counts: Record<string, number>;
  /** dirty rows per kind; empty unless `dirty` */
  dirty: Partial<Record<DirtyKind, number>>;
  /** wall-clock seconds of the whole seed */
  seconds: number;
  seed: number;
  domains: number;
  asOf: string;
  tables: TableTiming[];
  /** orphans per FK on the clean data (all 0, or the seed fails) */
  foreignKeys: FkOrphans[];
  /** optional tables absent from this database (nothing written) */
  skipped: string[];
  phases: {
    copySeconds: number;
    rebuildSeconds: number;
    verifySeconds: number;
    analyzeSeconds: number;
    refreshSeconds: number;
  };
}

const now = () => performance.now() / 1000;

/** Refuse anything but a clean legacy v17 database without campaign data. */
async function preflight(c: pg.Client): Promise<void> {
  const reg = await c.query<{ t: string | null }>(
    `SELECT to_regclass('public.schema_migrations')::text AS t`,
  );
  if (!reg.rows[0]?.t)
    throw new DfcError(
      'DFC_MIGRATION',
      'this database has no schema_migrations table: it is not a DomainFlow legacy database',
      {
        fix: 'apply the legacy history first: dfc migrate up --legacy',
      },
    );
  const v = await c.query<{ version: string; dirty: boolean }>(
    'SELECT version, dirty FROM public.schema_migrations',
  );
  const row = v.rows[0];
  if (row?.dirty)
    throw new DfcError('DFC_DIRTY', `schema_migrations is dirty at version ${row.version}`, {
      fix: 'repair the failed migration, then dfc migrate force <version> and dfc migrate up --legacy',
    });
  if (!row || Number(row.version) !== LEGACY_VERSION)
    throw new DfcError(
      'DFC_MIGRATION',
      `the seed needs legacy version ${LEGACY_VERSION}, this database is at ${row ? row.version : 'no version'}`,
      {
        fix:
          row && Number(row.version) > LEGACY_VERSION
            ? 'seed a database that is still on the legacy history (createdb, then dfc migrate up --legacy)'
            : 'bring it to version 17: dfc migrate up --legacy',
      },
    );
  const used = await c.query<{ d: boolean; c: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM public.generated_domains) AS d, EXISTS (SELECT 1 FROM public.campaigns) AS c',
  );
  if (used.rows[0]?.d || used.rows[0]?.c)
    throw new DfcError(
      'DFC_CONFIG',
      'this database already has campaign data; the seed only fills an empty legacy database',
      {
        fix: 'seed a fresh database (createdb, dfc migrate up --legacy, dfc seed), or truncate its campaign tables first',
      },
    );
}

async function seededIds(c: pg.Client): Promise<SeededIds> {
  const roles = await c.query<{ name: string; id: string }>('SELECT name, id FROM auth.roles');
  const perms = await c.query<{ name: string; id: string }>('SELECT name, id FROM auth.permissions');
  const next = await c.query<{ a: string; r: string }>(
    'SELECT (SELECT coalesce(max(id), 0) + 1 FROM auth.auth_audit_log) AS a, (SELECT coalesce(max(id), 0) + 1 FROM auth.rate_limits) AS r',
  );
  return {
    roles: new Map(roles.rows.map((r) => [r.name, r.id])),
    permissions: new Map(perms.rows.map((r) => [r.name, r.id])),
    nextAuthAuditId: Number(next.rows[0]!.a),
    nextRateLimitId: Number(next.rows[0]!.r),
  };
}

async function existingTables(c: pg.Client, tables: TableLoad[]): Promise<Set<string>> {
  const r = await c.query<{ t: string }>(
    `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1::text[])`,
    [tables.map(qualified)],
  );
  return new Set(r.rows.map((x) => x.t));
}

export async function seedDatabase(url: string, opts: SeedOptions): Promise<SeedReport> {
  const domains = opts.domains;
  if (!Number.isInteger(domains) || domains < 0)
    throw new DfcError('DFC_CONFIG', `--domains must be a non-negative integer, got ${domains}`, {
      fix: 'pass e.g. --domains 100000',
    });
  const seed = (opts.seed ?? 1) >>> 0;
  if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff))
    throw new DfcError('DFC_CONFIG', `--seed must be an integer in 0..4294967295, got ${opts.seed}`, {
      fix: 'pass e.g. --seed 42',
    });
  const asOf = opts.asOf ?? DEFAULT_AS_OF;
  const started = now();
  const c = await connect(url, 'dfc-seed');
  try {
    await acquireAdvisoryLock(c, 'dfc:seed');
    await preflight(c);
    const plan = buildPlan(seed, domains, asOf);
    const ids = await seededIds(c);
    const all = [
      ...authTables(plan, ids),
      ...catalogTables(plan),
      ...campaignTables(plan),
      ...resultTables(plan),
    ];
    const present = await existingTables(c, all);
    const skipped = all.filter((t) => !present.has(qualified(t)) && t.optional).map(qualified);
    const missing = all.filter((t) => !present.has(qualified(t)) && !t.optional).map(qualified);
    if (missing.length > 0)
      throw new DfcError('DFC_MIGRATION', `legacy tables missing: ${missing.join(', ')}`, {
        fix: 'the database claims version 17 but lacks tables; run dfc validate to see the drift, or seed a fresh legacy database',
      });
    const clean = all.filter((t) => present.has(qualified(t)));
    const dirty = opts.dirty ? dirtyTables(plan) : undefined;
    const loads: (TableLoad & { replica?: boolean; isDirty?: boolean })[] = [
      ...clean,
      ...(dirty?.loads.map((t: DirtyLoad) => ({ ...t, isDirty: true })) ?? []),
    ];
    const totalRows = loads.reduce((a, t) => a + t.rows, 0);
    let rows = 0;
    const progress = (phase: SeedProgress['phase'], table?: string) =>
      opts.onProgress?.({ phase, table, rows, totalRows });

    const counts: Record<string, number> = {};
    const tables: TableTiming[] = [];
    const phases = {
      copySeconds: 0,
      rebuildSeconds: 0,
      verifySeconds: 0,
      analyzeSeconds: 0,
      refreshSeconds: 0,
    };
    let foreignKeys: FkOrphans[] = [];

    await c.query('BEGIN');
    try {
      // Index rebuilds sort in memory; the default 64MB spills to disk at a million rows.
      await c.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      for (const t of loads) {
        const name = qualified(t);
        if (t.replica) await setReplica(c, true);
        const deferred = t.bulk ? await deferIndexesAndForeignKeys(c, t) : undefined;
        const t0 = now();
        const n = await copyTable(c, t, (k) => {
          rows += k;
          progress('copy', name);
        });
        const t1 = now();
        if (deferred) {
          progress('rebuild', name);
          await restoreIndexesAndForeignKeys(c, deferred);
        }
        if (t.replica) await setReplica(c, false);
        const t2 = now();
        counts[name] = (counts[name] ?? 0) + n;
        tables.push({
          table: name,
          rows: n,
          copySeconds: t1 - t0,
          rebuildSeconds: t2 - t1,
          ...(t.isDirty ? { dirty: true } : {}),
        });
        phases.copySeconds += t1 - t0;
        phases.rebuildSeconds += t2 - t1;
        if (t === clean.at(-1)) {
          // Verify before any dirty row exists: on clean data every FK must hold.
          progress('verify');
          const v0 = now();
          foreignKeys = await countForeignKeyOrphans(c);
          phases.verifySeconds = now() - v0;
          const broken = foreignKeys.filter((f) => f.orphans > 0);
          if (broken.length > 0)
            throw new DfcError(
              'DFC_INTERNAL',
              `seeded data breaks ${broken.length} foreign key(s): ${broken.map((f) => `${f.constraint} (${f.orphans})`).join(', ')}`,
              {
                fix: 'this is a bug in the seed generator; report the seed and --domains used',
                details: { broken },
              },
            );
        }
      }
      // Sequences behind the explicit bigserial ids.
      await c.query(`SELECT setval('auth.auth_audit_log_id_seq', (SELECT max(id) FROM auth.auth_audit_log))`);
      await c.query(`SELECT setval('auth.rate_limits_id_seq', (SELECT max(id) FROM auth.rate_limits))`);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    }

    progress('analyze');
    const a0 = now();
    for (const name of Object.keys(counts)) {
      const [schema, table] = name.split('.') as [string, string];
      await query(c, sql`ANALYZE ${ident({ schema, name: table })}`);
    }
    phases.analyzeSeconds = now() - a0;
    // The service reads dashboard figures from campaign_statistics, refreshed on a schedule in production.
    const r0 = now();
    const mv = await c.query<{ t: string | null }>(
      `SELECT to_regclass('public.campaign_statistics')::text AS t`,
    );
    if (mv.rows[0]?.t) await c.query('REFRESH MATERIALIZED VIEW public.campaign_statistics');
    phases.refreshSeconds = now() - r0;
    progress('done');

    return {
      counts,
      dirty: dirty?.kinds ?? {},
      seconds: now() - started,
      seed,
      domains,
      asOf: new Date(asOf).toISOString(),
      tables,
      foreignKeys,
      skipped,
      phases,
    };
  } finally {
    await releaseAdvisoryLock(c, 'dfc:seed').catch(() => {});
    await c.end().catch(() => {});
  }
}

/** Dirty rows that FKs refuse go in with triggers (hence RI checks) off; needs superuser or SET privilege. */
async function setReplica(c: pg.Client, on: boolean): Promise<void> {
  try {
    await c.query(`SET LOCAL session_replication_role = ${on ? 'replica' : 'origin'}`);
  } catch (e) {
    if (sqlstate(e) === '42501')
      throw new DfcError(
        'DFC_PRIVILEGE',
        'loading dirty rows needs session_replication_role, which this role may not set',
        {
          fix: 'run the seed as a superuser, or GRANT SET ON PARAMETER session_replication_role TO <role> (PostgreSQL 15+), or seed without --dirty',
          cause: e,
        },
      );
    throw e;
  }
}
