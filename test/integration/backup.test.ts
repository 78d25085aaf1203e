import { writeFileSync } from 'node:fs';
import { mkdtemp, open, readdir, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { dropDatabase } from '../../src/db/databases.js';
import {
  cleanupBackups,
  createBackup,
  DfcError,
  incrementalBackup,
  installV2,
  listBackups,
  restoreBackup,
  verifyBackup,
} from '../../src/index.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { dfc } from '../helpers/cli.js';
import { adminUrl, freshDatabase, urlFor } from '../helpers/db.js';

const dbName = (url: string) => new URL(url).pathname.slice(1);
// tables of public/auth (materialized views are derived: a restore refreshes them)
const MATVIEWS = [
  'campaign_statistics',
  'system_performance_summary',
  'user_activity_summary',
  'performance_summary',
];
const domainflowOnly = (c: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(c).filter(
      ([k]) => (k.startsWith('public.') || k.startsWith('auth.')) && !MATVIEWS.includes(k.split('.')[1]!),
    ),
  );

async function expectCode(p: Promise<unknown>, code: string, text: RegExp) {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DfcError);
  expect((e as DfcError).code).toBe(code);
  expect((e as DfcError).message).toMatch(text);
}

const dbExists = (name: string) =>
  withClient(
    adminUrl(),
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );

