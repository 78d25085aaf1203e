/**
 * Alerts through notification channels: a real local HTTP receiver and shell commands as contacts;
 * one notification per metric per interval during an alert storm; a failing channel is recorded
 * and reported (and tried again on the next alert), never dropped.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { addContact, monitorCheck, parseThresholds } from '../../src/index.js';
import { dfc } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

const received: Record<string, unknown>[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    received.push(JSON.parse(body));
    res.writeHead(204).end();
  });
});
let hook = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

// incident ids restart in each test database: a delivery is known by both
const hooksFor = (url: string, id: number) =>
  received.filter((x) => x.database === new URL(url).pathname.slice(1) && x.incident_id === id);

const delivery = { attempts: 2, backoffMs: 10, timeoutMs: 5000 };
// waiting_locks >= 0 holds on every sample: a storm on demand
const always = parseThresholds(['waiting_locks=0:0']);

describe('alerts through notification channels', () => {
  it('sends a critical alert to webhook and command contacts once per interval; a failing channel is logged, reported and retried', async () => {
    const url = await freshDatabase('seeded', 'alertn');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-alert-'));
    const file = path.join(dir, 'incidents.jsonl');
    await addContact(url, { name: 'hook', role: 'dba', method: 'webhook', details: hook });
    await addContact(url, {
      name: 'pager',
      role: 'dba',
      method: 'command',
      details: `cat >> '${file}'; echo >> '${file}'`,
    });
    await addContact(url, {
      name: 'broken',
      role: 'dba',
      method: 'command',
      details: 'echo pager offline >&2; exit 7',
    });

    const first = await monitorCheck(url, { thresholds: always, delivery });
    expect(first.alerts).toContainEqual(
      expect.objectContaining({ metric: 'waiting_locks', severity: 'critical' }),
    );
    const n1 = first.notifications.find((n) => n.metric === 'waiting_locks')!;
    expect(n1).toMatchObject({ new: true, severity: 'critical' });
    expect(n1.result.delivered.map((d) => d.name).sort()).toEqual(['hook', 'pager']);
    expect(n1.result.failed).toEqual([
      expect.objectContaining({ name: 'broken', channel: 'command', attempts: 2, error: 'pager offline' }),
    ]);
    const hooks = hooksFor(url, n1.incident_id);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({
      incident_type: 'monitoring_alert',
      severity: 'critical',
      description: expect.stringContaining('waiting_locks'),
      alert: expect.objectContaining({ metric: 'waiting_locks', severity: 'critical', threshold: 0 }),
    });
    // only this storm's incident: a freshly cloned database may also raise a real alert of its own
    // (a cold buffer cache is a critical buffer_cache_hit_ratio), delivered the same way
    const linesOf = (id: number) =>
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.incident_id === id);
    const lines = linesOf(n1.incident_id);
    expect(lines).toEqual([
      expect.objectContaining({ incident_id: n1.incident_id, incident_type: 'monitoring_alert' }),
    ]);

    // the storm goes on: recorded, joined to the same incident, not sent again — except to the contact that never got it
    const second = await monitorCheck(url, { thresholds: always, delivery });
    const n2 = second.notifications.find((n) => n.metric === 'waiting_locks')!;
    expect(n2).toMatchObject({ new: false, incident_id: n1.incident_id });
    expect(n2.result.delivered).toEqual([]);
    expect(n2.result.failed.map((f) => f.name)).toEqual(['broken']);
    expect(hooksFor(url, n1.incident_id)).toHaveLength(1);
    expect(linesOf(n1.incident_id)).toHaveLength(1);

    await withClient(url, async (c) => {
      const alerts = await c.query(
        `SELECT incident_id::int FROM monitoring.alert_log WHERE metric_name = 'waiting_locks' ORDER BY id`,
      );
      expect(alerts.rows).toEqual([{ incident_id: n1.incident_id }, { incident_id: n1.incident_id }]);
      const d = await c.query(
        `SELECT k.contact_name AS name, d.status, count(*)::int AS n, max(d.error) AS error
           FROM safety.notification_deliveries d JOIN safety.emergency_contacts k ON k.id = d.contact_id
          WHERE d.incident_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
        [n1.incident_id],
      );
      expect(d.rows).toEqual([
        { name: 'broken', status: 'failed', n: 4, error: 'pager offline' },
        { name: 'hook', status: 'delivered', n: 1, error: null },
        { name: 'pager', status: 'delivered', n: 1, error: null },
      ]);
    });

    // a new interval: the same storm is notified again, as a new incident
    const later = await monitorCheck(url, { thresholds: always, delivery, intervalSeconds: 0.001 });
    const n3 = later.notifications.find((n) => n.metric === 'waiting_locks')!;
    expect(n3.new).toBe(true);
    expect(n3.incident_id).not.toBe(n1.incident_id);
    expect(hooksFor(url, n3.incident_id)).toHaveLength(1);

    // the CLI reports the failed channel and exits 3 (a notification failed beats 2, critical)
    const cli = await dfc(['--database-url', url, 'monitor', 'check', '--notify-interval', '0.001']);
    expect(cli.code).toBe(3);
    expect(cli.stdout).toMatch(/NOT DELIVERED to broken \(command, 3 attempts\): pager offline/);
    expect(cli.stdout).toMatch(/delivered to hook \(webhook/);
  });

  it('warnings are sent only when asked; off sends nothing', async () => {
    const url = await freshDatabase('seeded', 'alertw');
    await addContact(url, { name: 'hook', role: 'dba', method: 'webhook', details: hook });
    // a warning level only: dead_tuples >= 0 always holds
    const warn = parseThresholds(['dead_tuples=0']);
    const quiet = await monitorCheck(url, { thresholds: warn, delivery });
    expect(quiet.alerts).toContainEqual(
      expect.objectContaining({ metric: 'dead_tuples', severity: 'warning' }),
    );
    expect(quiet.notifications.filter((n) => n.metric === 'dead_tuples')).toEqual([]);
    const off = await monitorCheck(url, { thresholds: always, delivery, notify: 'off' });
    expect(off.alerts.some((a) => a.severity === 'critical')).toBe(true);
    expect(off.notifications).toEqual([]);
    const sent = await monitorCheck(url, { thresholds: warn, delivery, notify: 'warning' });
    const n = sent.notifications.find((x) => x.metric === 'dead_tuples')!;
    expect(n).toMatchObject({ new: true, severity: 'warning' });
    expect(n.result.delivered.map((d) => d.name)).toEqual(['hook']);
    expect(hooksFor(url, n.incident_id)).toEqual([
      expect.objectContaining({
        severity: 'medium',
        alert: expect.objectContaining({ metric: 'dead_tuples' }),
      }),
    ]);
    await withClient(url, async (c) => {
      // the alerts of 'quiet' and 'off' stayed unlinked: recorded, not notified
      const r = await c.query(
        `SELECT count(*) FILTER (WHERE incident_id IS NULL)::int AS unlinked, count(*)::int AS n FROM monitoring.alert_log`,
      );
      expect(r.rows[0].unlinked).toBeGreaterThanOrEqual(3);
    });
    await expect(monitorCheck(url, { notify: 'loud' as 'off' })).rejects.toMatchObject({
      code: 'DFC_CONFIG',
    });
  });
});
