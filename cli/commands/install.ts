/** `dfc install`: schema v2 on an empty database (src/install.ts). */
import type { Command } from 'commander';
import { installV2, redactUrl, resolveTarget } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description(
      'install schema v2 on an empty database in one transaction (new installs; records golang-migrate version 17)',
    )
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await installV2(target.url);
        emit(
          opts,
          { event: 'install.done', target: redactUrl(target.url), ...r },
          `schema v2 installed on ${redactUrl(target.url)} in ${r.seconds.toFixed(2)} s: ${r.tables} tables, ` +
            `${r.materializedViews} materialized views, ${r.views} view, ${r.indexes} indexes, ${r.constraints} constraints, ` +
            `${r.triggers} triggers, ${r.functions} functions; schema_migrations = (${r.migrationVersion}, false)`,
        );
      }),
    );
}
