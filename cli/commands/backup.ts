/** `dfc backup create | verify | incremental | list | cleanup | restore` (guide step 2). */
import type { Command } from 'commander';
import {
  cleanupBackups,
  createBackup,
  incrementalBackup,
  listBackups,
  parseAge,
  resolveTarget,
  restoreBackup,
  verifyBackup,
} from '../../src/index.js';
import { engineRenderer } from '../engine-render.js';
import { emit } from '../output.js';
import { action } from '../run.js';

const target = async (opts: { databaseUrl?: string }) =>
  (await resolveTarget({ databaseUrl: opts.databaseUrl })).url;

export function registerBackup(program: Command): void {
  const cmd = program
    .command('backup')
    .description('consistent backups of every DomainFlow table (guide step 2)');
  cmd
    .command('create')
    .description(
      'one REPEATABLE READ snapshot into schema dfc_backup_<name>; --to-dir also writes a portable archive',
    )
    .option('--name <name>', 'backup name (default pre_consolidation_YYYYMMDD_HHMMSS)')
    .option('--to-dir <dir>', 'also write DIR/<name>: per-table COPY files, schema, manifest with SHA-256')
    .action(
      action(async (opts) => {
        const r = engineRenderer(Boolean(opts.json));
        try {
          const res = await createBackup(await target(opts), {
            name: opts.name,
            toDir: opts.toDir,
            onEvent: r.onEvent,
          });
          r.stop();
          emit(
            opts,
            { event: 'backup.created', ...res },
            `backup ${res.backupId}: ${res.tables} tables, ${res.rows} rows in ${res.location}${res.archiveDir ? ` and ${res.archiveDir}` : ''} (${res.seconds.toFixed(1)} s, ${Math.round(res.rows / Math.max(res.seconds, 0.001))} rows/s)`,
          );
        } finally {
          r.stop();
        }
      }),
    );
  cmd
    .command('verify <name>')
    .description('recompute every copy (and archive file) and report changed, missing and added rows')
    .action(
      action(async (opts, name: string) => {
        const v = await verifyBackup(await target(opts), name);
        emit(opts, { event: 'backup.verify', ...v }, () => {
          const lines = [
            `backup ${v.backup_id}: ${v.valid ? 'VALID' : 'INVALID'} (${v.tables_checked} tables checked)`,
          ];
          for (const p of v.problems)
            lines.push(
              `  ${p.table ?? ''} ${p.problem}${p.changed !== undefined ? `: ${p.changed} changed, ${p.missing} missing, ${p.added} added` : ''}${p.samples?.length ? ` e.g. ${p.samples.map((s) => `${s.kind} ${JSON.stringify(s.key)}`).join(', ')}` : ''}`,
            );
          if (v.archive)
            lines.push(`  archive ${v.archive.dir}: ${v.archive.valid ? 'intact' : v.archive.problem}`);
          return lines.join('\n');
        });
        return v.valid ? 0 : 1;
      }),
    );
  cmd
    .command('incremental')
    .description('capture rows added, changed or removed since a base backup (by primary key and row hash)')
    .requiredOption('--base <name>', "base backup name, or 'latest'")
    .option('--name <name>', 'backup name (default incremental_YYYYMMDD_HHMMSS)')
    .action(
      action(async (opts) => {
        const r = await incrementalBackup(await target(opts), opts.base, { name: opts.name });
        emit(
          opts,
          { event: 'backup.incremental', ...r },
          `incremental backup ${r.backup_id} on ${r.base}: ${r.changed_rows} rows added or changed, ${r.removed_rows} removed, in ${r.location}`,
        );
      }),
    );
  cmd
    .command('list')
    .description('registered backups with status, size and whether their schema and archive still exist')
    .action(
      action(async (opts) => {
        const list = await listBackups(await target(opts));
        if (opts.json) for (const b of list) emit(opts, { event: 'backup', ...b }, '');
        else {
          const rows = list.map(
            (b) =>
              `${b.backup_id.padEnd(34)} ${b.backup_type.padEnd(17)} ${b.status.padEnd(9)} ${String(b.rows).padStart(9)} rows  ${new Date(b.created_at).toISOString()}  schema ${b.schema_present ? 'yes' : 'no'}${b.archive_dir ? `  archive ${b.archive_present ? 'yes' : 'MISSING'}` : ''}`,
          );
          process.stdout.write(`${rows.length ? rows.join('\n') : 'no backups'}\n`);
        }
      }),
    );
  cmd
    .command('cleanup')
    .description(
      'drop backups older than the given age (schemas and archives; registry rows kept as dropped)',
    )
    .requiredOption('--older-than <age>', 'e.g. 30d, 12h')
    .action(
      action(async (opts) => {
        const r = await cleanupBackups(await target(opts), parseAge(opts.olderThan));
        emit(
          opts,
          { event: 'backup.cleanup', ...r },
          r.dropped.length ? `dropped ${r.dropped.map((d) => d.backup_id).join(', ')}` : 'nothing to drop',
        );
      }),
    );
  cmd
    .command('restore <name>')
    .description(
      'rebuild the backup (an incremental: its base + chain) in an empty or new database; commits only if every checksum matches',
    )
    .requiredOption(
      '--into-database <db>',
      'target database on the same server (created if missing; must be empty)',
    )
    .option('--from-dir <dir>', 'restore from the archive in DIR (checked against its manifest first)')
    .action(
      action(async (opts, name: string) => {
        const r = engineRenderer(Boolean(opts.json));
        try {
          const res = await restoreBackup(await target(opts), name, {
            intoDatabase: opts.intoDatabase,
            fromDir: opts.fromDir,
            onEvent: r.onEvent,
          });
          r.stop();
          emit(
            opts,
            { event: 'backup.restored', ...res },
            `restored ${res.backupId}${res.chain ? ` (chain ${res.chain.join(' → ')})` : ''} into ${res.database}: ${res.tables} tables, ${res.rows} rows, checksums match (${res.seconds.toFixed(1)} s)${res.catalogDifferences ? `; catalog differences: ${res.catalogDifferences.length}` : ''}${res.skipped.length ? `\n  skipped: ${res.skipped.join('\n  skipped: ')}` : ''}`,
          );
        } finally {
          r.stop();
        }
      }),
    );
}
