/**
 * Where to connect and how. Precedence: --database-url, DATABASE_URL, the libpq PG* variables,
 * then the embedded default cluster (started on demand). Every session is prepared the same way:
 * application_name, a lock_timeout, and errors turned into one clear line.
 */
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
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

/** The parts of a connection that dfc carries; everything becomes one canonical postgresql:// URL. */
interface ConnParts {
  host?: string;
  port?: string;
  user?: string;
  password?: string;
  database?: string;
  /** sslmode, options, connect_timeout, … passed through as URL query parameters */
  params: Record<string, string>;
}

const PASSTHROUGH = [
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'options',
  'connect_timeout',
  'target_session_attrs',
];

const configError = (message: string, fix: string) => new DfcError('DFC_CONFIG', message, { fix });

/**
 * libpq keyword/value form: `host=db port=5432 dbname=x user=u password='a b\'c'` (values may be
 * single-quoted, backslash escapes \' and \\). Unknown keywords are refused rather than ignored.
 */
function parseKeywordValue(raw: string): ConnParts {
  const parts: ConnParts = { params: {} };
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|((?:[^\s'\\]|\\.)*))/y;
  let pos = 0;
  const text = raw.trim();
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw configError('malformed libpq connection string (expected keyword=value pairs)', KV_FIX);
    pos = re.lastIndex;
    const key = m[1]!.toLowerCase();
    const value = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
    if (key === 'host' || key === 'hostaddr') parts.host = value;
    else if (key === 'port') parts.port = value;
    else if (key === 'user') parts.user = value;
    else if (key === 'password') parts.password = value;
    else if (key === 'dbname') parts.database = value;
    else if (PASSTHROUGH.includes(key) || key === 'application_name') parts.params[key] = value;
    else throw configError(`unsupported keyword "${key}" in the libpq connection string`, KV_FIX);
  }
  return parts;
}

const KV_FIX =
  "use host=HOST port=5432 dbname=NAME user=USER password='…' (or a postgresql://user:password@host:5432/dbname URL)";
const URL_FIX =
  'use the form postgresql://user:password@host:5432/dbname (percent-encode special characters in the password), or libpq keyword=value pairs';

function parseUrlForm(raw: string): ConnParts {
  let parsed: ReturnType<typeof parseConnectionString>;
  try {
    new URL(raw); // pg-connection-string is lenient; the URL grammar catches a bad port, bad escapes
    parsed = parseConnectionString(raw);
  } catch {
    throw configError(`malformed database URL: ${redactUrl(raw)}`, URL_FIX);
  }
  const params: Record<string, string> = {};
  const q = new URL(raw).searchParams;
  for (const k of PASSTHROUGH) if (q.has(k)) params[k] = q.get(k)!;
  return {
    host: parsed.host ?? undefined,
    port: parsed.port ?? undefined,
    user: parsed.user || undefined,
    password: parsed.password || undefined,
    database: parsed.database ?? undefined,
    params,
  };
}

/** Canonical URL; a socket directory becomes a percent-encoded host (libpq and pg both read it so). */
function toUrl(p: ConnParts, origin: string): string {
  if (!p.host)
    throw configError(`${origin} names no host`, 'add a host, e.g. postgresql://user@localhost:5432/dbname');
  if (!p.database)
    throw configError(
      `${origin} names no database`,
      'name the database, e.g. postgresql://user@localhost:5432/domainflow',
    );
  if (p.port !== undefined && p.port !== '') {
    const n = Number(p.port);
    if (!/^[0-9]+$/.test(p.port) || n < 1 || n > 65535)
      throw configError(
        `${origin}: port "${p.port}" is not a port number`,
        origin.includes('PGPORT')
          ? 'set PGPORT to a number between 1 and 65535, e.g. PGPORT=5432'
          : 'use a port between 1 and 65535, e.g. :5432',
      );
  }
  const host = p.host.startsWith('/')
    ? encodeURIComponent(p.host)
    : p.host.includes(':')
      ? `[${p.host}]`
      : p.host;
  const auth = p.user
    ? `${encodeURIComponent(p.user)}${p.password ? `:${encodeURIComponent(p.password)}` : ''}@`
    : '';
  const query = new URLSearchParams(p.params).toString();
  return `postgresql://${auth}${host}${p.port ? `:${p.port}` : ''}/${encodeURIComponent(p.database)}${query ? `?${query}` : ''}`;
}

/**
 * Parse a connection string — a postgresql:// (or postgres://) URL, or libpq keyword=value pairs —
 * into the canonical URL. Anything else is a DFC_CONFIG error whose message never repeats the
 * input (it may hold a password).
 */
export function parseDatabaseUrl(raw: string): URL {
  const text = raw.trim();
  let parts: ConnParts;
  if (/^postgres(ql)?:\/\//i.test(text)) parts = parseUrlForm(text);
  else if (/^[A-Za-z_]+\s*=/.test(text)) parts = parseKeywordValue(text);
  else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text))
    throw configError(
      `unsupported URL scheme "${text.slice(0, text.indexOf(':') + 1)}"`,
      'the URL must start with postgresql:// or postgres://',
    );
  else
    throw configError(
      'the database URL is neither a postgresql:// URL nor libpq keyword=value pairs (not shown: it may contain a password)',
      URL_FIX,
    );
  return new URL(toUrl(parts, 'the database URL'));
}

/** The URL with any password replaced by `***`, safe for logs. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return raw
      .replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@')
      .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)/gi, '$1***');
  }
}

/** The libpq variables, as libpq reads them (host may be a socket directory). */
function urlFromPgEnv(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.PGHOST && !env.PGDATABASE && !env.PGPORT) return undefined;
  const params: Record<string, string> = {};
  if (env.PGSSLMODE) params.sslmode = env.PGSSLMODE;
  return toUrl(
    {
      host: env.PGHOST || 'localhost',
      port: env.PGPORT,
      user: env.PGUSER || 'postgres',
      password: env.PGPASSWORD || undefined,
      database: env.PGDATABASE || env.PGUSER || 'postgres',
      params,
    },
    'the PG* variables (PGPORT)',
  );
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
