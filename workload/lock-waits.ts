/**
 * A lock-wait sampler: every `intervalMs` (default 5) one query on its own connection lists the
 * sessions waiting for a relation lock (pg_stat_activity wait_event 'relation', with the relation
 * from their ungranted pg_locks row). A wait is one backend's one statement (pid + query_start);
 * its length is from the first sample that saw it to the last, so it is known to ±intervalMs.
 * That is the stall a cutover or rollback inflicts on the application, apart from how slow the
 * application's own statements are. Sessions whose application_name starts with `excludePrefix`
 * (default 'dfc': the tool itself) are not the application's.
 *
 * This module must never import the engine (src/engine): it is an instrument. A sample that fails
 * is counted and reported, never hidden.
 */
import pg from 'pg';

export interface LockWait {
  pid: number;
  applicationName: string;
  relation: string;
  ms: number;
}

export interface LockWaitReport {
  samples: number;
  failedSamples: number;
  intervalMs: number;
  /** distinct waits seen (pid + statement) */
  waits: number;
  longest: LockWait | null;
}

export interface LockWaitSampler {
  stop(): Promise<LockWaitReport>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startLockWaitSampler(
  url: string,
  opts: { intervalMs?: number; excludePrefix?: string } = {},
): Promise<LockWaitSampler> {
  const intervalMs = opts.intervalMs ?? 5;
  const exclude = `${opts.excludePrefix ?? 'dfc'}%`;
  const c = new pg.Client({ connectionString: url, application_name: 'lock-wait-sampler' });
  await c.connect();
  const seen = new Map<string, { first: number; last: number; pid: number; app: string; relation: string }>();
  let samples = 0;
  let failedSamples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      try {
        const r = await c.query<{ pid: number; app: string; started: string; relation: string | null }>(
          `SELECT a.pid, a.application_name AS app, a.query_start::text AS started,
                  (SELECT l.relation::regclass::text FROM pg_locks l
                    WHERE l.pid = a.pid AND NOT l.granted AND l.locktype = 'relation' LIMIT 1) AS relation
             FROM pg_stat_activity a
            WHERE a.wait_event_type = 'Lock' AND a.wait_event = 'relation' AND a.pid <> pg_backend_pid()
              AND a.application_name NOT LIKE $1 AND a.datname = current_database()`,
          [exclude],
        );
        const now = performance.now();
        samples++;
        for (const w of r.rows) {
          const key = `${w.pid} ${w.started}`;
          const s = seen.get(key);
          if (s) s.last = now;
          else seen.set(key, { first: now, last: now, pid: w.pid, app: w.app, relation: w.relation ?? '?' });
        }
      } catch {
        failedSamples++;
      }
      await sleep(Math.max(0, intervalMs - (performance.now() - t)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await c.end().catch(() => {});
      let longest: LockWait | null = null;
      for (const s of seen.values()) {
        // seen once: it waited at least a moment and at most one interval
        const ms = s.last - s.first;
        if (!longest || ms > longest.ms)
          longest = {
            pid: s.pid,
            applicationName: s.app,
            relation: s.relation,
            ms: Math.round(ms * 10) / 10,
          };
      }
      return { samples, failedSamples, intervalMs, waits: seen.size, longest };
    },
  };
}
