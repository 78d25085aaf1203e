/**
 * bench/consolidate: measured side by side in one run, per data size (default 100,000 and
 * 1,000,000 generated domains; 3,000,000 with --domains), with DomainFlow traffic on throughout:
 *   - the one-shot limit on the same database, on 1 session and on 2 (the run's lanes): every v2
 *     table copied by one INSERT … SELECT into a bare copy, then every primary key, unique
 *     constraint and index built plainly;
 *   - the whole consolidation (`dfc consolidate --follow` as a child process, start → ready),
 *     the ratio to the limit, and the per-phase breakdown from the run's journal (when it gives up
 *     on its capture triggers with CONSOLIDATION_03, it is resumed with --cancel-blockers-after 2000);
 *   - online backfill rows/s ÷ one-shot copy rows/s;
 *   - the application's write latency p50/p99 with forward capture on ÷ off, single-row and
 *     100-row batch inserts (each in a transaction rolled back: nothing is left behind), measured
 *     interleaved against a twin of generated_domains without capture (write-latency.ts), and
 *     across time (off before the consolidation, on while following) for comparison;
 *   - the follower's lag (rows, seconds) while waiting for cutover;
 *   - the tool's peak resident memory (the child's VmHWM from /proc, sampled until it exits);
 *   - then the cutover with default settings, the follower yielding to it and the contention
 *     generator on (2 sessions holding 300 ms reads on campaigns and generated_domains): attempts,
 *     lock held, the longest application write and the stall (longest wait for a relation lock);
 *     when it gives up (CONSOLIDATION_03), a second one with --cancel-blockers-after 2000;
 *   - after it, write latency on v2 with reverse capture on ÷ off, interleaved with a twin, and
 *     across time (off: after finalize);
 *   - traffic failures and the ledger.
 * The measuring instruments here use only SQL, the v2 definition and the workload; the engine is
 * only called to do the work.
 * Usage: npx tsx bench/consolidate.ts [--domains 100000,1000000] [--rate 80] [--follow-seconds 20] [--index-workers N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { connect, resolveTarget, withClient } from '../src/db/connection.js';
import { createDemoAppRole } from '../src/demo-app-role.js';
import { CUTOVER_DEFAULTS, cutover } from '../src/engine/cutover.js';
import { finalizeCutover } from '../src/engine/finalize.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { startContention } from '../workload/contention.js';
import { verifyLedger } from '../workload/ledger.js';
import { startLockWaitSampler } from '../workload/lock-waits.js';
import { seedDatabase } from '../workload/seed.js';
import { startTraffic } from '../workload/traffic.js';
import { load } from './load.js';
import { oneShotLimit } from './one-shot.js';
import { describeStall, phaseWrites, stallMs } from './stall.js';
import {
  createTwin,
  dropTwin,
  type Latency,
  type PairedLatency,
  pairedWriteLatency,
  writeLatency,
} from './write-latency.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '100000,1000000' },
    rate: { type: 'string', default: '80' },
    'follow-seconds': { type: 'string', default: '20' },
    samples: { type: 'string', default: '300' },
    'database-url': { type: 'string' },
    // passed to dfc consolidate (measure the lever: 0 against the server's default)
    'index-workers': { type: 'string' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const CLI = path.resolve(import.meta.dirname, '../bin/dfc.js');

/**
 * The child `dfc consolidate` starts as `npm install` leaves it: compiled (bin/dfc.js runs dist/
 * only while it is newer than every source, else tsx, ≈ 0.6 s more start-up), so build it first.
 */
