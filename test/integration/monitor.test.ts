/** dfc monitor: samples recorded, an alert on a lock wait the test creates and not otherwise. */
import { describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/db/connection.js';
import {
  DfcError,
  monitorCheck,
  monitorDashboard,
  monitorReport,
  parseThresholds,
  startSampler,
} from '../../src/index.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lockAlerts = (s: { alerts: { metric: string }[] }) =>
  s.alerts.filter((a) => a.metric === 'longest_lock_wait_seconds');

describe('dfc monitor', () => {
  it('alerts on a lock wait held by a test session, and not before or after it', async () => {
    const url = await freshDatabase('seeded', 'mon');
    const thresholds = parseThresholds(['longest_lock_wait_seconds=1:60']);
    const quiet = await monitorCheck(url, { thresholds });
    expect(lockAlerts(quiet)).toEqual([]);
    expect(Number(quiet.metrics.longest_lock_wait_seconds)).toBeLessThan(1);

    const holder = await connect(url, 'test-holder');
    const waiter = await connect(url, 'test-waiter');
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE');
      const blocked = waiter.query('SELECT count(*) FROM campaigns').catch((e) => e);
      // wait until the waiter has been queued behind the lock for more than the 1 s threshold
      await withClient(url, async (c) => {
        for (;;) {
          const r = await c.query(
            `SELECT extract(epoch FROM clock_timestamp() - query_start) AS s FROM pg_stat_activity
              WHERE application_name = 'test-waiter' AND wait_event_type = 'Lock'`,
          );
          if (r.rows[0] && Number(r.rows[0].s) > 1.5) break;
          await sleep(200);
        }
      });
      const loud = await monitorCheck(url, { thresholds });
      expect(lockAlerts(loud)).toEqual([
        expect.objectContaining({ metric: 'longest_lock_wait_seconds', severity: 'warning', threshold: 1 }),
      ]);
      expect(Number(loud.metrics.waiting_locks)).toBeGreaterThanOrEqual(1);
      await holder.query('ROLLBACK');
      await blocked;
    } finally {
      await holder.end();
      await waiter.end();
    }
    const after = await monitorCheck(url, {});
    expect(lockAlerts(after)).toEqual([]);
    await withClient(url, async (c) => {
      const log = await c.query(
        `SELECT metric_name, severity_level FROM monitoring.alert_log WHERE metric_name = 'longest_lock_wait_seconds'`,
      );
      expect(log.rows).toEqual([{ metric_name: 'longest_lock_wait_seconds', severity_level: 'warning' }]);
      // the override is stored: the DBA's threshold, not the default 5 s
      const t = await c.query(
        `SELECT warning_threshold FROM monitoring.alert_thresholds WHERE metric_name = 'longest_lock_wait_seconds'`,
      );
      expect(Number(t.rows[0].warning_threshold)).toBe(1);
    });
    const report = await monitorReport(url, 'consolidation', 1);
    expect(report).toMatchObject({
      samples: 3,
      alerts: expect.objectContaining({ warning: expect.any(Number) }),
    });
    expect((report.alerts as { by_metric: Record<string, number> }).by_metric.longest_lock_wait_seconds).toBe(
      1,
    );
  });

  it('samples by itself until stopped; guide SQL functions work; bad thresholds are coded errors', async () => {
    const url = await freshDatabase('seeded', 'mon2');
    const seen: string[] = [];
    const s = await startSampler(url, {
      name: 'consolidation',
      intervalMs: 100,
      onSample: (x) => seen.push(x.systemMetricId),
    });
    while (seen.length < 2) await sleep(100);
    const n = await s.stop();
    expect(n).toBeGreaterThanOrEqual(3); // start_migration_monitoring's own sample + the loop's
    const dash = await monitorDashboard(url, 10);
    expect(dash.length).toBe(n);
    expect(dash[0]).toHaveProperty('dead_tuples');
    await withClient(url, async (c) => {
      const start = await c.query(`SELECT monitoring.start_migration_monitoring('consolidation') AS r`);
      expect(start.rows[0].r.first_sample.system_metric_id).toBeDefined();
      const defaults = await c.query('SELECT monitoring.setup_default_alert_thresholds() AS r');
      expect(defaults.rows[0].r.added).toEqual([]);
      expect(Number(defaults.rows[0].r.total)).toBe(11);
      const check = await c.query('SELECT monitoring.check_alert_thresholds() AS r');
      expect(Array.isArray(check.rows[0].r)).toBe(true);
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await c.query('SELECT count(*) FROM generated_domains');
      const qp = await c.query(`SELECT monitoring.collect_query_performance('troubleshooting') AS r`);
      expect(qp.rows[0].r.collected).toBeGreaterThan(0);
      const rep = await c.query(`SELECT monitoring.generate_monitoring_report('consolidation', 4) AS r`);
      expect(rep.rows[0].r.samples).toBe(n + 1);
    });
    await expect(
      monitorCheck(url, { thresholds: parseThresholds(['cpu_percent=80']) }),
    ).rejects.toMatchObject({
      code: 'DFC_CONFIG',
    });
    expect(() => parseThresholds(['nonsense'])).toThrow(DfcError);
  });
});
