/** `dfc integrity setup | run | status` (guide: setup_standard_integrity_checks, run_all_integrity_checks, get_integrity_status). */
import type { Command } from 'commander';
import { integrityStatus, resolveTarget, runIntegrityChecks, setupIntegrityChecks } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

const target = async (opts: { databaseUrl?: string }) =>
  (await resolveTarget({ databaseUrl: opts.databaseUrl })).url;

export function registerIntegrity(program: Command): void {
  const cmd = program
    .command('integrity')
    .description('integrity monitoring: orphans per FK, invalid objects, sequences, matviews, backups');
  cmd
    .command('setup')
    .description(
      'register the standard checks and one orphan check per foreign key (idempotent; rerun after schema changes)',
    )
    .action(
      action(async (opts) => {
        const r = await setupIntegrityChecks(await target(opts));
        emit(
          opts,
          { event: 'integrity.setup', ...r },
          `${r.total} checks enabled; added ${r.added.length}${r.disabled.length ? `, disabled ${r.disabled.join(', ')}` : ''}`,
        );
      }),
    );
  cmd
    .command('run')
    .description(
      'run every enabled check; violations are recorded with time and sample keys (exit 1 on a critical one)',
    )
    .action(
      action(async (opts) => {
        const url = await target(opts);
        const r = await runIntegrityChecks(url);
        const status = await integrityStatus(url);
        const bad = status.filter((s) => s.status !== 'ok');
        emit(opts, { event: 'integrity.run', ...r, failing: bad }, () =>
          [
            `${r.checks} checks: ${r.violations} violating rows, ${r.errors} errors`,
            ...bad.map(
              (s) =>
                `  ${s.severity.padEnd(8)} ${s.check_name}: ${s.status === 'error' ? `error ${s.last_error}` : `${s.last_violation_count} — e.g. ${JSON.stringify(s.open_violation?.sample_keys?.slice(0, 3))}`}`,
            ),
          ].join('\n'),
        );
        return bad.some((s) => s.severity === 'critical' && s.status === 'violations') || r.errors > 0
          ? 1
          : 0;
      }),
    );
  cmd
    .command('status')
    .description('the integrity dashboard as of the last run')
    .action(
      action(async (opts) => {
        const s = await integrityStatus(await target(opts));
        if (opts.json) for (const x of s) emit(opts, { event: 'integrity.check', ...x }, '');
        else
          process.stdout.write(
            `${s.map((x) => `${x.status.padEnd(10)} ${x.severity.padEnd(8)} ${x.check_name}${x.last_violation_count ? ` (${x.last_violation_count})` : ''}${x.last_run_at ? ` at ${new Date(x.last_run_at).toISOString()}` : ''}`).join('\n') || 'no checks: dfc integrity setup'}\n`,
          );
      }),
    );
}
