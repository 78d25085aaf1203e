/**
 * `dfc monitor start|check|report|dashboard`: samples what the server can tell about itself into
 * monitoring.system_metrics (the SQL functions of db/bookkeeping/0021 do the sampling, so
 * `SELECT monitoring.collect_system_metrics()` and the command record the same thing) and checks
 * the alert thresholds. Alerts are recorded in monitoring.alert_log; critical ones (warnings too
 * when asked) open incidents sent to the emergency contacts' channels (./alerts.ts).
 */
import type pg from 'pg';
import { ensureBookkeeping } from '../bookkeeping.js';
import { connect, withClient } from '../db/connection.js';
import { DfcError, sqlstate } from '../errors.js';
import {
  type AlertNotification,
  type AlertNotifyOptions,
  checkNotifyOptions,
  notifyAlerts,
} from './alerts.js';

export interface Alert {
  metric: string;
  value: number;
  severity: 'warning' | 'critical';
  threshold: number;
}
export interface Sample {
  systemMetricId: string;
  alerts: Alert[];
  metrics: Record<string, unknown>;
  /** incidents opened or joined by this sample's alerts, and what was sent */
  notifications: AlertNotification[];
}
/** metric → warning (and optionally critical) level, overriding the stored thresholds */
export type ThresholdOverrides = Record<string, { warning: number; critical?: number }>;

async function applyOverrides(c: pg.ClientBase, overrides: ThresholdOverrides = {}): Promise<void> {
  for (const [metric, t] of Object.entries(overrides)) {
    try {
      await c.query('SELECT monitoring.set_alert_threshold($1, $2, $3)', [
        metric,
        t.warning,
        t.critical ?? null,
      ]);
    } catch (e) {
      if (sqlstate(e) === '22023')
        throw new DfcError('DFC_CONFIG', (e as Error).message, {
          fix: 'name a numeric column of monitoring.system_metrics, e.g. --threshold longest_lock_wait_seconds=5',
          cause: e,
        });
      throw e;
    }
  }
}

/** Parse `name=warn[:crit]` pairs (the CLI's --threshold). */
export function parseThresholds(items: string[] = []): ThresholdOverrides {
  const out: ThresholdOverrides = {};
  for (const it of items) {
    const m = /^([a-z_]+)=(-?[\d.]+)(?::(-?[\d.]+))?$/.exec(it);
    if (!m)
      throw new DfcError('DFC_CONFIG', `bad threshold "${it}"`, {
        fix: 'write metric=warning or metric=warning:critical, e.g. longest_lock_wait_seconds=5:30',
      });
    out[m[1]!] = { warning: Number(m[2]), ...(m[3] ? { critical: Number(m[3]) } : {}) };
  }
  return out;
}

async function sampleWith(c: pg.ClientBase, phase?: string): Promise<Sample> {
  const r = await c.query('SELECT monitoring.collect_system_metrics($1) AS r', [phase ?? null]);
  return sampleOf(c, r.rows[0].r);
}

/** collect_system_metrics' answer with the row it recorded */
async function sampleOf(
  c: pg.ClientBase,
  out: { system_metric_id: string; alerts: Alert[] },
): Promise<Sample> {
  const m = await c.query('SELECT * FROM monitoring.system_metrics WHERE id = $1', [out.system_metric_id]);
  return {
    systemMetricId: String(out.system_metric_id),
    alerts: out.alerts,
    metrics: m.rows[0],
    notifications: [],
  };
}

/** One sample now, thresholds checked (`dfc monitor check`). */
export async function monitorCheck(
  url: string,
  opts: { phase?: string; thresholds?: ThresholdOverrides } & AlertNotifyOptions = {},
): Promise<Sample> {
  checkNotifyOptions(opts);
  const s = await withClient(
    url,
    async (c) => {
      await ensureBookkeeping(c);
      await c.query('SELECT monitoring.setup_default_alert_thresholds()');
      await applyOverrides(c, opts.thresholds);
      return sampleWith(c, opts.phase);
    },
    'dfc-monitor',
  );
  s.notifications = await notifyAlerts(url, s.systemMetricId, opts);
  return s;
}

export interface Sampler {
  stop(): Promise<number>;
}

/**
 * Sample every `intervalMs` until stopped (`dfc monitor start`, or any long command that wants a
 * record of itself). One session; a failed sample is reported through onError and sampling goes on.
 */
export async function startSampler(
  url: string,
  opts: {
    name?: string;
    intervalMs?: number;
    phase?: string;
    thresholds?: ThresholdOverrides;
    /** report the first sample and sample once more when stopped: a cutover of a second still leaves a before and after */
    edges?: boolean;
    onSample?: (s: Sample) => void;
    onError?: (e: unknown) => void;
  } & AlertNotifyOptions = {},
): Promise<Sampler> {
  checkNotifyOptions(opts);
  const c = await connect(url, 'dfc-monitor');
  await ensureBookkeeping(c);
  const started = await c.query('SELECT monitoring.start_migration_monitoring($1) AS r', [
    opts.name ?? 'consolidation',
  ]);
  await applyOverrides(c, opts.thresholds);
  // alerts of every sample go to the contacts (./alerts.ts)
  const notified = async (s: Sample) => {
    s.notifications = await notifyAlerts(url, s.systemMetricId, opts);
    return s;
  };
  // start_migration_monitoring took the first sample
  if (opts.edges) {
    const first = await sampleOf(c, started.rows[0].r.first_sample);
    await notified(first).catch((e) => opts.onError?.(e));
    opts.onSample?.(first);
  }
  let n = 1;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> = Promise.resolve();
  const tick = () => {
    inflight = sampleWith(c, opts.phase)
      .then(notified)
      .then((s) => {
        n++;
        opts.onSample?.(s);
      })
      .catch((e) => opts.onError?.(e))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalMs ?? 5000);
      });
  };
  timer = setTimeout(tick, opts.intervalMs ?? 5000);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inflight;
      if (opts.edges)
        await sampleWith(c, opts.phase)
          .then(notified)
          .then((s) => {
            n++;
            opts.onSample?.(s);
          })
          .catch((e) => opts.onError?.(e));
      await c.end().catch(() => {});
      return n;
    },
  };
}

export async function monitorReport(
  url: string,
  name: string,
  hours: number,
): Promise<Record<string, unknown>> {
  if (!(hours > 0))
    throw new DfcError('DFC_CONFIG', `--hours must be a positive number, got ${hours}`, {
      fix: 'e.g. --hours 4',
    });
  return withClient(url, async (c) => {
    await ensureBookkeeping(c);
    const r = await c.query('SELECT monitoring.generate_monitoring_report($1, $2) AS r', [name, hours]);
    return r.rows[0].r;
  });
}

export async function monitorDashboard(url: string, limit = 10): Promise<Record<string, unknown>[]> {
  return withClient(url, async (c) => {
    await ensureBookkeeping(c);
    const r = await c.query(
      'SELECT * FROM monitoring.migration_dashboard ORDER BY metric_timestamp DESC LIMIT $1',
      [limit],
    );
    return r.rows;
  });
}
