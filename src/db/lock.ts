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
 * Take a session-level advisory lock. With wait=false fail at once with DFC_LOCKED naming the
 * holder; with wait=true block until it is free.
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
  const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
  if (r.rows[0]?.ok) return;
  const holder = await c.query<{ pid: number; application_name: string; backend_start: Date }>(
    `SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = ($1::bigint & x'ffffffffffffffff'::bigint)`,
    [key],
  );
  const h = holder.rows[0];
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
