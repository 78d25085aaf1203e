/**
 * bench/backup: backup and restore rows/s next to a plain COPY of the same tables, measured in one
 * run on a seeded legacy database (default 100,000 generated domains):
 *   - plain COPY out: every public/auth table COPY … TO a file (no snapshot bookkeeping, no hashes);
 *   - plain COPY in: those files COPY … FROM into index-less LIKE copies;
 *   - dfc backup create (in-database copy + row hashes), with --to-dir (plus the archive);
 *   - dfc backup verify; dfc backup restore from the database and from the archive (schema,
 *     data, constraints and indexes, checksums compared before COMMIT).
 * Usage: npx tsx bench/backup.ts [--domains 100000] [--database-url URL]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { dropDatabase } from '../src/db/databases.js';
import { createBackup, restoreBackup, verifyBackup } from '../src/index.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { quoteIdent } from '../src/sql/sql.js';
import { seedDatabase } from '../workload/seed.js';

const { values } = parseArgs({
  options: { domains: { type: 'string', default: '100000' }, 'database-url': { type: 'string' } },
});

async function plainCopy(url: string, dir: string) {
  return withClient(url, async (c) => {
    const t = await c.query<{ s: string; n: string }>(
      `SELECT n.nspname AS s, cl.relname AS n FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.relkind = 'r' AND n.nspname IN ('public','auth') ORDER BY 1, 2`,
    );
    let rows = 0;
    const t0 = process.hrtime.bigint();
    for (const r of t.rows) {
      const src = `${quoteIdent(r.s)}.${quoteIdent(r.n)}`;
      const stream = c.query(copyTo(`COPY ${src} TO STDOUT`));
      await pipeline(stream, createWriteStream(path.join(dir, `${r.s}.${r.n}`)));
      rows += Number((stream as unknown as { rowCount: number }).rowCount ?? 0);
    }
    const outSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await c.query('DROP SCHEMA IF EXISTS bench_copy CASCADE; CREATE SCHEMA bench_copy');
    const t1 = process.hrtime.bigint();
    for (const r of t.rows) {
      const dst = `bench_copy.${quoteIdent(`${r.s}_${r.n}`)}`;
      await c.query(`CREATE TABLE ${dst} (LIKE ${quoteIdent(r.s)}.${quoteIdent(r.n)})`);
      await pipeline(
        createReadStream(path.join(dir, `${r.s}.${r.n}`)),
        c.query(copyFrom(`COPY ${dst} FROM STDIN`)),
      );
    }
    const inSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    await c.query('DROP SCHEMA bench_copy CASCADE');
    return { rows, outSeconds, inSeconds };
  });
}

const timed = async <T>(fn: () => Promise<T>) => {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
};

const domains = Number(values.domains);
const server = (await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' })).url;
const url = await createLegacyDatabase(server, `dfc_bench_backup_${domains}`);
await seedDatabase(url, { domains, seed: 1 });
await withClient(url, (c) => c.query('VACUUM ANALYZE'));
const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-backup-'));
const plain = await plainCopy(url, await mkdtemp(path.join(dir, 'plain-')));
const inDb = await timed(() => createBackup(url, { name: 'bench_indb' }));
const arch = await timed(() => createBackup(url, { name: 'bench_arch', toDir: dir }));
const ver = await timed(() => verifyBackup(url, 'bench_arch'));
const r1 = `dfc_bench_restore_db_${domains}`;
const r2 = `dfc_bench_restore_arch_${domains}`;
await dropDatabase(server, r1);
await dropDatabase(server, r2);
const resDb = await timed(() => restoreBackup(url, 'bench_indb', { intoDatabase: r1 }));
const resArch = await timed(() => restoreBackup(url, 'bench_arch', { intoDatabase: r2, fromDir: dir }));
const rows = inDb.r.rows;
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US')} rows/s`;
const line = (label: string, n: number, s: number, extra = '') =>
  `  ${label.padEnd(44)} ${s.toFixed(2).padStart(7)} s  ${rate(n, s).padStart(16)}${extra}`;
console.log(
  `bench/backup — ${domains.toLocaleString('en-US')} generated domains, ${rows.toLocaleString('en-US')} rows in ${inDb.r.tables} tables`,
);
console.log(line('plain COPY out (tables → files)', plain.rows, plain.outSeconds));
console.log(line('plain COPY in (files → index-less tables)', plain.rows, plain.inSeconds));
console.log(
  line(
    'dfc backup create (in-database + row hashes)',
    rows,
    inDb.seconds,
    `  ${(plain.outSeconds / inDb.seconds).toFixed(2)}× plain COPY out`,
  ),
);
console.log(
  line(
    'dfc backup create --to-dir (+ archive)',
    rows,
    arch.seconds,
    `  ${(plain.outSeconds / arch.seconds).toFixed(2)}× plain COPY out`,
  ),
);
console.log(line('dfc backup verify (copies + archive files)', rows, ver.seconds, `  valid=${ver.r.valid}`));
console.log(
  line(
    'dfc backup restore (from the database)',
    rows,
    resDb.seconds,
    `  ${(plain.inSeconds / resDb.seconds).toFixed(2)}× plain COPY in; catalog diffs ${resDb.r.catalogDifferences?.length}`,
  ),
);
console.log(
  line(
    'dfc backup restore --from-dir (archive)',
    rows,
    resArch.seconds,
    `  ${(plain.inSeconds / resArch.seconds).toFixed(2)}× plain COPY in; catalog diffs ${resArch.r.catalogDifferences?.length}`,
  ),
);
await dropDatabase(server, r1);
await dropDatabase(server, r2);
await dropDatabase(server, `dfc_bench_backup_${domains}`);
await rm(dir, { recursive: true, force: true });
process.exit(0);
