/** Emergency procedures with real faults: leaked sessions, a lock pile-up, a runaway query, webhooks that fail. */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addContact,
  DfcError,
  emergencyDashboard,
  emergencyHealth,
  ensureBookkeeping,
  initiateEmergencyRollback,
  listContacts,
  removeContact,
  respond,
  withClient,
} from '../../src/index.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => {})));
});

async function session(url: string, applicationName = 'app', sqlText = 'SELECT 1'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: applicationName });
  c.on('error', () => {});
  await c.connect();
  await c.query(sqlText);
  open.push(c);
  return c;
}

/** node-postgres keeps the backend pid it got at connect time. */
const pidOf = (c: pg.Client) => (c as unknown as { processID: number }).processID;

const alive = (c: pg.Client) =>
  c.query('SELECT 1').then(
    () => true,
    () => false,
  );

async function setup() {
  const url = await freshDatabase('seeded', 'em');
  await withClient(url, (c) => ensureBookkeeping(c));
  const app = await createAppRole(url);
  return { url, app };
}

describe('dfc emergency', () => {
  it('detects connection exhaustion from idle application sessions and relieves it without touching protected ones', async () => {
    const { url, app } = await setup();
    const leaked = await Promise.all(Array.from({ length: 10 }, () => session(app.url, 'leaky-pool')));
    const idleTx = await Promise.all(
      Array.from({ length: 2 }, () => session(app.url, 'leaky-pool', 'BEGIN; SELECT 1')),
    );
    const toolOwn = await session(app.url, 'dfc-worker');
    const testOwn = await session(url, 'test-admin');
    await sleep(1500);
    const params = { idle_seconds: 1, max_idle_sessions: 10 };
    const h = await emergencyHealth(url, params);
    const ce = h.conditions.find((c) => c.type === 'connection_exhaustion')!;
    expect(ce.detected).toBe(true);
    expect(ce.value.idle_sessions).toBe(12);
    expect(h.healthy).toBe(false);

    const r = await respond(url, {
      type: 'system_failure',
      severity: 'critical',
      description: 'Connection exhaustion during migration',
      auto: true,
      params: { idle_seconds: 1 },
      notify: false,
    });
    expect(r.procedure).toBe('connection_exhaustion');
    expect(r.actions_taken).toHaveLength(12);
    expect(
      r.actions_taken.every((a) => a.action === 'terminate' && a.done === true && a.user === app.role),
    ).toBe(true);
    await sleep(300);
    for (const c of [...leaked, ...idleTx]) expect(await alive(c)).toBe(false);
    expect(await alive(toolOwn)).toBe(true);
    expect(await alive(testOwn)).toBe(true);
    const after = await emergencyHealth(url, params);
    expect(after.conditions.find((c) => c.type === 'connection_exhaustion')!.detected).toBe(false);
    const dash = await emergencyDashboard(url, 1);
    expect(dash[0]).toMatchObject({
      incident_type: 'system_failure',
      procedure_name: 'connection_exhaustion',
      response_status: 'responding',
    });
  });

  it('lock pile-up: the idle-in-transaction blocker of the longest wait is ended; runaway queries are cancelled', async () => {
    const { url, app } = await setup();
    const blocker = await session(app.url, 'app');
    await blocker.query('BEGIN');
    await blocker.query(
      `UPDATE public.campaigns SET name = name WHERE id = (SELECT min(id::text)::uuid FROM public.campaigns)`,
    );
    const waiter = await session(app.url, 'app');
    const waiting = waiter.query(
      `UPDATE public.campaigns SET name = name || '!' WHERE id = (SELECT min(id::text)::uuid FROM public.campaigns)`,
    );
    await sleep(500);
    const h = await emergencyHealth(url, { lock_wait_seconds: 0.2 });
    expect(h.conditions.find((c) => c.type === 'lock_pileup')).toMatchObject({
      detected: true,
      value: { lock_waiters: 1 },
    });
    const r = await respond(url, {
      type: 'lock_pileup',
      severity: 'high',
      description: 'writes stuck',
      auto: true,
      notify: false,
    });
    expect(r.actions_taken).toEqual([
      expect.objectContaining({ action: 'terminate', pid: pidOf(blocker), done: true }),
    ]);
    await expect(waiting).resolves.toMatchObject({ rowCount: 1 });
    expect(await alive(blocker)).toBe(false);

    const runner = await session(app.url, 'report');
    const slow = runner.query('SELECT pg_sleep(60)').then(
      () => 'finished',
      (e: { code?: string }) => e.code,
    );
    await sleep(800);
    const q = await respond(url, {
      type: 'runaway_query',
      severity: 'high',
      description: 'report runs forever',
      auto: true,
      params: { max_query_seconds: 0.5 },
      notify: false,
    });
    expect(q.actions_taken).toEqual([
      expect.objectContaining({ action: 'cancel', pid: pidOf(runner), done: true }),
    ]);
    expect(await slow).toBe('57014');
    expect(await alive(runner)).toBe(true);
  });

  it('critical failure pauses the active consolidation run; emergency rollback needs a valid point unless forced', async () => {
    const { url } = await setup();
    await withClient(url, (c) =>
      c.query(`INSERT INTO consolidation.engine_runs (state) VALUES ('backfilling')`),
    );
    const r = await respond(url, {
      type: 'critical_failure',
      severity: 'critical',
      description: 'shadow drift',
      auto: true,
      notify: false,
    });
    expect(r.procedure).toBe('consolidation_critical_failure');
    expect(r.actions_taken).toEqual([expect.objectContaining({ action: 'pause', done: true })]);
    const paused = await withClient(url, (c) => c.query('SELECT paused FROM consolidation.engine_runs'));
    expect(paused.rows).toEqual([{ paused: true }]);

    const before = await emergencyDashboard(url, 100);
    const e = await initiateEmergencyRollback(url, 'p99 doubled', { notify: false }).catch((x) => x);
    expect(e).toBeInstanceOf(DfcError);
    expect((e as DfcError).code).toBe('CONSOLIDATION_05');
    expect(await emergencyDashboard(url, 100)).toHaveLength(before.length);
    const f = await initiateEmergencyRollback(url, 'p99 doubled', { force: true, notify: false });
    expect(f.command).toMatch(/^dfc rollback/);
    await withClient(url, (c) =>
      c.query(
        `INSERT INTO consolidation.rollback_points (rollback_point_id, state) VALUES ('rollback_20261201_000000', 'valid')`,
      ),
    );
    const v = await initiateEmergencyRollback(url, 'p99 doubled', { notify: false });
    expect(v.command).toBe(`dfc rollback execute rollback_20261201_000000 --reason 'p99 doubled'`);
    const log = await withClient(url, (c) =>
      c.query(
        `SELECT actions_taken->0->>'by' AS by, description FROM safety.emergency_response_log WHERE id = $1`,
        [v.incident_id],
      ),
    );
    expect(log.rows[0]).toEqual({ by: 'postgres', description: 'p99 doubled' });
  });

  it('notifies a webhook with the incident, retries and logs a failing one, runs a command contact', async () => {
    const { url } = await setup();
    const got: { path: string; body: Record<string, unknown> }[] = [];
    let flaky = 0;
    const server: Server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        got.push({ path: req.url ?? '', body: JSON.parse(body) });
        if (req.url === '/down') res.writeHead(503).end('down');
        else if (req.url === '/flaky' && flaky++ === 0) res.writeHead(500).end('once');
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-notify-'));
    const out = path.join(dir, 'incident.json');
    try {
      const ok = await addContact(url, {
        name: 'pager',
        role: 'dba',
        method: 'webhook',
        details: `http://127.0.0.1:${port}/hook?token=s3cret`,
      });
      const down = await addContact(url, {
        name: 'down',
        role: 'dba',
        method: 'webhook',
        details: `http://127.0.0.1:${port}/down`,
      });
      await addContact(url, {
        name: 'flaky',
        role: 'dba',
        method: 'webhook',
        details: `http://127.0.0.1:${port}/flaky`,
      });
      await addContact(url, { name: 'script', role: 'ops', method: 'command', details: `cat > '${out}'` });
      await addContact(url, { name: 'Your DBA', role: 'dba', method: 'email', details: 'dba@example.com' });
      await addContact(url, {
        name: 'cto',
        role: 'exec',
        method: 'webhook',
        details: `http://127.0.0.1:${port}/cto`,
        level: 3,
      });
      const r = await respond(url, {
        type: 'lock_pileup',
        severity: 'high',
        description: 'writes stuck behind a migration',
        notify: { attempts: 3, backoffMs: 20 },
      });
      const n = r.notifications!;
      expect(n.delivered.map((d) => [d.name, d.attempts])).toEqual([
        ['pager', 1],
        ['flaky', 2],
        ['script', 1],
      ]);
      expect(n.failed).toEqual([
        expect.objectContaining({ name: 'down', attempts: 3, error: expect.stringMatching(/503/) }),
      ]);
      expect(n.manual).toEqual([{ name: 'Your DBA', method: 'email', details: 'dba@example.com' }]);
      const hook = got.find((g) => g.path.startsWith('/hook'))!;
      expect(hook.body).toMatchObject({
        incident_id: r.incident_id,
        incident_type: 'lock_pileup',
        severity: 'high',
        description: 'writes stuck behind a migration',
        procedure: 'lock_pileup',
      });
      expect(got.filter((g) => g.path === '/down')).toHaveLength(3);
      expect(got.some((g) => g.path === '/cto')).toBe(false);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({
        incident_id: r.incident_id,
        severity: 'high',
      });
      const log = await withClient(url, (c) =>
        c.query(
          `SELECT attempt, status, response FROM safety.notification_deliveries WHERE incident_id = $1 AND contact_id = $2 ORDER BY attempt`,
          [r.incident_id, down.id],
        ),
      );
      expect(log.rows).toEqual([1, 2, 3].map((attempt) => ({ attempt, status: 'failed', response: '503' })));
      const dash = (await emergencyDashboard(url, 1))[0]!;
      expect(dash).toMatchObject({
        incident_id: String(r.incident_id),
        deliveries_ok: '3',
        delivery_failures: '4',
      });
      // the webhook's token is not shown back; contacts can be removed
      expect(await removeContact(url, ok.id)).toBe(true);
      expect((await listContacts(url)).map((k) => k.contact_name)).toEqual([
        'down',
        'flaky',
        'script',
        'Your DBA',
        'cto',
      ]);
    } finally {
      server.close();
    }
  });
});
