/** `dfc migrate up|down|status|force`: the golang-migrate compatible runner (src/migrate/runner.ts). */
import path from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DfcError,
  forceVersion,
  LEGACY_DIR,
  type LintFinding,
  lintMigrations,
  type MigrateEvent,
  migrateDown,
  migrateUp,
  migrationStatus,
  newMigration,
  type RunResult,
  resolveTarget,
  traceMigration,
  verifyMigrations,
} from '../../src/index.js';
import { emit } from '../output.js';
import { action, type Opts } from '../run.js';

function integer(raw: unknown, what: string): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
    throw new DfcError('DFC_CONFIG', `${what} must be a whole number, got "${String(raw)}"`, {
      fix: `pass ${what} as digits, e.g. 12`,
    });
  }
  return n;
}

function migrationsDir(opts: Opts): string {
  if (opts.dir && opts.legacy) {
    throw new DfcError('DFC_CONFIG', '--dir and --legacy are mutually exclusive', {
      fix: 'pass one of them',
    });
  }
  if (opts.legacy) return LEGACY_DIR;
  if (opts.dir) return opts.dir as string;
  throw new DfcError('DFC_CONFIG', 'no migration directory given', {
    fix: 'pass --dir DIR (NNNNNN_name.up.sql / .down.sql files) or --legacy for the shipped DomainFlow history',
  });
}

const fmt = (v: number | null) => (v === null ? 'none' : String(v));

function render(opts: Opts) {
  return (e: MigrateEvent) => {
    if (e.type === 'lock.waiting')
      emit(opts, { event: 'migrate.lock.waiting', message: e.message }, `waiting: ${e.message}`);
    else if (e.type === 'backup.done')
      emit(opts, { event: 'migrate.backup', name: e.name, message: e.message }, e.message);
    else if (e.type === 'migration.start')
      emit(
        opts,
        { event: 'migrate.start', ...e },
        () => `${e.direction === 'up' ? '↑' : '↓'} ${e.file} (${e.mode}) …`,
      );
    else emit(opts, { event: 'migrate.done', ...e }, `  done in ${e.ms} ms, version now ${fmt(e.now)}`);
  };
}

function summary(opts: Opts, r: RunResult): void {
  emit(
    opts,
    { event: 'migrate.result', from: r.from, to: r.to, files: r.steps.length, backup: r.backup ?? null },
    r.steps.length === 0
      ? `no change (version ${fmt(r.to)})`
      : `${r.steps.length} file(s): version ${fmt(r.from)} → ${fmt(r.to)}`,
  );
}

function runOptions(opts: Opts) {
  return {
    dir: migrationsDir(opts),
    to: opts.to === undefined ? undefined : integer(opts.to, '--to'),
    baseline: opts.baseline === undefined ? undefined : integer(opts.baseline, '--baseline'),
    backup: opts.backup !== false,
    wait: Boolean(opts.wait),
    lockTimeoutMs: integer(opts.lockTimeout ?? String(DEFAULT_LOCK_TIMEOUT_MS), '--lock-timeout'),
    onEvent: render(opts),
  };
}

