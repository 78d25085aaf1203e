/**
 * A golang-migrate compatible runner: same files, same schema_migrations contract, same dirty
 * semantics, same advisory lock id. Differences, all on the safe side:
 * - a transactional file commits together with its clean-version write (golang-migrate commits
 *   them separately, so a crash in between leaves a dirty flag on a finished migration);
 * - a file containing CONCURRENTLY runs one statement at a time outside a transaction (golang-
 *   migrate sends it as one multi-statement query, which PostgreSQL rejects with 25001);
 * - a statement error names the file and line, with the server's SQLSTATE, detail and hint.
 *
 * @example
 *   await migrateUp(url, { dir: LEGACY_DIR });            // → schema_migrations = (17, false)
 *   await migrateDown(url, { dir: LEGACY_DIR, to: 12 });  // runs 17..13 down → (12, false)
 *   await migrateDown(url, { dir: LEGACY_DIR });          // all the way: empty schema_migrations
 */
import path from 'node:path';
import type pg from 'pg';
import { ensureBookkeeping, recordOperation } from '../bookkeeping.js';
import { withClient } from '../db/connection.js';
import { DfcError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { incrementalBackup } from '../safety/backup.js';
import { loadMigrations, type Migration, type MigrationFile } from './files.js';
import { CONSOLIDATED_BASELINE } from './paths.js';
import { APPLICATION_NAME, type MigrateSession, openSession, type SessionOptions } from './session.js';
import { containsKeyword, lineAt, splitStatements } from './split.js';
import { ensureVersionTable, readVersion, setVersion, writeVersion } from './state.js';

export { loadMigrations, type Migration, type MigrationFile } from './files.js';
export { CONSOLIDATED_BASELINE, TEMPLATES_DIR } from './paths.js';
export { DEFAULT_LOCK_TIMEOUT_MS } from './session.js';
export { golangMigrateLockId } from './state.js';

/** Absolute path of DomainFlow's shipped history (db/legacy), from a checkout or node_modules. */
export const LEGACY_DIR: string = path.join(PACKAGE_ROOT, 'db', 'legacy');

export type MigrateEvent =
  | { type: 'lock.waiting'; message: string }
  | { type: 'backup.done'; name: string; message: string }
  | {
      type: 'migration.start';
      direction: 'up' | 'down';
      version: number;
      name: string;
      file: string;
      mode: string;
    }
  | {
      type: 'migration.done';
      direction: 'up' | 'down';
      version: number;
      name: string;
      file: string;
      /** schema_migrations version after this file (null = no version) */
      now: number | null;
      ms: number;
    };

export interface RunOptions extends Omit<SessionOptions, 'onWait'> {
  dir: string;
  /** up: the last version to apply; down: the version to end at (0 = no version) */
  to?: number;
  /**
   * The version the directory starts after (no file for it). Default: {@link CONSOLIDATED_BASELINE}
   * when the directory's first file is above it, else none.
   */
  baseline?: number;
  /** take an incremental backup before applying (default true; see backupBefore) */
  backup?: boolean;
  onEvent?: (e: MigrateEvent) => void;
}

export interface StepResult {
  direction: 'up' | 'down';
  version: number;
  name: string;
  file: string;
  ms: number;
}

export interface RunResult {
  from: number | null;
  to: number | null;
  steps: StepResult[];
  /** the pre-migration backup (only for files past the consolidated baseline) */
  backup?: BackupNote;
}

export interface BackupNote {
  taken: boolean;
  /** the incremental backup's name (`dfc backup list`) */
  name?: string;
  reason?: string;
}

/** The version before the directory's first file, or null (the directory starts at the beginning). */
export function baselineOf(migrations: Migration[], baseline?: number): number | null {
  const first = migrations[0]?.version;
  if (baseline !== undefined) {
    if (!Number.isSafeInteger(baseline) || baseline < 0 || (first !== undefined && baseline >= first)) {
      throw new DfcError('DFC_CONFIG', `--baseline ${baseline} is not below the first migration (${first})`, {
        fix: "give the version the database had before the directory's first file (17 for schema v2), or 0 for none",
      });
    }
    return baseline === 0 ? null : baseline;
  }
  return first !== undefined && first > CONSOLIDATED_BASELINE ? CONSOLIDATED_BASELINE : null;
}

/**
 * Before files past the consolidated baseline (a v2 database) run, an incremental backup on top of
 * the latest backup (safety.create_incremental_backup('latest', …), src/safety/backup.ts). No base
 * backup is a refusal (CONSOLIDATION_02) before anything runs. The legacy history (000001–000017)
 * builds databases and takes no backup.
 */
async function backupBefore(
  url: string,
  opts: RunOptions,
  pending: Migration[],
): Promise<BackupNote | undefined> {
  const past = pending.filter((m) => m.version > CONSOLIDATED_BASELINE);
  if (past.length === 0) return undefined;
  if (opts.backup === false) return { taken: false, reason: 'disabled (--no-backup)' };
  const stamp = new Date()
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);
  const name = `pre_migration_${past[0]!.version}_${stamp}`;
  try {
    await incrementalBackup(url, 'latest', { name });
  } catch (e) {
    if (e instanceof DfcError && e.server?.sqlstate === '42704') {
      throw new DfcError(
        'CONSOLIDATION_02',
        'no base backup to take the pre-migration incremental backup from',
        {
          fix: 'create one with `dfc backup create` (then each run adds an incremental one), or pass --no-backup; nothing was applied',
          cause: e,
        },
      );
    }
    throw e;
  }
  opts.onEvent?.({ type: 'backup.done', name, message: `incremental backup ${name} taken` });
  return { taken: true, name };
}