describe('dfc backup', () => {
  it('verify catches a changed, a missing and an added row in the copy; the CLI exits 1', async () => {
    const url = await freshDatabase('seeded', 'bk');
    const events: string[] = [];
    const b = await createBackup(url, { name: 'b1', onEvent: (e) => events.push(e.type) });
    expect(b.tables).toBeGreaterThan(20);
    expect(events).toContain('progress');
    expect((await verifyBackup(url, 'b1')).valid).toBe(true);
    const ids = await withClient(url, async (c) => {
      const d = await c.query<{ id: string }>(
        'SELECT id FROM dfc_backup_b1.public__generated_domains ORDER BY id LIMIT 2',
      );
      await c.query(
        `UPDATE dfc_backup_b1.public__generated_domains SET domain_name = 'tampered.example' WHERE id = $1`,
        [d.rows[0]!.id],
      );
      await c.query('DELETE FROM dfc_backup_b1.public__generated_domains WHERE id = $1', [d.rows[1]!.id]);
      await c.query(
        `INSERT INTO dfc_backup_b1.public__generated_domains SELECT * FROM dfc_backup_b1.public__generated_domains WHERE id = $1`,
        [d.rows[0]!.id],
      );
      await c.query(
        `UPDATE dfc_backup_b1.public__generated_domains SET id = '00000000-0000-0000-0000-00000000abcd'
          WHERE ctid = (SELECT max(ctid) FROM dfc_backup_b1.public__generated_domains WHERE id = $1)`,
        [d.rows[0]!.id],
      );
      return d.rows.map((r) => r.id);
    });
    const v = await verifyBackup(url, 'b1');
    expect(v.valid).toBe(false);
    const p = v.problems.find((x) => x.table === 'public.generated_domains')!;
    expect(p).toMatchObject({ problem: 'checksum_mismatch', changed: 1, missing: 1, added: 1 });
    expect(p.samples).toEqual(
      expect.arrayContaining([
        { kind: 'changed', key: { id: ids[0] } },
        { kind: 'missing', key: { id: ids[1] } },
        { kind: 'added', key: { id: '00000000-0000-0000-0000-00000000abcd' } },
      ]),
    );
    expect(v.problems).toHaveLength(1);
    const list = await listBackups(url);
    expect(list.find((x) => x.backup_id === 'b1')?.status).toBe('failed');
    const cli = await dfc(['--database-url', url, '--json', 'backup', 'verify', 'b1']);
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      event: 'backup.verify',
      valid: false,
    });
    const log = await withClient(url, (c) =>
      c.query(`SELECT status FROM safety.backup_verification_log WHERE backup_id = 'b1' ORDER BY id`),
    );
    expect(log.rows.map((r) => r.status)).toEqual(['passed', 'failed', 'failed']);
  });

  it('restores into a new database (from the database and from the archive) with identical checksums and catalog', async () => {
    const url = await freshDatabase('seeded', 'bk');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bk-'));
    const before = domainflowOnly(await dataChecksums(url));
    await createBackup(url, { name: 'full', toDir: dir });
    // writes after the backup must not appear in the restore
    await withClient(url, (c) => c.query(`UPDATE public.campaigns SET name = name || ' later'`));
    const target1 = `${dbName(url)}_r1`;
    const target2 = `${dbName(url)}_r2`;
    try {
      const r1 = await restoreBackup(url, 'full', { intoDatabase: target1 });
      expect(r1.catalogDifferences).toEqual([]);
      expect(domainflowOnly(await dataChecksums(urlFor(target1)))).toEqual(before);
      const r2 = await restoreBackup(url, 'full', { intoDatabase: target2, fromDir: dir });
      expect(r2.catalogDifferences).toEqual([]);
      expect(domainflowOnly(await dataChecksums(urlFor(target2)))).toEqual(before);
      expect(await catalogChecksum(urlFor(target2))).toBe(await catalogChecksum(urlFor(target1)));
      // sequences continue where the source stood
      const seq = (u: string) =>
        withClient(
          u,
          async (c) =>
            (
              await c
                .query(`SELECT last_value::text AS v FROM auth.auth_audit_log_id_seq`)
                .catch(() => ({ rows: [{ v: 'n/a' }] }))
            ).rows[0]!.v,
        );
      expect(await seq(urlFor(target1))).toBe(await seq(url));
      // a database that is not empty is refused and left as it was
      const sum = await dataChecksums(urlFor(target1));
      await expectCode(
        restoreBackup(url, 'full', { intoDatabase: target1 }),
        'CONSOLIDATION_02',
        /not empty/,
      );
      expect(await dataChecksums(urlFor(target1))).toEqual(sum);
    } finally {
      await dropDatabase(adminUrl(), target1);
      await dropDatabase(adminUrl(), target2);
    }
  });

  it('the archive is written from the backup snapshot while the application writes: it restores to the in-database checksums', async () => {
    const url = await freshDatabase('seeded', 'bk');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bk-'));
    let writing = true;
    let writes = 0;
    const writer = withClient(url, async (c) => {
      while (writing) {
        await c.query(
          `UPDATE public.campaigns SET name = name || '.' WHERE id = (SELECT id FROM public.campaigns ORDER BY random() LIMIT 1)`,
        );
        await c.query(
          `INSERT INTO public.audit_logs (id, action, entity_type, timestamp) VALUES (uuid_generate_v4(), 'during_backup', 'test', now())`,
        );
        writes++;
      }
    });
    try {
      await createBackup(url, { name: 'live', toDir: dir });
    } finally {
      writing = false;
      await writer;
    }
    expect(writes).toBeGreaterThan(0);
    const target = `${dbName(url)}_live`;
    try {
      // commits only when every table's count and checksum equal the manifest's (the in-database copy's)
      const r = await restoreBackup(url, 'live', { intoDatabase: target, fromDir: dir });
      expect(r.checksumsMatch).toBe(true);
      expect((await verifyBackup(url, 'live')).valid).toBe(true);
    } finally {
      await dropDatabase(adminUrl(), target);
    }
  });

  it('a truncated or corrupted archive is refused before anything is restored', async () => {
    const url = await freshDatabase('seeded', 'bk');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bk-'));
    const b = await createBackup(url, { name: 'arch', toDir: dir });
    const data = path.join(b.archiveDir!, 'data');
    const files = await Promise.all(
      (await readdir(data)).map(async (f) => ({ f, size: (await stat(path.join(data, f))).size })),
    );
    const big = files.sort((a, b2) => b2.size - a.size)[0]!;
    const target = `${dbName(url)}_bad`;
    // same size, one byte changed
    const fh = await open(path.join(data, big.f), 'r+');
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, 10);
    await fh.write(Buffer.from([buf[0]! ^ 1]), 0, 1, 10);
    await fh.close();
    await expectCode(
      restoreBackup(url, 'arch', { intoDatabase: target, fromDir: dir }),
      'CONSOLIDATION_02',
      /SHA-256/,
    );
    expect(await dbExists(target)).toBe(false);
    await truncate(path.join(data, big.f), Math.floor(big.size / 2));
    await expectCode(
      restoreBackup(url, 'arch', { intoDatabase: target, fromDir: dir }),
      'CONSOLIDATION_02',
      new RegExp(`${big.f} has ${Math.floor(big.size / 2)} bytes, the manifest says ${big.size}`),
    );
    expect(await dbExists(target)).toBe(false);
    writeFileSync(path.join(b.archiveDir!, 'manifest.json'), '{"format": "dfc-backup/1", "tab');
    await expectCode(
      restoreBackup(url, 'arch', { intoDatabase: target, fromDir: dir }),
      'CONSOLIDATION_02',
      /manifest/,
    );
    expect(await dbExists(target)).toBe(false);
    // verify sees the damaged archive too
    expect((await verifyBackup(url, 'arch')).archive).toMatchObject({ valid: false });
  });

  it('incremental captures added, changed and removed rows since its base', async () => {
    const url = await freshDatabase('seeded', 'bk');
    await createBackup(url, { name: 'base' });
    await withClient(url, async (c) => {
      await c.query(
        `UPDATE public.personas SET name = name || ' v2' WHERE id IN (SELECT id FROM public.personas ORDER BY id LIMIT 2)`,
      );
      await c.query(
        'DELETE FROM public.audit_logs WHERE id IN (SELECT id FROM public.audit_logs ORDER BY id LIMIT 3)',
      );
      await c.query(
        `INSERT INTO public.audit_logs (id, action, entity_type, timestamp) VALUES (uuid_generate_v4(), 'incremental_test', 'test', now())`,
      );
    });
    const inc = await incrementalBackup(url, 'latest', { name: 'inc' });
    expect(inc).toMatchObject({ base: 'base', changed_rows: 3, removed_rows: 3 });
    const removed = await withClient(url, (c) => c.query('SELECT tbl FROM dfc_backup_inc.dfc_removed'));
    expect(removed.rows.map((r) => r.tbl)).toEqual([
      'public.audit_logs',
      'public.audit_logs',
      'public.audit_logs',
    ]);
    const added = await withClient(url, (c) =>
      c.query('SELECT action FROM dfc_backup_inc.public__audit_logs'),
    );
    expect(added.rows).toEqual([{ action: 'incremental_test' }]);
    expect((await verifyBackup(url, 'inc')).valid).toBe(true);
    await expectCode(
      incrementalBackup(url, 'nope', { name: 'inc2' }),
      'CONSOLIDATION_02',
      /no usable base backup/,
    );
  });

  it('restores an incremental (base + chain, removed keys applied) to the source exactly as it stood; a broken chain restores nothing', async () => {
    const url = await freshDatabase('seeded', 'bk');
    await createBackup(url, { name: 'base' });
    const q = (text: string, values: unknown[] = []) => withClient(url, (c) => c.query(text, values));
    const firstIds = async (table: string, n: number) =>
      (await q(`SELECT id::text FROM ${table} ORDER BY id LIMIT ${n}`)).rows.map((r) => r.id as string);
    const personas = await firstIds('public.personas', 2);
    const logs = await firstIds('public.audit_logs', 4);
    const [a, b] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
    // base -> inc1: updates, deletes, inserts
    await q(`UPDATE public.personas SET name = name || ' v2' WHERE id = ANY ($1::uuid[])`, [personas]);
    await q('DELETE FROM public.audit_logs WHERE id = ANY ($1::uuid[])', [logs.slice(0, 3)]);
    await q(
      `INSERT INTO public.audit_logs (id, action, entity_type, timestamp) VALUES ($1, 'inc1_a', 'test', now()), ($2, 'inc1_b', 'test', now())`,
      [a, b],
    );
    const inc1 = await incrementalBackup(url, 'base', { name: 'inc1' });
    expect(inc1).toMatchObject({ base: 'base', changed_rows: 4, removed_rows: 3 });
    // inc1 -> inc2: a row of inc1 changed again, one deleted, a persona reverted to its base value,
    // a key deleted in inc1 inserted again, a base row deleted
    await q(`UPDATE public.audit_logs SET action = 'inc2_a' WHERE id = $1`, [a]);
    await q('DELETE FROM public.audit_logs WHERE id = $1', [b]);
    await q(`UPDATE public.personas SET name = left(name, -3) WHERE id = $1`, [personas[0]]);
    await q(
      `INSERT INTO public.audit_logs (id, action, entity_type, timestamp) VALUES ($1, 'inc2_again', 'test', now())`,
      [logs[0]],
    );
    await q('DELETE FROM public.audit_logs WHERE id = $1', [logs[3]]);
    const expected = domainflowOnly(await dataChecksums(url));
    const inc2 = await incrementalBackup(url, 'latest', { name: 'inc2' });
    expect(inc2).toMatchObject({ base: 'inc1', removed_rows: 2 });
    // writes after inc2 must not appear in its restore
    await q(`UPDATE public.campaigns SET name = name || ' later'`);
    const target = `${dbName(url)}_inc`;
    const target2 = `${dbName(url)}_inc_bad`;
    try {
      const r = await restoreBackup(url, 'inc2', { intoDatabase: target });
      expect(r.chain).toEqual(['inc2', 'inc1', 'base']);
      expect(r.catalogDifferences).toEqual([]);
      expect(domainflowOnly(await dataChecksums(urlFor(target)))).toEqual(expected);
      const restored = await withClient(urlFor(target), (c) =>
        c.query(`SELECT id::text, action FROM public.audit_logs WHERE entity_type = 'test' ORDER BY action`),
      );
      expect(restored.rows).toEqual([
        { id: a, action: 'inc2_a' },
        { id: logs[0], action: 'inc2_again' },
      ]);
      // a base changed after it was taken: refused before the target exists
      await q(`UPDATE dfc_backup_base.public__personas SET name = 'tampered' WHERE id = $1`, [personas[1]]);
      await expectCode(
        restoreBackup(url, 'inc2', { intoDatabase: target2 }),
        'CONSOLIDATION_02',
        /chain is broken: its base "base" was changed after it was taken: public.personas/,
      );
      expect(await dbExists(target2)).toBe(false);
      // a base dropped
      await q('DROP SCHEMA dfc_backup_base CASCADE');
      await expectCode(
        restoreBackup(url, 'inc2', { intoDatabase: target2 }),
        'CONSOLIDATION_02',
        /chain is broken: its base "base" was dropped/,
      );
      expect(await dbExists(target2)).toBe(false);
      const cli = await dfc(['--database-url', url, 'backup', 'restore', 'inc2', '--into-database', target2]);
      expect(cli.code).not.toBe(0);
      expect(await dbExists(target2)).toBe(false);
    } finally {
      await dropDatabase(adminUrl(), target);
      await dropDatabase(adminUrl(), target2);
    }
  });

  it('fails with CONSOLIDATION_02 naming an unwritable directory and leaves nothing behind', async () => {
    const url = await freshDatabase('seeded', 'bk');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bk-'));
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expectCode(
      createBackup(url, { name: 'bad', toDir: path.join(file, 'sub') }),
      'CONSOLIDATION_02',
      /not writable/,
    );
    await expectCode(
      createBackup(url, { name: 'bad', toDir: dir, onEvent: () => {} }).then(async () => {
        // a second backup of the same name: refused, and the first is untouched
        await createBackup(url, { name: 'bad', toDir: dir });
      }),
      'CONSOLIDATION_02',
      /already exists/,
    );
    const left = await withClient(url, async (c) => ({
      reg: (await c.query(`SELECT backup_id FROM safety.backup_registry ORDER BY 1`)).rows.map(
        (r) => r.backup_id,
      ),
      schemas: (
        await c.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dfc_backup_%' ORDER BY 1`)
      ).rows.map((r) => r.nspname),
    }));
    expect(left).toEqual({ reg: ['bad'], schemas: ['dfc_backup_bad'] });
    expect((await readdir(dir)).sort()).toEqual(['a-file', 'bad']);
  });

  it('the guide SQL functions: one-statement backup under READ COMMITTED, archive variant names the dfc command, list, cleanup', async () => {
    const url = await freshDatabase('seeded', 'bk');
    await withClient(url, async (c) => {
      const { ensureBookkeeping } = await import('../../src/index.js');
      await ensureBookkeeping(c);
      const r = await c.query(`SELECT safety.create_pre_consolidation_backup('sqlb') AS r`);
      expect(Number(r.rows[0].r.rows)).toBeGreaterThan(1000);
      const v = await c.query(`SELECT safety.verify_backup_integrity('sqlb') AS v`);
      expect(v.rows[0].v.valid).toBe(true);
      const e = await c
        .query(`SELECT safety.create_pre_consolidation_backup('x', '/backups')`)
        .catch((x) => x);
      expect(e.hint).toMatch(/dfc backup create --name x --to-dir \/backups/);
      await c.query(
        `UPDATE safety.backup_registry SET created_at = now() - interval '40 days' WHERE backup_id = 'sqlb'`,
      );
    });
    await createBackup(url, { name: 'recent' });
    const out = await cleanupBackups(url, 30);
    expect(out.dropped.map((d) => d.backup_id)).toEqual(['sqlb']);
    const list = await listBackups(url);
    expect(list.map((b) => [b.backup_id, b.status, b.schema_present])).toEqual([
      ['recent', 'completed', true],
      ['sqlb', 'dropped', false],
    ]);
  });

  it('backs up and restores the v2 layout too', async () => {
    const url = await freshDatabase('empty', 'bk');
    await installV2(url);
    await createBackup(url, { name: 'v2' });
    const target = `${dbName(url)}_v2r`;
    try {
      const r = await restoreBackup(url, 'v2', { intoDatabase: target });
      expect(r.catalogDifferences).toEqual([]);
      expect(domainflowOnly(await dataChecksums(urlFor(target)))).toEqual(
        domainflowOnly(await dataChecksums(url)),
      );
    } finally {
      await dropDatabase(adminUrl(), target);
    }
  });
});
