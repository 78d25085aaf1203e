/**
 * Issue 8 item 6: a client that caches prepared statements (node-postgres named statements,
 * prepared on legacy where audit_logs.user_id and client_ip are text) writes through the cutover.
 * With --reset-app-sessions its sessions are ended at the switch, it reconnects, prepares afresh
 * against v2 (uuid, inet), and every write succeeds with at most one retry per connection.
 * Without the option the same statements keep failing on the old connections.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const insert = (userId: string, n: number) => ({
  name: 'audit_insert',
  text: `INSERT INTO audit_logs (id, action, user_id, client_ip) VALUES ($1, 'prepared', $2, $3) ON CONFLICT (id) DO NOTHING`,
  values: [randomUUID(), userId, `10.0.${n % 250}.1`],
});

interface Writer {
  done: Promise<{ writes: number; retries: number; errors: string[] }>;
  stop: () => void;
}

/** One connection writing in a loop; on an error it replaces its connection and retries that write once. */
function writer(url: string, userId: string, maxRetries: number): Writer {
  let stopped = false;
  const done = (async () => {
    let client = new pg.Client({ connectionString: url, application_name: 'caching-app' });
    client.on('error', () => {});
    await client.connect();
    let writes = 0;
    let retries = 0;
    const errors: string[] = [];
    while (!stopped) {
      const q = insert(userId, writes);
      try {
        await client.query(q);
        writes++;
      } catch (e) {
        errors.push(`${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
        if (retries >= maxRetries) break;
        retries++;
        await client.end().catch(() => {});
        client = new pg.Client({ connectionString: url, application_name: 'caching-app' });
        client.on('error', () => {});
        await client.connect();
        await client.query(q); // the retry: must succeed
        writes++;
      }
      await sleep(5);
    }
    await client.end().catch(() => {});
    return { writes, retries, errors };
  })();
  return { done, stop: () => (stopped = true) };
}

describe('cutover --reset-app-sessions', () => {
  it('a client with cached prepared statements writes through the cutover: every write succeeds, at most one retry per connection', async () => {
    const url = await freshDatabase('seeded', 'reset');
    const app = await createAppRole(url);
    await consolidate(url, { batchSize: 500 });
    const userId = await withClient(
      url,
      async (c) => (await c.query('SELECT id::text FROM auth.users LIMIT 1')).rows[0].id,
    );
    const writers = Array.from({ length: 4 }, () => writer(app.url, userId, 1));
    await sleep(800);
    const co = await cutover(url, { lockTimeoutMs: 1000, resetAppSessions: true });
    await sleep(1500);
    for (const w of writers) w.stop();
    const results = await Promise.all(writers.map((w) => w.done));

    expect(co.typeChanges).toEqual(
      expect.arrayContaining([
        { table: 'public.audit_logs', column: 'user_id', legacy: 'text', v2: 'uuid' },
        { table: 'public.audit_logs', column: 'client_ip', legacy: 'text', v2: 'inet' },
        { table: 'public.campaigns', column: 'user_id', legacy: 'text', v2: 'uuid' },
      ]),
    );
    expect(co.sessions).not.toBeNull();
    const s = co.sessions!;
    expect(s.endedQueued + s.ended + s.endedWhenIdle + s.endedAtDeadline).toBeGreaterThanOrEqual(4);
    expect(s.endedAtDeadline).toBe(0);
    for (const r of results) {
      expect(r.retries).toBeLessThanOrEqual(1);
      expect(r.writes).toBeGreaterThan(0);
    }
    // every write the clients counted is in v2, converted
    const total = results.reduce((a, r) => a + r.writes, 0);
    await withClient(url, async (c) => {
      const n = await c.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE client_ip IS NULL)::int AS lost FROM audit_logs WHERE action = 'prepared'`,
      );
      expect(n.rows[0]).toEqual({ n: total, lost: 0 });
    });
  });

  it('without the option the statements prepared on legacy keep failing on their connection', async () => {
    const url = await freshDatabase('seeded', 'noreset');
    const app = await createAppRole(url);
    await consolidate(url, { batchSize: 500 });
    const userId = await withClient(
      url,
      async (c) => (await c.query('SELECT id::text FROM auth.users LIMIT 1')).rows[0].id,
    );
    const client = new pg.Client({ connectionString: app.url, application_name: 'caching-app' });
    await client.connect();
    try {
      await client.query(insert(userId, 1));
      const co = await cutover(url, { lockTimeoutMs: 1000 });
      expect(co.sessions).toBeNull();
      const first = await client.query(insert(userId, 2)).catch((e) => e);
      const second = await client.query(insert(userId, 3)).catch((e) => e);
      expect(first).toBeInstanceOf(Error);
      expect(second).toBeInstanceOf(Error);
      expect(second.code).toBe('42804');
    } finally {
      await client.end().catch(() => {});
    }
  });
});
