import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import {
  forceVersion,
  golangMigrateLockId,
  LEGACY_DIR,
  loadMigrations,
  type MigrateEvent,
  migrateDown,
  migrateUp,
  migrationStatus,
} from '../../src/migrate/runner.js';
import { freshDatabase } from '../helpers/db.js';

const fixture = (name: string) => path.resolve(import.meta.dirname, '..', 'fixtures', name);
const BASIC = fixture('migrations-basic');
const FAILING = fixture('migrations-failing');
const GATE = fixture('migrations-gate');

async function versionRows(url: string): Promise<{ version: number; dirty: boolean }[]> {
  return withClient(url, async (c) => {
    const r = await c.query<{ version: string; dirty: boolean }>(
      'SELECT version, dirty FROM schema_migrations',
    );
    return r.rows.map((x) => ({ version: Number(x.version), dirty: x.dirty }));
  });
}

async function scalar<T>(url: string, text: string, values: unknown[] = []): Promise<T> {
  return withClient(url, async (c) => Object.values((await c.query(text, values)).rows[0] ?? {})[0] as T);
}

const relationExists = (url: string, name: string) =>
  scalar<boolean>(url, 'SELECT to_regclass($1) IS NOT NULL', [name]);

/** The rejection of a promise, which must be a DfcError. */
async function failure(p: Promise<unknown>): Promise<DfcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DfcError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('loadMigrations', () => {
  it('reads versions in order, allowing gaps, and marks CONCURRENTLY files', () => {
    const ms = loadMigrations(BASIC);
    expect(ms.map((m) => m.version)).toEqual([1, 2, 5, 10]);
    expect(ms.map((m) => m.up.mode)).toEqual(['transaction', 'transaction', 'statements', 'transaction']);
    expect(ms[2]!.down.mode).toBe('statements');
  });

  it('refuses duplicate versions and missing halves with a fix', async () => {
    const dup = await mkdtemp(path.join(tmpdir(), 'dfc-mig-'));
    for (const f of ['000001_a.up.sql', '000001_a.down.sql', '000001_b.up.sql', '000001_b.down.sql'])
      await writeFile(path.join(dup, f), 'SELECT 1;');
    const e1 = await failure((async () => loadMigrations(dup))());
    expect(e1.code).toBe('DFC_CONFIG');
    expect(e1.message).toMatch(/duplicate migration version 1/);
    expect(e1.fix).toMatch(/rename/);

    const half = await mkdtemp(path.join(tmpdir(), 'dfc-mig-'));
    await writeFile(path.join(half, '000007_x.up.sql'), 'SELECT 1;');
    const e2 = await failure((async () => loadMigrations(half))());
    expect(e2.code).toBe('DFC_CONFIG');
    expect(e2.message).toMatch(/migration 7 \(x\) has no down file/);
    expect(e2.fix).toContain('000007_x.down.sql');
  });

  it('resolves LEGACY_DIR to the shipped db/legacy', () => {
    expect(path.isAbsolute(LEGACY_DIR)).toBe(true);
    expect(LEGACY_DIR.endsWith(path.join('db', 'legacy'))).toBe(true);
    expect(existsSync(LEGACY_DIR)).toBe(true);
  });
});

