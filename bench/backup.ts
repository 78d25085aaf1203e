/**
 * bench/backup: backup and restore rows/s next to a plain COPY of the same tables, measured in one
 * run on a seeded legacy database (default 100,000 generated domains):
 *   - plain COPY out: every public/auth table COPY … TO a file (no snapshot bookkeeping, no hashes);
 *   - plain COPY in: those files COPY … FROM into index-less LIKE copies;
 *   - dfc backup create (in-database copy + row hashes), with --to-dir (plus the archive);
 *   - dfc backup verify; dfc backup restore from the database and from the archive (schema,
 *     data, constraints and indexes, checksums compared before COMMIT).
 * Copy out and backup create run --runs times interleaved (median reported, with the load average).
 * Usage: npx tsx bench/backup.ts [--domains 100000] [--runs 3] [--database-url URL]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { dropDatabase } from '../src/db/databases.js';
import { createBackup, restoreBackup, setupBookkeeping, verifyBackup } from '../src/index.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { quoteIdent } from '../src/sql/sql.js';
import { seedDatabase } from '../workload/seed.js';
import { load } from './load.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    'database-url': { type: 'string' },
  },
});

/** Every public/auth table COPY … TO a file (no snapshot bookkeeping, no hashes). */
async function plainCopyOut(url: string, dir: string) {
  return withClient(url, async (c) => {
    let rows = 0;
    const t0 = process.hrtime.bigint();
    for (const r of await tables(c)) {
      const src = `${quoteIdent(r.s)}.${quoteIdent(r.n)}`;
      const stream = c.query(copyTo(`COPY ${src} TO STDOUT`));
      await pipeline(stream, createWriteStream(path.join(dir, `${r.s}.${r.n}`)));
      rows += Number((stream as unknown as { rowCount: number }).rowCount ?? 0);
    }
    return { rows, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  });
}

/** Those files COPY … FROM into index-less LIKE copies. */
async function plainCopyIn(url: string, dir: string) {
  return withClient(url, async (c) => {
    const list = await tables(c);
    await c.query('DROP SCHEMA IF EXISTS bench_copy CASCADE; CREATE SCHEMA bench_copy');
    const t1 = process.hrtime.bigint();
    for (const r of list) {
      const dst = `bench_copy.${quoteIdent(`${r.s}_${r.n}`)}`;
      await c.query(`CREATE TABLE ${dst} (LIKE ${quoteIdent(r.s)}.${quoteIdent(r.n)})`);
      await pipeline(
        createReadStream(path.join(dir, `${r.s}.${r.n}`)),
        c.query(copyFrom(`COPY ${dst} FROM STDIN`)),
      );
    }
    const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
    await c.query('DROP SCHEMA bench_copy CASCADE');
    return { seconds };
  });
}

async function tables(c: pg.ClientBase) {
  const t = await c.query<{ s: string; n: string }>(
    `SELECT n.nspname AS s, cl.relname AS n FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind = 'r' AND n.nspname IN ('public','auth') ORDER BY 1, 2`,
  );
  return t.rows;
}

const timed = async <T>(fn: () => Promise<T>) => {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const domains = Number(values.domains);
const runs = Number(values.runs);
const server = (await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' })).url;
const url = await createLegacyDatabase(server, `dfc_bench_backup_${domains}`);
await seedDatabase(url, { domains, seed: 1 });
await withClient(url, (c) => c.query('VACUUM ANALYZE'));
// bookkeeping installed before timing: createBackup would otherwise install it in its first run
await setupBookkeeping(url);
const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-backup-'));
const loadBefore = load();
// interleaved, so a change in the machine's load hits every variant alike; medians reported
const out: number[] = [];
const inDbS: number[] = [];
const archS: number[] = [];
let plainRows = 0;
let plainDir = '';
let inDb: Awaited<ReturnType<typeof createBackup>> | undefined;
for (let i = 0; i < runs; i++) {
  plainDir = await mkdtemp(path.join(dir, 'plain-'));
  const p = await plainCopyOut(url, plainDir);
  plainRows = p.rows;
  out.push(p.seconds);
  const a = await timed(() => createBackup(url, { name: `bench_indb_${i}` }));
  inDb = a.r;
  inDbS.push(a.seconds);
  archS.push((await timed(() => createBackup(url, { name: `bench_arch_${i}`, toDir: dir }))).seconds);
}
const plainIn = await plainCopyIn(url, plainDir);
const ver = await timed(() => verifyBackup(url, 'bench_arch_0'));
const r1 = `dfc_bench_restore_db_${domains}`;
const r2 = `dfc_bench_restore_arch_${domains}`;
await dropDatabase(server, r1);
await dropDatabase(server, r2);
const resDb = await timed(() => restoreBackup(url, 'bench_indb_0', { intoDatabase: r1 }));
const resArch = await timed(() =>
  restoreBackup(url, 'bench_arch_0', { intoDatabase: r2, fromDir: path.join(dir, 'bench_arch_0') }),
);
const rows = inDb!.rows;
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US')} rows/s`;
const line = (label: string, n: number, s: number, extra = '') =>
  `  ${label.padEnd(44)} ${s.toFixed(2).padStart(7)} s  ${rate(n, s).padStart(16)}${extra}`;
const spread = (xs: number[]) => `  (runs ${xs.map((x) => x.toFixed(2)).join(', ')})`;
console.log(
  `bench/backup — ${domains.toLocaleString('en-US')} generated domains, ${rows.toLocaleString('en-US')} rows in ${inDb!.tables} tables; median of ${runs} interleaved runs; load ${loadBefore} → ${load()}`,
);
console.log(line('plain COPY out (tables → files)', plainRows, median(out), spread(out)));
console.log(line('plain COPY in (files → index-less tables)', plainRows, plainIn.seconds));
console.log(
  line(
    'dfc backup create (in-database + row hashes)',
    rows,
    median(inDbS),
    `  ${(median(out) / median(inDbS)).toFixed(2)}× plain COPY out${spread(inDbS)}`,
  ),
);
console.log(
  line(
    'dfc backup create --to-dir (+ archive)',
    rows,
    median(archS),
    `  ${(median(out) / median(archS)).toFixed(2)}× plain COPY out${spread(archS)}`,
  ),
);
console.log(line('dfc backup verify (copies + archive files)', rows, ver.seconds, `  valid=${ver.r.valid}`));
console.log(
  line(
    'dfc backup restore (from the database)',
    rows,
    resDb.seconds,
    `  ${(plainIn.seconds / resDb.seconds).toFixed(2)}× plain COPY in; catalog diffs ${resDb.r.catalogDifferences?.length}`,
  ),
);
console.log(
  line(
    'dfc backup restore --from-dir (archive)',
    rows,
    resArch.seconds,
    `  ${(plainIn.seconds / resArch.seconds).toFixed(2)}× plain COPY in; catalog diffs ${resArch.r.catalogDifferences?.length}`,
  ),
);
await dropDatabase(server, r1);
await dropDatabase(server, r2);
await dropDatabase(server, `dfc_bench_backup_${domains}`);
await rm(dir, { recursive: true, force: true });
process.exit(0);
