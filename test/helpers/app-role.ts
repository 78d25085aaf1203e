/**
 * An application role as production runs it: LOGIN, not superuser, not the owner of anything;
 * USAGE on the schemas, SELECT/INSERT/UPDATE/DELETE on the tables, USAGE on the sequences, plus a
 * default privilege for tables created later. A second, reporting role gets a column grant. Roles
 * are cluster-wide, so names carry a random suffix (test files share the cluster).
 */
import { randomBytes } from 'node:crypto';
import { withClient } from '../../src/db/connection.js';
import { quoteIdent } from '../../src/sql/sql.js';

export interface AppRole {
  /** the database URL connecting as the application role */
  url: string;
  role: string;
  /** a role with only SELECT (id, name, status) ON campaigns */
  reportingRole: string;
}

export async function createAppRole(adminDbUrl: string, schemas = ['public', 'auth']): Promise<AppRole> {
  const suffix = randomBytes(4).toString('hex');
  const role = `dfc_app_${suffix}`;
  const reportingRole = `dfc_report_${suffix}`;
  const password = `app-${randomBytes(8).toString('hex')}`;
  const db = decodeURIComponent(new URL(adminDbUrl).pathname.slice(1));
  const r = quoteIdent(role);
  await withClient(adminDbUrl, async (c) => {
    await c.query(`CREATE ROLE ${r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`);
    await c.query(`CREATE ROLE ${quoteIdent(reportingRole)} NOLOGIN`);
    await c.query(`GRANT CONNECT ON DATABASE ${quoteIdent(db)} TO ${r}`);
    for (const s of schemas.map(quoteIdent)) {
      await c.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`);
      await c.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
      await c.query(
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`,
      );
    }
    await c.query(`GRANT USAGE ON SCHEMA public TO ${quoteIdent(reportingRole)}`);
    await c.query(`GRANT SELECT (id, name, status) ON public.campaigns TO ${quoteIdent(reportingRole)}`);
  });
  const u = new URL(adminDbUrl);
  u.username = role;
  u.password = password;
  return { url: u.toString(), role, reportingRole };
}
