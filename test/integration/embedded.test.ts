import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactUrl, withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { freshDatabase } from '../helpers/db.js';

describe('the test cluster', () => {
  it('is a real PostgreSQL with the extensions DomainFlow needs preloaded', async () => {
    const url = await freshDatabase('empty');
    await withClient(url, async (c) => {
      const v = await c.query<{ v: string }>('SELECT current_setting($$server_version_num$$) AS v');
      expect(Number(v.rows[0]!.v)).toBeGreaterThanOrEqual(120000);
      const pre = await c.query<{ s: string }>('SELECT current_setting($$shared_preload_libraries$$) AS s');
      expect(pre.rows[0]!.s).toContain('pg_stat_statements');
      await c.query('CREATE EXTENSION pg_stat_statements');
      const n = await c.query('SELECT count(*) FROM pg_stat_statements');
      expect(n.rowCount).toBe(1);
    });
  });
});

describe('connection URLs', () => {
  it('rejects malformed URLs with a DFC_CONFIG error that names the fix', () => {
    for (const bad of ['not a url', 'mysql://u@h/db', 'postgresql://u:p@h:5432']) {
      try {
        parseDatabaseUrl(bad);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(DfcError);
        expect((e as DfcError).code).toBe('DFC_CONFIG');
        expect((e as DfcError).fix.length).toBeGreaterThan(10);
      }
    }
  });
  it('never shows the password', () => {
    expect(redactUrl('postgresql://u:s3cret@h:1/db')).not.toContain('s3cret');
  });
});

describe('the embedded cluster as root', () => {
  // as root the server runs as the postgres user; only root can make a directory it cannot enter matter
  it.skipIf(process.getuid?.() !== 0)(
    'refuses, creating nothing, a DFC_HOME under a directory the postgres user cannot enter',
    async () => {
      const { mkdtemp, readdir, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const path = await import('node:path');
      const { clusterPaths, initCluster } = await import('../../embedded/cluster.js');
      const closed = await mkdtemp(path.join(tmpdir(), 'dfc-closed-')); // mode 0700
      try {
        const err = await initCluster(clusterPaths(path.join(closed, 'home'))).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DfcError);
        expect((err as DfcError).code).toBe('DFC_CONFIG');
        expect((err as DfcError).message).toContain(closed);
        expect((err as DfcError).fix).toContain(`chmod o+x ${closed}`);
        expect(await readdir(closed)).toEqual([]);
      } finally {
        await rm(closed, { recursive: true, force: true });
      }
    },
  );
});
