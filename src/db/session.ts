/**
 * One session discipline for the engine: every session it opens gets its application_name, a
 * lock_timeout and a statement_timeout from one policy (nothing ever waits without a bound), runs
 * transactions the same way, retries lock timeouts / deadlocks / serialization failures in one
 * helper with jittered exponential backoff, and knows what the server version can do.
 */
import type pg from 'pg';
import { DfcError, sqlstate } from '../errors.js';
import { build, type SqlFragment } from '../sql/sql.js';
import { connect } from './connection.js';
import { describeHolders, lockHolders } from './lock-holders.js';

export interface SessionPolicy {
  /** lock_timeout for DDL on a live table (retried): the longest the application queues behind us */
  lockTimeoutMs: number;
  /** the bound on any one statement or lock wait of ours that is not retried (index builds, scans) */
  statementTimeoutMs: number;
  /** tries of a retried operation before giving up */
  attempts: number;
  /** first backoff; doubles up to maxBackoffMs, with jitter */
  backoffMs: number;
  maxBackoffMs: number;
}

/** 500 ms (as pgroll) for DDL locks; 6 h for one statement, far beyond any build at the sizes measured. */
export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  lockTimeoutMs: 500,
  statementTimeoutMs: 6 * 3600 * 1000,
  attempts: 60,
  backoffMs: 200,
  maxBackoffMs: 5000,
};

/**
 * The policy from defaults and overrides. A value that is not a positive number is a DFC_CONFIG
 * error: 0 would mean "no timeout" to PostgreSQL, which is exactly what the policy rules out.
 */
export function sessionPolicy(over: Partial<Record<keyof SessionPolicy, unknown>> = {}): SessionPolicy {
  const out = { ...DEFAULT_SESSION_POLICY };
  for (const key of Object.keys(DEFAULT_SESSION_POLICY) as (keyof SessionPolicy)[]) {
    const raw = over[key];
    if (raw === undefined) continue;
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
      throw new DfcError('DFC_CONFIG', `${key} must be a positive number, got ${JSON.stringify(raw)}`, {
        fix: `pass a whole number of ${key === 'attempts' ? 'attempts' : 'milliseconds'} greater than 0 (there is no "no timeout")`,
      });
    out[key] = Math.max(1, Math.floor(n));
  }
  return out;
}

/** What the server version allows; the engine supports PostgreSQL 12 to 18. */
export interface Capabilities {
  versionNum: number;
  major: number;
  /** TID range scans (`ctid >= … AND ctid < …` without a seq scan): 14+ */
  blockRangeBackfill: boolean;
  /** DROP DATABASE … WITH (FORCE): 13+ */
  dropDatabaseForce: boolean;
  /** publication row filters and column lists (pg_publication_rel.prqual/prattrs): 15+ */
  publicationRowFilters: boolean;
}

