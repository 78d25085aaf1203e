/** `dfc rollback list | test | execute | cleanup | status`, `dfc finalize`. */
import type { Command } from 'commander';
import {
  cleanupRollbackPoints,
  executeRollback,
  finalizeCutover,
  listRollbackPoints,
  resolveTarget,
  rollbackWindow,
  testRollback,
} from '../../src/index.js';
import { engineRenderer } from '../engine-render.js';
import { monitored, monitorInterval, noMonitor } from '../monitoring.js';
import { InvalidOption, whole } from '../options.js';
import { emit } from '../output.js';
import { action } from '../run.js';

/** `30d` or `30`: a whole number of days (a bad value is reported by checkOptions, see options.ts) */
const days = (raw: string) => {
  const m = /^(\d+)d?$/.exec(raw.trim());
  return m ? Number(m[1]) : new InvalidOption('--older-than', raw, { min: 0 });
};
const mib = (b: number | null) => (b === null ? '-' : `${(b / 1048576).toFixed(1)} MiB`);

export function registerRollback(program: Command): void {
  const cmd = program
    .command('rollback')
    .description('back to the legacy schema after cutover, losing nothing (guide: rollback procedures)');
  cmd
    .command('list')
    .description('rollback points, newest first (consolidation.list_rollback_points())')
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const points = await listRollbackPoints(url);
        emit(opts, { event: 'rollback.list', points }, () =>
          points.length === 0
            ? 'no rollback points (a cutover records one)'
            : points
                .map(
                  (p) =>
                    `${p.id}  run ${p.runId}  ${p.state.padEnd(9)}  ${p.createdAt.toISOString()}  ${p.tables} tables` +
                    (p.state === 'valid' ? `  backlog ${p.reverseBacklog}  copy ${mib(p.copyBytes)}` : '') +
                    (p.usedAt
                      ? `  rolled back ${p.usedAt.toISOString()} in ${p.rollbackSeconds ?? '?'} s (lock ${p.lockHeldMs ?? '?'} ms): ${p.reason}`
                      : ''),
                )
                .join('\n'),
        );
      }),
    );
  cmd
    .command('test <point>')
    .description('dry run: check the point is complete and consistent, print what execute will do')
    .action(
      action(async (opts, point: string) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await testRollback(url, point);
        emit(opts, { event: 'rollback.test', ...r }, () =>
          [
            `rollback point ${r.point}: ${r.valid ? 'VALID' : 'NOT USABLE'} (${r.drained} reverse changes applied first)`,
            ...r.checks
              .filter((c) => !c.passed)
              .map((c) => `  ✗ ${c.check} ${JSON.stringify(c.details ?? '')}`),
            `${r.checks.filter((c) => c.passed).length}/${r.checks.length} checks passed`,
            'execute will:',
            ...r.plan.map((s, i) => `  ${i + 1}. ${s}`),
          ].join('\n'),
        );
        return r.valid ? 0 : 1;
      }),
    );
  cmd
    .command('execute <point>')
    .description(
      'roll back through the point: short locks with retries, validated, then ready for cutover again',
    )
    .requiredOption('--reason <text>', 'why (recorded with the point and the operation)')
    .option(
      '--lock-timeout <ms>',
      'longest the application may wait behind one rollback attempt',
      whole('--lock-timeout', { min: 1 }),
      100,
    )
    .option(
      '--attempts <n>',
      'lock attempts (jittered backoff between them) before giving up (database unchanged)',
      whole('--attempts', { min: 1 }),
      150,
    )
    .option('--skip-checksums', 'skip the row comparison before locking (structural checks still run)')
    .addOption(noMonitor())
    .addOption(monitorInterval())
    .action(
      action(async (opts, point: string) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = engineRenderer(Boolean(opts.json));
        try {
          const res = await monitored(opts, url, 'rollback', r.onEvent, (onEvent) =>
            executeRollback(url, point, {
              reason: opts.reason,
              lockTimeoutMs: opts.lockTimeout,
              attempts: opts.attempts,
              skipChecksums: Boolean(opts.skipChecksums),
              onEvent,
            }),
          );
          r.stop();
          emit(
            opts,
            { event: 'rollback.done', ...res },
            `rolled back through ${res.point} after ${res.attempts} attempt(s) in ${res.wallSeconds.toFixed(1)} s; locks held ${res.lockHeldMs} ms; ${res.drainedBeforeLock + res.drainedUnderLock} reverse changes applied; run ${res.runId} is ready_for_cutover`,
          );
        } finally {
          r.stop();
        }
      }),
    );
  cmd
    .command('cleanup')
    .description(
      'drop rollback copies of finalized points past retention (safety.cleanup_old_rollback_points)',
    )
    .option('--older-than <days>', 'e.g. 30d', days, 30)
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await cleanupRollbackPoints(url, opts.olderThan);
        emit(opts, { event: 'rollback.cleanup', ...r }, () =>
          [
            `dropped the copies of ${r.dropped.length} point(s), ${mib(r.dropped.reduce((a, d) => a + Number(d.bytes), 0))}`,
            ...r.open_windows.map(
              (w) => `  window ${w.rollback_point} open since ${w.since}: close it with ${w.close_with}`,
            ),
          ].join('\n'),
        );
      }),
    );
  cmd
    .command('status')
    .description('is a rollback window open, since when, and its cost')
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const w = await rollbackWindow(url);
        emit(opts, { event: 'rollback.status', ...w }, () =>
          w.open
            ? `rollback window OPEN since ${w.since?.toISOString()} (point ${w.point}): reverse capture on ${w.tablesWithReverseCapture} tables, backlog ${w.reverseBacklog}${w.oldestPendingSeconds === null ? '' : ` (oldest ${w.oldestPendingSeconds.toFixed(0)} s)`}, rollback copy ${mib(w.copyBytes)}; close with \`dfc finalize\``
            : `no rollback window open${w.point ? ` (latest point ${w.point}: ${w.state}${w.copyBytes ? `, copy ${mib(w.copyBytes)} kept until ${w.expiresAt?.toISOString()}` : ''})` : ''}`,
        );
      }),
    );
  program
    .command('finalize')
    .description('close the rollback window: end reverse capture, schedule (or drop) the rollback copy')
    .option(
      '--keep-days <n>',
      'keep the copy this many days for `dfc rollback cleanup`',
      whole('--keep-days', { min: 0 }),
      7,
    )
    .option('--drop-now', 'drop the rollback copy now')
    .option(
      '--lock-timeout <ms>',
      'lock_timeout of each trigger drop (retried)',
      whole('--lock-timeout', { min: 1 }),
      500,
    )
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await finalizeCutover(url, {
          keepDays: opts.keepDays,
          dropNow: Boolean(opts.dropNow),
          lockTimeoutMs: opts.lockTimeout,
        });
        emit(
          opts,
          { event: 'finalize.done', ...r },
          `rollback window of ${r.point} closed: reverse capture removed from ${r.triggersDropped} tables, ${r.backlogDiscarded} pending changes discarded; ${r.copyDropped ? 'rollback copy dropped' : `rollback copy kept until ${r.expiresAt?.toISOString()}`}`,
        );
      }),
    );
}
