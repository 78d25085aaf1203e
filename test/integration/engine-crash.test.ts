/**
 * Crash safety, by really doing it: `dfc consolidate` runs as a child process while traffic
 * writes, and is killed with SIGKILL at several points (between phases, mid-backfill,
 * mid-index-build, mid-constraints). Each re-run resumes; the final state passes the ledger
 * and `verify`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { cutover } from '../../src/engine/cutover.js';
import { verify } from '../../src/engine/verify.js';
import { verifyLedger } from '../../workload/ledger.js';
import { seedDatabase } from '../../workload/seed.js';
import { startTraffic } from '../../workload/traffic.js';
import { freshDatabase } from '../helpers/db.js';

const TSX_LOADER = 'tsx';
const CLI = path.resolve(import.meta.dirname, '../../cli/main.ts');

interface Outcome {
  killed: boolean;
  code: number | null;
  events: Record<string, unknown>[];
}

interface KillPoint {
  name: string;
  /** the child sleeps after this step, so the kill lands exactly there */
  holdAfter?: string;
  killWhen: (e: Record<string, unknown>) => boolean;
  /** slow the backfill so the kill lands inside it */
  batchDelayMs?: number;
}

/** Run `dfc consolidate --json`; SIGKILL it when the kill point's event arrives. */
function runConsolidate(
  url: string,
  kp: KillPoint | null,
  onSpawn?: (kill: () => void) => void,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const args = [
      '--import',
      TSX_LOADER,
      CLI,
      'consolidate',
      '--json',
      '--batch-size',
      '150',
      '--database-url',
      url,
    ];
    if (kp?.batchDelayMs) args.push('--batch-delay', String(kp.batchDelayMs));
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: '', DFC_FAULT: kp?.holdAfter ? `hold-after:${kp.holdAfter}` : '' },
    });
    const events: Record<string, unknown>[] = [];
    let killed = false;
    onSpawn?.(() => {
      killed = true;
      child.kill('SIGKILL');
    });
    let buf = '';
    let err = '';
    child.stdout.on('data', (d) => {
      buf += d;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          if (!killed && kp?.killWhen(e)) {
            killed = true;
            child.kill('SIGKILL');
          }
        } catch {}
      }
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (!killed && code !== 0) reject(new Error(`consolidate exited ${code}: ${err}`));
      else resolve({ killed: killed && signal === 'SIGKILL', code, events });
    });
  });
}

const stepDone = (step: string) => (e: Record<string, unknown>) =>
  e.type === 'step' && e.step === step && e.status === 'done';
const stepStart = (step: string) => (e: Record<string, unknown>) =>
  e.type === 'step' && e.step === step && e.status === 'start';

const KILL_POINTS: KillPoint[] = [
  {
    name: 'between phases: shadow tables built, capture not yet installed',
    holdAfter: 'shadow:create',
    killWhen: stepDone('shadow:create'),
  },
  {
    name: 'mid-backfill of generated_domains',
    batchDelayMs: 100,
    killWhen: (e) => e.type === 'progress' && e.table === 'public.generated_domains' && Number(e.done) >= 600,
  },
  {
    name: 'between backfill and indexes',
    holdAfter: 'capture:catch-up',
    killWhen: stepDone('capture:catch-up'),
  },
  // the index build waits for an old snapshot held below, so the kill lands inside CREATE INDEX CONCURRENTLY
  { name: 'mid-index-build', killWhen: stepStart('indexes:public.generated_domains') },
  {
    name: 'between constraints: checks validated, FKs not yet',
    holdAfter: 'capture:catch-up-2',
    killWhen: stepDone('capture:catch-up-2'),
  },
  { name: 'before views', holdAfter: 'finish:public.proxies', killWhen: stepDone('finish:public.proxies') },
];

describe('consolidate survives SIGKILL', () => {
  it(`resumes after being killed at ${KILL_POINTS.length} points under traffic and loses nothing`, async () => {
    const url = await freshDatabase('legacy', 'crash');
    await seedDatabase(url, { domains: 3000, seed: 5 });
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-crash-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(url, { rate: 60, durationMs: 900_000, ledgerPath, seed: 9 });
    const killedAt: string[] = [];
    let invalidAfterIndexKill = -1;
    const trail: unknown[] = [];
    for (const kp of KILL_POINTS) {
      if (kp.name === 'mid-index-build') {
        // an open transaction with a snapshot makes CREATE INDEX CONCURRENTLY wait in its last phase
        await withClient(url, async (blocker) => {
          await blocker.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
          await blocker.query('SELECT count(*) FROM campaigns');
          let kill: () => void = () => {};
          const run = runConsolidate(url, { ...kp, killWhen: () => false }, (k) => {
            kill = k;
          });
          // wait until a concurrent index build is waiting on our snapshot, then kill
          let seen: unknown[] = [];
          for (let i = 0; i < 600; i++) {
            seen = (
              await withClient(url, (c) =>
                c.query(
                  `SELECT application_name, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE application_name LIKE 'dfc-consolidate%'`,
                ),
              )
            ).rows;
            const w = await withClient(url, (c) =>
              c.query(
                `SELECT pid FROM pg_stat_activity WHERE query ILIKE 'CREATE%INDEX CONCURRENTLY%' AND wait_event_type = 'Lock' AND datname = current_database()`,
              ),
            );
            if (w.rows.length) {
              kill();
              // a SIGKILLed client's backend would finish the build once we release the snapshot; a
              // crashed host or a lost connection does not: end it too, as that crash would
              await withClient(url, (c) =>
                c.query(
                  `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'dfc-consolidate%' AND datname = current_database()`,
                ),
              );
              break;
            }
            await new Promise((r) => setTimeout(r, 100));
          }
          await blocker.query('ROLLBACK');
          const outcome = await run;
          expect(outcome.killed, JSON.stringify({ trail, seen, events: outcome.events.slice(-5) })).toBe(
            true,
          );
          const inv = await withClient(url, (c) =>
            c.query(`SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`),
          );
          invalidAfterIndexKill = inv.rows[0].n;
          killedAt.push(kp.name);
        });
        continue;
      }
      const o = await runConsolidate(url, kp);
      if (o.killed) killedAt.push(kp.name);
      trail.push({ point: kp.name, killed: o.killed, code: o.code, last: o.events.at(-1) });
      // the killed process's session is gone, so its advisory lock is free again
    }
    // the interrupted concurrent build left an invalid index behind, which the resumed run must rebuild
    expect(invalidAfterIndexKill).toBeGreaterThan(0);
    const last = await runConsolidate(url, null);
    expect(last.code).toBe(0);
    expect(last.events.some((e) => e.event === 'consolidate.done' && e.state === 'ready_for_cutover')).toBe(
      true,
    );
    expect(killedAt).toEqual(KILL_POINTS.map((k) => k.name));
    await withClient(url, async (c) => {
      const invalid = await c.query(`SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`);
      expect(invalid.rows[0].n).toBe(0);
    });
    await cutover(url, { lockTimeoutMs: 500 });
    traffic.stop();
    const report = await traffic.done;
    expect(report.failedWrites).toBe(0);
    const ledger = await verifyLedger(url, ledgerPath);
    expect(ledger.mismatches).toEqual([]);
    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
  });
});
