/**
 * Every refusal is clear and changes nothing: a coded error, a fix line, no stack trace, no
 * password in the output, and (where a database is involved) unchanged catalog and data checksums.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { advisoryKey, CONSOLIDATION_LOCK } from '../../src/db/lock.js';
import { installV2 } from '../../src/install.js';
import { MIGRATE_LOCK } from '../../src/migrate/session.js';
import { quoteIdent } from '../../src/sql/sql.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { type CliResult, dfc, lastJson } from '../helpers/cli.js';
import { adminUrl, freshDatabase } from '../helpers/db.js';

const SECRET = 'Sup3rS3cret';

/** code, fix line, no stack trace, no password: the common shape of a refusal. */
function expectRefusal(r: CliResult, code: string, json = false) {
  expect(r.code).toBe(1);
  expect(r.all).not.toContain(SECRET);
  expect(r.all).not.toContain(decodeURIComponent(new URL(adminUrl()).password)); // the test cluster's
  expect(r.all).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/); // no stack frames
  if (json) {
    const e = lastJson(r.stdout);
    expect(e).toMatchObject({ error: true, code });
    expect(String(e.fix).length).toBeGreaterThan(10);
  } else {
    expect(r.stderr).toMatch(new RegExp(`^error ${code}: `, 'm'));
    expect(r.stderr).toMatch(/^ {2}fix: .{10,}/m);
  }
}

/** Run fn and assert the database's catalog and every table's rows are unchanged. */
async function unchanged(url: string, fn: () => Promise<void>) {
  const before = { cat: await catalogChecksum(url), data: await dataChecksums(url) };
  await fn();
  expect(await catalogChecksum(url)).toBe(before.cat);
  expect(await dataChecksums(url)).toEqual(before.data);
}

const withPassword = (url: string) => {
  const u = new URL(url);
  u.password = SECRET;
  return u.toString();
};