describe('migrate up / down / status / force', () => {
  it('creates golang-migrate’s table and walks up, down and up again over a gap', async () => {
    const url = await freshDatabase('empty');
    const before = await migrationStatus(url, { dir: BASIC });
    expect(before).toMatchObject({ version: null, dirty: false, known: true, applied: [] });
    expect(before.pending.map((m) => m.version)).toEqual([1, 2, 5, 10]);

    const events: MigrateEvent[] = [];
    const r1 = await migrateUp(url, { dir: BASIC, to: 2, onEvent: (e) => events.push(e) });
    expect(r1).toMatchObject({ from: null, to: 2 });
    expect(r1.steps.map((s) => s.version)).toEqual([1, 2]);
    expect(events.map((e) => e.type)).toEqual([
      'migration.start',
      'migration.done',
      'migration.start',
      'migration.done',
    ]);
    expect(await versionRows(url)).toEqual([{ version: 2, dirty: false }]);
    const ddl = await withClient(url, async (c) =>
      (
        await c.query(
          `SELECT column_name, data_type, is_nullable FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = 'schema_migrations' ORDER BY ordinal_position`,
        )
      ).rows.map((x) => `${x.column_name} ${x.data_type} ${x.is_nullable}`),
    );
    expect(ddl).toEqual(['version bigint NO', 'dirty boolean NO']);
    expect(
      await scalar(
        url,
        `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'schema_migrations'::regclass AND contype = 'p'`,
      ),
    ).toBe('PRIMARY KEY (version)');

    const mid = await migrationStatus(url, { dir: BASIC });
    expect(mid.applied.map((m) => m.version)).toEqual([1, 2]);
    expect(mid.pending.map((m) => m.version)).toEqual([5, 10]);

    // 3 is inside the gap: not a version
    expect((await failure(migrateUp(url, { dir: BASIC, to: 3 }))).code).toBe('DFC_CONFIG');
    // going backwards with up is refused
    expect((await failure(migrateUp(url, { dir: BASIC, to: 1 }))).message).toMatch(/past --to 1/);

    const r2 = await migrateUp(url, { dir: BASIC });
    expect(r2.steps.map((s) => s.version)).toEqual([5, 10]);
    expect(await versionRows(url)).toEqual([{ version: 10, dirty: false }]);
    // the CONCURRENTLY file ran outside a transaction (inside one PostgreSQL raises 25001) and its index is valid
    expect(
      await scalar(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name_idx'::regclass`),
    ).toBe(true);
    expect(await scalar(url, `SELECT count(*)::int FROM items WHERE name = 'a;b'`)).toBe(1);
    expect((await migrateUp(url, { dir: BASIC })).steps).toEqual([]);

    const r3 = await migrateDown(url, { dir: BASIC, to: 2 });
    expect(r3.steps.map((s) => `${s.direction}${s.version}`)).toEqual(['down10', 'down5']);
    expect(await versionRows(url)).toEqual([{ version: 2, dirty: false }]);
    expect(await relationExists(url, 'items_name_idx')).toBe(false);
    expect(await relationExists(url, 'tags')).toBe(false);

    // no --to: all the way to no version, which is an empty table
    const r4 = await migrateDown(url, { dir: BASIC });
    expect(r4.to).toBeNull();
    expect(await versionRows(url)).toEqual([]);
    expect(await relationExists(url, 'items')).toBe(false);
    expect((await migrationStatus(url, { dir: BASIC })).version).toBeNull();

    await migrateUp(url, { dir: BASIC });
    expect(await versionRows(url)).toEqual([{ version: 10, dirty: false }]);
    expect(await relationExists(url, 'tags')).toBe(true);
  });

  it('force writes the version without running SQL; -1 and 0 mean no version', async () => {
    const url = await freshDatabase('empty');
    const r = await forceVersion(url, 5);
    expect(r.before).toEqual({ version: null, dirty: false });
    expect(await versionRows(url)).toEqual([{ version: 5, dirty: false }]);
    expect(await relationExists(url, 'items')).toBe(false);
    await forceVersion(url, -1);
    expect(await versionRows(url)).toEqual([]);
    await forceVersion(url, 2);
    await forceVersion(url, 0);
    expect(await versionRows(url)).toEqual([]);
    expect((await failure(forceVersion(url, -2))).code).toBe('DFC_CONFIG');
  });

  it('refuses a database at a version the directory does not have', async () => {
    const url = await freshDatabase('empty');
    await forceVersion(url, 4);
    const e = await failure(migrateUp(url, { dir: BASIC }));
    expect(e.code).toBe('DFC_CONFIG');
    expect(e.message).toMatch(/version 4, which .* does not contain/);
  });
});

describe('a failing migration', () => {
  it('leaves (V, dirty), blocks up and down until force, and names file, line and SQLSTATE', async () => {
    const url = await freshDatabase('empty');
    const e = await failure(migrateUp(url, { dir: FAILING }));
    expect(e.code).toBe('DFC_MIGRATION');
    expect(e.message).toMatch(/^000002_fill_audit\.up\.sql:5: relation "audit_log" does not exist/);
    expect(e.server?.sqlstate).toBe('42P01');
    expect(e.details).toMatchObject({ line: 5, version: 2, direction: 'up' });
    expect(e.fix).toContain('dfc migrate force 1');
    expect(await versionRows(url)).toEqual([{ version: 2, dirty: true }]);
    // the file's transaction rolled back: its first statement left nothing
    expect(await relationExists(url, 'extra')).toBe(false);

    for (const attempt of [migrateUp, migrateDown]) {
      const d = await failure(attempt(url, { dir: FAILING }));
      expect(d.code).toBe('DFC_DIRTY');
      expect(d.message).toBe('Dirty database version 2. Fix and force version.');
      expect(d.fix).toContain('dfc migrate force 2');
      expect(d.fix).toContain('dfc migrate force 1');
    }
    const st = await migrationStatus(url, { dir: FAILING });
    expect(st).toMatchObject({ version: 2, dirty: true });

    // the operator repairs the database and forces the last good version
    await withClient(url, (c) => c.query('CREATE TABLE audit_log (msg text)'));
    await forceVersion(url, 1);
    expect(await versionRows(url)).toEqual([{ version: 1, dirty: false }]);

    // 2 now applies; 3 runs outside a transaction and fails in its second statement
    const e3 = await failure(migrateUp(url, { dir: FAILING }));
    expect(e3.code).toBe('DFC_MIGRATION');
    expect(e3.message).toMatch(
      /^000003_gadgets_concurrently\.up\.sql:6: function no_such_function\(integer\) does not exist/,
    );
    expect(e3.server).toMatchObject({ sqlstate: '42883' });
    expect(e3.server?.hint).toMatch(/No function matches/);
    expect(e3.details).toMatchObject({ line: 6, statement: 3, version: 3 });
    expect(e3.fix).toMatch(/statements 1\.\.2 of 3 .* committed/);
    expect(await versionRows(url)).toEqual([{ version: 3, dirty: true }]);
    expect(await scalar(url, `SELECT count(*)::int FROM audit_log`)).toBe(1);
    // statements 1 and 2 committed on their own
    expect(await relationExists(url, 'gadgets')).toBe(true);
    expect(
      await scalar(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'gadgets_label_idx'::regclass`),
    ).toBe(true);
  });

  it('a lock_timeout inside a file fails it with SQLSTATE 55P03 and leaves it dirty', async () => {
    const url = await freshDatabase('empty');
    const gate = await connect(url);
    try {
      await gate.query('SELECT pg_advisory_lock(727272)');
      const e = await failure(migrateUp(url, { dir: GATE, lockTimeoutMs: 200 }));
      expect(e.code).toBe('DFC_MIGRATION');
      expect(e.server?.sqlstate).toBe('55P03');
      expect(await versionRows(url)).toEqual([{ version: 1, dirty: true }]);
      expect(await relationExists(url, 'gated')).toBe(false);
    } finally {
      await gate.end();
    }
  });
});

/** Wait (by polling the server, not the clock) until a dfc-migrate backend is blocked on a lock. */
async function waitForBlockedRunner(c: pg.Client): Promise<number> {
  for (;;) {
    const r = await c.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'dfc-migrate' AND wait_event_type = 'Lock' AND query LIKE '%727272%'`,
    );
    if (r.rows[0]) return r.rows[0].pid;
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('one runner at a time', () => {
  it('a second runner fails fast with DFC_LOCKED naming the holder, or waits with wait', async () => {
    const url = await freshDatabase('empty');
    const gate = await connect(url);
    try {
      await gate.query('SELECT pg_advisory_lock(727272)');
      const first = migrateUp(url, { dir: GATE, lockTimeoutMs: 0 });
      const firstPid = await waitForBlockedRunner(gate);

      const e = await failure(migrateUp(url, { dir: GATE }));
      expect(e.code).toBe('DFC_LOCKED');
      expect(e.message).toContain(`pid ${firstPid}`);
      expect(e.message).toContain('dfc-migrate');
      expect(e.fix).toMatch(/--wait/);
      // status reads without the lock; the dirty flag was committed before the file started
      expect(await migrationStatus(url, { dir: GATE })).toMatchObject({ version: 1, dirty: true });

      const waits: string[] = [];
      const second = migrateUp(url, {
        dir: GATE,
        wait: true,
        onEvent: (ev) => ev.type === 'lock.waiting' && waits.push(ev.message),
      });
      // the waiting runner is blocked on the lock while the first still holds it
      for (;;) {
        const n = await gate.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'dfc-migrate' AND wait_event_type = 'Lock' AND pid <> $1`,
          [firstPid],
        );
        if (n.rows[0].n > 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(waits).toHaveLength(1);
      await gate.query('SELECT pg_advisory_unlock(727272)');

      expect((await first).steps.map((s) => s.version)).toEqual([1]);
      expect((await second).steps).toEqual([]); // it found the work done
      expect(await versionRows(url)).toEqual([{ version: 1, dirty: false }]);
    } finally {
      await gate.end();
    }
  });

  it('excludes golang-migrate itself through its advisory lock id', async () => {
    const url = await freshDatabase('empty');
    const go = await connect(url, 'golang-migrate');
    try {
      const db = decodeURIComponent(new URL(url).pathname.slice(1));
      // what `migrate up` does first: pg_advisory_lock(GenerateAdvisoryLockId(db, schema, table))
      await go.query('SELECT pg_advisory_lock($1)', [golangMigrateLockId(db, 'public', 'schema_migrations')]);
      const e = await failure(migrateUp(url, { dir: BASIC }));
      expect(e.code).toBe('DFC_LOCKED');
      expect(e.message).toContain("golang-migrate's lock");
      expect(e.message).toContain(`pid ${(await go.query('SELECT pg_backend_pid() AS p')).rows[0].p}`);
      expect(await relationExists(url, 'items')).toBe(false);
    } finally {
      await go.end();
    }
    await migrateUp(url, { dir: BASIC });
    expect(await versionRows(url)).toEqual([{ version: 10, dirty: false }]);
  });
});

/** Everything a migration history defines outside the system schemas, as sorted text. */
async function catalogFingerprint(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const r = await c.query<{ x: string }>(`
      WITH ns AS (SELECT oid, nspname FROM pg_namespace
                   WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%')
      SELECT format('rel %s.%s %s', ns.nspname, c.relname, c.relkind) AS x
        FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
      UNION ALL
      SELECT format('col %s.%s.%s %s %s %s', ns.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p')
      UNION ALL
      SELECT format('con %s.%s %s', ns.nspname, co.conname, pg_get_constraintdef(co.oid))
        FROM pg_constraint co JOIN ns ON ns.oid = co.connamespace
      UNION ALL
      SELECT format('idx %s', pg_get_indexdef(i.indexrelid))
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
      UNION ALL
      SELECT format('trg %s', pg_get_triggerdef(t.oid)) FROM pg_trigger t WHERE NOT t.tgisinternal
      UNION ALL
      SELECT format('fn %s.%s(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
       WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
      ORDER BY 1`);
    return r.rows.map((x) => x.x);
  });
}

describe('the shipped legacy history (db/legacy)', () => {
  it('the legacy template is at (17, clean)', async () => {
    const url = await freshDatabase('legacy');
    expect(await versionRows(url)).toEqual([{ version: 17, dirty: false }]);
    const st = await migrationStatus(url, { dir: LEGACY_DIR });
    expect(st.applied.map((m) => m.version)).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(st.pending).toEqual([]);
  });

  it('up --to 12, down to 0, and up again gives the same catalog', async () => {
    const reference = await catalogFingerprint(await freshDatabase('legacy'));
    expect(reference).toContain('rel public.campaigns r');
    expect(reference.length).toBeGreaterThan(100);
    const url = await freshDatabase('empty');
    const emptyCatalog = await catalogFingerprint(url);

    const r12 = await migrateUp(url, { dir: LEGACY_DIR, to: 12 });
    expect(r12.steps.map((s) => s.version)).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(await versionRows(url)).toEqual([{ version: 12, dirty: false }]);

    await migrateUp(url, { dir: LEGACY_DIR });
    expect(await versionRows(url)).toEqual([{ version: 17, dirty: false }]);
    expect(await catalogFingerprint(url)).toEqual(reference);

    const down = await migrateDown(url, { dir: LEGACY_DIR, to: 0 });
    expect(down.steps).toHaveLength(15);
    expect(await versionRows(url)).toEqual([]);
    // only schema_migrations (and its key) is left beyond what the empty database had
    const left = (await catalogFingerprint(url)).filter((x) => !emptyCatalog.includes(x));
    expect(left).toContain('rel public.schema_migrations r');
    expect(left.filter((x) => !x.includes('schema_migrations'))).toEqual([]);

    await migrateUp(url, { dir: LEGACY_DIR });
    expect(await versionRows(url)).toEqual([{ version: 17, dirty: false }]);
    expect(await catalogFingerprint(url)).toEqual(reference);
  });
});

describe('interruptions and files with their own transaction', () => {
  it('a runner killed mid-file leaves (V, dirty) and none of the file applied', async () => {
    const url = await freshDatabase('empty');
    const gate = await connect(url);
    try {
      await gate.query('SELECT pg_advisory_lock(727272)');
      const run = failure(migrateUp(url, { dir: GATE, lockTimeoutMs: 0 }));
      const pid = await waitForBlockedRunner(gate);
      await gate.query('SELECT pg_terminate_backend($1)', [pid]);
      const e = await run;
      expect(e.code).toBe('DFC_MIGRATION');
      expect(e.server?.sqlstate).toBe('57P01');
    } finally {
      await gate.end();
    }
    expect(await versionRows(url)).toEqual([{ version: 1, dirty: true }]);
    expect(await relationExists(url, 'gated')).toBe(false);
    expect((await failure(migrateUp(url, { dir: GATE }))).code).toBe('DFC_DIRTY');
  });

  it('runs a file with its own BEGIN/COMMIT as is, like golang-migrate', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-mig-'));
    await writeFile(path.join(dir, '000001_own_tx.up.sql'), 'BEGIN;\nCREATE TABLE own (x int);\nCOMMIT;\n');
    await writeFile(path.join(dir, '000001_own_tx.down.sql'), 'DROP TABLE own;\n');
    expect(loadMigrations(dir)[0]!.up.mode).toBe('as-is');
    const url = await freshDatabase('empty');
    await migrateUp(url, { dir });
    expect(await versionRows(url)).toEqual([{ version: 1, dirty: false }]);
    expect(await relationExists(url, 'own')).toBe(true);
    await migrateDown(url, { dir });
    expect(await relationExists(url, 'own')).toBe(false);
  });
});
