/**
 * Crash safety, by really doing it: `dfc consolidate` runs as a child process while traffic
 * writes, and is killed with SIGKILL at several points (between phases, mid-backfill,
 * mid-index-build, mid-constraints). Each re-run resumes; the final state passes the ledger
 * and `verify`. The traffic connects as production runs it: an application role that owns nothing
 * (capture must work for it across every kill and resume).
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
import { createAppRole } from '../helpers/app-role.js';
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
  // the index build waits for a lock held below on the shadow table, so the kill lands inside CREATE INDEX
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
    const app = await createAppRole(url);
    const traffic = startTraffic(app.url, { rate: 60, durationMs: 900_000, ledgerPath, seed: 9 });
    const killedAt: string[] = [];
    let afterIndexKill: { invalid: number; secondary: number; journaled: boolean } | undefined;
    const trail: unknown[] = [];
    for (const kp of KILL_POINTS) {
      if (kp.name === 'mid-index-build') {
        // the shadow's indexes are plain builds in one transaction per table: a session holding a
        // conflicting lock on the shadow makes the build wait, so the kill lands inside CREATE INDEX
        await withClient(url, async (blocker) => {
          await blocker.query('BEGIN');
          await blocker.query('LOCK TABLE dfc_shadow_public.generated_domains IN ROW EXCLUSIVE MODE');
          let kill: () => void = () => {};
          let inStep = false;
          const run = runConsolidate(
            url,
            {
              ...kp,
              killWhen: (e) => {
                if (stepStart('indexes:public.generated_domains')(e)) inStep = true;
                return false;
              },
            },
            (k) => {
              kill = k;
            },
          );
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
                `SELECT pid FROM pg_stat_activity WHERE application_name = 'dfc-consolidate' AND wait_event_type = 'Lock'
                    AND query ILIKE '%generated_domains%' AND datname = current_database()`,
              ),
            );
            if (inStep && w.rows.length) {
              kill();
              // a crashed host or a lost connection ends the backend too
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
          const left = await withClient(url, (c) =>
            c.query(
              `SELECT (SELECT count(*)::int FROM pg_index WHERE NOT indisvalid) AS invalid,
                      (SELECT count(*)::int FROM pg_index WHERE indrelid = 'dfc_shadow_public.generated_domains'::regclass
                          AND NOT indisprimary) AS secondary,
                      (SELECT 'indexes:public.generated_domains' = ANY (steps_done) FROM consolidation.engine_runs
                        WHERE state NOT IN ('cut_over','rolled_back','aborted')) AS journaled`,
            ),
          );
          afterIndexKill = left.rows[0];
          killedAt.push(kp.name);
        });
        continue;
      }
      const o = await runConsolidate(url, kp);
      if (o.killed) killedAt.push(kp.name);
      trail.push({ point: kp.name, killed: o.killed, code: o.code, last: o.events.at(-1) });
      // the killed process's session is gone, so its advisory lock is free again
    }
    // the interrupted build was rolled back whole: no invalid index, none half-built, step not journaled
    expect(afterIndexKill).toEqual({ invalid: 0, secondary: 0, journaled: false });
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
