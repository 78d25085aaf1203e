/**
 * Live DomainFlow traffic: a pool of connections (application_name 'domainflow-sim') issuing a
 * deterministic-per-seed mix of the service's reads and writes at a target rate, each op one short
 * transaction. Every COMMITTED write goes to the ledger (workload/ledger-format.ts); every failure
 * and every op's latency are recorded. It keeps going while the schema changes under it: retryable
 * errors (serialization, deadlock, lock timeout, a relation or column that moved, a cached plan, a
 * terminated connection) are retried with a small backoff and counted. Statements are sent unnamed
 * (no server-side prepared statements), so a moved relation is looked up afresh on the next try.
 *
 * This module must never import the engine (src/engine): it is the instrument that checks it.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pg from 'pg';
import { connectionError } from '../src/db/connection.js';
import { DfcError, sqlstate } from '../src/errors.js';
import { LedgerWriter } from './ledger-format.js';
import { chooseOp, type Op, type OpContext } from './ops.js';
import { discover, rng, type World } from './world.js';

export interface TrafficOptions {
  /** target ops per second (all workers together) */
  rate: number;
  durationMs: number;
  ledgerPath: string;
  /** replace an existing ledger file (default: refuse it) */
  overwriteLedger?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TrafficProgress) => void;
  /** connections (default: rate/25, between 2 and 16) */
  concurrency?: number;
  seed?: number;
  /** set lock_timeout on the app's sessions (default: none, like the Go service) */
  lockTimeoutMs?: number;
}

export interface TrafficProgress {
  elapsedMs: number;
  ops: number;
  /** ops completed in the last second */
  opsPerSec: number;
  failedWrites: number;
  failedReads: number;
  retries: number;
  /** p99 latency of ops completed in the last second, ms */
  p99Ms: number;
  phase: string;
}

export interface LatencyStats {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface PhaseReport {
  ops: number;
  reads: LatencyStats;
  writes: LatencyStats;
  failedWrites: number;
  failedReads: number;
  /** the slowest write of each op in the phase (ms): tells a lock stall from an op slow by itself */
  writeMaxByOp: Record<string, number>;
}

export interface FailureRecord {
  at: string;
  op: string;
  kind: 'read' | 'write';
  sqlstate?: string;
  message: string;
  attempt: number;
  /** false: retried; true: the op gave up (a failed read/write) */
  final: boolean;
  /** the op's write may or may not have committed (connection lost during COMMIT) */
  uncertain?: boolean;
}

export interface TrafficReport {
  ops: number;
  reads: number;
  writes: number;
  failedWrites: number;
  failedReads: number;
  uncertainWrites: number;
  /** retries by SQLSTATE ('CONNECTION' for a lost connection without one) */
  retries: Record<string, number>;
  latency: { reads: LatencyStats; writes: LatencyStats };
  perPhase: Record<string, PhaseReport>;
  /** ok/failed count and slowest latency (ms) per op name */
  opCounts: Record<string, { ok: number; failed: number; maxMs: number }>;
  ledgerEntries: number;
  /** ledger entries per table and kind ('update_null' = an update that wrote at least one NULL) */
  ledgerSummary: Record<string, Record<'insert' | 'update' | 'update_null' | 'delete', number>>;
  durationMs: number;
  achievedOpsPerSec: number;
  concurrency: number;
  /** retried and final failures, the first 1000 */
  failures: FailureRecord[];
}

export interface TrafficHandle {
  /** Start attributing latencies to a new phase (e.g. 'consolidate', 'cutover'). */
  markPhase(name: string): void;
  /** Stop issuing new ops; in-flight ops finish. */
  stop(): void;
  done: Promise<TrafficReport>;
}

/** SQLSTATEs retried: the op is re-run from scratch on a (possibly fresh) connection. */
const RETRY_STATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '42P01', // undefined_table: a relation moved or is being swapped
  '42703', // undefined_column: a column is being renamed/added
  '0A000', // feature_not_supported: "cached plan must not change result type"
  '57014', // query_canceled
  '55006', // object_in_use
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
const MAX_ATTEMPTS = 40;
const MAX_OP_MS = 20_000;

function isConnectionError(err: unknown): boolean {
  const s = sqlstate(err);
  if (s) return s.startsWith('08') || s === '57P01' || s === '57P02' || s === '57P03';
  const code = (err as { code?: string })?.code;
  if (code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  const m = err instanceof Error ? err.message : String(err);
  return /Connection terminated|not queryable|connection error|Client was closed|timeout exceeded when trying to connect/i.test(
    m,
  );
}

function isRetryable(err: unknown): boolean {
  const s = sqlstate(err);
  if (s && RETRY_STATES.has(s)) return true;
  if (s === 'XX000' && /could not open relation with OID/i.test(String((err as Error).message))) return true;
  return !s && isConnectionError(err);
}

const stateOf = (err: unknown) => sqlstate(err) ?? (isConnectionError(err) ? 'CONNECTION' : 'UNKNOWN');

export function latencyStats(ms: number[]): LatencyStats {
  if (!ms.length) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!);
  return { count: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(s[s.length - 1]!) };
}
const round = (x: number) => Math.round(x * 100) / 100;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** A client that returns every value in PostgreSQL's text form (what the ledger records). */
async function openClient(url: string, lockTimeoutMs?: number): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: url,
    application_name: 'domainflow-sim',
    connectionTimeoutMillis: 10_000,
    types: { getTypeParser: () => (v: string) => v },
  });
  c.on('error', () => {}); // a terminated backend surfaces on the next query
  await c.connect();
  // timestamps in text form must not depend on the server's default zone
  await c.query(`SET TimeZone = 'UTC'`);
  if (lockTimeoutMs) await c.query(`SET lock_timeout = ${Math.floor(lockTimeoutMs)}`);
  return c;
}

