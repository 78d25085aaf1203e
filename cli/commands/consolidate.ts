/** `dfc consolidate [--dry-run] | status | pause | resume | abort`, `dfc cutover`, `dfc verify`. */
import type { Command } from 'commander';
import {
  abortConsolidation,
  consolidate,
  consolidationStatus,
  cutover,
  DEFAULT_LANES,
  DfcError,
  follow,
  type InvalidPolicy,
  parseFaults,
  planConsolidation,
  planCutoverDry,
  resolveTarget,
  setPaused,
  verify,
} from '../../src/index.js';
import { cutoverLines, quarantineLines, typeChangeLines } from '../carry-render.js';
import { engineRenderer } from '../engine-render.js';
import { monitored, monitorInterval, noMonitor } from '../monitoring.js';
import { whole } from '../options.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerConsolidate(program: Command): void {
  const cmd = program
    .command('consolidate')
    .description('phases 2-3: build v2 beside legacy while the application runs (ends ready_for_cutover)')
    .option('--dry-run', 'validate and print the full plan; change nothing')
    .option('--batch-size <n>', 'rows per backfill batch', whole('--batch-size', { min: 1 }), 50000)
    .option('--batch-delay <ms>', 'pause between batches', whole('--batch-delay', { min: 0 }), 0)
    .option(
      '--max-lock-wait <ms>',
      'lock_timeout for each DDL on a live table (retried with backoff)',
      whole('--max-lock-wait', { min: 1 }),
      500,
    )
    .option(
      '--statement-timeout <ms>',
      'the bound on any one statement of ours that is not retried (index builds, scans)',
      whole('--statement-timeout', { min: 1 }),
      6 * 3600 * 1000,
    )
    .option(
      '--throttle-active <n>',
      'back off while more sessions than this are active',
      whole('--throttle-active', { min: 1 }),
      64,
    )
    .option(
      '--throttle-lock-waits <n>',
      'back off while more lock requests than this wait',
      whole('--throttle-lock-waits', { min: 0 }),
      8,
    )
    .option(
      '--throttle-lag <ms>',
      'back off while replication lag exceeds this',
      whole('--throttle-lag', { min: 1 }),
      5000,
    )
    .option(
      '--lanes <n>',
      'sessions that copy and build primary keys, indexes and constraints of different shadow tables side by side',
      whole('--lanes', { min: 1 }),
      DEFAULT_LANES,
    )
    .option(
      '--index-workers <n>',
      "parallel workers per index and primary-key build (max_parallel_maintenance_workers; default the server's; npm run bench:index-builds measures it on your machine)",
      whole('--index-workers', { min: 0 }),
    )
    .option(
      '--cancel-blockers-after <ms>',
      'after trying this long to install the capture triggers, cancel the statements blocking them (never superusers, replication or dfc; a transaction idle that long with its locks is terminated); each is reported',
      whole('--cancel-blockers-after', { min: 1 }),
    )
    .option('--on-invalid <policy>', 'rows that cannot convert: abort (default) or quarantine', 'abort')
    .option(
      '--follow',
      'once ready_for_cutover, keep applying captured changes until the cutover (it yields the lock to it) or Ctrl-C',
    )
    .addOption(noMonitor())
    .addOption(monitorInterval())
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        if (opts.dryRun) {
          const plan = await planConsolidation(url);
          emit(opts, { event: 'consolidate.plan', ...plan }, () => renderPlan(plan));
          return plan.conversionIssues.length && opts.onInvalid === 'abort' ? 1 : 0;
        }
        if (opts.onInvalid !== 'abort' && opts.onInvalid !== 'quarantine')
          throw new DfcError('DFC_CONFIG', `unknown --on-invalid policy "${opts.onInvalid}"`, {
            fix: 'use abort or quarantine',
          });
        const r = engineRenderer(Boolean(opts.json));
        try {
          const result = await monitored(opts, url, 'consolidate', r.onEvent, (onEvent) =>
            consolidate(url, {
              batchSize: opts.batchSize,
              lanes: opts.lanes,
              indexWorkers: opts.indexWorkers,
              cancelBlockersAfterMs: opts.cancelBlockersAfter,
              onInvalid: opts.onInvalid as InvalidPolicy,
              throttle: {
                batchDelayMs: opts.batchDelay,
                maxActiveSessions: opts.throttleActive,
                maxLockWaits: opts.throttleLockWaits,
                maxReplicationLagMs: opts.throttleLag,
              },
              session: { lockTimeoutMs: opts.maxLockWait, statementTimeoutMs: opts.statementTimeout },
              onEvent,
              // the one test seam the shipped CLI reads (README: DFC_FAULT)
              faults: parseFaults(process.env.DFC_FAULT),
            }),
          );
          r.stop();
          emit(
            opts,
            { event: 'consolidate.done', ...result },
            [
              `consolidation run ${result.runId}: ${result.state} in ${result.seconds.toFixed(1)} s${result.resumed ? ' (resumed)' : ''}`,
              ...quarantineLines(result.quarantine),
            ].join('\n'),
          );
          if (opts.follow) {
            // Ctrl-C while following: finish the batch in hand, let go of the lock, exit 0
            const stop = new AbortController();
            const onSignal = () => stop.abort();
            process.once('SIGINT', onSignal);
            process.once('SIGTERM', onSignal);
            try {
              const f = await follow(url, { signal: stop.signal, onEvent: r.onEvent });
              emit(
                opts,
                { event: 'consolidate.follow.done', ...f },
                `follower: ${f.applied} changes applied in ${f.seconds.toFixed(1)} s, yielded ${f.yielded} time(s); stopped (${f.stoppedBy === 'signal' ? 'interrupted' : `run is ${f.state}`})`,
              );
            } finally {
              process.off('SIGINT', onSignal);
              process.off('SIGTERM', onSignal);
            }
          }
        } finally {
          r.stop();
        }
      }),
    );
  cmd
    .command('status')
    .description(
      "per table legacy vs shadow counts and checksums, capture backlog (validate_migration_step('post_data_migration'))",
    )
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const s = await consolidationStatus(url);
        emit(opts, { event: 'consolidate.status', ...s }, () =>
          [
            `run ${s.runId ?? '-'}: ${s.state}${s.paused ? ' (paused)' : ''}; capture backlog ${s.captureBacklog}, reverse backlog ${s.reverseBacklog}; invalid indexes: ${s.invalidIndexes.join(', ') || 'none'}`,
            `  lag: ${s.lag.rows} changes not yet applied, oldest ${s.lag.seconds.toFixed(1)} s; follower ${s.follower ? `running (pid ${s.follower.pid}, since ${s.follower.since})` : 'not running'}`,
            ...s.tables.map(
              (t) =>
                `  ${t.table.padEnd(44)} legacy ${String(t.legacyRows).padStart(9)}  shadow ${String(t.shadowRows).padStart(9)}  ${t.checksumsMatch ? 'in sync' : 'differs'}${t.backfillDone ? '' : ' (copying)'}`,
            ),
            ...quarantineLines(s.quarantine),
          ].join('\n'),
        );
      }),
    );
  cmd
    .command('abort')
    .description(
      'undo an unfinished consolidation: capture triggers, shadow schemas and pending changes removed; legacy untouched',
    )
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await abortConsolidation(url, { onEvent: engineRenderer(Boolean(opts.json)).onEvent });
        emit(
          opts,
          { event: 'consolidate.aborted', ...r },
          `run ${r.runId} aborted; capture removed from ${r.triggersRemoved} legacy tables, shadow schemas dropped`,
        );
      }),
    );
  for (const [name, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const)
    cmd
      .command(name)
      .description(`${name} the running consolidation between batches`)
      .action(
        action(async (opts) => {
          const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
          const ok = await setPaused(url, paused);
          emit(opts, { event: `consolidate.${name}`, ok }, ok ? `${name}d` : 'no active consolidation');
          return ok ? 0 : 1;
        }),
      );

  program
    .command('cutover')
    .description('phase 4: atomic switch to v2 with a short lock timeout; commits only if validation passes')
    .option('--dry-run', 'print the cutover plan, step by step; change nothing')
    .option(
      '--lock-timeout <ms>',
      'longest the application may wait behind one cutover attempt',
      whole('--lock-timeout', { min: 1 }),
      100,
    )
    .option(
      '--attempts <n>',
      'lock attempts (jittered backoff between them) before giving up (database unchanged)',
      whole('--attempts', { min: 1 }),
      150,
    )
    .option(
      '--cancel-blockers-after <ms>',
      'after trying this long, cancel the statements blocking the cutover locks (never superusers, replication or dfc; a transaction idle that long with its locks is terminated); each is reported',
      whole('--cancel-blockers-after', { min: 1 }),
    )
    .option(
      '--reset-app-sessions',
      "after commit, end the application's sessions (idle at once, busy when their statement ends) so clients with cached prepared statements reconnect",
    )
    .addOption(noMonitor())
    .addOption(monitorInterval())
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const options = {
          lockTimeoutMs: opts.lockTimeout,
          attempts: opts.attempts,
          resetAppSessions: Boolean(opts.resetAppSessions),
          cancelBlockersAfterMs: opts.cancelBlockersAfter,
        };
        if (opts.dryRun) {
          const plan = await planCutoverDry(url, options);
          emit(opts, { event: 'cutover.plan', ...plan }, () => renderCutoverPlan(plan));
          return plan.ready ? 0 : 1;
        }
        const r = engineRenderer(Boolean(opts.json));
        const result = await monitored(opts, url, 'cutover', r.onEvent, (onEvent) =>
          cutover(url, { ...options, onEvent, faults: parseFaults(process.env.DFC_FAULT) }),
        );
        emit(
          opts,
          { event: 'cutover.done', ...result },
          [
            result.resumed
              ? `cutover had committed (run ${result.runId}, rollback point ${result.rollbackPoint}); its after-commit steps were left unfinished and are done now`
              : `cutover committed after ${result.attempts} attempt(s); locks held ${result.lockHeldMs} ms; ${result.drainedUnderLock} changes applied under the lock; ${result.validation.length} checks passed`,
            ...cutoverLines(result),
          ].join('\n'),
        );
      }),
    );
  program
    .command('verify')
    .description(
      'comprehensive validation: integrity, v2 vs rollback copy, catalog diff against a fresh install',
    )
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const rep = await verify(url);
        emit(opts, { event: 'verify.done', ...rep }, () =>
          [
            ...rep.checks
              .filter((c) => !c.passed)
              .map((c) => `  ✗ ${c.category}: ${c.check} ${JSON.stringify(c.details ?? '')}`),
            `${rep.checks.filter((c) => c.passed).length}/${rep.checks.length} checks passed: ${rep.passed ? 'PASS' : 'FAIL'}`,
          ].join('\n'),
        );
        return rep.passed ? 0 : 1;
      }),
    );
}

