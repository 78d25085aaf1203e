/**
 * The demo's DomainFlow service connects as production runs it: an ordinary LOGIN role, neither
 * superuser nor owner, with USAGE on the schemas, SELECT/INSERT/UPDATE/DELETE on the tables, USAGE
 * on the sequences and a default privilege for tables made later. `dfc` itself runs as the admin.
 * The password is random per run and never printed (the URL is kept in memory only).
 */
import { randomBytes } from 'node:crypto';
import { withClient } from './db/connection.js';
import { build, ident, literal, sql } from './sql/sql.js';

export interface DemoAppRole {
  role: string;
  /** connects as the role; contains the password: never print it */
  url: string;
}

export async function createDemoAppRole(adminDbUrl: string, role = 'domainflow_app'): Promise<DemoAppRole> {
  const password = randomBytes(18).toString('base64url');
  const db = decodeURIComponent(new URL(adminDbUrl).pathname.slice(1));
  await withClient(adminDbUrl, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    // roles are cluster-wide: a previous demo's role is reused with a new password
    const verb = exists.rowCount ? sql`ALTER ROLE` : sql`CREATE ROLE`;
    await c.query(
      build(
        sql`${verb} ${ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${literal(password)}`,
      ),
    );
    await c.query(build(sql`GRANT CONNECT ON DATABASE ${ident(db)} TO ${ident(role)}`));
    for (const s of ['public', 'auth']) {
      await c.query(build(sql`GRANT USAGE ON SCHEMA ${ident(s)} TO ${ident(role)}`));
      await c.query(
        build(
          sql`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${ident(s)} TO ${ident(role)}`,
        ),
      );
      await c.query(build(sql`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${ident(s)} TO ${ident(role)}`));
      await c.query(
        build(
          sql`ALTER DEFAULT PRIVILEGES IN SCHEMA ${ident(s)} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${ident(role)}`,
        ),
      );
    }
  });
  const u = new URL(adminDbUrl);
  u.username = role;
  u.password = password;
  return { role, url: u.toString() };
}