describe('number options are validated in one place (DFC_CONFIG, no stack trace, also under --json)', () => {
  it('cutover --lock-timeout 0 and consolidate --batch-size -5 / 0 / abc change nothing', async () => {
    const url = await freshDatabase('seeded', 'ref');
    await unchanged(url, async () => {
      for (const json of [false, true]) {
        const g = ['--database-url', withPassword(url), ...(json ? ['--json'] : [])];
        const lt = await dfc([...g, 'cutover', '--lock-timeout', '0']);
        expectRefusal(lt, 'DFC_CONFIG', json);
        expect(lt.all).toContain('--lock-timeout');
        for (const v of ['-5', '0', 'abc']) {
          const r = await dfc([...g, 'consolidate', `--batch-size=${v}`]);
          expectRefusal(r, 'DFC_CONFIG', json);
          expect(r.all).toMatch(/--batch-size must be a whole number ≥ 1, got \\?"/);
        }
      }
    });
  });
});

describe('dfc --version', () => {
  it("prints the package's version and touches no database", async () => {
    const { version } = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8'),
    );
    const r = await dfc(['--version'], { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});

describe('connection strings are parsed by a kept library; the password is never printed', () => {
  it('a URL without postgresql:// is refused without echoing it', async () => {
    for (const bad of [`u:${SECRET}@localhost:5432/db`, `localhost:5432/db?password=${SECRET}`]) {
      const r = await dfc(['--database-url', bad, 'validate']);
      expectRefusal(r, 'DFC_CONFIG');
      expect(r.stderr).toContain('neither a postgresql:// URL nor libpq keyword=value');
    }
  });

  it('libpq key=value strings connect (and a bad one is refused without the password)', async () => {
    const url = new URL(await freshDatabase('legacy', 'kv'));
    const password = decodeURIComponent(url.password);
    expect(password.length).toBeGreaterThan(3); // the test cluster uses password authentication
    const kv = `host=${url.hostname} port=${url.port} dbname=${url.pathname.slice(1)} user=${decodeURIComponent(url.username)} password='${password}'`;
    const ok = await dfc(['--database-url', kv, '--json', 'migrate', 'status', '--legacy']);
    expect(ok.all).not.toContain(password);
    expect(ok.code, ok.all).toBe(0);
    const bad = await dfc(['--database-url', `${kv} sslfoo=1`, 'migrate', 'status', '--legacy']);
    expectRefusal(bad, 'DFC_CONFIG');
    expect(bad.stderr).toContain('unsupported keyword "sslfoo"');
  });

  it('PGPORT=abc is a coded error with output', async () => {
    const r = await dfc(['validate'], { PGHOST: 'localhost', PGPORT: 'abc', PGPASSWORD: SECRET });
    expectRefusal(r, 'DFC_CONFIG');
    expect(r.stderr).toContain('PGPORT');
  });

  describe('PGHOST as a socket directory', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dfc-sock-'));
    let server: net.Server | undefined;
    afterAll(() => {
      server?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    it('is honoured: dfc connects through <dir>/.s.PGSQL.<port>', async () => {
      const url = new URL(await freshDatabase('legacy', 'sock'));
      // the test cluster listens on TCP only: a socket in a private directory relays to it
      server = net.createServer((s) => {
        const up = net.connect(Number(url.port), url.hostname);
        s.pipe(up).pipe(s);
        s.on('error', () => up.destroy());
        up.on('error', () => s.destroy());
      });
      await new Promise<void>((res) => server!.listen(path.join(dir, `.s.PGSQL.${url.port}`), res));
      const r = await dfc(['--json', 'migrate', 'status', '--legacy'], {
        PGHOST: dir,
        PGPORT: url.port,
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
        PGDATABASE: url.pathname.slice(1),
      });
      expect(r.code, r.all).toBe(0);
      expect(r.code).toBe(0);
      expect(JSON.stringify(lastJson(r.stdout))).toContain('17');
    });
  });
});

describe('refusals that involve a database change nothing', () => {
  it('DFC_HOME under /proc: a clear DFC_CONFIG error instead of a hang', async () => {
    const r = await dfc(['db', 'start'], { DFC_HOME: '/proc/dfc-home' });
    expectRefusal(r, 'DFC_CONFIG');
    expect(r.stderr).toContain('/proc');
  });

  it('consolidate on a database already on v2: CONSOLIDATION_01 before any change (no run row)', async () => {
    const url = await freshDatabase('empty', 'onv2');
    await installV2(url);
    await unchanged(url, async () => {
      for (const json of [false, true]) {
        const r = await dfc(['--database-url', url, ...(json ? ['--json'] : []), 'consolidate']);
        expectRefusal(r, 'CONSOLIDATION_01', json);
        expect(r.all).toMatch(/already on (schema )?v2/);
      }
    });
  });

  it('migrate down --legacy on a v2 database: refused, the legacy down files do not apply', async () => {
    const url = await freshDatabase('empty', 'downv2');
    await installV2(url);
    await unchanged(url, async () => {
      const r = await dfc(['--database-url', url, 'migrate', 'down', '--legacy']);
      expectRefusal(r, 'DFC_MIGRATION');
      expect(r.stderr).toContain('do not apply to v2; nothing was run');
    });
  });

  it('DFC_LOCKED suggests --wait only where the command accepts it', async () => {
    const url = await freshDatabase('legacy', 'lock');
    await withClient(url, async (holder) => {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [advisoryKey(CONSOLIDATION_LOCK).toString()]);
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [advisoryKey(MIGRATE_LOCK).toString()]);
      await unchanged(url, async () => {
        const c = await dfc(['--database-url', url, 'consolidate']);
        expectRefusal(c, 'DFC_LOCKED');
        expect(c.stderr).not.toContain('--wait');
        const m = await dfc(['--database-url', url, 'migrate', 'up', '--legacy']);
        expectRefusal(m, 'DFC_LOCKED');
        expect(m.stderr).toMatch(/fix: .*--wait/);
      });
    });
  });

  it('a permission error (42501) is DFC_PRIVILEGE with a fix, not DFC_INTERNAL', async () => {
    const url = await freshDatabase('legacy', 'priv');
    const role = `dfc_noprv_${randomBytes(4).toString('hex')}`;
    await withClient(url, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${SECRET}'`));
    const u = new URL(url);
    u.username = role;
    u.password = SECRET;
    await unchanged(url, async () => {
      for (const json of [false, true]) {
        const r = await dfc([
          '--database-url',
          u.toString(),
          ...(json ? ['--json'] : []),
          'migrate',
          'status',
          '--legacy',
        ]);
        expectRefusal(r, 'DFC_PRIVILEGE', json);
        expect(r.all).toContain('permission denied');
        expect(r.all).not.toContain('this is a bug');
      }
    });
  });

  it('validate prints hostile object names quoted in its fix SQL', async () => {
    const url = await freshDatabase('legacy', 'hostile');
    const evil = 'x"; DROP TABLE public.campaigns; --';
    await withClient(url, (c) =>
      c.query(`CREATE FUNCTION public.dfc_t_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER ${quoteIdent(evil)} BEFORE UPDATE OF user_id ON public.campaigns FOR EACH ROW EXECUTE FUNCTION public.dfc_t_touch();
        CREATE VIEW public.${quoteIdent('my view')} AS SELECT id, user_id FROM public.campaigns`),
    );
    await unchanged(url, async () => {
      const r = await dfc(['--database-url', url, 'validate']);
      expect(r.code).toBe(1);
      // both use campaigns.user_id, which v2 changes to uuid: not carried, refused with a quoted fix
      expect(r.all).toContain(`DROP TRIGGER ${quoteIdent(evil)} ON public.campaigns`);
      expect(r.all).toContain('DROP VIEW public."my view"');
      expect(r.all).not.toMatch(/DROP TRIGGER x"; DROP TABLE/);
    });
  });
});

describe('a server restart mid-consolidate', () => {
  it('is DFC_CONNECTION saying re-run to resume; re-running resumes and finishes', async () => {
    const url = await freshDatabase('seeded', 'restart');
    const db = new URL(url).pathname.slice(1);
    const child = dfc(['--database-url', url, 'consolidate', '--batch-size', '50', '--batch-delay', '20']);
    // the server going away looks like this to a client: its backends terminated (57P01)
    await withClient(adminUrl(), async (c) => {
      for (let i = 0; i < 300; i++) {
        const r = await c.query(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
          [db, 'dfc-consolidate'],
        );
        if (Number(r.rows[0].n) > 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, 1500));
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dfc%'`,
        [db],
      );
    });
    const r = await child;
    expectRefusal(r, 'DFC_CONNECTION');
    expect(r.stderr).toMatch(/fix: re-run .*resume/);
    const again = await dfc(['--database-url', url, '--json', 'consolidate']);
    expect(again.code, again.all).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ event: 'consolidate.done', state: 'ready_for_cutover' });
  });
});
