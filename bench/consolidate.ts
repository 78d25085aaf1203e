/**
 * bench/consolidate: measured side by side in one run, per data size (default 1,000,000 and
 * 100,000 generated domains), with DomainFlow traffic at a fixed rate:
 *   - backfill rows/s with capture and traffic on, ÷ a one-shot INSERT … SELECT of the same
 *     tables into index-less copies (the copy limit on this machine);
 *   - the whole consolidation's wall time;
 *   - the application's write latency p50/p99/max before, during consolidation, at cutover, after;
 *   - the cutover's lock-hold time (it must not grow with data).
 * Usage: npx tsx bench/consolidate.ts [--domains 1000000,100000] [--rate 80] [--database-url URL]
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { consolidate } from '../src/engine/consolidate.js';
import { cutover } from '../src/engine/cutover.js';
import type { EngineEvent } from '../src/engine/events.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { quoteIdent } from '../src/sql/sql.js';
import { seedDatabase } from '../workload/seed.js';
import { startTraffic } from '../workload/traffic.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '1000000,100000' },
    rate: { type: 'string', default: '80' },
    'database-url': { type: 'string' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One-shot INSERT … SELECT of every DomainFlow table into index-less copies: rows/s. */
async function oneShotCopyRate(url: string): Promise<{ rows: number; seconds: number }> {
  return withClient(url, async (c) => {
    const t = await c.query<{ s: string; n: string }>(
      `SELECT n.nspname AS s, cl.relname AS n FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.relkind = 'r' AND n.nspname IN ('public','auth') AND cl.relname <> 'schema_migrations'`,
    );
    await c.query('DROP SCHEMA IF EXISTS bench_copy CASCADE; CREATE SCHEMA bench_copy');
    let rows = 0;
    const t0 = process.hrtime.bigint();
    for (const r of t.rows) {
      const src = `${quoteIdent(r.s)}.${quoteIdent(r.n)}`;
      const dst = `bench_copy.${quoteIdent(`${r.s}_${r.n}`)}`;
      await c.query(`CREATE TABLE ${dst} (LIKE ${src} INCLUDING DEFAULTS)`);
      const ins = await c.query(`INSERT INTO ${dst} SELECT * FROM ${src}`);
      rows += ins.rowCount ?? 0;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await c.query('DROP SCHEMA bench_copy CASCADE');
    return { rows, seconds };
  });
}

async function runOne(serverUrl: string, domains: number, rate: number) {
  const url = await createLegacyDatabase(serverUrl, `dfc_bench_${domains}`);
  const seed = await seedDatabase(url, { domains, seed: 1 });
  await withClient(url, (c) => c.query('VACUUM ANALYZE'));
  const baseline = await oneShotCopyRate(url);
  const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-'));
  const traffic = startTraffic(url, {
    rate,
    durationMs: 3_600_000,
    ledgerPath: path.join(dir, 'ledger.jsonl'),
    seed: 4,
  });
  await sleep(5000);
  traffic.markPhase('consolidate');
  let backfillRows = 0;
  let backfillSeconds = 0;
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'step' && e.status === 'done' && e.step.startsWith('backfill:')) {
      backfillSeconds += e.seconds ?? 0;
      backfillRows += Number((e.details as { rows?: number })?.rows ?? 0);
    }
  };
  const t0 = Date.now();
  await consolidate(url, { onEvent });
  const consolidateSeconds = (Date.now() - t0) / 1000;
  traffic.markPhase('ready');
  await sleep(2000);
  traffic.markPhase('cutover');
  const co = await cutover(url);
  traffic.markPhase('after');
  await sleep(3000);
  traffic.stop();
  const report = await traffic.done;
  return {
    domains,
    seedRows: Object.values(seed.counts).reduce((a, b) => a + b, 0),
    baseline,
    backfillRows,
    backfillSeconds,
    consolidateSeconds,
    cutoverMs: co.lockHeldMs,
    report,
  };
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const rate = Number(values.rate);
const results = [];
for (const n of String(values.domains).split(',').map(Number)) {
  process.stdout.write(`\n== ${n.toLocaleString('en')} generated domains, traffic ${rate} ops/s\n`);
  const r = await runOne(serverUrl, n, rate);
  results.push(r);
  const oneShot = r.baseline.rows / r.baseline.seconds;
  const online = r.backfillRows / r.backfillSeconds;
  process.stdout.write(
    `${[
      `one-shot INSERT … SELECT (index-less copy): ${r.baseline.rows} rows in ${r.baseline.seconds.toFixed(2)} s = ${Math.round(oneShot)} rows/s`,
      `online backfill (capture + traffic on):     ${r.backfillRows} rows in ${r.backfillSeconds.toFixed(2)} s = ${Math.round(online)} rows/s`,
      `ratio online / one-shot:                    ${(online / oneShot).toFixed(2)}`,
      `whole consolidation wall time:              ${r.consolidateSeconds.toFixed(1)} s`,
      `cutover lock held:                          ${r.cutoverMs} ms`,
      `traffic: ${r.report.ops} ops, ${r.report.failedWrites} failed writes, achieved ${r.report.achievedOpsPerSec.toFixed(0)} ops/s`,
      ...Object.entries(r.report.perPhase).map(
        ([phase, p]) =>
          `  writes ${phase.padEnd(12)} p50 ${p.writes.p50.toFixed(1)} ms  p99 ${p.writes.p99.toFixed(1)} ms  max ${p.writes.max.toFixed(1)} ms  (${p.writes.count} writes)`,
      ),
    ].join('\n')}\n`,
  );
}
if (results.length > 1) {
  const [a, b] = results;
  process.stdout.write(
    `\ncutover lock time: ${a!.cutoverMs} ms at ${a!.domains} vs ${b!.cutoverMs} ms at ${b!.domains} domains\n`,
  );
}
process.exit(0);