const fmtVersion = (v: number | null) => (v === null ? 'none' : String(v));
const forceArg = (v: number | null) => (v === null ? '-1' : String(v));

function dirtyError(version: number | null, migrations: Migration[]): DfcError {
  const v = version ?? -1;
  const idx = migrations.findIndex((m) => m.version === version);
  const prev = idx > 0 ? migrations[idx - 1]!.version : null;
  return new DfcError('DFC_DIRTY', `Dirty database version ${v}. Fix and force version.`, {
    fix:
      `a migration to version ${v} failed or was interrupted. Check what it changed and repair the schema, then run ` +
      `\`dfc migrate force ${v}\` if its changes are complete` +
      (idx >= 0 ? ` or \`dfc migrate force ${forceArg(prev)}\` if none of them are in place` : '') +
      ', and rerun the command',
    details: { version: v },
  });
}

/** Code-point position (PostgreSQL counts characters, 1-based) → JS string index. */
function positionToIndex(text: string, position: number): number {
  let idx = 0;
  let n = 1;
  for (const ch of text) {
    if (n >= position) break;
    idx += ch.length;
    n++;
  }
  return idx;
}

async function invalidIndexes(c: pg.ClientBase): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `SELECT i.indexrelid::regclass::text AS name FROM pg_index i WHERE NOT i.indisvalid ORDER BY 1`,
  );
  return r.rows.map((x) => x.name);
}

interface FailureContext {
  file: MigrationFile;
  direction: 'up' | 'down';
  target: number | null;
  before: number | null;
  /** text sent to the server and its offset in the file */
  sent: { text: string; offset: number };
  statement?: { index: number; count: number };
}

