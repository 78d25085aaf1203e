/**
 * The shipped legacy history (db/legacy) against the data dictionary: applied by the runner to an
 * empty database it must yield exactly the catalog in test/fixtures/legacy-catalog.json (generated
 * from legacy-schema.md + the five errata, never from a database), survive down-to-0-and-up
 * unchanged, seed the §7 rows, and behave as the errata say.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { LEGACY_DIR, migrateDown, migrateUp } from '../../src/migrate/runner.js';
import { type Catalog, diffCatalogs, looseCatalog, readCatalog } from '../../src/schema/catalog.js';
import { freshDatabase } from '../helpers/db.js';

const SCHEMAS = ['public', 'auth'];
const expected = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'legacy-catalog.json'), 'utf8'),
) as Catalog;

const catalogOf = (url: string) => withClient(url, (c) => readCatalog(c, SCHEMAS));

/** Run `fn` in a transaction that is always rolled back, so each behaviour check starts clean. */
async function rolledBack(c: pg.ClientBase, fn: () => Promise<void>): Promise<void> {
  await c.query('BEGIN');
  try {
    await fn();
  } finally {
    await c.query('ROLLBACK');
  }
}

/** The error message of a statement that must fail (inside a savepoint, so the transaction survives). */
async function failure(c: pg.ClientBase, text: string, values: unknown[] = []): Promise<string> {
  await c.query('SAVEPOINT attempt');
  try {
    await c.query(text, values);
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT attempt');
    return (e as Error).message;
  }
  await c.query('RELEASE SAVEPOINT attempt');
  throw new Error(`expected to fail: ${text}`);
}

