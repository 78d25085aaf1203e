/**
 * Shared pieces of the backup commands: the CONSOLIDATION_02 error that names its cause, the
 * checksum SQL a restored database is compared with, free-space checks, progress reporting.
 */
import { statfs } from 'node:fs/promises';
import type pg from 'pg';
import type { EventSink } from '../engine/events.js';
import { DfcError, sqlstate } from '../errors.js';
import { build, ident, sql } from '../sql/sql.js';

/** Backup and restore failures: CONSOLIDATION_02 with the cause in the message. */
export function backupError(
  message: string,
  fix: string,
  cause?: unknown,
  details?: Record<string, unknown>,
) {
  return new DfcError('CONSOLIDATION_02', message, { fix, cause, details });
}

/** Turn an fs or server error into a CONSOLIDATION_02 naming the cause. */
export function classifyBackupFailure(what: string, e: unknown): DfcError {
  if (e instanceof DfcError) return e;
  const code = (e as { code?: string })?.code;
  const msg = e instanceof Error ? e.message : String(e);
  const state = sqlstate(e);
  if (code === 'ENOSPC' || state === '53100')
    return backupError(
      `${what}: out of disk space (${msg})`,
      'free disk space or choose another --to-dir; nothing was kept',
      e,
    );
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR')
    return backupError(
      `${what}: directory not writable (${msg})`,
      'choose a --to-dir this user can create files in; nothing was kept',
      e,
    );
  if (state === '42501')
    return backupError(
      `${what}: permission denied (${msg})`,
      'the role needs SELECT on every DomainFlow table and CREATE on the database; nothing was kept',
      e,
    );
  return backupError(`${what}: ${msg}`, 'fix the reported problem and rerun; nothing was kept', e);
}

/** Per-row hash and order-independent checksum, as db/bookkeeping/0010 defines them. */
export const checksumSelect = (table: { schema: string; name: string }) =>
  sql`SELECT count(*)::bigint AS rows, coalesce(sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint::numeric), 0)::text AS checksum FROM ${ident(table)} r`;

export async function tableChecksum(
  c: pg.ClientBase,
  table: { schema: string; name: string },
): Promise<{ rows: number; checksum: string }> {
  const r = await c.query<{ rows: string; checksum: string }>(build(checksumSelect(table)));
  return { rows: Number(r.rows[0]!.rows), checksum: r.rows[0]!.checksum };
}

/** Free bytes on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export const pretty = (bytes: number) =>
  bytes >= 1 << 30
    ? `${(bytes / (1 << 30)).toFixed(1)} GiB`
    : bytes >= 1 << 20
      ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
      : `${Math.round(bytes / 1024)} KiB`;

/** Refuse when the estimate does not fit, with both numbers in the message. */
export async function checkSpace(dir: string, estimate: number, what: string): Promise<{ free: number }> {
  const free = await freeBytes(dir);
  if (estimate > free)
    throw backupError(
      `${what}: not enough disk space in ${dir}: needs about ${pretty(estimate)} (${estimate} bytes), ${pretty(free)} (${free} bytes) free`,
      'free disk space or choose another location; nothing was written',
      undefined,
      { estimate_bytes: estimate, free_bytes: free, dir },
    );
  return { free };
}

/** Rows/s and ETA over a running total, reported as engine progress events. */
export function progress(onEvent: EventSink | undefined, label: string, total: number) {
  const t0 = Date.now();
  let done = 0;
  return {
    add(rows: number, table = label) {
      done += rows;
      const secs = Math.max((Date.now() - t0) / 1000, 0.001);
      const rate = done / secs;
      const shownTotal = Math.max(total, done);
      onEvent?.({
        type: 'progress',
        table,
        done,
        total: shownTotal,
        rowsPerSecond: Math.round(rate),
        etaSeconds: rate > 0 ? (shownTotal - done) / rate : null,
      });
    },
    get done() {
      return done;
    },
    seconds: () => (Date.now() - t0) / 1000,
  };
}
