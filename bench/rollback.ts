/**
 * bench/rollback: per data size (default 100,000 and 1,000,000 generated domains) with DomainFlow
 * traffic at a fixed rate, measured in one run:
 *   - `rollback execute` wall time (checks, drain, lock, swap, validation, commit) and lock-hold time;
 *   - the pre-lock row comparison alone (what --skip-checksums saves);
 *   - the application's longest write in the rollback phase (its op named), and the stall: the
 *     longest an application session waited for a relation lock, vs the lock timeout (goal ≤ 1.5×;
 *     bench/stall.ts);
 *   - the second cutover (roll forward, no new copy) lock time;
 *   - ledger verify on legacy after the rollback.
 * With --contention (default on) two sessions keep 300 ms read transactions open on campaigns and
 * generated_domains during the rollback, as in bench:cutover. The lock timeout defaults to the
 * engine's (LOCKED_DEFAULTS, 100 ms).
 * Usage: npx tsx bench/rollback.ts [--domains 100000,1000000] [--rate 80] [--lock-timeout MS] [--no-contention] [--database-url URL]
 */
import { mkdtemp } from 'node:fs/promises';
import { loadavg as osLoadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { createDemoAppRole } from '../src/demo-app-role.js';
import { consolidate } from '../src/engine/consolidate.js';
import { cutover } from '../src/engine/cutover.js';
import { LOCKED_DEFAULTS } from '../src/engine/cutover-plan.js';
import { executeRollback, testRollback } from '../src/engine/rollback.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { startContention } from '../workload/contention.js';
import { verifyLedger } from '../workload/ledger.js';
import { startLockWaitSampler } from '../workload/lock-waits.js';
import { seedDatabase } from '../workload/seed.js';
import { startTraffic } from '../workload/traffic.js';
import { describeStall, phaseWrites, stallMs } from './stall.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '100000,1000000' },
    rate: { type: 'string', default: '80' },
    'lock-timeout': { type: 'string', default: String(LOCKED_DEFAULTS.lockTimeoutMs) },
    'no-contention': { type: 'boolean', default: false },
    'database-url': { type: 'string' },
  },
});
const loadavg = () =>
  osLoadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const slowest = (ops: Record<string, { maxMs: number }>) =>
  Object.entries(ops)
    .sort((a, b) => b[1].maxMs - a[1].maxMs)
    .slice(0, 3)
    .map(([op, o]) => `${op} ${o.maxMs.toFixed(0)} ms`)
    .join(', ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOne(
  serverUrl: string,
  domains: number,
  rate: number,
  lockTimeoutMs: number,
  contended: boolean,
) {
  const url = await createLegacyDatabase(serverUrl, `dfc_bench_rb_${domains}`);
  await seedDatabase(url, { domains, seed: 1 });
  await withClient(url, (c) => c.query('VACUUM ANALYZE'));
  const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-rb-'));
  const ledgerPath = path.join(dir, 'ledger.jsonl');
  // the application as production runs it: an ordinary role (the demo's), not the superuser —
  // which is also what --cancel-blockers-after may cancel
  const app = await createDemoAppRole(url);
  const traffic = startTraffic(app.url, { rate, durationMs: 3_600_000, ledgerPath, seed: 4 });
  traffic.markPhase('consolidate');
  await consolidate(url);
  traffic.markPhase('cutover');
  const co = await cutover(url, { lockTimeoutMs });
  traffic.markPhase('v2');
  await sleep(5000);
  const t0 = Date.now();
  const dry = await testRollback(url, co.rollbackPoint);
  const testSeconds = (Date.now() - t0) / 1000;
  const sampler = await startLockWaitSampler(url);
  traffic.markPhase('rollback');
  const contention = contended ? startContention(app.url) : undefined;
  const rb = await executeRollback(url, co.rollbackPoint, { reason: 'bench', lockTimeoutMs });
  const held = await contention?.stop();
  traffic.markPhase('legacy');
  const waits = await sampler.stop();
  await sleep(3000);
  traffic.markPhase('cutover again');
  const again = await cutover(url, { lockTimeoutMs });
  traffic.markPhase('v2 again');
  await sleep(2000);
  traffic.stop();
  const report = await traffic.done;
  // the ledger on v2 after the roll forward: every write of all four phases present
  const ledger = await verifyLedger(url, ledgerPath);
  return { domains, dry, testSeconds, rb, again, report, ledger, held, waits };
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const rate = Number(values.rate);
const lockTimeoutMs = Number(values['lock-timeout']);
const contended = !values['no-contention'];
const rows: string[] = [];
for (const n of String(values.domains).split(',').map(Number)) {
  process.stdout.write(
    `\n== ${n.toLocaleString('en')} generated domains, traffic ${rate} ops/s, lock timeout ${lockTimeoutMs} ms, ${contended ? 'contention 2 × 300 ms readers during the rollback' : 'no contention'}, load ${loadavg()}\n`,
  );
  const r = await runOne(serverUrl, n, rate, lockTimeoutMs, contended);
  // the application is on v2 before the rollback: its ops' range there is the baseline
  const writes = phaseWrites(r.report, 'rollback', ['v2']);
  process.stdout.write(
    `${[
      `rollback test (drain + checks + checksums):  ${r.testSeconds.toFixed(2)} s (${r.dry.valid ? 'valid' : 'NOT valid'})`,
      `rollback execute wall time:                  ${r.rb.wallSeconds.toFixed(2)} s (${r.rb.attempts} attempt(s))`,
      `rollback lock held:                          ${r.rb.lockHeldMs} ms`,
      `reverse changes applied before / under lock: ${r.rb.drainedBeforeLock} / ${r.rb.drainedUnderLock}`,
      ...describeStall(writes, r.waits, lockTimeoutMs, 'rollback'),
      `cutover again (no new copy) lock held:       ${r.again.lockHeldMs} ms`,
      ...(r.held
        ? [
            `contention: ${r.held.transactions} read transactions of ${r.held.holdMs} ms, errors ${JSON.stringify(r.held.errors)}`,
          ]
        : []),
      `traffic: ${r.report.ops} ops, ${r.report.failedWrites} failed writes, retries ${JSON.stringify(r.report.retries)}; ledger after roll forward: ${r.ledger.mismatches.length} mismatches of ${r.ledger.checked} keys`,
      `slowest ops: ${slowest(r.report.opCounts)}`,
      ...Object.entries(r.report.perPhase).map(
        ([phase, p]) =>
          `  writes ${phase.padEnd(14)} p50 ${p.writes.p50.toFixed(1)} ms  p99 ${p.writes.p99.toFixed(1)} ms  max ${p.writes.max.toFixed(1)} ms  (${p.writes.count} writes)`,
      ),
    ].join('\n')}\n`,
  );
  rows.push(
    `${n.toLocaleString('en').padStart(10)} domains: rollback ${r.rb.wallSeconds.toFixed(2)} s wall, lock ${r.rb.lockHeldMs} ms, stall ${stallMs(r.waits).toFixed(0)} ms (longest write ${writes.longest?.ms.toFixed(0) ?? 0} ms ${writes.longest?.op ?? ''}); test ${r.testSeconds.toFixed(2)} s`,
  );
}
process.stdout.write(`\nside by side:\n${rows.join('\n')}\n`);
process.exit(0);
