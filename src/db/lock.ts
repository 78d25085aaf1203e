/**
 * Advisory locks (scoped to the database, like the migration history they guard) so two runs cannot collide. Keys are derived from a name so that the
 * migrate runner, consolidate and cutover each have their own lock, and all consolidation
 * commands share one.
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';

/** 64-bit signed key from a name (FNV-1a), stable across runs and processes. */
export function advisoryKey(name: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const ch of Buffer.from(name, 'utf8')) {
    h ^= BigInt(ch);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h);
}

/** The lock every data-moving consolidation command holds. */
export const CONSOLIDATION_LOCK = 'dfc:consolidation';

/**
 * application_name of `dfc consolidate --follow`: it holds the consolidation lock only while it
 * applies a batch and lets go as soon as anyone waits for the lock, so whoever finds it holding
 * the lock waits for it (bounded) instead of failing.
 */
export const FOLLOWER_APPLICATION = 'dfc-follow';
/** The longest anyone waits for the follower to yield (it checks for waiters after every batch). */
export const FOLLOWER_YIELD_MS = 30_000;

const SAME_KEY = `l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = ($1::bigint & x'ffffffffffffffff'::bigint)`;

async function lockHolder(
  c: pg.ClientBase,
  key: string,
): Promise<{ pid: number; application_name: string; backend_start: Date } | undefined> {
  const holder = await c.query<{ pid: number; application_name: string; backend_start: Date }>(
    `SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE l.granted AND ${SAME_KEY}`,
    [key],
  );
  return holder.rows[0];
}

/** How many sessions wait for the named lock (the follower yields when this is > 0). */
export async function advisoryLockWaiters(c: pg.ClientBase, name: string): Promise<number> {
  const r = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l WHERE NOT l.granted AND ${SAME_KEY}`,
    [advisoryKey(name).toString()],
  );
  return r.rows[0]?.n ?? 0;
}

/** Queue for the lock the follower holds (it sees us waiting and lets go), bounded by FOLLOWER_YIELD_MS. */
async function waitForYield(c: pg.ClientBase, key: string, pid: number): Promise<void> {
  const prev = await c.query<{ v: string }>(`SELECT current_setting('lock_timeout') AS v`);
  await c.query(`SELECT set_config('lock_timeout', $1, false)`, [`${FOLLOWER_YIELD_MS}ms`]);
  try {
    await c.query('SELECT pg_advisory_lock($1::bigint)', [key]);
  } catch (e) {
    if ((e as { code?: string }).code !== '55P03') throw e;
    throw new DfcError(
      'DFC_LOCKED',
      `the follower (pid ${pid}, ${FOLLOWER_APPLICATION}) did not let go of the consolidation lock within ${FOLLOWER_YIELD_MS / 1000} s`,
      { fix: 'stop it (Ctrl-C in its terminal, or SIGINT to its process) and re-run this command' },
    );
  } finally {
    await c.query(`SELECT set_config('lock_timeout', $1, false)`, [prev.rows[0]?.v ?? '0']);
  }
}

/**
 * Take a session-level advisory lock. With wait=false fail at once with DFC_LOCKED naming the
 * holder — unless the holder is the follower, which yields: then wait for it (bounded); with
 * wait=true block until it is free.
 */
export async function acquireAdvisoryLock(
  c: pg.ClientBase,
  name: string,
  wait = false,
  /** the command has a --wait option (only then does the fix suggest it) */
  opts: { waitOption?: boolean } = {},
): Promise<void> {
  const key = advisoryKey(name).toString();
  if (wait) {
    await c.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    return;
  }
  let h: { pid: number; application_name: string; backend_start: Date } | undefined;
  // the holder can let go between our try and our look-up: try again then
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
    if (r.rows[0]?.ok) return;
    h = await lockHolder(c, key);
    if (h?.application_name === FOLLOWER_APPLICATION) {
      await waitForYield(c, key, h.pid);
      return;
    }
    if (h) break;
  }
  throw new DfcError(
    'DFC_LOCKED',
    `another run holds the "${name}" lock${h ? ` (pid ${h.pid}, ${h.application_name || 'no application_name'}, since ${h.backend_start.toISOString()})` : ''}`,
    {
      fix: opts.waitOption
        ? 'wait for it to finish (or pass --wait), or stop that process if it is stuck'
        : 'let that run finish and re-run this command (`dfc consolidate status` shows progress), or stop that process if it is stuck',
    },
  );
}

export async function releaseAdvisoryLock(c: pg.ClientBase, name: string): Promise<void> {
  await c.query('SELECT pg_advisory_unlock($1::bigint)', [advisoryKey(name).toString()]);
}
