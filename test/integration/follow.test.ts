/**
 * The follower (`dfc consolidate --follow`): after ready_for_cutover it keeps the backlog bounded,
 * yields the consolidation lock to a cutover that wants it (really cutting over while it applies a
 * backlog), and stops cleanly on SIGINT. Ledger and verify prove nothing was lost.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import type { EngineEvent } from '../../src/engine/events.js';
import { follow } from '../../src/engine/follow.js';
import { consolidationStatus } from '../../src/engine/status.js';
import { verify } from '../../src/engine/verify.js';
import { verifyLedger } from '../../workload/ledger.js';
import { seedDatabase } from '../../workload/seed.js';
import { startTraffic } from '../../workload/traffic.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BIN = path.resolve(import.meta.dirname, '../../bin/dfc.js');

async function followerHoldsLock(url: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const r = await c.query(
      `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'dfc-follow' AND a.datname = current_database()`,
    );
    return (r.rowCount ?? 0) > 0;
  });
}

async function until(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('follower', () => {
  it('keeps applying after ready_for_cutover, yields the lock to a cutover mid-backlog, and loses nothing', async () => {
    const url = await freshDatabase('legacy', 'follow');
    await seedDatabase(url, { domains: 3000, seed: 21 });
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-follow-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(url, { rate: 60, durationMs: 600_000, ledgerPath, seed: 8 });
    await consolidate(url, { batchSize: 1000 });
    // a backlog big enough that the follower is mid-apply (holding the lock) when the cutover comes
    await withClient(url, (c) => c.query(`UPDATE generated_domains SET source_keyword = source_keyword`));
    const before = await consolidationStatus(url, { exact: false });
    expect(before.lag.rows).toBeGreaterThanOrEqual(3000);
    expect(before.follower).toBeNull();
    const events: EngineEvent[] = [];
    const stop = new AbortController();
    const following = follow(url, { signal: stop.signal, batch: 25, onEvent: (e) => events.push(e) });
    await until('the follower to hold the lock', () => followerHoldsLock(url));
    const during = await consolidationStatus(url, { exact: false });
    expect(during.follower).not.toBeNull();
    const co = await cutover(url, { lockTimeoutMs: 1000 });
    expect(co.attempts).toBeGreaterThanOrEqual(1);
    const f = await following;
    // it let go for the cutover, then found the run cut over and stopped by itself
    expect(f.yielded).toBeGreaterThanOrEqual(1);
    expect(f.stoppedBy).toBe('state');
    expect(f.state).toBe('cut_over');
    expect(f.applied).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'phase' && e.phase === 'follow_yield')).toBe(true);
    expect(await followerHoldsLock(url)).toBe(false);
    await sleep(1000);
    traffic.stop();
    const report = await traffic.done;
    expect(report.failedWrites).toBe(0);
    expect((await verifyLedger(url, ledgerPath)).mismatches).toEqual([]);
    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('`dfc consolidate --follow` bounds the backlog while waiting, shows lag in status, and stops cleanly on SIGINT', async () => {
    const url = await freshDatabase('legacy', 'follow_cli');
    await seedDatabase(url, { domains: 2000, seed: 22 });
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-follow-'));
    const traffic = startTraffic(url, {
      rate: 60,
      durationMs: 600_000,
      ledgerPath: path.join(dir, 'l.jsonl'),
      seed: 9,
    });
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !k.startsWith('PG')),
    );
    const child = spawn(process.execPath, [BIN, 'consolidate', '--follow', '--json', '--database-url', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: base,
    });
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        try {
          lines.push(JSON.parse(buf.slice(0, nl)));
        } catch {}
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await until(
      'the follower to start',
      async () => lines.some((e) => e.type === 'phase' && e.phase === 'following'),
      180_000,
    ).catch((e) => {
      throw new Error(`${e}: ${stderr}`);
    });
    // the application keeps writing; the follower keeps the shadow close behind
    await sleep(4000);
    const s = await consolidationStatus(url, { exact: false });
    expect(s.state).toBe('ready_for_cutover');
    expect(s.follower).not.toBeNull();
    expect(s.lag.rows).toBeLessThan(500);
    expect(s.lag.seconds).toBeLessThan(30);
    expect(lines.some((e) => e.type === 'capture' && Number(e.applied) > 0)).toBe(true);
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    const done = lines.find((e) => e.event === 'consolidate.follow.done');
    expect(done).toMatchObject({ stoppedBy: 'signal', state: 'ready_for_cutover' });
    expect(await followerHoldsLock(url)).toBe(false);
    // its backend goes away just after the client disconnects
    await until(
      'the follower session to end',
      async () => !(await consolidationStatus(url, { exact: false })).follower,
      10_000,
    );
    traffic.stop();
    await traffic.done;
  });
});
