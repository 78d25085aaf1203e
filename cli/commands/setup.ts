/** `dfc setup`: dfc's bookkeeping schemas on an existing DomainFlow database (src/setup.ts). */
import type { Command } from 'commander';
import { redactUrl, resolveTarget, setupBookkeeping } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description(
      "install or upgrade dfc's own schemas (consolidation, monitoring, safety, benchmarks) on a DomainFlow database, so the guide's setup calls work before consolidating; idempotent, touches nothing else",
    )
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await setupBookkeeping(target.url);
        emit(opts, { event: 'setup.done', target: redactUrl(target.url), ...r }, () => {
          const lines = [
            `${r.schema === 'legacy' ? `legacy DomainFlow at migration ${r.migrationVersion}` : 'DomainFlow schema v2'} on ${redactUrl(target.url)}: ` +
              (r.applied.length
                ? `bookkeeping ${r.applied.join(', ')} applied, now at version ${r.version}`
                : `bookkeeping already current (version ${r.version})`),
          ];
          for (const m of r.checksumMismatches)
            lines.push(
              `  warning: installed bookkeeping ${m.version}_${m.name} differs from the shipped file (not re-applied)`,
            );
          lines.push(
            '  next: SELECT safety.setup_standard_integrity_checks(); (guide "2. Setup Safety and Monitoring")',
          );
          return lines.join('\n');
        });
      }),
    );
}