async function migrationError(c: pg.ClientBase, cause: unknown, ctx: FailureContext): Promise<DfcError> {
  const e = (cause ?? {}) as { message?: string; position?: string; code?: string };
  let line: number | undefined;
  if (e.position && Number(e.position) > 0) {
    line = lineAt(ctx.file.sql, ctx.sent.offset + positionToIndex(ctx.sent.text, Number(e.position)));
  } else if (ctx.statement) {
    line = lineAt(ctx.file.sql, ctx.sent.offset);
  }
  const where = `${ctx.file.file}${line ? `:${line}` : ''}`;
  let fix: string;
  if (ctx.file.mode === 'transaction') {
    fix =
      `nothing in ${ctx.file.file} was applied (its transaction rolled back); the schema is still at version ` +
      `${fmtVersion(ctx.before)}. Correct the file or the database, run \`dfc migrate force ${forceArg(ctx.before)}\`, and rerun`;
  } else {
    const done = ctx.statement
      ? `statements 1..${ctx.statement.index - 1} of ${ctx.statement.count}`
      : 'part';
    fix =
      `${done} of ${ctx.file.file} are committed (it runs outside a transaction). Finish or undo them by hand, then run ` +
      `\`dfc migrate force ${forceArg(ctx.target)}\` (finished) or \`dfc migrate force ${forceArg(ctx.before)}\` (undone)`;
    const invalid = await invalidIndexes(c).catch(() => []);
    if (invalid.length)
      fix += `; drop the invalid index(es) left by CONCURRENTLY first: ${invalid.join(', ')}`;
  }
  return new DfcError('DFC_MIGRATION', `${where}: ${e.message ?? String(cause)}`, {
    fix,
    cause,
    details: {
      file: ctx.file.path,
      line,
      direction: ctx.direction,
      version: ctx.target ?? -1,
      dirty: true,
      ...(ctx.statement ? { statement: ctx.statement.index } : {}),
    },
  });
}

/** Run one file and move the version: (target, dirty) first, (target, clean) after success. */
async function runFile(
  s: MigrateSession,
  file: MigrationFile,
  direction: 'up' | 'down',
  before: number | null,
  target: number | null,
): Promise<void> {
  const c = s.client;
  await setVersion(c, s.schema, target, true);
  const base = { file, direction, target, before } as const;
  if (file.mode === 'transaction') {
    await c.query('BEGIN');
    try {
      await c.query(file.sql);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw await migrationError(c, err, { ...base, sent: { text: file.sql, offset: 0 } });
    }
    try {
      await writeVersion(c, s.schema, target, false);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    return;
  }
  if (file.mode === 'as-is') {
    try {
      await c.query(file.sql);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {}); // in case the file's own transaction is left open
      throw await migrationError(c, err, { ...base, sent: { text: file.sql, offset: 0 } });
    }
    await setVersion(c, s.schema, target, false);
    return;
  }
  // 'statements': CONCURRENTLY cannot run in a transaction block, so each statement autocommits.
  const invalidBefore = new Set(await invalidIndexes(c));
  const statements = splitStatements(file.sql);
  for (const [i, st] of statements.entries()) {
    // A CONCURRENTLY build blocks no reads or writes while it waits, and a lock timeout in its
    // wait-for-old-snapshots phase would leave an invalid index behind: let it wait.
    const concurrent = containsKeyword(st.text, 'CONCURRENTLY');
    try {
      if (concurrent) await c.query("SELECT set_config('lock_timeout', '0', false)");
      await c.query(st.text);
    } catch (err) {
      throw await migrationError(c, err, {
        ...base,
        sent: { text: st.text, offset: st.start },
        statement: { index: i + 1, count: statements.length },
      });
    } finally {
      if (concurrent)
        await c
          .query("SELECT set_config('lock_timeout', $1, false)", [`${s.lockTimeoutMs}ms`])
          .catch(() => {});
    }
  }
  const newInvalid = (await invalidIndexes(c)).filter((n) => !invalidBefore.has(n));
  if (newInvalid.length) {
    throw new DfcError('DFC_MIGRATION', `${file.file} left invalid index(es): ${newInvalid.join(', ')}`, {
      fix: `drop them, rebuild them, then run \`dfc migrate force ${forceArg(target)}\``,
      details: { file: file.path, indexes: newInvalid },
    });
  }
  await setVersion(c, s.schema, target, false);
}

