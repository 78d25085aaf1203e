/** `dfc monitor start|check|report|dashboard`: samples into monitoring.system_metrics, alerts. */
import type { Command } from 'commander';
import {
  monitorCheck,
  monitorDashboard,
  monitorReport,
  parseThresholds,
  resolveTarget,
  startSampler,
} from '../../src/index.js';
import { positive } from '../options.js';
import { emit } from '../output.js';
import { action, type Opts } from '../run.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const alertLine = (a: { metric: string; value: number; severity: string; threshold: number }) =>
  `  ALERT ${a.severity}: ${a.metric} = ${a.value} (threshold ${a.threshold})`;

type Notified = Awaited<ReturnType<typeof monitorCheck>>['notifications'][number];
/** What was sent for each incident; a failed channel is printed, never left out. */
const notificationLines = (ns: Notified[]) =>
  ns.flatMap((n) => {
    const r = n.result;
    const head = `  incident ${n.incident_id} (${n.metric} ${n.severity}) ${n.new ? 'opened' : 'already open within the interval'}`;
    const sent = [
      ...r.delivered.map((d) => `    delivered to ${d.name} (${d.channel}, attempt ${d.attempts})`),
      ...r.failed.map(
        (f) => `    NOT DELIVERED to ${f.name} (${f.channel}, ${f.attempts} attempts): ${f.error}`,
      ),
      ...r.manual.map((m) => `    call ${m.name} (${m.method} ${m.details}): no automatic channel`),
    ];
    if (!n.new && sent.length === 0) return [`${head}: nothing more to send`];
    if (n.new && sent.length === 0) return [`${head}: no contacts registered (dfc contacts add)`];
    return [head, ...sent];
  });
const failedDeliveries = (ns: Notified[]) => ns.some((n) => n.result.failed.length > 0);
const notifyOpts = (opts: Opts) => ({
  notify: opts.notify as 'critical' | 'warning' | 'off',
  intervalSeconds: opts.notifyInterval,
});

export function registerMonitor(program: Command): void {
  const m = program.command('monitor').description('sample server health and consolidation progress; alerts');
  m.command('start')
    .description(
      'sample every --interval seconds until Ctrl-C (or --samples N); exit 3 if a notification failed',
    )
    .option('--name <name>', 'monitoring session name', 'consolidation')
    .option('--interval <s>', 'seconds between samples', '5')
    .option('--samples <n>', 'stop after n samples')
    .option('--threshold <metric=warn[:crit]>', 'override a threshold (repeatable)', collect)
    .option(
      '--notify <level>',
      'send alerts to the emergency contacts: critical, warning (and critical) or off',
      'critical',
    )
    .option(
      '--notify-interval <s>',
      'one notification per metric per this many seconds',
      positive('--notify-interval'),
      900,
    )
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const limit = opts.samples ? Number(opts.samples) : Number.POSITIVE_INFINITY;
        let seen = 0;
        let failed = false;
        let done: () => void = () => {};
        const finished = new Promise<void>((r) => {
          done = r;
        });
        const s = await startSampler(target.url, {
          name: opts.name,
          intervalMs: Number(opts.interval) * 1000,
          thresholds: parseThresholds(opts.threshold),
          ...notifyOpts(opts),
          onSample: (x) => {
            emit(opts, { event: 'monitor.sample', ...x }, () =>
              [
                `sample ${x.systemMetricId}: active ${x.metrics.active_connections}, waiting locks ${x.metrics.waiting_locks}, lock wait ${x.metrics.longest_lock_wait_seconds} s, backlog ${x.metrics.capture_backlog ?? '-'}, progress ${x.metrics.consolidation_progress_pct ?? '-'} %`,
                ...x.alerts.map(alertLine),
                ...notificationLines(x.notifications),
              ].join('\n'),
            );
            if (failedDeliveries(x.notifications)) failed = true;
            if (++seen >= limit) done();
          },
          onError: (e) =>
            emit(opts, { event: 'monitor.error', message: String(e) }, `sample failed: ${String(e)}`),
        });
        process.once('SIGINT', done);
        await finished;
        await s.stop();
        return failed ? 3 : 0;
      }),
    );
  m.command('check')
    .description(
      'take one sample, check the thresholds, notify contacts (exit 2 on a critical alert, 3 if a notification failed)',
    )
    .option('--threshold <metric=warn[:crit]>', 'override a threshold (stored; repeatable)', collect)
    .option(
      '--notify <level>',
      'send alerts to the emergency contacts: critical, warning (and critical) or off',
      'critical',
    )
    .option(
      '--notify-interval <s>',
      'one notification per metric per this many seconds',
      positive('--notify-interval'),
      900,
    )
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const s = await monitorCheck(target.url, {
          thresholds: parseThresholds(opts.threshold),
          ...notifyOpts(opts),
        });
        emit(opts, { event: 'monitor.check', ...s }, () =>
          [
            `sample ${s.systemMetricId}: ${s.alerts.length} alert(s) (recorded in monitoring.alert_log)`,
            ...s.alerts.map(alertLine),
            ...notificationLines(s.notifications),
          ].join('\n'),
        );
        if (failedDeliveries(s.notifications)) return 3;
        return s.alerts.some((a) => a.severity === 'critical') ? 2 : 0;
      }),
    );
  m.command('report')
    .description('monitoring.generate_monitoring_report over the last --hours')
    .option('--name <name>', 'monitoring session name', 'consolidation')
    .option('--hours <n>', 'window', '4')
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await monitorReport(target.url, opts.name, Number(opts.hours));
        emit(opts, { event: 'monitor.report', ...r }, () => JSON.stringify(r, null, 2));
        return 0;
      }),
    );
  m.command('dashboard')
    .description('the latest rows of monitoring.migration_dashboard')
    .option('--limit <n>', 'rows', '10')
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        for (const r of await monitorDashboard(target.url, Number(opts.limit)))
          emit(
            opts,
            { event: 'monitor.dashboard', ...r },
            () =>
              `${new Date(r.metric_timestamp as string).toISOString()} ${String(r.migration_phase ?? '-').padEnd(18)} active ${r.active_connections} waiting ${r.waiting_locks} lockwait ${r.longest_lock_wait_seconds}s cache ${r.buffer_cache_hit_ratio}% dead ${r.dead_tuples} backlog ${r.capture_backlog ?? '-'} progress ${r.consolidation_progress_pct ?? '-'}% alerts w${r.warning_alerts}/c${r.critical_alerts}`,
          );
        return 0;
      }),
    );
}
