/**
 * Crash safety, by really doing it: `dfc consolidate` runs as a child process while traffic
 * writes, and is killed with SIGKILL at several points (between phases, mid-backfill,
 * mid-index-build, mid-constraints). Each re-run resumes; the final state passes the ledger
 * and `verify`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
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

const require = createRequire(import.meta.url);
const TSX = require.resolve('tsx/cli');
const CLI = path.resolve(import.meta.dirname, '../../cli/main.ts');

interface Outcome {
  killed: boolean;
  code: number | null;
  events: Record<string, unknown>[];
}

/** Run `dfc consolidate --json`; SIGKILL it when `killWhen` matches an event. */
function runConsolidate(
  url: string,
  killWhen: ((e: Record<string, unknown>) => boolean) | null,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [TSX, CLI, 'consolidate', '--json', '--batch-size', '150', '--database-url', url],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DATABASE_URL: '' },
      },
    );
    const events: Record<string, unknown>[] = [];
    let killed = false;
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
          if (!killed && killWhen?.(e)) {
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
    child.on('close', (code) => {
      if (!killed && code !== 0) reject(new Error(`consolidate exited ${code}: ${err}`));
      else resolve({ killed, code, events });
    });
  });
}

const KILL_POINTS: [string, (e: Record<string, unknown>) => boolean][] = [
  [
    'after shadow tables, before capture',
    (e) => e.type === 'step' && e.step === 'shadow:create' && e.status === 'done',
  ],
  [
    'mid-backfill of generated_domains',
    (e) => e.type === 'progress' && e.table === 'public.generated_domains' && Number(e.done) >= 600,
  ],
  [
    'between backfill and indexes',
    (e) => e.type === 'step' && e.step === 'capture:catch-up' && e.status === 'start',
  ],
  [
    'mid-index-build',
    (e) => e.type === 'step' && e.step === 'indexes:public.generated_domains' && e.status === 'start',
  ],
  ['mid-constraints', (e) => e.type === 'step' && String(e.step).startsWith('fks:') && e.status === 'start'],
  ['before views', (e) => e.type === 'step' && e.step === 'views:create' && e.status === 'start'],
];

describe('consolidate survives SIGKILL', () => {
  it(`resumes after being killed at ${KILL_POINTS.length} points under traffic and loses nothing`, async () => {
    const url = await freshDatabase('legacy', 'crash');
    await seedDatabase(url, { domains: 3000, seed: 5 });
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-crash-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(url, { rate: 60, durationMs: 900_000, ledgerPath, seed: 9 });
    const killedAt: string[] = [];
    for (const [name, when] of KILL_POINTS) {
      const o = await runConsolidate(url, when);
      if (o.killed) killedAt.push(name);
      // the killed process's session is gone, so its advisory lock is free again
    }
    const last = await runConsolidate(url, null);
    expect(last.code).toBe(0);
    expect(last.events.some((e) => e.event === 'consolidate.done' && e.state === 'ready_for_cutover')).toBe(
      true,
    );
    expect(killedAt).toEqual(KILL_POINTS.map(([n]) => n));
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
