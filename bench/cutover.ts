/**
 * bench/cutover: per data size (default 100,000 and 1,000,000 generated domains), with DomainFlow
 * traffic at a fixed rate and the contention generator on (2 sessions holding 300 ms read
 * transactions on campaigns and generated_domains), measured in one run with DEFAULT cutover settings:
 *   - attempts and lock-held ms (goal ≤ 100 ms, flat from 100k to 1M);
 *   - the application's longest write during the cutover (its op named), and the stall: the
 *     longest an application session waited for a relation lock (goal ≤ 1.5 × the lock timeout;
 *     bench/stall.ts);
 *   - after cutover, insert latency p50/p99 into v2 generated_domains with reverse capture on ÷ off,
 *     single-row and 100-row batch, each rolled back: interleaved with a twin of the table without
 *     capture (write-latency.ts), and across time (off = after `finalize` dropped it).
 * Usage: npx tsx bench/cutover.ts [--domains 100000,1000000] [--rate 80] [--samples 300] [--database-url URL]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { createDemoAppRole } from '../src/demo-app-role.js';
import { consolidate } from '../src/engine/consolidate.js';
import { CUTOVER_DEFAULTS, cutover } from '../src/engine/cutover.js';
import { finalizeCutover } from '../src/engine/finalize.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { startContention } from '../workload/contention.js';
import { verifyLedger } from '../workload/ledger.js';
import { startLockWaitSampler } from '../workload/lock-waits.js';
import { seedDatabase } from '../workload/seed.js';
import { startTraffic } from '../workload/traffic.js';
import { describeStall, phaseWrites, stallMs } from './stall.js';
import { createTwin, dropTwin, type Latency, pairedWriteLatency, writeLatency } from './write-latency.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '100000,1000000' },
    rate: { type: 'string', default: '80' },
    samples: { type: 'string', default: '300' },
    'database-url': { type: 'string' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/^.*load average: /, 'load ');

async function runOne(serverUrl: string, domains: number, rate: number, samples: number) {
  const url = await createLegacyDatabase(serverUrl, `dfc_bench_co_${domains}`);
  await seedDatabase(url, { domains, seed: 1 });
  await withClient(url, (c) => c.query('VACUUM ANALYZE'));
  const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-co-'));
  const ledgerPath = path.join(dir, 'ledger.jsonl');
  // the application as production runs it: an ordinary role (the demo's), not the superuser —
  // which is also what --cancel-blockers-after may cancel
  const app = await createDemoAppRole(url);
  const traffic = startTraffic(app.url, { rate, durationMs: 3_600_000, ledgerPath, seed: 4 });
  await consolidate(url);
  const contention = startContention(app.url);
  await sleep(2000);
  const loadBefore = load();
  const sampler = await startLockWaitSampler(url);
  traffic.markPhase('cutover');
  const t0 = Date.now();
  const steps: string[] = [];
  const co = await cutover(url, {
    onEvent: (e) => {
      // the locked steps of the committed attempt (the runner reports them after the COMMIT)
      if (
        e.type === 'step' &&
        e.status === 'done' &&
        e.step.startsWith('cutover:') &&
        e.seconds !== undefined
      )
        steps.push(`${e.step} ${(e.seconds * 1000).toFixed(0)}`);
    },
  });
  const wallSeconds = (Date.now() - t0) / 1000;
  traffic.markPhase('v2');
  const waits = await sampler.stop();
  const held = await contention.stop();
  await sleep(2000);
  const on = await writeLatency(url, samples);
  // on and off in the same seconds: v2 generated_domains beside a twin without reverse capture
  await createTwin(url);
  const paired = await pairedWriteLatency(url, samples);
  await dropTwin(url);
  await finalizeCutover(url, { keepDays: 0 });
  await sleep(1000);
  const off = await writeLatency(url, samples);
  traffic.stop();
  const report = await traffic.done;
  const ledger = await verifyLedger(url, ledgerPath);
  return { domains, co, wallSeconds, held, on, off, paired, report, ledger, loadBefore, steps, waits };
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const rate = Number(values.rate);
const samples = Number(values.samples);
const timeout = CUTOVER_DEFAULTS.lockTimeoutMs;
const ms = (l: Latency) => `p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms`;
const ratio = (a: Latency, b: Latency) =>
  `p50 ${(a.p50 / b.p50).toFixed(2)}, p99 ${(a.p99 / b.p99).toFixed(2)}`;
const rows: string[] = [];
for (const n of String(values.domains).split(',').map(Number)) {
  process.stdout.write(
    `\n== ${n.toLocaleString('en')} generated domains, traffic ${rate} ops/s, contention 2 × 300 ms readers, default cutover (lock timeout ${timeout} ms, ${CUTOVER_DEFAULTS.attempts} attempts)\n`,
  );
  const r = await runOne(serverUrl, n, rate, samples);
  const writes = phaseWrites(r.report, 'cutover', ['before']);
  const stall = stallMs(r.waits);
  process.stdout.write(
    `${[
      `machine at the cutover:                  ${r.loadBefore}`,
      `cutover: ${r.co.attempts} attempt(s) in ${r.wallSeconds.toFixed(2)} s; lock held ${r.co.lockHeldMs} ms (goal ≤ 100); ${r.co.drainedUnderLock} changes applied under the lock`,
      `locked steps (ms, committed attempt):    ${r.steps.join(', ')}`,
      ...describeStall(writes, r.waits, timeout, 'cutover'),
      `contention: ${r.held.transactions} read transactions of ${r.held.holdMs} ms, errors ${JSON.stringify(r.held.errors)}`,
      'v2 writes, reverse capture on and off side by side (interleaved, a twin without capture):',
      `  capture on:  single ${ms(r.paired.on.single)}; 100-row batch ${ms(r.paired.on.batch)}`,
      `  capture off: single ${ms(r.paired.off.single)}; 100-row batch ${ms(r.paired.off.batch)}`,
      `  on ÷ off: single ${ratio(r.paired.on.single, r.paired.off.single)}; batch ${ratio(r.paired.on.batch, r.paired.off.batch)} (goal p50 ≤ 1.1)`,
      `v2 writes across time (on after the cutover, off after finalize): single ${ms(r.on.single)} → ${ms(r.off.single)}; batch ${ms(r.on.batch)} → ${ms(r.off.batch)}; on ÷ off single ${ratio(r.on.single, r.off.single)}, batch ${ratio(r.on.batch, r.off.batch)}`,
      `traffic: ${r.report.ops} ops, ${r.report.failedWrites} failed writes; ledger: ${r.ledger.mismatches.length} mismatches of ${r.ledger.checked} keys`,
      ...Object.entries(r.report.perPhase).map(
        ([phase, p]) =>
          `  writes ${phase.padEnd(10)} p50 ${p.writes.p50.toFixed(1)} ms  p99 ${p.writes.p99.toFixed(1)} ms  max ${p.writes.max.toFixed(1)} ms  (${p.writes.count} writes)`,
      ),
    ].join('\n')}\n`,
  );
  rows.push(
    `${n.toLocaleString('en').padStart(10)} domains: ${r.co.attempts} attempts, lock ${r.co.lockHeldMs} ms, stall ${stall.toFixed(0)} ms (${(stall / timeout).toFixed(2)}×; longest write ${writes.longest?.ms.toFixed(0) ?? 0} ms ${writes.longest?.op ?? ''}), reverse capture on÷off (interleaved) single ${(r.paired.on.single.p50 / r.paired.off.single.p50).toFixed(2)} batch ${(r.paired.on.batch.p50 / r.paired.off.batch.p50).toFixed(2)} (p50); ${r.loadBefore}`,
  );
}
process.stdout.write(`\nside by side:\n${rows.join('\n')}\n`);
process.exit(0);