async function withSession<T>(
  url: string,
  opts: RunOptions,
  fn: (s: MigrateSession, migrations: Migration[]) => Promise<T>,
): Promise<T> {
  const migrations = loadMigrations(opts.dir); // validate before touching the database
  const s = await openSession(url, {
    wait: opts.wait,
    lockTimeoutMs: opts.lockTimeoutMs,
    onWait: (message) => opts.onEvent?.({ type: 'lock.waiting', message }),
  });
  try {
    await ensureVersionTable(s.client, s.schema);
    return await fn(s, migrations);
  } finally {
    await s.close();
  }
}

/**
 * Each applied file is recorded in monitoring.migration_operations when the database has the
 * bookkeeping schemas. Files after the consolidated baseline run on a v2 database, which gets
 * them installed (ensureBookkeeping) if missing; the legacy history never installs them.
 */
async function prepareRecording(s: MigrateSession, migrations: Migration[]): Promise<void> {
  const r = await s.client.query<{ ok: boolean }>(
    "SELECT to_regclass('monitoring.migration_operations') IS NOT NULL AS ok",
  );
  if (r.rows[0]?.ok) {
    s.record = true;
    return;
  }
  if (migrations.some((m) => m.version > CONSOLIDATED_BASELINE)) {
    await ensureBookkeeping(s.client);
    s.record = true;
  }
}

/**
 * The index of the current version in the directory (-1 = before its first file); a version it
 * lacks is refused, except the baseline the directory starts after.
 */
function currentIndex(
  migrations: Migration[],
  version: number | null,
  dir: string,
  baseline: number | null,
): number {
  if (version === null) {
    if (baseline !== null && migrations.length > 0) {
      throw new DfcError(
        'DFC_CONFIG',
        `the database has no migration version, but ${dir} starts after version ${baseline}`,
        {
          fix: `bring the database to ${baseline} first (\`dfc install\` for schema v2, or \`dfc migrate up --legacy\`), or pass --baseline 0 if this directory really starts from nothing`,
          details: { baseline },
        },
      );
    }
    return -1;
  }
  if (version === baseline) return -1;
  const idx = migrations.findIndex((m) => m.version === version);
  if (idx < 0) {
    throw new DfcError('DFC_CONFIG', `the database is at version ${version}, which ${dir} does not contain`, {
      fix:
        'use the migration directory that produced this database, or `dfc migrate force V` with a version it has' +
        (baseline === null ? '' : ` (or ${baseline}, the version it starts after)`),
      details: { version, baseline, versions: migrations.map((m) => m.version) },
    });
  }
  return idx;
}

function checkTo(
  to: number | undefined,
  migrations: Migration[],
  allowZero: boolean,
  baseline: number | null = null,
): void {
  if (to === undefined) return;
  const allowed = (v: number) =>
    (allowZero && baseline === null && v === 0) ||
    (allowZero && v === baseline) ||
    migrations.some((m) => m.version === v);
  if (!Number.isSafeInteger(to) || !allowed(to)) {
    const extra = allowZero ? (baseline === null ? '0 (no version), ' : `${baseline} (the baseline), `) : '';
    throw new DfcError('DFC_CONFIG', `--to ${to} is not a version in the migration directory`, {
      fix: `use one of: ${extra}${migrations.map((m) => m.version).join(', ')}`,
    });
  }
}

/**
 * Apply pending up files in version order, up to `to` (default: the last one).
 *
 * @example
 *   await migrateUp(url, { dir: LEGACY_DIR, to: 12 }) // → { from: null, to: 12, steps: [1, 2, 5, …, 12] }
 */