describe('legacy history 000001-000017', () => {
  let url: string;
  let applied: Catalog;

  beforeAll(async () => {
    // a database with nothing in it, not even the extensions: the history installs what it needs
    url = await freshDatabase('none', 'legacy');
    const r = await migrateUp(url, { dir: LEGACY_DIR });
    expect(r.to).toBe(17);
    applied = await catalogOf(url);
  });

  it('yields the dictionary catalog (model C + errata) exactly', () => {
    const diff = diffCatalogs(expected, looseCatalog(applied), { a: 'dictionary', b: 'database' });
    expect(diff).toEqual([]);
    expect(looseCatalog(applied)).toEqual(expected);
    // the shape the dictionary states in §2 plus the errata's two MFA tables
    expect(applied.tables.filter((t) => t.schema === 'auth')).toHaveLength(9);
    expect(applied.tables.filter((t) => t.schema === 'public')).toHaveLength(23);
  });

  it('is recorded as golang-migrate version 17, clean', async () => {
    const rows = await withClient(
      url,
      async (c) => (await c.query('SELECT version, dirty FROM schema_migrations')).rows,
    );
    expect(rows).toEqual([{ version: '17', dirty: false }]);
  });

  it('creates the domainflow role NOLOGIN with DML on the four MFA tables only', async () => {
    const role = await withClient(
      url,
      async (c) => (await c.query(`SELECT rolcanlogin FROM pg_roles WHERE rolname = 'domainflow'`)).rows,
    );
    expect(role).toEqual([{ rolcanlogin: false }]);
    const granted = applied.tables
      .filter((t) => t.grants.some((g) => g.grantee === 'domainflow'))
      .map((t) => t.name);
    expect(granted).toEqual(['mfa_backup_codes', 'mfa_devices', 'mfa_policies', 'mfa_verification_attempts']);
  });

  it('seeds the rows of §7', async () => {
    await withClient(url, async (c) => {
      const count = async (sql: string) => Number((await c.query(sql)).rows[0].n);
      expect(await count('SELECT count(*) AS n FROM auth.roles')).toBe(5);
      expect(await count('SELECT count(*) AS n FROM auth.permissions')).toBe(17);
      expect(await count('SELECT count(*) AS n FROM auth.role_permissions')).toBe(48);
      const perRole = await c.query(`
        SELECT r.name, count(*)::int AS n FROM auth.role_permissions rp JOIN auth.roles r ON r.id = rp.role_id
        GROUP BY r.name ORDER BY r.name`);
      expect(perRole.rows).toEqual([
        { name: 'admin', n: 16 },
        { name: 'analyst', n: 3 },
        { name: 'campaign_manager', n: 10 },
        { name: 'super_admin', n: 17 },
        { name: 'user', n: 2 },
      ]);
      const bad = await c.query(`SELECT name FROM auth.permissions WHERE name <> resource || ':' || action`);
      expect(bad.rows).toEqual([]);
      const admin = await c.query(`
        SELECT u.email, u.first_name, u.last_name, u.is_active, u.must_change_password, r.name AS role,
               ur.assigned_by, ur.expires_at, u.password_hash LIKE '$2a$12$%' AS bcrypt12
        FROM auth.users u JOIN auth.user_roles ur ON ur.user_id = u.id JOIN auth.roles r ON r.id = ur.role_id
        WHERE u.id = '00000000-0000-0000-0000-000000000001'`);
      expect(admin.rows).toEqual([
        {
          email: 'admin@domainflow.local',
          first_name: 'System',
          last_name: 'Administrator',
          is_active: true,
          must_change_password: true,
          role: 'super_admin',
          assigned_by: null,
          expires_at: null,
          bcrypt12: true,
        },
      ]);
      expect(await count('SELECT count(*) AS n FROM auth.users')).toBe(1);
      expect(await count('SELECT count(*) AS n FROM auth.user_roles')).toBe(1);
      const policy = await c.query(`
        SELECT policy_name, description, require_mfa_for_admins, require_mfa_for_all_users, allowed_mfa_types,
               grace_period_days, min_backup_codes, backup_code_regeneration_days, is_active
        FROM mfa_policies`);
      expect(policy.rows).toEqual([
        {
          policy_name: 'default',
          description: 'Default MFA policy for DomainFlow',
          require_mfa_for_admins: true,
          require_mfa_for_all_users: false,
          allowed_mfa_types: ['totp', 'backup_code'],
          grace_period_days: 7,
          min_backup_codes: 8,
          backup_code_regeneration_days: 365,
          is_active: true,
        },
      ]);
    });
  });

  it('validates persona configs through the plain per-type checks (erratum 2)', async () => {
    await withClient(url, (c) =>
      rolledBack(c, async () => {
        const dns = {
          resolvers: ['1.1.1.1'],
          useSystemResolvers: false,
          queryTimeoutSeconds: 5,
          maxDomainsPerRequest: 10,
        };
        const http = { userAgent: 'Mozilla/5.0', headers: { Accept: 'text/html' } };
        const ins =
          'INSERT INTO personas (name, persona_type, config_details) VALUES ($1, $2, $3) RETURNING id';
        const dnsId = (await c.query(ins, ['dns-ok', 'dns', dns])).rows[0].id;
        const httpId = (await c.query(ins, ['http-ok', 'http', http])).rows[0].id;
        await c.query('UPDATE personas SET config_details = $2 WHERE id = $1', [
          dnsId,
          { ...dns, queryTimeoutSeconds: 9 },
        ]);
        await c.query('UPDATE personas SET description = $2 WHERE id = $1', [httpId, 'still valid']);

        expect(await failure(c, ins, ['dns-bad', 'dns', { resolvers: ['1.1.1.1'] }])).toMatch(
          /Invalid DNS persona configuration: missing required fields/,
        );
        expect(await failure(c, ins, ['dns-types', 'dns', { ...dns, resolvers: 'x' }])).toMatch(
          /incorrect field types/,
        );
        expect(await failure(c, ins, ['http-bad', 'http', { userAgent: '', headers: {} }])).toMatch(
          /userAgent cannot be empty/,
        );
        expect(
          await failure(c, 'UPDATE personas SET config_details = $2 WHERE id = $1', [
            httpId,
            { userAgent: 'x' },
          ]),
        ).toMatch(/Invalid HTTP persona configuration: missing required fields/);
        expect(
          await failure(c, 'UPDATE personas SET config_details = $2 WHERE id = $1', [dnsId, {}]),
        ).toMatch(/Invalid DNS persona configuration/);
      }),
    );
  });

  it('lets a campaign keep its status and still rejects invalid transitions (erratum 2)', async () => {
    await withClient(url, (c) =>
      rolledBack(c, async () => {
        const id = (
          await c.query(
            `INSERT INTO campaigns (name, status, total_items) VALUES ('c', 'running', 100) RETURNING id`,
          )
        ).rows[0].id;
        // a progress update keeps the status: allowed, and no trigger touches campaign_statistics
        await c.query('UPDATE campaigns SET processed_items = 40, progress_percentage = 40 WHERE id = $1', [
          id,
        ]);
        await c.query(`UPDATE campaigns SET status = 'running' WHERE id = $1`, [id]);
        await c.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [id]);
        expect(await failure(c, `UPDATE campaigns SET status = 'completed' WHERE id = $1`, [id])).toMatch(
          /Invalid status transition from paused to completed/,
        );
        await c.query(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, [id]);
        await c.query(`UPDATE campaigns SET name = 'renamed' WHERE id = $1`, [id]);
        expect(await failure(c, `UPDATE campaigns SET status = 'queued' WHERE id = $1`, [id])).toMatch(
          /Cannot transition from terminal status cancelled/,
        );
        const row = (await c.query('SELECT status, processed_items FROM campaigns WHERE id = $1', [id]))
          .rows[0];
        expect(row).toEqual({ status: 'cancelled', processed_items: '40' });
        // the whole-view refresh still works (the unique index allows CONCURRENTLY... outside a
        // transaction only, so here the plain refresh proves the view definition is sound)
        await c.query('REFRESH MATERIALIZED VIEW campaign_statistics');
        const stats = (
          await c.query('SELECT status, total_domains FROM campaign_statistics WHERE id = $1', [id])
        ).rows;
        expect(stats).toEqual([{ status: 'cancelled', total_domains: '0' }]);
      }),
    );
  });

  it('validates sessions as auth.validate_session_security documents (erratum 5)', async () => {
    await withClient(url, (c) =>
      rolledBack(c, async () => {
        const admin = '00000000-0000-0000-0000-000000000001';
        const ua = 'Mozilla/5.0 (X11; Linux x86_64)';
        await c.query(
          `INSERT INTO auth.sessions (id, user_id, ip_address, user_agent, screen_resolution, expires_at)
           VALUES ('clean', $1, '10.0.0.1', $2, '1920x1080', now() + interval '1 hour'),
                  ('stale', $1, '10.0.0.1', $2, NULL, now() + interval '1 hour')`,
          [admin, ua],
        );
        await c.query(
          `UPDATE auth.sessions SET last_activity_at = now() - interval '2 hours' WHERE id = 'stale'`,
        );
        const check = async (id: string, ip: string, agent: string, requireIp: boolean, requireUa: boolean) =>
          (
            await c.query('SELECT * FROM auth.validate_session_security($1, $2, $3, $4, $5)', [
              id,
              ip,
              agent,
              requireIp,
              requireUa,
            ])
          ).rows;

        const clean = await check('clean', '10.0.0.1', ua, true, true);
        expect(clean).toHaveLength(1);
        expect(clean[0].is_valid).toBe(true);
        expect(clean[0].user_id).toBe(admin);
        expect(clean[0].security_flags).toEqual({});
        expect(clean[0].roles).toEqual(['super_admin']);
        expect(clean[0].permissions).toHaveLength(17);

        // several problems at once: one row, every flag in it
        const flagged = await check('stale', '10.9.9.9', 'curl/8', true, true);
        expect(flagged).toEqual([
          {
            is_valid: false,
            user_id: admin,
            security_flags: {
              ip_mismatch: true,
              user_agent_mismatch: true,
              fingerprint_mismatch: true,
              idle_timeout: true,
            },
            permissions: null,
            roles: null,
          },
        ]);

        const missing = await check('nope', '10.0.0.1', ua, false, false);
        expect(missing).toEqual([
          {
            is_valid: false,
            user_id: null,
            security_flags: { error: 'session_not_found' },
            permissions: null,
            roles: null,
          },
        ]);
      }),
    );
  });

  it('goes down to version 0 and up again to the identical catalog', async () => {
    const db = await freshDatabase('none', 'legacycycle');
    await migrateUp(db, { dir: LEGACY_DIR });
    const before = await catalogOf(db);
    const down = await migrateDown(db, { dir: LEGACY_DIR });
    expect(down.to).toBeNull();

    const empty = await catalogOf(db);
    expect(empty.schemas).toEqual(['public']);
    expect(empty.views).toEqual([]);
    expect(empty.functions).toEqual([]);
    expect(empty.sequences).toEqual([]);
    // only golang-migrate's bookkeeping table stays, with no version row
    expect(empty.tables.map((t) => t.name)).toEqual(['schema_migrations']);

    await migrateUp(db, { dir: LEGACY_DIR });
    const after = await catalogOf(db);
    expect(diffCatalogs(before, after, { a: 'first up', b: 'after down+up' })).toEqual([]);
    expect(after).toEqual(before);
    // and the same as the other database built from scratch
    expect(diffCatalogs(applied, after, { a: 'fresh', b: 'cycled' })).toEqual([]);
  });
});
