/**
 * `dfc demo` — the main job end to end on the embedded default: a fresh legacy DomainFlow
 * database (history 000001–000017), realistic data, live application traffic with a write
 * ledger — connecting as an ordinary application role, not as the superuser that runs dfc —,
 * online consolidation, atomic cutover, and the proofs: ledger verification (0
 * mismatches expected), `verify` (integrity, v2 vs rollback copy, catalog diff vs a fresh
 * install) and the application's write latency per phase.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { verifyLedger } from '../workload/ledger.js';
import { seedDatabase } from '../workload/seed.js';
import { startTraffic } from '../workload/traffic.js';
import { createDemoAppRole } from './demo-app-role.js';
import { consolidate } from './engine/consolidate.js';
import { cutover } from './engine/cutover.js';
import type { EventSink } from './engine/events.js';
import { verify } from './engine/verify.js';
import { createLegacyDatabase } from './migrate/legacy-database.js';

export interface DemoOptions {
  /** server URL whose database is replaced by the demo database (its name is `database`) */
  serverUrl: string;
  database: string;
  domains: number;
  rate: number;
  workDir: string;
  say: (line: string) => void;
  onEvent?: EventSink;
}

export interface DemoResult {
  url: string;
  /** the role the application's traffic connected as */
  appRole: string;
  seedSeconds: number;
  consolidateSeconds: number;
  cutoverLockMs: number;
  traffic: { ops: number; failedWrites: number; perPhase: Record<string, unknown> };
  ledgerMismatches: number;
  ledgerChecked: number;
  verifyPassed: boolean;
  verifyChecks: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  o.say(`1/7 legacy history 000001-000017 on a fresh database "${o.database}"`);
  const url = await createLegacyDatabase(o.serverUrl, o.database);
  o.say(`2/7 seeding ${o.domains} generated domains and everything around them`);
  const seed = await seedDatabase(url, { domains: o.domains, seed: 1 });
  o.say(`    ${Object.values(seed.counts).reduce((a, b) => a + b, 0)} rows in ${seed.seconds.toFixed(1)} s`);
  await mkdir(o.workDir, { recursive: true });
  const ledgerPath = path.join(o.workDir, `ledger-${Date.now()}.jsonl`);
  const app = await createDemoAppRole(url);
  o.say(
    `3/7 DomainFlow traffic at ${o.rate} ops/s as role ${app.role} (not superuser, owns nothing; USAGE, SELECT/INSERT/UPDATE/DELETE, sequence USAGE), ledger ${ledgerPath}`,
  );
  const traffic = startTraffic(app.url, { rate: o.rate, durationMs: 3_600_000, ledgerPath, seed: 2 });
  await sleep(3000);
  o.say('4/7 consolidate (phases 2-3) while the application writes');
  traffic.markPhase('consolidate');
  const cons = await consolidate(url, { onEvent: o.onEvent });
  traffic.markPhase('ready');
  await sleep(2000);
  o.say('5/7 atomic cutover');
  traffic.markPhase('cutover');
  const co = await cutover(url, { onEvent: o.onEvent });
  o.say(`    locks held ${co.lockHeldMs} ms, ${co.drainedUnderLock} changes applied under the lock`);
  traffic.markPhase('after');
  await sleep(3000);
  traffic.stop();
  const report = await traffic.done;
  o.say(`6/7 traffic: ${report.ops} ops, ${report.failedWrites} failed writes; ledger verification`);
  const ledger = await verifyLedger(url, ledgerPath);
  o.say(`    ${ledger.checked} ledger keys checked, ${ledger.mismatches.length} mismatches`);
  o.say('7/7 verify: integrity, v2 vs rollback copy, catalog diff vs a fresh v2 install');
  const rep = await verify(url);
  for (const c of rep.checks.filter((x) => !x.passed))
    o.say(`    FAILED ${c.check} ${JSON.stringify(c.details ?? '')}`);
  o.say(`    ${rep.checks.filter((x) => x.passed).length}/${rep.checks.length} checks passed`);
  for (const [phase, p] of Object.entries(report.perPhase))
    o.say(
      `    writes during ${phase.padEnd(12)} p50 ${p.writes.p50.toFixed(1)} ms  p99 ${p.writes.p99.toFixed(1)} ms  max ${p.writes.max.toFixed(1)} ms  (${p.ops} ops, ${p.failedWrites} failed)`,
    );
  return {
    url,
    appRole: app.role,
    seedSeconds: seed.seconds,
    consolidateSeconds: cons.seconds,
    cutoverLockMs: co.lockHeldMs,
    traffic: { ops: report.ops, failedWrites: report.failedWrites, perPhase: report.perPhase },
    ledgerMismatches: ledger.mismatches.length,
    ledgerChecked: ledger.checked,
    verifyPassed: rep.passed,
    verifyChecks: rep.checks.length,
  };
}
