/** `dfc emergency respond | health | rollback | dashboard` (guide: Emergency Procedures). */
import type { Command } from 'commander';
import {
  type EmergencyParams,
  emergencyDashboard,
  emergencyHealth,
  initiateEmergencyRollback,
  type NotifyResult,
  resolveTarget,
  respond,
} from '../../src/index.js';
import { positive, whole } from '../options.js';
import { emit } from '../output.js';
import { action, type Opts } from '../run.js';

const target = async (opts: { databaseUrl?: string }) =>
  (await resolveTarget({ databaseUrl: opts.databaseUrl })).url;

function thresholds(cmd: Command): Command {
  return cmd
    .option(
      '--idle-seconds <s>',
      'sessions idle (or idle in transaction) at least this long count as idle',
      positive('--idle-seconds'),
    )
    .option(
      '--max-idle <n>',
      'idle sessions that make connection exhaustion',
      whole('--max-idle', { min: 1 }),
    )
    .option(
      '--connection-ratio <r>',
      'share of max_connections in use that makes connection exhaustion',
      positive('--connection-ratio'),
    )
    .option(
      '--max-lock-waiters <n>',
      'waiting lock requests that make a lock pile-up',
      whole('--max-lock-waiters', { min: 1 }),
    )
    .option(
      '--lock-wait-seconds <s>',
      'a lock wait this long makes a lock pile-up',
      positive('--lock-wait-seconds'),
    )
    .option(
      '--max-query-seconds <s>',
      'an active query running this long is a runaway',
      positive('--max-query-seconds'),
    );
}

function paramsOf(opts: Opts): EmergencyParams {
  const p: EmergencyParams = {};
  if (opts.idleSeconds !== undefined) p.idle_seconds = opts.idleSeconds;
  if (opts.maxIdle !== undefined) p.max_idle_sessions = opts.maxIdle;
  if (opts.connectionRatio !== undefined) p.connection_ratio = opts.connectionRatio;
  if (opts.maxLockWaiters !== undefined) p.max_lock_waiters = opts.maxLockWaiters;
  if (opts.lockWaitSeconds !== undefined) p.lock_wait_seconds = opts.lockWaitSeconds;
  if (opts.maxQuerySeconds !== undefined) p.max_query_seconds = opts.maxQuerySeconds;
  return p;
}

function renderNotifications(n: NotifyResult | null): string[] {
  if (!n) return [];
  return [
    ...n.delivered.map((d) => `  notified ${d.name} by ${d.channel} (attempt ${d.attempts})`),
    ...n.failed.map(
      (d) => `  NOT notified ${d.name} by ${d.channel} after ${d.attempts} attempts: ${d.error}`,
    ),
    ...n.manual.map((m) => `  call ${m.name} (${m.method}: ${m.details})`),
  ];
}

export function registerEmergency(program: Command): void {
  const cmd = program
    .command('emergency')
    .description('emergency procedures: detect, respond, roll back, notify');
  thresholds(
    cmd
      .command('respond')
      .description(
        'log an incident and run its registered procedure (with --auto, its automated action); notify contacts',
      )
      .requiredOption(
        '--type <type>',
        'connection_exhaustion|system_failure, lock_pileup, runaway_query, critical_failure, or a procedure name',
      )
      .requiredOption('--severity <s>', 'low, medium, high or critical')
      .requiredOption('--description <text>', 'what is happening')
      .option('--auto', 'run the automated action (terminate/cancel sessions, pause the consolidation)'),
  ).action(
    action(async (opts) => {
      const r = await respond(await target(opts), {
        type: opts.type,
        severity: opts.severity,
        description: opts.description,
        auto: Boolean(opts.auto),
        params: paramsOf(opts),
      });
      emit(opts, { event: 'emergency.respond', ...r }, () =>
        [
          `incident ${r.incident_id}: ${r.incident_type} (${r.severity}) — procedure ${r.procedure ?? 'none'}, status ${r.response_status}`,
          ...r.actions_taken.map(
            (a) =>
              `  ${a.action} pid ${a.pid ?? '-'}${a.user ? ` (${a.user})` : ''}${a.done === false ? ' — had no effect' : ''}${a.reason ? ` — ${a.reason}` : ''}`,
          ),
          ...(r.auto ? [] : r.steps.map((s) => `  step ${s.step}: ${s.action}`)),
          ...(r.note ? [`  note: ${r.note}`] : []),
          ...renderNotifications(r.notifications),
        ].join('\n'),
      );
      return r.notifications?.failed.length ? 1 : 0;
    }),
  );
  thresholds(
    cmd
      .command('health')
      .description(
        'detect connection exhaustion, lock pile-ups, runaway queries, critical failures (exit 1 if any)',
      ),
  ).action(
    action(async (opts) => {
      const h = await emergencyHealth(await target(opts), paramsOf(opts));
      emit(opts, { event: 'emergency.health', ...h }, () =>
        [
          `${h.database}: ${h.healthy ? 'healthy' : 'ATTENTION'}`,
          ...h.conditions.map(
            (c) =>
              `  ${c.detected ? '!!' : 'ok'} ${c.type.padEnd(22)} ${JSON.stringify(c.value)}${c.detected ? `\n     respond: dfc emergency respond --type ${c.type} --severity ${c.severity} --description TEXT --auto` : ''}`,
          ),
        ].join('\n'),
      );
      return h.healthy ? 0 : 1;
    }),
  );
  cmd
    .command('rollback')
    .description('log an emergency rollback (who, when, why) and print the dfc rollback command to run')
    .requiredOption('--reason <text>', 'why')
    .option('--force', 'without a valid rollback point')
    .action(
      action(async (opts) => {
        const r = await initiateEmergencyRollback(await target(opts), opts.reason, {
          force: Boolean(opts.force),
        });
        emit(opts, { event: 'emergency.rollback', ...r }, () =>
          [
            `incident ${r.incident_id}: emergency rollback requested by ${r.requested_by}`,
            `  run: ${r.command}`,
            ...renderNotifications(r.notifications),
          ].join('\n'),
        );
      }),
    );
  cmd
    .command('dashboard')
    .description('recent incidents with actions and notification deliveries (safety.emergency_dashboard)')
    .option('--limit <n>', 'incidents', whole('--limit', { min: 1 }), 10)
    .action(
      action(async (opts) => {
        const rows = await emergencyDashboard(await target(opts), opts.limit);
        if (opts.json) for (const r of rows) emit(opts, { event: 'emergency.incident', ...r }, '');
        else
          process.stdout.write(
            `${
              rows
                .map(
                  (r) =>
                    `${new Date(r.incident_timestamp as string).toISOString()} #${r.incident_id} ${r.incident_type} ${r.severity_level} ${r.response_status} — ${r.description} (deliveries ok ${r.deliveries_ok}, failed ${r.delivery_failures})`,
                )
                .join('\n') || 'no incidents'
            }\n`,
          );
      }),
    );
}
