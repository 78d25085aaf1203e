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
  // as root the server runs as the postgres user; only then can a directory it cannot enter matter
  const asRoot = process.getuid?.() === 0;
  it.skipIf(!asRoot)(
    'starts with DFC_HOME and the server binaries behind a 0700 directory: both staged where postgres can reach them',
    async () => {
      const { chmod, cp, mkdtemp, readFile, readlink, rm } = await import('node:fs/promises');
      const { existsSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const path = await import('node:path');
      const { binDir, clusterPaths, clusterUrl, removeCluster, startCluster } = await import(
        '../../embedded/cluster.js'
      );
      const closed = await mkdtemp(path.join(tmpdir(), 'dfc-closed-')); // mode 0700, as mktemp -d
      const stageParent = await mkdtemp(path.join(tmpdir(), 'dfc-stage-'));
      await chmod(stageParent, 0o755);
      const saved = { bin: process.env.DFC_PG_BIN_DIR, stage: process.env.DFC_STAGE_DIR };
      // the installed server, copied behind the closed directory as a mktemp checkout has it
      const install = path.dirname(binDir());
      await cp(install, path.join(closed, 'native'), { recursive: true, verbatimSymlinks: true });
      process.env.DFC_PG_BIN_DIR = path.join(closed, 'native', path.basename(binDir()));
      process.env.DFC_STAGE_DIR = path.join(stageParent, 'stage');
      const paths = clusterPaths(path.join(closed, 'home'));
      try {
        expect(paths.dataDir.startsWith(process.env.DFC_STAGE_DIR)).toBe(true);
        const state = await startCluster(paths);
        await withClient(clusterUrl(state, 'postgres'), async (c) => {
          const r = await c.query<{ d: string }>(`SELECT current_setting('data_directory') AS d`);
          expect(r.rows[0]!.d).toBe(paths.dataDir);
        });
        // the running postmaster is the staged copy, not the closed one
        const pid = (await readFile(path.join(paths.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0];
        const exe = await readlink(`/proc/${pid}/exe`);
        expect(exe.startsWith(process.env.DFC_STAGE_DIR)).toBe(true);
        expect(existsSync(path.join(closed, 'home', 'cluster.json'))).toBe(true);
      } finally {
        await removeCluster(paths);
        process.env.DFC_PG_BIN_DIR = saved.bin;
        process.env.DFC_STAGE_DIR = saved.stage;
        if (saved.bin === undefined) delete process.env.DFC_PG_BIN_DIR;
        if (saved.stage === undefined) delete process.env.DFC_STAGE_DIR;
        expect(existsSync(paths.dataDir)).toBe(false);
        await rm(closed, { recursive: true, force: true });
        await rm(stageParent, { recursive: true, force: true });
      }
    },
  );
  it.skipIf(!asRoot)(
    'refuses, creating nothing, a staging directory that someone other than root owns',
    async () => {
      const { chown, mkdir, mkdtemp, readdir, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const path = await import('node:path');
      const { clusterPaths, initCluster } = await import('../../embedded/cluster.js');
      const closed = await mkdtemp(path.join(tmpdir(), 'dfc-closed-'));
      const planted = path.join(tmpdir(), `dfc-planted-${process.pid}`);
      await mkdir(planted, { mode: 0o755 });
      await chown(planted, 65534, 65534); // nobody
      const saved = process.env.DFC_STAGE_DIR;
      process.env.DFC_STAGE_DIR = planted;
      try {
        const err = await initCluster(clusterPaths(path.join(closed, 'home'))).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DfcError);
        expect((err as DfcError).code).toBe('DFC_CONFIG');
        expect((err as DfcError).message).toContain(planted);
        expect(await readdir(planted)).toEqual([]);
      } finally {
        if (saved === undefined) delete process.env.DFC_STAGE_DIR;
        else process.env.DFC_STAGE_DIR = saved;
        await rm(closed, { recursive: true, force: true });
        await rm(planted, { recursive: true, force: true });
      }
    },
  );
});