export async function migrateUp(url: string, opts: RunOptions): Promise<RunResult> {
  return withSession(url, opts, async (s, migrations) => {
    checkTo(opts.to, migrations, false);
    const baseline = baselineOf(migrations, opts.baseline);
    const state = await readVersion(s.client, s.schema);
    if (state.dirty) throw dirtyError(state.version, migrations);
    const idx = currentIndex(migrations, state.version, opts.dir, baseline);
    const target = opts.to ?? migrations.at(-1)?.version ?? null;
    if (target !== null && state.version !== null && target < state.version) {
      throw new DfcError('DFC_CONFIG', `the database is at version ${state.version}, past --to ${target}`, {
        fix: `use \`dfc migrate down --to ${target}\` to go back`,
      });
    }
    const todo = migrations.slice(idx + 1).filter((m) => target !== null && m.version <= target);
    const backup = await backupBefore(url, opts, todo);
    if (todo.length) await prepareRecording(s, migrations);
    const steps: StepResult[] = [];
    let now = state.version;
    for (const m of todo) {
      steps.push(await step(s, m, 'up', now, m.version, opts));
      now = m.version;
    }
    return { from: state.version, to: now, steps, ...(backup ? { backup } : {}) };
  });
}

/**
 * Run down files from the current version back to `to` (0 = no version). Without `to` it goes all
 * the way to no version (empty schema_migrations), like `migrate down -all`; golang-migrate's bare
 * `down` prompts for that, and `dfc migrate down` without --to does it without asking.
 *
 * @example
 *   await migrateDown(url, { dir: LEGACY_DIR, to: 12 }) // at 17: runs 17, 16, 15, 14, 13 down → (12, false)
 */
/** The version schema v2 records; the legacy down files at or below it were written for the legacy schema. */
const CONSOLIDATED_VERSION = 17;

/**
 * On a consolidated (v2) database the legacy history's down files do not apply: they would run
 * against tables they were not written for and leave schema_migrations dirty. Refuse before any.
 */
async function refuseDownPastV2(c: pg.ClientBase): Promise<void> {
  const r = await c.query<{ v2: boolean }>(
    `SELECT to_regclass('public.schema_version_info') IS NOT NULL OR to_regnamespace('dfc_rollback_public') IS NOT NULL AS v2`,
  );
  if (r.rows[0]?.v2)
    throw new DfcError(
      'DFC_MIGRATION',
      `this database is on schema v2 (consolidated): the history's down files 000001-0000${CONSOLIDATED_VERSION} were written for the legacy schema and do not apply to v2; nothing was run`,
      {
        fix: `to return to the legacy schema roll back the consolidation (its rollback copy is kept in dfc_rollback_*), not the history; v2 changes go in as 0000${CONSOLIDATED_VERSION + 1}+ migrations with their own down files (\`dfc migrate down --to ${CONSOLIDATED_VERSION}\`)`,
      },
    );
}

export async function migrateDown(url: string, opts: RunOptions): Promise<RunResult> {
  return withSession(url, opts, async (s, migrations) => {
    const baseline = baselineOf(migrations, opts.baseline);
    checkTo(opts.to, migrations, true, baseline);
    const state = await readVersion(s.client, s.schema);
    if (state.dirty) throw dirtyError(state.version, migrations);
    let idx = currentIndex(migrations, state.version, opts.dir, baseline);
    const target = opts.to ?? baseline ?? 0;
    if (target < CONSOLIDATED_VERSION) await refuseDownPastV2(s.client);
    if (state.version !== null && target > state.version) {
      throw new DfcError('DFC_CONFIG', `the database is at version ${state.version}, below --to ${target}`, {
        fix: `use \`dfc migrate up --to ${target}\` to go forward`,
      });
    }
    const pending = migrations.slice(0, idx + 1).filter((m) => m.version > target);
    const backup = await backupBefore(url, opts, pending);
    if (pending.length) await prepareRecording(s, migrations);
    const steps: StepResult[] = [];
    let now = state.version;
    while (idx >= 0 && migrations[idx]!.version > target) {
      const m = migrations[idx]!;
      const prev = idx > 0 ? migrations[idx - 1]!.version : baseline;
      steps.push(await step(s, m, 'down', now, prev, opts));
      now = prev;
      idx--;
    }
    return { from: state.version, to: now, steps, ...(backup ? { backup } : {}) };
  });
}