export function registerMigrate(program: Command): void {
  const m = program
    .command('migrate')
    .description(
      'golang-migrate compatible runner: schema_migrations(version, dirty), same files, same lock',
    );
  const source = (c: Command) =>
    c
      .option('--dir <dir>', 'directory of NNNNNN_name.up.sql / .down.sql files')
      .option('--legacy', 'the shipped DomainFlow history (db/legacy)')
      .option(
        '--baseline <version>',
        'version the directory starts after (default 17 when its first file is above 17; 0 = none)',
      );
  const running = (c: Command) =>
    source(c)
      .option('--wait', 'wait for another runner to finish instead of failing')
      .option('--no-backup', 'do not take the incremental backup before files past 17')
      .option(
        '--lock-timeout <ms>',
        'lock_timeout for migration statements (0 = none)',
        String(DEFAULT_LOCK_TIMEOUT_MS),
      );

  running(m.command('up'))
    .description('apply pending migrations (up to --to N)')
    .option('--to <version>', 'last version to apply')
    .action(
      action(async (opts) => {
        const run = runOptions(opts);
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        summary(opts, await migrateUp(url, run));
      }),
    );

  running(m.command('down'))
    .description('revert migrations down to --to N; without --to all of them (empty schema_migrations)')
    .option('--to <version>', 'version to end at (0 = no version)')
    .action(
      action(async (opts) => {
        const run = runOptions(opts);
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        summary(opts, await migrateDown(url, run));
      }),
    );

  source(m.command('status'))
    .description('current version, dirty flag, applied and pending files')
    .action(
      action(async (opts) => {
        const dir = migrationsDir(opts);
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const baseline = opts.baseline === undefined ? undefined : integer(opts.baseline, '--baseline');
        const s = await migrationStatus(url, { dir, baseline });
        emit(opts, { event: 'migrate.status', dir, ...s }, () => {
          const lines = [
            `version ${fmt(s.version)}${s.dirty ? ' DIRTY (fix, then `dfc migrate force V`)' : ''}`,
          ];
          if (!s.known) lines.push(`  warning: version ${s.version} is not in ${dir}`);
          if (s.baseline !== null) lines.push(`  [x] ${s.baseline} (baseline: schema v2 / legacy history)`);
          for (const a of s.applied) lines.push(`  [x] ${a.version} ${a.name}`);
          for (const p of s.pending) lines.push(`  [ ] ${p.version} ${p.name}`);
          lines.push(`${s.applied.length} applied, ${s.pending.length} pending`);
          return lines.join('\n');
        });
      }),
    );

  m.command('new')
    .description('create the next-numbered NNNNNN_name.up.sql / .down.sql pair from the template')
    .argument('<title>', 'what the migration does, e.g. "add campaign analytics"')
    .option('--dir <dir>', 'where to create the files', 'migrations')
    .action(
      action(async (opts, title: string) => {
        // number after the database only when one is named; never start the embedded cluster for it
        const named =
          opts.databaseUrl || process.env.DATABASE_URL || process.env.PGHOST || process.env.PGDATABASE;
        const url = named ? (await resolveTarget({ databaseUrl: opts.databaseUrl })).url : undefined;
        const r = await newMigration({ title, dir: opts.dir, url });
        emit(opts, { event: 'migrate.new', ...r }, () =>
          [
            `created ${r.up}`,
            `created ${r.down}`,
            `  version ${r.version}: after ${r.after.database !== null ? `database version ${r.after.database}, ` : ''}` +
              `highest file ${r.after.highestFile ?? 'none'}, baseline ${r.after.baseline}`,
            ...(r.databaseNote ? [`  note: ${r.databaseNote}`] : []),
          ].join('\n'),
        );
      }),
    );

  m.command('lint')
    .description(
      'check migration files for what breaks zero-downtime deploys (PostgreSQL parser; no database)',
    )
    .argument('[paths...]', 'files or directories (default ./migrations)')
    .action(
      action(async (opts, paths: string[]) => {
        const r = await lintMigrations(paths ?? []);
        const human = (f: LintFinding) =>
          `${f.file}:${f.line}:${f.column}: ${f.acknowledged === undefined ? f.severity : 'acknowledged'} [${f.rule}] ${f.message}` +
          (f.acknowledged === undefined
            ? `\n  why: ${f.why}\n  instead: ${f.instead}\n  acknowledge: -- dfc-lint-ignore: ${f.rule} <reason>`
            : `\n  reason: ${f.acknowledged}`);
        for (const f of r.findings) emit(opts, { event: 'lint.finding', ...f }, () => human(f));
        emit(
          opts,
          {
            event: 'lint.result',
            files: r.files.length,
            errors: r.errors,
            warnings: r.warnings,
            acknowledged: r.acknowledged,
            ok: r.ok,
          },
          `${r.files.length} file(s): ${r.errors} error(s), ${r.warnings} warning(s), ${r.acknowledged} acknowledged`,
        );
        return r.ok ? 0 : 1;
      }),
    );

  m.command('trace')
    .description(
      'run FILE on a scratch copy of the database: locks per statement, tables rewritten, duration',
    )
    .argument('<file>', 'a migration file (its directory brings a busy database to the same version)')
    .action(
      action(async (opts, file: string) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await traceMigration(url, file);
        for (const st of r.statements)
          emit(opts, { event: 'trace.statement', file: r.file, ...st }, () =>
            [
              `#${st.index} line ${st.line}: ${st.statement}`,
              `  ${st.ms} ms${st.sampled ? ' (outside a transaction; locks sampled)' : ''}`,
              ...st.locks.map((l) => `  lock ${l.mode} on ${l.relation}`),
              ...st.rewritten.map((w) => `  REWRITE ${w.relation} (~${w.rows} rows)`),
              ...(st.error ? [`  FAILED: ${st.error}`] : []),
            ].join('\n'),
          );
        emit(
          opts,
          {
            event: 'trace.result',
            file: r.file,
            scratch: r.scratch,
            statements: r.statements.length,
            ok: r.ok,
          },
          `${r.statements.length} statement(s) traced on a scratch ${r.scratch === 'clone' ? 'copy (schema + rows)' : 'v2 install (schema only: the database was busy)'}; the target was not changed`,
        );
        return r.ok ? 0 : 1;
      }),
    );

  source(m.command('verify'))
    .description('up, down, up again for each pending migration on a scratch copy; compares catalogs')
    .argument('[paths...]', 'a directory, or files of one directory (default ./migrations or --dir)')
    .action(
      action(async (opts, paths: string[]) => {
        const files = paths ?? [];
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        let dir = opts.dir ?? (opts.legacy ? migrationsDir(opts) : 'migrations');
        let versions: number[] | undefined;
        if (files.length === 1 && !files[0]!.endsWith('.sql')) dir = files[0]!;
        else if (files.length) {
          dir = path.dirname(files[0]!);
          versions = files.map((f) => integer(path.basename(f).split('_')[0] ?? '', `the version of ${f}`));
        }
        const baseline = opts.baseline === undefined ? undefined : integer(opts.baseline, '--baseline');
        const r = await verifyMigrations(url, { dir, versions, baseline });
        for (const st of r.steps)
          emit(opts, { event: 'verify.migration', ...st }, () =>
            [
              `${st.version} ${st.name}: down ${st.downRestores ? 'restores the catalog' : 'DOES NOT restore the catalog'}, ` +
                `up ${st.upRepeatable ? 'is repeatable' : 'IS NOT repeatable'}`,
              ...st.downDiff.map((d) => `  down: ${d}`),
              ...st.reupDiff.map((d) => `  up again: ${d}`),
              ...(st.error ? [`  FAILED: ${st.error}`] : []),
            ].join('\n'),
          );
        emit(
          opts,
          {
            event: 'verify.result',
            dir: r.dir,
            scratch: r.scratch,
            from: r.from,
            migrations: r.steps.length,
            ok: r.ok,
          },
          `${r.steps.length} migration(s) verified from version ${fmt(r.from)} on a scratch ${r.scratch}: ${r.ok ? 'ok' : 'FAILED'}`,
        );
        return r.ok ? 0 : 1;
      }),
    );

  m.command('force')
    .description('set the version without running SQL (clears dirty); -1 or 0 = no version')
    .argument('<version>', 'version to record')
    .option('--wait', 'wait for another runner to finish instead of failing')
    .action(
      action(async (opts, version: string) => {
        const v = integer(version, 'version');
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await forceVersion(url, v, { wait: Boolean(opts.wait), onEvent: render(opts) });
        emit(
          opts,
          { event: 'migrate.forced', before: r.before, version: r.version, dirty: false },
          `version forced: ${fmt(r.before.version)}${r.before.dirty ? ' (dirty)' : ''} → ${fmt(r.version)} (clean)`,
        );
      }),
    );
}