interface Sample {
  phase: number;
  op: string;
  kind: 'read' | 'write';
  ms: number;
}

/** Start traffic; returns at once with a handle. `runTraffic` is the awaitable form. */
export function startTraffic(url: string, opts: TrafficOptions): TrafficHandle {
  const stopper = new AbortController();
  setMaxListeners(0, stopper.signal); // every sleeping worker listens for the stop
  const phases: string[] = ['before'];
  const handle: TrafficHandle = {
    markPhase: (name) => {
      phases.push(name);
    },
    stop: () => stopper.abort(),
    done: Promise.resolve() as unknown as Promise<TrafficReport>,
  };
  if (opts.signal) {
    if (opts.signal.aborted) stopper.abort();
    else opts.signal.addEventListener('abort', () => stopper.abort(), { once: true });
  }
  handle.done = run(url, opts, stopper.signal, phases);
  return handle;
}

export function runTraffic(url: string, opts: TrafficOptions): Promise<TrafficReport> {
  return startTraffic(url, opts).done;
}

async function run(
  url: string,
  opts: TrafficOptions,
  stop: AbortSignal,
  phases: string[],
): Promise<TrafficReport> {
  if (!(opts.rate > 0) || !(opts.durationMs > 0))
    throw new DfcError(
      'DFC_CONFIG',
      `rate (${opts.rate}) and duration (${opts.durationMs} ms) must be positive`,
      {
        fix: 'pass e.g. --rate 100 --duration 10',
      },
    );
  const concurrency = opts.concurrency ?? Math.min(16, Math.max(2, Math.ceil(opts.rate / 25)));
  const seed = opts.seed ?? 1;
  const token = randomBytes(4).toString('hex');

  let worlds: World[];
  const clients: pg.Client[] = [];
  try {
    const first = await openClient(url, opts.lockTimeoutMs);
    clients.push(first);
    worlds = await discover(first, concurrency);
    for (let i = 1; i < concurrency; i++) clients.push(await openClient(url, opts.lockTimeoutMs));
  } catch (cause) {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    if (cause instanceof DfcError) throw cause;
    if (sqlstate(cause)?.startsWith('42'))
      throw new DfcError(
        'DFC_CONFIG',
        `the target is not a DomainFlow database: ${(cause as Error).message}`,
        {
          fix: 'run against a database with the legacy history applied (dfc migrate up --legacy) or schema v2',
          cause,
        },
      );
    throw connectionError(url, cause);
  }

  let ledger: LedgerWriter;
  try {
    ledger = await LedgerWriter.open(
      opts.ledgerPath,
      {
        startedAt: new Date().toISOString(),
        seed,
        rate: opts.rate,
      },
      { overwrite: opts.overwriteLedger },
    );
  } catch (e) {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    throw e;
  }
  const samples: Sample[] = [];
  const failures: FailureRecord[] = [];
  const retries: Record<string, number> = {};
  const opCounts: TrafficReport['opCounts'] = {};
  const ledgerSummary: TrafficReport['ledgerSummary'] = {};
  const failedByPhase = new Map<number, { reads: number; writes: number }>();
  let recent: number[] = []; // latencies since the last progress tick
  let failedWrites = 0;
  let failedReads = 0;
  let uncertainWrites = 0;
  let retryTotal = 0;

  const noteFailure = (f: FailureRecord) => {
    if (failures.length < 1000) failures.push(f);
  };
  const summarise = (entries: { table: string; op: string; values?: Record<string, unknown> }[]) => {
    for (const e of entries) {
      const t = ledgerSummary[e.table] ?? { insert: 0, update: 0, update_null: 0, delete: 0 };
      ledgerSummary[e.table] = t;
      t[e.op as 'insert' | 'update' | 'delete'] += 1;
      if (e.op === 'update' && Object.values(e.values ?? {}).some((v) => v === null)) t.update_null += 1;
    }
  };

  /** Run one op with retries on worker i's connection. */
  const execute = async (i: number, op: Op): Promise<void> => {
    const started = performance.now();
    const phase = phases.length - 1;
    const counts = opCounts[op.name] ?? { ok: 0, failed: 0, maxMs: 0 };
    opCounts[op.name] = counts;
    let ok = false;
    for (let attempt = 1; ; attempt++) {
      let committing = false;
      let drafts: Awaited<ReturnType<Op['run']>> | undefined;
      try {
        const c = clients[i]!;
        if (op.kind === 'write') {
          await c.query('BEGIN');
          drafts = await op.run(c);
          committing = true;
          await c.query('COMMIT');
          committing = false;
          ledger.append(drafts.entries);
          summarise(drafts.entries);
          drafts.after?.();
        } else {
          await op.run(c);
        }
        ok = true;
        break;
      } catch (err) {
        const conn = isConnectionError(err);
        const message = err instanceof Error ? err.message : String(err);
        if (committing && conn && drafts) {
          // the COMMIT may or may not have happened: record the writes as uncertain, never retry
          uncertainWrites += 1;
          ledger.append(drafts.entries.map((e) => ({ ...e, uncertain: true })));
          noteFailure({
            at: new Date().toISOString(),
            op: op.name,
            kind: op.kind,
            sqlstate: stateOf(err),
            message,
            attempt,
            final: true,
            uncertain: true,
          });
          await reconnect(i);
          ok = true; // not a failed write: it is counted (and skipped by verify) as uncertain
          break;
        }
        if (!conn) await clients[i]!.query('ROLLBACK').catch(() => {});
        const retry = isRetryable(err) && attempt < MAX_ATTEMPTS && performance.now() - started < MAX_OP_MS;
        noteFailure({
          at: new Date().toISOString(),
          op: op.name,
          kind: op.kind,
          sqlstate: stateOf(err),
          message,
          attempt,
          final: !retry,
        });
        if (conn) await reconnect(i);
        if (!retry) break;
        const s = stateOf(err);
        retries[s] = (retries[s] ?? 0) + 1;
        retryTotal += 1;
        await sleep(Math.min(250, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      }
    }
    const ms = performance.now() - started;
    counts.maxMs = Math.max(counts.maxMs, round(ms));
    samples.push({ phase, op: op.name, kind: op.kind, ms });
    recent.push(ms);
    if (ok) counts.ok += 1;
    else {
      counts.failed += 1;
      const f = failedByPhase.get(phase) ?? { reads: 0, writes: 0 };
      if (op.kind === 'write') {
        failedWrites += 1;
        f.writes += 1;
      } else {
        failedReads += 1;
        f.reads += 1;
      }
      failedByPhase.set(phase, f);
    }
  };

  /** Replace a worker's connection; keeps trying (bounded by the op's retry budget) while the server is away. */
  const reconnect = async (i: number) => {
    await clients[i]!.end().catch(() => {});
    for (let tries = 0; ; tries++) {
      try {
        clients[i] = await openClient(url, opts.lockTimeoutMs);
        return;
      } catch (err) {
        retries.RECONNECT = (retries.RECONNECT ?? 0) + 1;
        if (tries >= 20) {
          // leave a closed client: the next op fails fast, counts, and tries again
          const dead = new pg.Client({ connectionString: url });
          await dead.end(); // never connected + ended: queries fail at once with "Client was closed"
          clients[i] = dead;
          noteFailure({
            at: new Date().toISOString(),
            op: 'reconnect',
            kind: 'read',
            sqlstate: stateOf(err),
            message: err instanceof Error ? err.message : String(err),
            attempt: tries,
            final: true,
          });
          return;
        }
        await sleep(100 * Math.min(10, tries + 1));
      }
    }
  };

  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  const interval = (1000 * concurrency) / opts.rate;
  let lastOps = 0;
  const ticker = setInterval(() => {
    const ops = samples.length;
    const window = recent;
    recent = [];
    opts.onProgress?.({
      elapsedMs: Math.round(performance.now() - t0),
      ops,
      opsPerSec: ops - lastOps,
      failedWrites,
      failedReads,
      retries: retryTotal,
      p99Ms: latencyStats(window).p99,
      phase: phases[phases.length - 1]!,
    });
    lastOps = ops;
  }, 1000);

  const worker = async (i: number) => {
    const ctx: OpContext = {
      world: worlds[i]!,
      r: rng((seed * 0x9e3779b1) ^ (i + 1)),
      token: `${token}${i.toString(36)}`,
      worker: i,
      counter: { n: 0 },
    };
    // open-loop schedule: op k of this worker is due at t0 + offset + k·interval; a worker that falls
    // behind runs back to back (so the achieved rate shows the generator's or the server's limit)
    for (let k = 0; ; k++) {
      const due = t0 + (i * interval) / concurrency + k * interval;
      // the run ends on time: a worker that fell behind drops its backlog instead of overrunning
      // a failed ledger write ends the run: writes it cannot record would be unverifiable
      if (due >= end || stop.aborted || ledger.failed || performance.now() >= end) return;
      await sleep(due - performance.now(), stop);
      if (stop.aborted || ledger.failed) return;
      await execute(i, chooseOp(ctx));
    }
  };

  try {
    await Promise.all(worlds.map((_, i) => worker(i)));
  } finally {
    clearInterval(ticker);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await ledger.close(); // throws DFC_LEDGER if any write failed: the run must not look successful
  }
  const durationMs = performance.now() - t0;

  // a phase name used twice (e.g. 'steady' before and after cutover) is one bucket
  const perPhase: Record<string, PhaseReport> = {};
  for (const name of new Set(phases)) {
    const idx = new Set(phases.flatMap((n, p) => (n === name ? [p] : [])));
    const s = samples.filter((x) => idx.has(x.phase));
    const f = [...idx].map((p) => failedByPhase.get(p) ?? { reads: 0, writes: 0 });
    perPhase[name] = {
      ops: s.length,
      reads: latencyStats(s.filter((x) => x.kind === 'read').map((x) => x.ms)),
      writes: latencyStats(s.filter((x) => x.kind === 'write').map((x) => x.ms)),
      failedReads: f.reduce((a, b) => a + b.reads, 0),
      failedWrites: f.reduce((a, b) => a + b.writes, 0),
      writeMaxByOp: {},
    };
    for (const x of s)
      if (x.kind === 'write')
        perPhase[name].writeMaxByOp[x.op] = Math.max(perPhase[name].writeMaxByOp[x.op] ?? 0, round(x.ms));
  }

  const reads = samples.filter((x) => x.kind === 'read').map((x) => x.ms);
  const writes = samples.filter((x) => x.kind === 'write').map((x) => x.ms);
  return {
    ops: samples.length,
    reads: reads.length,
    writes: writes.length,
    failedWrites,
    failedReads,
    uncertainWrites,
    retries,
    latency: { reads: latencyStats(reads), writes: latencyStats(writes) },
    perPhase,
    opCounts,
    ledgerEntries: ledger.entries,
    ledgerSummary,
    durationMs: Math.round(durationMs),
    achievedOpsPerSec: Math.round((samples.length / durationMs) * 1000 * 10) / 10,
    concurrency,
    failures,
  };
}