function buildCli(): void {
  const t0 = now();
  // package.json's build script: one definition of what dist/ is
  const r = spawnSync('npm', ['run', '--silent', 'build'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`bench: npm run build failed (exit ${r.status}): dist/ is not current`);
  process.stdout.write(`CLI compiled into dist/ in ${((now() - t0) / 1000).toFixed(1)} s\n`);
}

/** --cancel-blockers-after for the second cutover, when the default one got CONSOLIDATION_03 */
const CANCEL_AFTER_MS = 2000;

async function lagSample(c: pg.Client): Promise<{ rows: number; seconds: number }> {
  const r = await c.query<{ n: string; s: number | null }>(
    `SELECT count(*) AS n, extract(epoch FROM clock_timestamp() - min(captured_at))::float8 AS s
       FROM consolidation.capture_log WHERE direction = 'forward'`,
  );
  return { rows: Number(r.rows[0]!.n), seconds: r.rows[0]!.s ?? 0 };
}

interface Child {
  ready: Promise<number>;
  /** consolidate()'s own wall time (its result.seconds: from connect to ready, no process start-up) */
  engineSeconds: () => number | null;
  /** per kind of step (the id before ':'): first start → last done, from the child's step events (s) */
  walls: Map<string, { start: number; end: number }>;
  /** statements the run cancelled and idle transactions it terminated (--cancel-blockers-after) */
  cancelled: () => number;
  exited: Promise<{ code: number | null; maxRssKb: number | null; stderr: string }>;
  interrupt: () => void;
}

/** Peak resident set size of a process so far (VmHWM, KiB), null when /proc cannot tell. */
function peakRssKb(pid: number | undefined): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** what every child `dfc consolidate` is given besides its own arguments */
const runArgs = values['index-workers'] === undefined ? [] : ['--index-workers', values['index-workers']];

/** `dfc consolidate --follow --json` as a child; ready resolves at ready_for_cutover (seconds from spawn). */
function startConsolidate(url: string, extra: string[] = []): Child {
  const child = spawn(
    process.execPath,
    [CLI, 'consolidate', '--follow', '--json', '--database-url', url, ...runArgs, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const t0 = now();
  let buf = '';
  let stderr = '';
  let peak: number | null = null;
  let engineSeconds: number | null = null;
  let failure: { code: string; message: string } | undefined;
  let cancelled = 0;
  const walls = new Map<string, { start: number; end: number }>();
  // VmHWM only grows: the last reading before exit is the peak (sampled every 200 ms)
  const timer = setInterval(() => {
    peak = peakRssKb(child.pid) ?? peak;
  }, 200);
  let onReady: (s: number) => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<number>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  child.stdout.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as {
          type?: string;
          phase?: string;
          event?: string;
          seconds?: number;
          step?: string;
          status?: string;
          error?: boolean;
          code?: string;
          message?: string;
        };
        if (e.error) failure = { code: e.code ?? '?', message: e.message ?? '' };
        if (e.type === 'blocker' && (e as { action?: string }).action !== 'skipped') cancelled++;
        if (e.type === 'phase' && e.phase === 'ready_for_cutover') onReady((now() - t0) / 1000);
        if (e.type === 'step' && e.step && (e.status === 'start' || e.status === 'done')) {
          const kind = e.step.split(':')[0]!;
          const w = walls.get(kind) ?? { start: Number.POSITIVE_INFINITY, end: 0 };
          const at = (now() - t0) / 1000;
          if (e.status === 'start') w.start = Math.min(w.start, at);
          else w.end = Math.max(w.end, at);
          walls.set(kind, w);
        }
        if (e.event === 'consolidate.done') engineSeconds = e.seconds ?? null;
      } catch {}
    }
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; maxRssKb: number | null; stderr: string }>((res) =>
    child.on('close', (code) => {
      clearInterval(timer);
      onFail(
        Object.assign(
          new Error(
            `consolidate exited ${code} before ready: ${failure ? `${failure.code}: ${failure.message}` : stderr.slice(-2000)}`,
          ),
          { dfcCode: failure?.code },
        ),
      );
      res({ code, maxRssKb: peak, stderr });
    }),
  );
  return {
    ready,
    exited,
    interrupt: () => child.kill('SIGINT'),
    engineSeconds: () => engineSeconds,
    walls,
    cancelled: () => cancelled,
  };
}

