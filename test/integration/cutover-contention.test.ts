/**
 * The cutover under contention: sessions that keep 300 ms read transactions open on campaigns and
 * generated_domains (workload/contention.ts) while the application writes. With default settings
 * the cutover gets through (short lock timeout, many jittered attempts) and nothing is lost.
 * --cancel-blockers-after cancels only the application's blocking sessions, never a superuser's,
 * ends an application transaction left idle with its locks (a cancel does not reach it), and
 * reports each one.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { consolidationStatus } from '../../src/engine/status.js';
import { contendedFirst } from '../../src/engine/steps/cutover-lock.js';
import { verify } from '../../src/engine/verify.js';
import { DfcError } from '../../src/errors.js';
import { startContention } from '../../workload/contention.js';
import { verifyLedger } from '../../workload/ledger.js';
import { seedDatabase } from '../../workload/seed.js';
import { startTraffic } from '../../workload/traffic.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(domains: number): Promise<string> {
  const url = await freshDatabase('legacy', 'contend');
  await seedDatabase(url, { domains, seed: 9 });
  await consolidate(url, { batchSize: 1000 });
  return url;
}

describe('cutover under contention', () => {
  it('succeeds with default settings against 300 ms readers on campaigns and generated_domains; nothing lost', async () => {
    const url = await ready(1500);
    const app = await createAppRole(url);
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-contend-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(app.url, { rate: 40, durationMs: 600_000, ledgerPath, seed: 8 });
    const contention = startContention(app.url);
    await sleep(1000);
    const retries: number[] = [];
    const co = await cutover(url, {
      onEvent: (e) => {
        if (e.type === 'retry') retries.push(e.attempt);
      },
    });
    await sleep(1000);
    const report = await contention.stop();
    traffic.stop();
    const writes = await traffic.done;

    expect(co.validation.every((v) => v.passed)).toBe(true);
    expect(co.attempts).toBe(retries.length + 1);
    expect(co.blockers).toEqual([]);
    // the readers were really there, before and after the switch, and were never cancelled
    expect(report.transactions).toBeGreaterThan(4);
    expect(report.errors['57014']).toBeUndefined();
    expect(writes.failedWrites).toBe(0);
    expect((await verifyLedger(url, ledgerPath)).mismatches).toEqual([]);
    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('--cancel-blockers-after cancels the application session blocking the locks, never a superuser, and reports each', async () => {
    const url = await ready(600);
    const app = await createAppRole(url);
    // a superuser holding a lock the cutover needs is left alone: the cutover gives up, unchanged
    await withClient(url, async (su) => {
      await su.query('BEGIN');
      await su.query('LOCK TABLE campaigns IN ACCESS SHARE MODE');
      const left: { pid: number; reason?: string }[] = [];
      const err = await cutover(url, {
        attempts: 4,
        cancelBlockersAfterMs: 1,
        onEvent: (e) => {
          if (e.type === 'blocker')
            left.push({ pid: e.pid, reason: e.action === 'skipped' ? e.reason : 'cancelled!' });
        },
      }).catch((e) => e);
      const suPid = (await su.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      expect(left).toEqual([{ pid: suPid, reason: 'superuser' }]);
      expect(err).toBeInstanceOf(DfcError);
      expect((err as DfcError).code).toBe('CONSOLIDATION_03');
      // the refusal names who held the tables when it gave up (never their query text)
      const holders = (err as DfcError).details?.holders as { pid: number; relations: string[] }[];
      expect(holders.map((h) => h.pid)).toEqual([suPid]);
      expect(holders[0]?.relations).toContain('campaigns');
      expect((err as DfcError).message).toContain(`held at the end by pid ${suPid} (`);
      expect((err as DfcError).message).not.toContain('LOCK TABLE');
      await su.query('ROLLBACK');
    });
    expect((await consolidationStatus(url, { exact: false })).state).toBe('ready_for_cutover');

    // an application session that would hold its read transaction for a minute is cancelled
    const contention = startContention(app.url, { sessions: 1, holdMs: 60_000 });
    await sleep(500);
    const skipped: string[] = [];
    const co = await cutover(url, {
      cancelBlockersAfterMs: 200,
      onEvent: (e) => {
        if (e.type === 'blocker' && e.action === 'skipped') skipped.push(e.reason ?? '');
      },
    });
    const report = await contention.stop();
    expect(co.validation.every((v) => v.passed)).toBe(true);
    const cancelled = co.blockers.filter((b) => b.action === 'cancelled');
    expect(cancelled.length).toBeGreaterThan(0);
    expect(cancelled.every((b) => b.user === app.role && b.application === 'domainflow-report')).toBe(true);
    expect(cancelled.some((b) => b.ok && report.pids.includes(b.pid))).toBe(true);
    expect(report.errors['57014']).toBeGreaterThan(0);
    expect(skipped).toEqual([]);
  });

  it('--cancel-blockers-after ends an application transaction left idle holding a lock (a cancel cannot), reported once', async () => {
    const url = await ready(300);
    const app = await createAppRole(url);
    // a report job that opened a transaction, read campaigns and went quiet, keeping its lock
    const idle = new pg.Client({ connectionString: app.url, application_name: 'report-job' });
    idle.on('error', () => {}); // its connection is about to be closed from the server side
    await idle.connect();
    await idle.query('BEGIN');
    await idle.query('SELECT count(*) FROM campaigns');
    const pid = (await idle.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const co = await cutover(url, { cancelBlockersAfterMs: 200 });
    expect(co.validation.every((v) => v.passed)).toBe(true);
    expect(co.blockers.map(({ pid, user, state, action, ok }) => ({ pid, user, state, action, ok }))).toEqual(
      [{ pid, user: app.role, state: 'idle in transaction', action: 'terminated', ok: true }],
    );
    expect(co.blockers[0]?.reason).toMatch(/^idle in transaction for \d+ ms: a cancel does not reach/);
    await expect(idle.query('SELECT 1')).rejects.toThrow();
    await idle.end().catch(() => {});
  });

  it('locks the tables other sessions hold first, so the wait for them happens before anything is locked', async () => {
    const url = await freshDatabase('legacy', 'lockorder');
    const rels = ['users', 'campaigns', 'personas', 'generated_domains'].map((name) => ({
      schema: name === 'users' ? 'auth' : 'public',
      name,
    }));
    const reader = new pg.Client({ connectionString: url });
    const writer = new pg.Client({ connectionString: url });
    await reader.connect();
    await writer.connect();
    try {
      await withClient(url, async (c) => {
        // nobody holds anything: the order given
        expect(await contendedFirst(c, rels)).toEqual(rels);
        // a reader on generated_domains, a reader and a writer on personas: personas (2 holders), then generated_domains
        await reader.query('BEGIN');
        await reader.query('SELECT count(*) FROM public.generated_domains');
        await reader.query('SELECT count(*) FROM public.personas');
        await writer.query('BEGIN');
        await writer.query(
          "UPDATE public.personas SET name = name WHERE id = '00000000-0000-0000-0000-000000000000'",
        );
        const order = await contendedFirst(c, rels);
        expect(order.map((r) => r.name)).toEqual(['personas', 'generated_domains', 'users', 'campaigns']);
        // its own session's locks do not count
        await c.query('BEGIN');
        await c.query('LOCK TABLE auth.users IN ACCESS SHARE MODE');
        expect((await contendedFirst(c, rels)).map((r) => r.name)).toEqual(order.map((r) => r.name));
        await c.query('ROLLBACK');
      });
    } finally {
      await reader.end();
      await writer.end();
    }
  });
});
