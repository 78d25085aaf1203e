/**
 * Where to connect and how. Precedence: --database-url, DATABASE_URL, the libpq PG* variables,
 * then the embedded default cluster (started on demand). Every session is prepared the same way:
 * application_name, a lock_timeout, and errors turned into one clear line.
 */
import pg from 'pg';
import { clusterUrl, startCluster } from '../../embedded/cluster.js';
import { DfcError, sqlstate } from '../errors.js';
import { build, type SqlFragment } from '../sql/sql.js';

export interface ConnectOptions {
  databaseUrl?: string;
  /** database name on the embedded cluster (ignored when a URL is given) */
  database?: string;
  applicationName?: string;
}

export interface Target {
  url: string;
  source: 'flag' | 'DATABASE_URL' | 'PG env' | 'embedded';
}

/** Parse and check a connection URL; a malformed one is a DFC_CONFIG error naming the problem. */
export function parseDatabaseUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new DfcError('DFC_CONFIG', `malformed database URL: ${redactUrl(raw)}`, {
      fix: 'use the form postgresql://user:password@host:5432/dbname (percent-encode special characters in the password)',
    });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new DfcError('DFC_CONFIG', `unsupported URL scheme "${u.protocol}" in ${redactUrl(raw)}`, {
      fix: 'the URL must start with postgresql:// or postgres://',
    });
  }
  if (!u.hostname && !u.searchParams.get('host')) {
    throw new DfcError('DFC_CONFIG', `the database URL names no host: ${redactUrl(raw)}`, {
      fix: 'add a host, e.g. postgresql://user@localhost:5432/dbname',
    });
  }
  if (u.pathname.length <= 1) {
    throw new DfcError('DFC_CONFIG', `the database URL names no database: ${redactUrl(raw)}`, {
      fix: 'append the database name, e.g. .../domainflow',
    });
  }
  return u;
}

/** The URL with any password replaced by `***`, safe for logs. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return raw.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  }
}

function urlFromPgEnv(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.PGHOST && !env.PGDATABASE && !env.PGPORT) return undefined;
  const u = new URL('postgresql://localhost');
  u.hostname = env.PGHOST ?? 'localhost';
  if (env.PGPORT) u.port = env.PGPORT;
  u.username = env.PGUSER ?? 'postgres';
  if (env.PGPASSWORD) u.password = env.PGPASSWORD;
  u.pathname = `/${env.PGDATABASE ?? env.PGUSER ?? 'postgres'}`;
  return u.toString();
}

/** Decide the target server; starts the embedded cluster when nothing else is configured. */
export async function resolveTarget(opts: ConnectOptions = {}, env = process.env): Promise<Target> {
  if (opts.databaseUrl) return { url: parseDatabaseUrl(opts.databaseUrl).toString(), source: 'flag' };
  if (env.DATABASE_URL) return { url: parseDatabaseUrl(env.DATABASE_URL).toString(), source: 'DATABASE_URL' };
  const fromEnv = urlFromPgEnv(env);
  if (fromEnv) return { url: fromEnv, source: 'PG env' };
  const state = await startCluster();
  const url = clusterUrl(state, opts.database ?? 'domainflow');
  await ensureDatabaseExists(url);
  return { url, source: 'embedded' };
}

/** On the embedded cluster the default database is created on first use. */
async function ensureDatabaseExists(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  const c = await connect(u.toString(), 'dfc-bootstrap');
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } finally {
    await c.end();
  }
}

/** Open one prepared session. Connection failures become a one-line DFC_CONNECTION error. */
export async function connect(url: string, applicationName = 'dfc'): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    connectionTimeoutMillis: 15000,
  });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => {});
    throw connectionError(url, cause);
  }
  client.on('error', () => {}); // a terminated backend surfaces on the next query instead of crashing the process
  return client;
}

export function connectionError(url: string, cause: unknown): DfcError {
  const safe = redactUrl(url);
  const state = sqlstate(cause);
  const msg = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: string })?.code;
  if (state === '28P01' || state === '28000')
    return new DfcError('DFC_CONNECTION', `login failed for ${safe}: ${msg}`, {
      fix: 'check the user name and password in the URL (or PGUSER/PGPASSWORD) and pg_hba.conf',
      cause,
    });
  if (state === '3D000')
    return new DfcError('DFC_CONNECTION', `database does not exist: ${safe}`, {
      fix: 'create it or correct the name in the URL',
      cause,
    });
  if (code === 'ECONNREFUSED')
    return new DfcError('DFC_CONNECTION', `connection refused by ${safe}`, {
      fix: 'check that the server is running and listening on that host and port',
      cause,
    });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new DfcError('DFC_CONNECTION', `host not found in ${safe}`, {
      fix: 'check the host name in the URL',
      cause,
    });
  return new DfcError('DFC_CONNECTION', `cannot connect to ${safe}: ${msg}`, {
    fix: 'check the URL, the network and the server log',
    cause,
  });
}

/** Run a fragment built with sql`` on a client. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase,
  f: SqlFragment,
): Promise<pg.QueryResult<R>> {
  return client.query<R>(build(f));
}

/** Open, use, close. */
export async function withClient<T>(
  url: string,
  fn: (c: pg.Client) => Promise<T>,
  applicationName?: string,
): Promise<T> {
  const c = await connect(url, applicationName);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** BEGIN … COMMIT, rolled back when fn throws. */
export async function inTransaction<T>(c: pg.ClientBase, fn: () => Promise<T>, mode = ''): Promise<T> {
  await c.query(`BEGIN${mode ? ` ${mode}` : ''}`);
  try {
    const r = await fn();
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