export function capabilitiesOf(versionNum: number): Capabilities {
  const major = Math.floor(versionNum / 10000);
  return {
    versionNum,
    major,
    blockRangeBackfill: major >= 14,
    dropDatabaseForce: major >= 13,
    publicationRowFilters: major >= 15,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Jittered exponential backoff for attempt n (0-based): between half and all of min(max, base·2ⁿ). */
export function backoffMs(
  policy: Pick<SessionPolicy, 'backoffMs' | 'maxBackoffMs'>,
  attempt: number,
): number {
  const base = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** 55P03 lock_not_available, 40P01 deadlock_detected, 40001 serialization_failure. */
export const RETRYABLE = ['55P03', '40P01', '40001'] as const;

/**
 * Two sessions updated the same catalog row at once (a GRANT beside our ALTER TABLE: neither takes
 * a lock that conflicts with the other's) and ours lost: XX000 "tuple concurrently updated" (or
 * deleted). Nothing of the statement stayed, so running it again is safe. The text comes from an
 * elog() in heapam.c, never translated, so matching it holds whatever lc_messages says.
 */
export function isCatalogRace(e: unknown): boolean {
  return sqlstate(e) === 'XX000' && /^tuple concurrently (updated|deleted)$/.test((e as Error).message);
}

export interface RetryOptions {
  /** lock_timeout for each attempt (default: the policy's) */
  lockTimeoutMs?: number;
  attempts?: number;
  /** more SQLSTATEs to retry, e.g. 57014 when statement_timeout bounds a LOCK of many tables */
  alsoRetry?: string[];
  onRetry?: (attempt: number, waitMs: number) => void;
  /** the relations fn locks (regclass text): whoever holds them when the attempts run out is named */
  lockedRelations?: () => readonly string[];
}

export class Session {
  private constructor(
    readonly client: pg.Client,
    readonly policy: SessionPolicy,
    readonly caps: Capabilities,
  ) {}

  /** Connect and apply the policy's baseline timeouts for the whole session. */
  static async open(url: string, applicationName: string, policy = DEFAULT_SESSION_POLICY): Promise<Session> {
    const client = await connect(url, applicationName);
    try {
      await client.query(
        `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $1, false)`,
        [`${policy.statementTimeoutMs}ms`],
      );
      const v = await client.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
      return new Session(client, policy, capabilitiesOf(v.rows[0]!.v));
    } catch (e) {
      await client.end().catch(() => {});
      throw e;
    }
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(f: SqlFragment): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(build(f));
  }

  /** Set lock_timeout and statement_timeout for the current transaction only. */
  async setLocalTimeouts(lockTimeoutMs: number, statementTimeoutMs: number): Promise<void> {
    await this.client.query(
      `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
      [`${Math.max(1, Math.floor(lockTimeoutMs))}ms`, `${Math.max(1, Math.floor(statementTimeoutMs))}ms`],
    );
  }

  /** BEGIN … COMMIT around fn, rolled back when it throws. */
  async transaction<T>(fn: () => Promise<T>, opts: { isolation?: 'REPEATABLE READ' } = {}): Promise<T> {
    await this.client.query(opts.isolation ? `BEGIN ISOLATION LEVEL ${opts.isolation}` : 'BEGIN');
    try {
      const r = await fn();
      await this.client.query('COMMIT');
      return r;
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  /**
   * Run fn under the short lock_timeout, retrying 55P03/40P01/40001 and catalog races with jittered backoff. fn must
   * leave nothing half-done when it throws (one statement, or its own transaction). Running out
   * of attempts on a lock is CONSOLIDATION_03, naming `what`.
   */
  async retry<T>(what: string, fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
    const lockTimeoutMs = opts.lockTimeoutMs ?? this.policy.lockTimeoutMs;
    const attempts = opts.attempts ?? this.policy.attempts;
    const codes = new Set<string>([...RETRYABLE, ...(opts.alsoRetry ?? [])]);
    for (let attempt = 1; ; attempt++) {
      await this.client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${lockTimeoutMs}ms`]);
      try {
        return await fn();
      } catch (e) {
        const state = sqlstate(e) ?? '';
        await this.client.query('ROLLBACK').catch(() => {}); // no-op outside a transaction
        if ((codes.has(state) || isCatalogRace(e)) && attempt < attempts) {
          const wait = backoffMs(this.policy, attempt - 1);
          opts.onRetry?.(attempt, Math.round(wait));
          await sleep(wait);
          continue;
        }
        if (state === '55P03' || state === '57014') {
          const holders = opts.lockedRelations
            ? await lockHolders(this.client, opts.lockedRelations()).catch(() => [])
            : [];
          throw new DfcError(
            'CONSOLIDATION_03',
            `could not get the locks for ${what} within ${lockTimeoutMs} ms in ${attempt} attempts; nothing was changed${holders.length ? `; held at the end by ${describeHolders(holders)}` : ''}`,
            {
              fix: 'find the long transactions holding locks (pg_stat_activity, pg_locks), or retry at a quieter time with a larger --max-lock-wait / --lock-timeout / --attempts',
              cause: e,
              ...(holders.length ? { details: { holders } } : {}),
            },
          );
        }
        throw e;
      } finally {
        await this.client
          .query(`SELECT set_config('lock_timeout', $1, false)`, [`${this.policy.statementTimeoutMs}ms`])
          .catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
