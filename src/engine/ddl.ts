/**
 * Every DDL that touches a live table runs with a short lock_timeout and is retried with
 * exponential backoff and jitter on 55P03, so the application never queues behind us for longer
 * than the timeout. CREATE INDEX CONCURRENTLY gets no lock_timeout: it would cancel the build in
 * its wait for older snapshots and leave an invalid index behind.
 */
import type pg from 'pg';
import { DfcError, sqlstate } from '../errors.js';

export interface LockPolicy {
  lockTimeoutMs: number;
  attempts: number;
  /** first backoff; doubles up to maxBackoffMs, with jitter */
  backoffMs: number;
  maxBackoffMs: number;
}

/** 500 ms (as pgroll): the longest the application may queue behind one of our DDL lock requests. */
export const DEFAULT_LOCK_POLICY: LockPolicy = {
  lockTimeoutMs: 500,
  attempts: 60,
  backoffMs: 200,
  maxBackoffMs: 5000,
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function backoff(policy: LockPolicy, attempt: number): number {
  const base = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** Run `fn` (which issues the DDL) under lock_timeout, retrying lock timeouts. */
export async function withLockRetry<T>(
  c: pg.ClientBase,
  what: string,
  policy: LockPolicy,
  fn: () => Promise<T>,
  onRetry?: (attempt: number, waitMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    await c.query(`SET lock_timeout = ${Math.max(1, Math.floor(policy.lockTimeoutMs))}`);
    try {
      return await fn();
    } catch (e) {
      const state = sqlstate(e);
      if ((state === '55P03' || state === '40P01') && attempt + 1 < policy.attempts) {
        await c.query('ROLLBACK').catch(() => {});
        const wait = backoff(policy, attempt);
        onRetry?.(attempt + 1, wait);
        await sleep(wait);
        continue;
      }
      if (state === '55P03')
        throw new DfcError(
          'CONSOLIDATION_03',
          `could not get the lock for ${what} within ${policy.lockTimeoutMs} ms after ${policy.attempts} attempts`,
          {
            fix: 'find the long-running transaction holding it (pg_stat_activity, pg_locks), or retry with a larger --max-lock-wait / --attempts at a quieter time',
            cause: e,
          },
        );
      throw e;
    } finally {
      await c.query('SET lock_timeout = 0').catch(() => {});
    }
  }
}
