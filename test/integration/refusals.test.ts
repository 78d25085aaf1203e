/**
 * Every refusal is clear and changes nothing: a coded error, a fix line, no stack trace, no
 * password in the output, and (where a database is involved) unchanged catalog and data checksums.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { type CliResult, dfc, lastJson } from '../helpers/cli.js';
import { adminUrl, freshDatabase } from '../helpers/db.js';

const SECRET = 'Sup3rS3cret';

/** code, fix line, no stack trace, no password: the common shape of a refusal. */
function expectRefusal(r: CliResult, code: string, json = false) {
  expect(r.code).toBe(1);
  expect(r.all).not.toContain(SECRET);
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

describe('the test cluster is reachable for these refusals', () => {
  it('admin URL works', async () => {
    await withClient(adminUrl(), (c) => c.query('SELECT 1'));
  });
});
