/**
 * A contention generator: sessions (application_name 'domainflow-report', a reporting job, say)
 * that repeatedly hold read transactions of `holdMs` on the busiest tables — session i reads
 * tables[i % tables.length] (or, with `eachReadsAll`, every table) taking ACCESS SHARE, and keeps
 * it until it commits. Sessions start staggered across one hold and run back to back, so at every
 * moment each table is held by a transaction: a tool that needs ACCESS EXCLUSIVE on all of them
 * gets through only when the holders' ends fall within its lock timeout. Errors (a cancelled statement, a
 * terminated connection) are counted by SQLSTATE and the session carries on (reconnecting if needed).
 *
 * This module must never import the engine (src/engine): it is an instrument.
 */
import pg from 'pg';
import { sqlstate } from '../src/errors.js';

export interface ContentionOptions {
  /** concurrent sessions (default 2) */
  sessions?: number;
  /** how long each read transaction holds its locks (default 300 ms) */
  holdMs?: number;
  /** pause between one session's transactions (default 0: back to back) */
  gapMs?: number;
  /** tables each transaction reads, in this order (default campaigns, generated_domains) */
  tables?: string[];
  /** every transaction reads every table (default: session i reads tables[i % tables.length]) */
  eachReadsAll?: boolean;
  /** application_name of the sessions */
  applicationName?: string;
}

export interface ContentionReport {
  sessions: number;
  holdMs: number;
  transactions: number;
  /** errors by SQLSTATE (57014 = cancelled, 57P01 = terminated, …) */
  errors: Record<string, number>;
  /** server pids the sessions used (they change on reconnect) */
  pids: number[];
}

export interface ContentionHandle {
  stop(): Promise<ContentionReport>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startContention(url: string, opts: ContentionOptions = {}): ContentionHandle {
  const sessions = opts.sessions ?? 2;
  const holdMs = opts.holdMs ?? 300;
  const gapMs = opts.gapMs ?? 0;
  const tables = opts.tables ?? ['campaigns', 'generated_domains'];
  const applicationName = opts.applicationName ?? 'domainflow-report';
  const report: ContentionReport = { sessions, holdMs, transactions: 0, errors: {}, pids: [] };
  let stopped = false;
  const open = new Set<pg.Client>();
  // table names are fixed identifiers of the DomainFlow schema (or the caller's), quoted as identifiers
  const reads = tables.map(
    (t) =>
      `SELECT count(*) FROM (SELECT 1 FROM ${t
        .split('.')
        .map((p) => `"${p.replaceAll('"', '""')}"`)
        .join('.')} LIMIT 50) s`,
  );

  const one = async (i: number) => {
    const mine = opts.eachReadsAll ? reads : [reads[i % reads.length]!];
    await sleep((holdMs * i) / sessions);
    let c: pg.Client | undefined;
    while (!stopped) {
      try {
        if (!c) {
          c = new pg.Client({ connectionString: url, application_name: applicationName });
          c.on('error', () => {});
          open.add(c);
          await c.connect();
          report.pids.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
        }
        await c.query('BEGIN');
        for (const q of mine) await c.query(q);
        await c.query('SELECT pg_sleep($1)', [holdMs / 1000]);
        await c.query('COMMIT');
        report.transactions++;
      } catch (e) {
        if (stopped) break; // stop() ended the connection mid-hold: not an error of the run
        const code = sqlstate(e) ?? 'connection';
        report.errors[code] = (report.errors[code] ?? 0) + 1;
        const broken = code === 'connection' || code.startsWith('57P') || code.startsWith('08');
        if (broken) {
          if (c) open.delete(c);
          await c?.end().catch(() => {});
          c = undefined;
          await sleep(20);
        } else await c?.query('ROLLBACK').catch(() => {});
      }
      if (gapMs) await sleep(gapMs);
    }
    await c?.end().catch(() => {});
  };
  const running = Array.from({ length: sessions }, (_, i) => one(i));
  return {
    async stop() {
      stopped = true;
      // a session inside its hold ends now, not when the hold is over
      for (const c of open) void c.end().catch(() => {});
      await Promise.all(running);
      return report;
    },
  };
}