async function runOne(
  serverUrl: string,
  domains: number,
  rate: number,
  followSeconds: number,
  samples: number,
) {
  const loadBefore = load();
  const url = await createLegacyDatabase(serverUrl, `dfc_bench_${domains}`);
  const seed = await seedDatabase(url, { domains, seed: 1 });
  await withClient(url, (c) => c.query('VACUUM ANALYZE'));
  const dir = await mkdtemp(path.join(tmpdir(), 'dfc-bench-'));
  const ledgerPath = path.join(dir, 'ledger.jsonl');
  // the application as production runs it: an ordinary role (the demo's), not the superuser —
  // which is also what --cancel-blockers-after may cancel
  const app = await createDemoAppRole(url);
  const traffic = startTraffic(app.url, { rate, durationMs: 3_600_000, ledgerPath, seed: 4 });
  await sleep(3000);
  traffic.markPhase('limit');
  const limit = await oneShotLimit(url);
  // the same work on 2 sessions, as the run's 2 lanes do it
  const limit2 = await oneShotLimit(url, 2);
  traffic.markPhase('capture-off');
  const off = await writeLatency(url, samples);
  traffic.markPhase('consolidate');
  let child = startConsolidate(url);
  let consolidateSeconds: number;
  // a run that gives up on its capture triggers (CONSOLIDATION_03: at 3M the legacy campaign
  // delete cascades for 10-20 s, always one at a time on the busiest tables) is resumed with
  // --cancel-blockers-after, both reported; its seconds then count from the first start
  let firstTry: { seconds: number; error: string } | undefined;
  const t0 = now();
  try {
    consolidateSeconds = await child.ready;
  } catch (e) {
    if ((e as { dfcCode?: string }).dfcCode !== 'CONSOLIDATION_03') throw e;
    await child.exited;
    firstTry = { seconds: (now() - t0) / 1000, error: (e as Error).message };
    process.stdout.write(
      `consolidate gave up after ${firstTry.seconds.toFixed(1)} s (${firstTry.error}); resuming with --cancel-blockers-after ${CANCEL_AFTER_MS}\n`,
    );
    child = startConsolidate(url, ['--cancel-blockers-after', String(CANCEL_AFTER_MS)]);
    consolidateSeconds = firstTry.seconds + (await child.ready);
  }
  traffic.markPhase('following');
  const lagConn = await connect(url, 'bench-lag');
  const lags: { rows: number; seconds: number }[] = [];
  const sampler = (async () => {
    const end = Date.now() + followSeconds * 1000;
    while (Date.now() < end) {
      lags.push(await lagSample(lagConn));
      await sleep(1000);
    }
  })();
  const on = await writeLatency(url, samples);
  await sampler;
  // capture on and off in the same seconds: generated_domains beside a twin without capture
  // (made after the lag was sampled, dropped before the cutover: it is bench load, not the run's)
  traffic.markPhase('paired');
  await createTwin(url);
  const paired = await pairedWriteLatency(url, samples);
  await dropTwin(url);
  const engineSeconds = child.engineSeconds();
  await lagConn.end();
  // the journal: per-step durations and the backfill's rows
  const journal = await withClient(url, async (c) => {
    const run = await c.query<{ run_id: string }>(
      'SELECT max(run_id) AS run_id FROM consolidation.engine_runs',
    );
    const runId = run.rows[0]!.run_id;
    const phases = await c.query<{ type: string; steps: string; seconds: number }>(
      `SELECT operation_type AS type, count(*) AS steps, sum(duration_seconds)::float8 AS seconds
         FROM monitoring.migration_operations WHERE run_id = $1 GROUP BY 1 ORDER BY min(id)`,
      [runId],
    );
    const rows = await c.query<{ n: string }>(
      'SELECT coalesce(sum(rows_copied), 0) AS n FROM consolidation.engine_tables WHERE run_id = $1',
      [runId],
    );
    const count = await c.query<{ s: number | null }>(
      `SELECT (details->>'countSeconds')::float8 AS s FROM monitoring.migration_operations
        WHERE run_id = $1 AND operation_type = 'check' AND operation_target = 'conversion-result'`,
      [runId],
    );
    return {
      phases: phases.rows,
      backfillRows: Number(rows.rows[0]!.n),
      countSeconds: count.rows[0]?.s ?? null,
    };
  });
  // the cutover with default settings while the follower runs (it yields the consolidation lock)
  // and the contention generator holds 300 ms reads on the busiest tables
  const contention = startContention(app.url);
  await sleep(2000);
  const lockWaits = await startLockWaitSampler(url);
  const loadAtCutover = load();
  traffic.markPhase('cutover');
  // a cutover that cannot get its locks is reported, not fatal
  const failed = (e: Error & { code?: string }) => ({
    attempts: Number.NaN,
    lockHeldMs: Number.NaN,
    blockers: [],
    failed: `${e.code ?? ''} ${e.message}`,
  });
  const co = await cutover(url).catch(failed);
  // CONSOLIDATION_03 (the application's own transactions held a table longer than every attempt:
  // at 3M a legacy campaign delete cascades for 10–20 s): the documented way through, measured too
  const cancelling =
    'failed' in co && co.failed.startsWith('CONSOLIDATION_03')
      ? await cutover(url, { cancelBlockersAfterMs: CANCEL_AFTER_MS }).catch(failed)
      : null;
  traffic.markPhase('after');
  const waits = await lockWaits.stop();
  const held = await contention.stop();
  const through = cancelling ?? co;
  if ('failed' in through) child.interrupt();
  const exit = await Promise.race([child.exited, sleep(30_000).then(() => null)]);
  if (!exit) child.interrupt();
  const exited = exit ?? (await child.exited);
  // reverse capture after cutover: on, then off once finalize dropped it
  type Writes = Awaited<ReturnType<typeof writeLatency>>;
  let reverse: { on: Writes; off: Writes; paired: PairedLatency } | null = null;
  if (!('failed' in through)) {
    await sleep(1000);
    const reverseOn = await writeLatency(url, samples);
    await createTwin(url);
    const reversePaired = await pairedWriteLatency(url, samples);
    await dropTwin(url);
    await finalizeCutover(url, { keepDays: 0 });
    await sleep(1000);
    reverse = { on: reverseOn, off: await writeLatency(url, samples), paired: reversePaired };
  }
  await sleep(1000);
  traffic.stop();
  const report = await traffic.done;
  const ledger = await verifyLedger(url, ledgerPath);
  return {
    domains,
    seedRows: Object.values(seed.counts).reduce((a, b) => a + b, 0),
    limit,
    limit2,
    consolidateSeconds,
    engineSeconds,
    journal,
    walls: child.walls,
    firstTry: firstTry && { ...firstTry, cancelled: child.cancelled() },
    off,
    on,
    paired,
    lags,
    cutover: co,
    cancelling,
    waits,
    held,
    loadAtCutover,
    reverse,
    exited,
    report,
    mismatches: ledger.mismatches.length,
    loadBefore,
    loadAfter: load(),
  };
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const rate = Number(values.rate);
const timeout = CUTOVER_DEFAULTS.lockTimeoutMs;

const results = [];
buildCli();
for (const n of String(values.domains).split(',').map(Number)) {
  process.stdout.write(
    `\n== ${n.toLocaleString('en')} generated domains, traffic ${rate} ops/s, dfc consolidate ${runArgs.join(' ') || '(defaults)'}, load ${load()}\n`,
  );
  const r = await runOne(serverUrl, n, rate, Number(values['follow-seconds']), Number(values.samples));
  results.push(r);
  const limitSeconds = r.limit.copySeconds + r.limit.indexSeconds;
  const limit2Seconds = r.limit2.copySeconds + r.limit2.indexSeconds;
  const oneShot = r.limit.rows / r.limit.copySeconds;
  const oneShot2 = r.limit2.rows / r.limit2.copySeconds;
  const backfill = r.journal.phases.find((p) => p.type === 'backfill');
  // the tables are copied side by side on the lanes: their wall time, not their summed time
  const backfillWall = r.walls.get('backfill');
  const backfillSeconds = backfillWall
    ? backfillWall.end - backfillWall.start
    : (backfill?.seconds ?? Number.NaN);
  const online = r.journal.backfillRows / backfillSeconds;
  const ratio = (a: Latency, b: Latency) =>
    `p50 ${(a.p50 / b.p50).toFixed(2)}  p99 ${(a.p99 / b.p99).toFixed(2)}`;
  const ms = (l: Latency) => `p50 ${l.p50.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms`;
  const maxLag = r.lags.reduce(
    (a, l) => ({ rows: Math.max(a.rows, l.rows), seconds: Math.max(a.seconds, l.seconds) }),
    {
      rows: 0,
      seconds: 0,
    },
  );
  const meanRows = r.lags.reduce((a, l) => a + l.rows, 0) / Math.max(1, r.lags.length);
  process.stdout.write(
    `${[
      `rows in the database: ${r.seedRows}; load before ${r.loadBefore}, after ${r.loadAfter}`,
      `one-shot limit, 1 session: copy ${r.limit.rows} rows in ${r.limit.copySeconds.toFixed(2)} s + plain index builds ${r.limit.indexSeconds.toFixed(2)} s = ${limitSeconds.toFixed(2)} s`,
      `one-shot limit, 2 sessions (the run's lanes): copy ${r.limit2.copySeconds.toFixed(2)} s + plain index builds ${r.limit2.indexSeconds.toFixed(2)} s = ${limit2Seconds.toFixed(2)} s`,
      `whole consolidation (process start → ready_for_cutover): ${r.consolidateSeconds.toFixed(2)} s = ${(r.consolidateSeconds / limitSeconds).toFixed(2)} × the limit (${(r.consolidateSeconds / limit2Seconds).toFixed(2)} × the 2-session limit)`,
      ...(r.firstTry
        ? [
            `  with defaults it gave up after ${r.firstTry.seconds.toFixed(1)} s (${r.firstTry.error.slice(0, 200)}); resumed with --cancel-blockers-after ${CANCEL_AFTER_MS}: ${r.firstTry.cancelled} statement(s) cancelled or idle transaction(s) terminated; the time counts both`,
          ]
        : []),
      `  of which consolidate() itself (connect → ready, no process start-up): ${r.engineSeconds?.toFixed(2) ?? '?'} s = ${r.engineSeconds ? (r.engineSeconds / limitSeconds).toFixed(2) : '?'} × the limit`,
      '  per phase: steps, their time summed over the sessions (journal), wall time first start → last done',
      '  (backfill, pk, indexes, checks and fks run on 2 lanes; check runs beside them, so its wall spans them):',
      ...r.journal.phases.map((p) => {
        const w = r.walls.get(p.type);
        const wall = w && w.end >= w.start ? `${(w.end - w.start).toFixed(2).padStart(8)} s wall` : '';
        return `    ${p.type.padEnd(12)} ${String(p.steps).padStart(3)} steps  ${p.seconds.toFixed(2).padStart(8)} s  ${wall}`;
      }),
      `conversion count (its own session, beside the copy): ${r.journal.countSeconds?.toFixed(2) ?? '?'} s`,
      `online backfill ${r.journal.backfillRows} rows in ${backfillSeconds.toFixed(2)} s (wall, 2 lanes) = ${Math.round(online)} rows/s; one-shot copy ${Math.round(oneShot)} rows/s; ratio ${(online / oneShot).toFixed(2)} (2-session copy ${Math.round(oneShot2)} rows/s: ${(online / oneShot2).toFixed(2)})`,
      'writes, capture on and off side by side (interleaved: generated_domains and a twin without capture, while following):',
      `  capture on:  single ${ms(r.paired.on.single)}; 100-row batch ${ms(r.paired.on.batch)}`,
      `  capture off: single ${ms(r.paired.off.single)}; 100-row batch ${ms(r.paired.off.batch)}`,
      `  forward on ÷ off: single ${ratio(r.paired.on.single, r.paired.off.single)}; batch ${ratio(r.paired.on.batch, r.paired.off.batch)} (goal p50 ≤ 1.1)`,
      `writes across time (off before the consolidation, on while following: the load differs): single ${ms(r.off.single)} → ${ms(r.on.single)}; batch ${ms(r.off.batch)} → ${ms(r.on.batch)}; on ÷ off single ${ratio(r.on.single, r.off.single)}, batch ${ratio(r.on.batch, r.off.batch)}`,
      `follower lag over ${r.lags.length} s waiting for cutover: max ${maxLag.rows} rows / ${maxLag.seconds.toFixed(2)} s, mean ${meanRows.toFixed(1)} rows`,
      `tool peak resident memory: ${r.exited.maxRssKb === null ? 'n/a (no /proc)' : `${(r.exited.maxRssKb / 1024).toFixed(1)} MiB`}; follower exit code ${r.exited.code}`,
      'failed' in r.cutover
        ? `cutover (default settings, follower running, contention 2 × 300 ms readers; load ${r.loadAtCutover}) FAILED: ${r.cutover.failed}`
        : `cutover (default settings, follower running, contention 2 × 300 ms readers; load ${r.loadAtCutover}): ${r.cutover.attempts} attempt(s), lock held ${r.cutover.lockHeldMs} ms (goal ≤ 100)`,
      ...(r.cancelling
        ? [
            'failed' in r.cancelling
              ? `then with --cancel-blockers-after ${CANCEL_AFTER_MS}: FAILED: ${r.cancelling.failed}`
              : `then with --cancel-blockers-after ${CANCEL_AFTER_MS}: ${r.cancelling.attempts} attempt(s), lock held ${r.cancelling.lockHeldMs} ms; blockers ${r.cancelling.blockers.filter((b) => b.action === 'cancelled').length} statement(s) cancelled, ${r.cancelling.blockers.filter((b) => b.action === 'terminated').length} idle transaction(s) terminated, ${r.cancelling.blockers.filter((b) => b.action === 'skipped').length} skipped (${[...new Set(r.cancelling.blockers.map((b) => b.application))].join(', ')})`,
          ]
        : []),
      ...describeStall(
        phaseWrites(r.report, 'cutover', ['consolidate', 'following']),
        r.waits,
        timeout,
        'the cutover',
      ),
      `contention: ${r.held.transactions} read transactions of ${r.held.holdMs} ms, errors ${JSON.stringify(r.held.errors)}`,
      ...(r.reverse
        ? [
            'v2 writes, reverse capture on and off side by side (interleaved, a twin without capture):',
            `  capture on:  single ${ms(r.reverse.paired.on.single)}; 100-row batch ${ms(r.reverse.paired.on.batch)}`,
            `  capture off: single ${ms(r.reverse.paired.off.single)}; 100-row batch ${ms(r.reverse.paired.off.batch)}`,
            `  reverse on ÷ off: single ${ratio(r.reverse.paired.on.single, r.reverse.paired.off.single)}; batch ${ratio(r.reverse.paired.on.batch, r.reverse.paired.off.batch)} (goal p50 ≤ 1.1)`,
            `v2 writes across time (on after the cutover, off after finalize): single ${ms(r.reverse.on.single)} → ${ms(r.reverse.off.single)}; batch ${ms(r.reverse.on.batch)} → ${ms(r.reverse.off.batch)}; on ÷ off single ${ratio(r.reverse.on.single, r.reverse.off.single)}, batch ${ratio(r.reverse.on.batch, r.reverse.off.batch)}`,
          ]
        : []),
      `traffic: ${r.report.ops} ops, ${r.report.failedWrites} failed writes, achieved ${r.report.achievedOpsPerSec.toFixed(0)} ops/s; ledger mismatches ${r.mismatches}`,
      ...Object.entries(r.report.perPhase).map(
        ([phase, p]) =>
          `  app writes ${phase.padEnd(12)} p50 ${p.writes.p50.toFixed(1)} ms  p99 ${p.writes.p99.toFixed(1)} ms  max ${p.writes.max.toFixed(1)} ms  (${p.writes.count})`,
      ),
    ].join('\n')}\n`,
  );
}
if (results.length > 1) {
  process.stdout.write('\nside by side:\n');
  for (const r of results) {
    const limitSeconds = r.limit.copySeconds + r.limit.indexSeconds;
    const limit2Seconds = r.limit2.copySeconds + r.limit2.indexSeconds;
    process.stdout.write(
      `  ${String(r.domains).padStart(8)} domains: limit ${limitSeconds.toFixed(1)} s (2 sessions ${limit2Seconds.toFixed(1)} s), consolidation ${r.consolidateSeconds.toFixed(1)} s (${(r.consolidateSeconds / limitSeconds).toFixed(2)}×; ${(r.consolidateSeconds / limit2Seconds).toFixed(2)}× the 2-session limit), peak RSS ${r.exited.maxRssKb ? (r.exited.maxRssKb / 1024).toFixed(0) : '?'} MiB, cutover ${r.cutover.attempts} attempts, lock ${r.cutover.lockHeldMs} ms, stall ${stallMs(r.waits).toFixed(0)} ms${r.reverse ? `, reverse capture on÷off p50 (interleaved) single ${(r.reverse.paired.on.single.p50 / r.reverse.paired.off.single.p50).toFixed(2)} batch ${(r.reverse.paired.on.batch.p50 / r.reverse.paired.off.batch.p50).toFixed(2)}` : ''}; forward single ${(r.paired.on.single.p50 / r.paired.off.single.p50).toFixed(2)} batch ${(r.paired.on.batch.p50 / r.paired.off.batch.p50).toFixed(2)}\n`,
    );
  }
}
process.exit(0);
