/**
 * bench/verify: `verify` at N generated domains (default 1,000,000) after a real consolidate +
 * cutover, measured side by side with a one-shot COPY of the same rows (every v2 table and every
 * rollback-copy table, `COPY … TO STDOUT` read and discarded by the client): the goal is verify ≤ 2×
 * that COPY. Rounds interleave the two; verify runs idle and under DomainFlow traffic.
 * Usage: npx tsx bench/verify.ts [--domains 1000000] [--rate 50] [--rounds 2] [--sessions 2] [--database-url URL] [--reuse]
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { to as copyTo } from 'pg-copy-streams';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { consolidate } from '../src/engine/consolidate.js';
import { cutover } from '../src/engine/cutover.js';
import { VERIFY_SESSIONS, type VerifyReport, verify } from '../src/engine/verify.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { quoteIdent } from '../src/sql/sql.js';
import { seedDatabase } from '../workload/seed.js';
import { startTraffic } from '../workload/traffic.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    'database-url': { type: 'string' },
    // keep a database an earlier run seeded, consolidated and cut over (experiments without the setup)
    reuse: { type: 'boolean', default: false },
    // sessions sharing verify's snapshot; each round also runs verify idle in 1 session, side by side
    sessions: { type: 'string', default: String(VERIFY_SESSIONS) },
  },
});
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** COPY every table verify compares (v2 and the rollback copy) to the client, discarding the bytes. */
async function oneShotCopy(url: string): Promise<{ rows: number; bytes: number; seconds: number }> {
  return withClient(url, async (c) => {
    const t = await c.query<{ s: string; n: string; rows: string }>(
      `SELECT n.nspname AS s, cl.relname AS n, cl.reltuples::bigint AS rows FROM pg_class cl
         JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.relkind = 'r' AND n.nspname IN ('public','auth','dfc_rollback_public','dfc_rollback_auth')
          AND cl.relname <> 'schema_migrations'`,
    );
    let bytes = 0;
    let rows = 0;
    const t0 = process.hrtime.bigint();
    for (const r of t.rows) {
      const sink = new Writable({
        write(chunk: Buffer, _e, cb) {
          bytes += chunk.length;
          cb();
        },
      });
      await pipeline(c.query(copyTo(`COPY ${quoteIdent(r.s)}.${quoteIdent(r.n)} TO STDOUT`)), sink);
      rows += Math.max(0, Number(r.rows));
    }
    return { rows, bytes, seconds: seconds(t0) };
  });
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const domains = Number(values.domains);
const name = `dfc_bench_verify_${domains}`;
/** a database of an earlier run that got through the cutover (its rollback point is recorded) */
async function cutOver(): Promise<string | null> {
  const exists = await withClient(serverUrl, (c) =>
    c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]),
  );
  if (!exists.rowCount) return null;
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const ok = await withClient(u.toString(), (c) =>
    c.query(`SELECT to_regclass('consolidation.rollback_points') IS NOT NULL
                AND EXISTS (SELECT 1 FROM consolidation.rollback_points) AS ok`),
  );
  return ok.rows[0]?.ok ? u.toString() : null;
}
const reused = values.reuse ? await cutOver() : null;
process.stdout.write(`== verify at ${domains.toLocaleString('en')} generated domains\n`);
let t0 = process.hrtime.bigint();
let url: string;
if (reused) {
  url = reused;
  process.stdout.write(`reusing ${name} (seeded, consolidated and cut over by an earlier run)\n`);
} else {
  url = await createLegacyDatabase(serverUrl, name);
  await seedDatabase(url, { domains, seed: 1 });
  await withClient(url, (c) => c.query('VACUUM ANALYZE'));
  process.stdout.write(`seeded in ${seconds(t0).toFixed(1)} s\n`);
  t0 = process.hrtime.bigint();
  await consolidate(url, {});
  await cutover(url);
  await withClient(url, (c) => c.query('VACUUM ANALYZE'));
  process.stdout.write(`consolidated + cut over in ${seconds(t0).toFixed(1)} s\n`);
}

const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-verify-'));
const sessions = Number(values.sessions);
const loadavg = async () =>
  (await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ');
/** the slowest jobs of a run and how busy each session was */
function profile(r: VerifyReport): string {
  const t = r.timings ?? [];
  const busy = new Map<number, number>();
  for (const x of t) busy.set(x.session, (busy.get(x.session) ?? 0) + x.seconds);
  const top = [...t].sort((a, b) => b.seconds - a.seconds).slice(0, 6);
  return [
    `    busy per session: ${[...busy]
      .sort((a, b) => a[0] - b[0])
      .map(([s, v]) => `${s < 0 ? 'catalog' : `#${s}`} ${v.toFixed(1)} s`)
      .join(', ')}`,
    `    slowest: ${top.map((x) => `${x.name} ${x.seconds.toFixed(1)} s`).join(', ')}`,
  ].join('\n');
}
for (let round = 1; round <= Number(values.rounds); round++) {
  const copy = await oneShotCopy(url);
  const loadCopy = await loadavg();
  t0 = process.hrtime.bigint();
  const idle = await verify(url, { sessions });
  const idleS = seconds(t0);
  const loadIdle = await loadavg();
  t0 = process.hrtime.bigint();
  const single = await verify(url, { sessions: 1 });
  const singleS = seconds(t0);
  const loadSingle = await loadavg();
  const traffic = startTraffic(url, {
    rate: Number(values.rate),
    durationMs: 3_600_000,
    ledgerPath: path.join(dir, `ledger-${round}.jsonl`),
    seed: 30 + round,
  });
  await new Promise((r) => setTimeout(r, 3000));
  t0 = process.hrtime.bigint();
  const live = await verify(url, { sessions });
  const liveS = seconds(t0);
  const loadLive = await loadavg();
  traffic.stop();
  const report = await traffic.done;
  const catalog = (r: typeof idle) => r.checks.find((c) => c.category === 'catalog')?.passed;
  const x = (v: number) => `${v.toFixed(2)} s = ${(v / copy.seconds).toFixed(2)}× COPY`;
  process.stdout.write(
    `${[
      `round ${round}`,
      `  one-shot COPY of the same rows:   ~${copy.rows} rows, ${(copy.bytes / 1048576).toFixed(0)} MiB in ${copy.seconds.toFixed(2)} s  (load ${loadCopy})`,
      `  verify, idle, ${sessions} sessions:        ${x(idleS)}  (${idle.passed ? 'PASS' : 'FAIL'}, catalog ${catalog(idle)}; load ${loadIdle})`,
      profile(idle),
      `  verify, idle, 1 session:          ${x(singleS)}  (${single.passed ? 'PASS' : 'FAIL'}; load ${loadSingle})`,
      profile(single),
      `  verify, ${values.rate} ops/s traffic, ${sessions} sessions: ${x(liveS)}  (${live.passed ? 'PASS' : 'FAIL'}; ${report.failedWrites} failed writes; load ${loadLive})`,
      ...[...idle.checks, ...single.checks, ...live.checks]
        .filter((c) => !c.passed)
        .map((c) => `  FAILED ${c.check}`),
    ].join('\n')}\n`,
  );
}
process.exit(0);