function renderPlan(plan: Awaited<ReturnType<typeof planConsolidation>>): string {
  const lines = ['Consolidation plan (dry run; nothing changed): the steps `dfc consolidate` runs, in order'];
  let phase = '';
  plan.steps.forEach((s, i) => {
    if (s.phase !== phase) {
      phase = s.phase;
      lines.push(`  [${phase}]`);
    }
    lines.push(
      `  ${String(i + 1).padStart(3)}. ${s.id}${s.tx === 'none' ? '' : ` (${s.tx})`}${s.concurrent ? ' [concurrent]' : ''}: ${s.description.summary}`,
    );
  });
  lines.push(
    `  [concurrent]: runs beside its [concurrent] neighbours, one table per session (--lanes, default ${DEFAULT_LANES})`,
    '',
  );
  for (const t of plan.tables) {
    lines.push(
      `  ${t.table} -> ${t.shadow}: ~${t.rowsEstimate} rows, ${(t.bytes / 1048576).toFixed(1)} MiB; ${t.indexes.length + t.uniques.length} indexes, ${t.checks.length} checks, ${t.foreignKeys.length} FKs, ${t.triggers.length} triggers`,
    );
    for (const x of t.transformedColumns) lines.push(`      ${x.column} := ${x.expression}`);
    if (t.newColumns.length) lines.push(`      new columns: ${t.newColumns.join(', ')}`);
  }
  lines.push(
    '',
    `rows to copy ≈ ${plan.totalRows}; extra disk ≈ ${(plan.extraDiskBytes / 1048576).toFixed(1)} MiB; estimated ≈ ${plan.estimatedSeconds} s`,
  );
  for (const i of plan.conversionIssues)
    lines.push(`  ! ${i.id}: ${i.count} rows (${i.reason}); fix: ${i.fix}`);
  for (const a of plan.assumptions) lines.push(`  assumes ${a}`);
  lines.push(...typeChangeLines(plan.typeChanges, false));
  return lines.join('\n');
}

function renderCutoverPlan(plan: Awaited<ReturnType<typeof planCutoverDry>>): string {
  const lines = [
    `Cutover plan (dry run; nothing changed): the steps \`dfc cutover\` runs, in order; lock timeout ${plan.lockTimeoutMs} ms, ${plan.attempts} attempts`,
  ];
  let phase = '';
  plan.steps.forEach((s, i) => {
    if (s.phase !== phase) {
      phase = s.phase;
      lines.push(`  [${phase}]`);
    }
    lines.push(
      `  ${String(i + 1).padStart(3)}. ${s.id}${s.tx === 'none' ? '' : ` (${s.tx})`}: ${s.description.summary}`,
    );
  });
  lines.push(...typeChangeLines(plan.typeChanges, false));
  if (!plan.ready)
    lines.push(
      `not ready: the run is ${plan.state}; run \`dfc consolidate\` until it reports ready_for_cutover`,
    );
  return lines.join('\n');
}