async function step(
  s: MigrateSession,
  m: Migration,
  direction: 'up' | 'down',
  before: number | null,
  target: number | null,
  opts: RunOptions,
): Promise<StepResult> {
  const file = direction === 'up' ? m.up : m.down;
  opts.onEvent?.({
    type: 'migration.start',
    direction,
    version: m.version,
    name: m.name,
    file: file.file,
    mode: file.mode,
  });
  const t0 = performance.now();
  const record = (status: 'completed' | 'failed', errorMessage?: string) =>
    s.record
      ? recordOperation(s.client, {
          phase: 'migrate',
          type: direction === 'up' ? 'migration_up' : 'migration_down',
          target: file.file,
          status,
          durationSeconds: (performance.now() - t0) / 1000,
          errorMessage,
          details: { version: m.version, name: m.name, mode: file.mode, from: before, to: target },
        })
      : Promise.resolve('');
  try {
    await runFile(s, file, direction, before, target);
  } catch (err) {
    await record('failed', err instanceof Error ? err.message : String(err)).catch(() => '');
    throw err;
  } finally {
    // a file's own SET lock_timeout must not leak into the next file or the bookkeeping writes
    await s.client
      .query("SELECT set_config('lock_timeout', $1, false)", [`${s.lockTimeoutMs}ms`])
      .catch(() => {});
  }
  await record('completed');
  const ms = Math.round(performance.now() - t0);
  opts.onEvent?.({
    type: 'migration.done',
    direction,
    version: m.version,
    name: m.name,
    file: file.file,
    now: target,
    ms,
  });
  return { direction, version: m.version, name: m.name, file: file.file, ms };
}

export interface MigrationStatus {
  version: number | null;
  dirty: boolean;
  /** is the current version one of the directory's, or its baseline? (null version counts as known) */
  known: boolean;
  /** the version the directory starts after, if any */
  baseline: number | null;
  applied: { version: number; name: string }[];
  pending: { version: number; name: string }[];
}

/** Read-only: current version, dirty flag, applied and pending files. Takes no lock. */
export async function migrationStatus(
  url: string,
  opts: { dir: string; baseline?: number },
): Promise<MigrationStatus> {
  const migrations = loadMigrations(opts.dir);
  const baseline = baselineOf(migrations, opts.baseline);
  const state = await withClient(
    url,
    async (c) => {
      const r = await c.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      return r.rows[0]?.schema ? readVersion(c, r.rows[0].schema) : { version: null, dirty: false };
    },
    APPLICATION_NAME,
  );
  const brief = (m: Migration) => ({ version: m.version, name: m.name });
  const v = state.version;
  return {
    ...state,
    known: v === null || v === baseline || migrations.some((m) => m.version === v),
    baseline,
    applied: migrations.filter((m) => v !== null && m.version <= v).map(brief),
    pending: migrations.filter((m) => v === null || m.version > v).map(brief),
  };
}

/**
 * golang-migrate's `force V`: write (V, clean) without running any SQL. V = -1 or 0 means no
 * version (empty table). Takes the runner locks like any other write.
 */
export async function forceVersion(
  url: string,
  version: number,
  opts: Omit<SessionOptions, 'onWait'> & { onEvent?: (e: MigrateEvent) => void } = {},
): Promise<VersionStateResult> {
  if (!Number.isSafeInteger(version) || version < -1) {
    throw new DfcError('DFC_CONFIG', `cannot force version ${version}`, {
      fix: 'give a migration version, or -1 / 0 for no version',
    });
  }
  const s = await openSession(url, {
    ...opts,
    onWait: (message) => opts.onEvent?.({ type: 'lock.waiting', message }),
  });
  try {
    await ensureVersionTable(s.client, s.schema);
    const before = await readVersion(s.client, s.schema).catch(() => ({ version: null, dirty: true }));
    const v = version <= 0 ? null : version;
    await setVersion(s.client, s.schema, v, false);
    return { before, version: v, dirty: false };
  } finally {
    await s.close();
  }
}

export interface VersionStateResult {
  before: { version: number | null; dirty: boolean };
  version: number | null;
  dirty: false;
}
