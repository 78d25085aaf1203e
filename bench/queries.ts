/**
 * bench/queries: the statements DomainFlow runs (workload/statements.ts), timed and EXPLAINed on a
 * seeded legacy database, then on the same database consolidated to v2 (consolidate + cutover),
 * with the same parameters. Prints a side-by-side table (median ms, shared buffers touched, plan
 * change and the indexes each plan uses) and, with --write-doc, rewrites the generated block of
 * docs/query-plans.md. A v2 must not make reads slower: statements that did are flagged.
 *
 * Timing: per statement one EXPLAIN (ANALYZE, BUFFERS) first (it doubles as the cache warm-up), then
 * up to --runs timed executions through the extended protocol with bind parameters (custom plans,
 * as node-pg and the Go service get them). A statement whose runs exceed --budget seconds stops
 * early after 3 runs, so one pathological plan cannot eat the run.
 * After cutover the legacy tables are still there (the rollback copy, untouched): v2 is timed in
 * alternation with them, so load from other work on the shared cores hits both sides alike.
 * FOR UPDATE reads and the writes run inside BEGIN … ROLLBACK, so every run sees the same data.
 * v2 tables carry the reverse-capture trigger while the rollback copy is kept; writes are timed
 * with it and without it. The scale probe (--scale-rows synthetic campaigns and sessions, rolled
 * back) shows the plans of the reads of tables the seed keeps tiny.
 *
 * Usage: npx tsx bench/queries.ts [--domains 200000] [--runs 15] [--budget 10] [--scale-rows 50000]
 *        [--database-url URL] [--keep] [--write-doc] [--json]
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { connect, resolveTarget, withClient } from '../src/db/connection.js';
import { dropDatabase } from '../src/db/databases.js';
import { disableCaptureSql } from '../src/engine/capture.js';
import { consolidate } from '../src/engine/consolidate.js';
import { cutover } from '../src/engine/cutover.js';
import { ROLLBACK_SCHEMA } from '../src/engine/names.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { quoteIdent } from '../src/sql/sql.js';
import { seedDatabase } from '../workload/seed.js';
import { APP_STATEMENTS, DOMAIN_BATCH, DOMAIN_BATCH_COLUMNS } from '../workload/statements.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '15' },
    budget: { type: 'string', default: '10' },
    'scale-rows': { type: 'string', default: '50000' },
    'database-url': { type: 'string' },
    keep: { type: 'boolean', default: false },
    'write-doc': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const DOMAINS = Number(values.domains);
const RUNS = Number(values.runs);
const BUDGET_MS = Number(values.budget) * 1000;
const SCALE_ROWS = Number(values['scale-rows']);
const DOC = path.resolve(import.meta.dirname, '..', 'docs', 'query-plans.md');
const log = (s: string) => process.stderr.write(`${s}\n`);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

type Mode = 'read' | 'locking read' | 'write';
interface Case {
  name: string;
  text: string;
  params: unknown[];
  mode: Mode;
  /** what the parameters are, for the note */
  about: string;
}
interface Plan {
  execMs: number;
  /** shared buffers the top node touched (hit + read), load-independent unlike milliseconds */
  buffers: number;
  indexes: string[];
  /** node labels without costs/timings/schemas: equal signatures = same plan */
  signature: string;
  /** trimmed plan text for the note */
  plan: string;
}
interface Measured extends Plan {
  medianMs: number;
  /** the fastest run: what the statement costs when nothing else competes for the cores */
  minMs: number;
  times: number[];
  runs: number;
  /** v2 writes only: the same statement with the reverse-capture trigger disabled */
  withoutCaptureMs?: number;
}

// ---- parameters: picked from the seeded data, once, so both sides run the same values ------------

async function one<T extends pg.QueryResultRow>(c: pg.ClientBase, text: string, params: unknown[] = []) {
  return (await c.query<T>(text, params)).rows[0];
}

async function pickCases(c: pg.ClientBase): Promise<Case[]> {
  const us = await one<{ user_id: string; status: string; n: string }>(
    c,
    'SELECT user_id, status, count(*) AS n FROM campaigns GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1',
  );
  const gen = await one<{ id: string; n: string; max_offset: string; tld: string }>(
    c,
    `SELECT domain_generation_campaign_id AS id, count(*) AS n, max(offset_index) AS max_offset, min(tld) AS tld
       FROM generated_domains GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
  );
  const dns = await one<{ id: string; n: string }>(
    c,
    'SELECT dns_campaign_id AS id, count(*) AS n FROM dns_validation_results GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const http = await one<{ id: string; n: string }>(
    c,
    'SELECT http_keyword_campaign_id AS id, count(*) AS n FROM http_keyword_results GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  // a session the service would accept (active, unexpired, active user), else any session
  const session = await one<{ id: string; valid: boolean }>(
    c,
    `SELECT s.id, (s.is_active AND s.expires_at > now() AND u.is_active) AS valid
       FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
      ORDER BY 2 DESC, s.expires_at DESC LIMIT 1`,
  );
  // the service polls both queues, half the time each (workload/ops.ts): both are measured
  const queues = (
    await c.query<{ status: string; n: string }>(
      `SELECT q.status, count(j.id) AS n FROM (VALUES ('pending'), ('queued')) q(status)
         LEFT JOIN campaign_jobs j ON j.status = q.status GROUP BY 1 ORDER BY 1`,
    )
  ).rows;
  const jobs = await one<{ id: string; n: string }>(
    c,
    'SELECT campaign_id AS id, count(*) AS n FROM campaign_jobs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const kset = await one<{ id: string; n: string }>(
    c,
    'SELECT keyword_set_id AS id, count(*) AS n FROM keyword_rules GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
  );
  const audit = await one<{ id: string; n: string }>(
    c,
    `SELECT entity_id AS id, count(*) AS n FROM audit_logs WHERE entity_type = 'Campaign' AND entity_id IS NOT NULL
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
  );
  // a domain of the big campaign that has no result in the big DNS campaign yet (no ON CONFLICT skip)
  const freeDomain = await one<{ id: string; domain_name: string }>(
    c,
    `SELECT gd.id, gd.domain_name FROM generated_domains gd
      WHERE gd.domain_generation_campaign_id = $1
        AND NOT EXISTS (SELECT 1 FROM dns_validation_results d WHERE d.dns_campaign_id = $2 AND d.domain_name = gd.domain_name)
      ORDER BY gd.offset_index LIMIT 1`,
    [gen?.id, dns?.id],
  );
  if (!us || !gen || !dns || !http || !session || !jobs || !kset || !audit || !freeDomain)
    throw new Error('the seeded database lacks rows this benchmark needs; seed more domains');

  const batch: unknown[] = [];
  for (let i = 0; i < DOMAIN_BATCH; i++) {
    const row: Record<(typeof DOMAIN_BATCH_COLUMNS)[number], unknown> = {
      id: randomUUID(),
      domain_generation_campaign_id: gen.id,
      domain_name: `benchq${i}x${Number(gen.max_offset) + 1 + i}${gen.tld}`,
      source_keyword: 'benchq',
      source_pattern: 'prefix',
      tld: gen.tld,
      offset_index: Number(gen.max_offset) + 1 + i,
      generated_at: '2025-06-01T00:00:00Z',
    };
    batch.push(...DOMAIN_BATCH_COLUMNS.map((k) => row[k]));
  }
  type Choice = { params: unknown[]; about: string; label?: string };
  const params: Record<string, Choice | Choice[]> = {
    campaign_list_by_user_status: {
      params: [us.user_id, us.status, 20],
      about: `the (user, status) pair with most campaigns (${us.n}), LIMIT 20`,
    },
    campaign_detail: { params: [gen.id], about: 'the generation campaign with most domains' },
    campaign_generation_params: { params: [gen.id], about: 'the same campaign' },
    domains_page: {
      params: [gen.id, 50, 100],
      about: `that campaign (${gen.n} domains), LIMIT 50 OFFSET 100`,
    },
    domains_count: { params: [gen.id], about: `that campaign (${gen.n} domains)` },
    dns_work_queue: { params: [gen.id, 100], about: 'that campaign, LIMIT 100' },
    dns_results_page: {
      params: [dns.id, 50, 0],
      about: `the DNS campaign with most results (${dns.n}), LIMIT 50`,
    },
    http_results_page: {
      params: [http.id, 50],
      about: `the HTTP campaign with most results (${http.n}), LIMIT 50`,
    },
    session_validate: {
      params: [session.id],
      about: session.valid ? 'a valid session' : 'a session (none in the seed is still valid today)',
    },
    job_queue: queues.map((q) => ({
      label: `job_queue[${q.status}]`,
      params: [q.status, 20],
      about: `status '${q.status}' (${q.n} jobs), LIMIT 20`,
    })),
    jobs_by_campaign: { params: [jobs.id, 20], about: `the campaign with most jobs (${jobs.n}), LIMIT 20` },
    keyword_sets_enabled: { params: [50], about: 'LIMIT 50' },
    keyword_rules_by_set: { params: [kset.id], about: `the set with most rules (${kset.n})` },
    proxies_healthy: { params: [20], about: 'LIMIT 20' },
    audit_by_entity: {
      params: ['Campaign', audit.id, 20],
      about: `the campaign with most audit rows (${audit.n}), LIMIT 20`,
    },
    campaign_lock_status: { params: [gen.id], about: 'the big generation campaign' },
    generation_params_lock_offset: { params: [gen.id], about: 'the big generation campaign' },
    domains_insert_batch: {
      params: batch,
      about: `${DOMAIN_BATCH} new domains appended to the big campaign`,
    },
    dns_result_insert: {
      params: [
        randomUUID(),
        dns.id,
        freeDomain.id,
        freeDomain.domain_name,
        'resolved',
        '{"A":["192.0.2.1"],"ttl":300}',
        null,
        1,
      ],
      about: 'one new result in the big DNS campaign',
    },
  };
  const cases: Case[] = [];
  for (const s of APP_STATEMENTS) {
    const p = params[s.name];
    const isSelect = /^\s*SELECT/i.test(s.text);
    if (!isSelect && !p) continue; // only the writes that matter
    if (!p) throw new Error(`no parameters chosen for read statement ${s.name}`);
    const mode: Mode = !isSelect ? 'write' : /FOR UPDATE/i.test(s.text) ? 'locking read' : 'read';
    for (const v of Array.isArray(p) ? p : [p])
      cases.push({ name: v.label ?? s.name, text: s.text, params: v.params, mode, about: v.about });
  }
  return cases;
}

// ---- measuring ---------------------------------------------------------------------------------

const INDEX_RE = /(?:Index Only Scan|Index Scan)(?: Backward)? using (\S+) on|Bitmap Index Scan on (\S+)/g;
/** Indexes a plan reads, including the ON CONFLICT arbiter an INSERT probes. */
const indexesIn = (text: string) =>
  [
    ...new Set([
      ...[...text.matchAll(INDEX_RE)].map((m) => m[1] ?? m[2]!),
      ...[...text.matchAll(/Conflict Arbiter Indexes: (.+)/g)].flatMap((m) => m[1]!.split(', ')),
    ]),
  ].sort();

function readPlan(lines: string[]): Plan {
  const text = lines.join('\n');
  const nodes = lines
    .filter((l, i) => i === 0 || /^\s*->/.test(l))
    .map((l) =>
      l
        .replace(/^\s*->\s*/, '')
        .replace(/\s+\(cost=.*$/, '')
        .replace(/\s+\(actual.*$/, '')
        .replace(/\b(dfc_rollback_\w+|public|auth)\./g, ''),
    );
  // the first Buffers line is the top node's: it includes its children's
  const buf = /Buffers: shared((?: \w+=\d+)+)/.exec(text)?.[1] ?? '';
  const buffers = [...buf.matchAll(/=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  const execMs = Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? Number.NaN);
  // the key part for the note: up to 12 plan lines without cost estimates, then the totals
  const body = lines.filter(
    (l) => !/^(Planning|Execution|Trigger)/.test(l) && !/^\s+Buffers: shared.*$/.test(l),
  );
  const cut = body.slice(0, 12).map((l) => l.replace(/\s+\(cost=[^)]*\)/, ''));
  if (body.length > 12) cut.push(`  … (${body.length - 12} more lines)`);
  const totals = lines.filter((l) => /^(Execution Time|Trigger )/.test(l));
  return {
    indexes: indexesIn(text),
    signature: nodes.join(' | '),
    buffers,
    execMs,
    plan: [...cut, ...totals].join('\n'),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A session on one side: legacy before consolidation, the legacy rollback copy after it, or v2. */
interface Side {
  c: pg.ClientBase;
  /** the statement as this side runs it (the rollback copy lives in other schemas) */
  text: (k: Case) => string;
}

async function inTx<T>(s: Side, k: Case, fn: () => Promise<T>, force = false): Promise<T> {
  const tx = force || k.mode !== 'read';
  if (tx) await s.c.query('BEGIN');
  try {
    return await fn();
  } finally {
    if (tx) await s.c.query('ROLLBACK');
  }
}

/** One timed execution; FOR UPDATE reads and writes inside BEGIN … ROLLBACK. */
async function execute(s: Side, k: Case, before?: string): Promise<number> {
  return inTx(s, k, async () => {
    if (before) await s.c.query(before);
    const start = performance.now();
    await s.c.query(s.text(k), k.params);
    return performance.now() - start;
  });
}

async function explain(s: Side, k: Case): Promise<Plan> {
  const r = await inTx(s, k, () =>
    s.c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ${s.text(k)}`, k.params),
  );
  return readPlan(r.rows.map((x) => x['QUERY PLAN']));
}

/** Time the sides in alternation (ABBA…), so load from other work on the machine hits both alike. */
async function timeRuns(sides: { s: Side; before?: string }[], k: Case): Promise<number[][]> {
  const times: number[][] = sides.map(() => []);
  const start = Date.now();
  for (let i = 0; i < RUNS && (i < 3 || Date.now() - start < BUDGET_MS); i++) {
    const order = i % 2 ? [...sides.keys()].reverse() : [...sides.keys()];
    for (const j of order) times[j]!.push(await execute(sides[j]!.s, k, sides[j]!.before));
  }
  return times;
}

/**
 * A read is timed slower on v2 when its median and its fastest run are both ≥ 1.25× (and the
 * median ≥ 0.1 ms more) the legacy copy's: a burst of load on the shared cores moves one side's
 * median now and then, rarely the fastest of 15 runs as well.
 */
const timedSlower = (legacy: number[], v2: number[]) =>
  median(v2) >= 1.25 * median(legacy) &&
  median(v2) - median(legacy) >= 0.1 &&
  Math.min(...v2) >= 1.25 * Math.min(...legacy);

async function measure(sides: Side[], k: Case): Promise<Measured[]> {
  const plans: Plan[] = [];
  for (const s of sides) plans.push(await explain(s, k)); // also the cache warm-up
  const times = await timeRuns(
    sides.map((s) => ({ s })),
    k,
  );
  // legacy copy vs v2 looks slower: time two more rounds and judge the pooled runs
  if (sides.length === 2 && k.mode !== 'write' && timedSlower(times[0]!, times[1]!))
    for (let round = 0; round < 2; round++) {
      const more = await timeRuns(
        sides.map((s) => ({ s })),
        k,
      );
      for (const [j, m] of more.entries()) times[j]!.push(...m);
    }
  return sides.map((_, j) => ({
    ...plans[j]!,
    times: times[j]!,
    medianMs: median(times[j]!),
    minMs: Math.min(...times[j]!),
    runs: times[j]!.length,
  }));
}

/** v2 writes without the reverse-capture trigger (how they run once the rollback copy is dropped). */
async function withoutCapture(v2: Side, k: Case): Promise<number | undefined> {
  const table = /INSERT INTO (\w+)/.exec(k.text)?.[1];
  const r = await one<{ schema: string; name: string }>(
    v2.c,
    `SELECT n.nspname AS schema, cl.relname AS name FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = 'public' AND cl.relname = $1 AND tg.tgname = 'dfc_capture_reverse'`,
    [table],
  );
  if (!r) return undefined;
  const [t] = await timeRuns([{ s: v2, before: disableCaptureSql(r, 'reverse') }], k);
  return median(t!);
}

/**
 * The seed holds a few dozen campaigns and sessions, so reads of those tables are Seq Scans on
 * either schema and say nothing about their indexes. This probe adds `rows` synthetic campaigns
 * (spread over the seeded users, statuses and types) and sessions inside a transaction, ANALYZEs,
 * EXPLAINs the statements that read them, and rolls everything back.
 */
const SCALED = [
  'campaign_list_by_user_status',
  'campaign_detail',
  'campaign_lock_status',
  'session_validate',
];
const SCALE_SESSION = 'scale-61'; // active and unexpired (see the INSERT below)

async function scaleProbe(side: Side, cases: Case[], rows: number, v2: boolean): Promise<Map<string, Plan>> {
  const c = side.c;
  const sql = (text: string) => side.text({ text } as Case);
  const out = new Map<string, Plan>();
  await c.query('BEGIN');
  try {
    // the reverse capture would log every synthetic row; they are rolled back anyway
    if (v2)
      for (const name of ['campaigns', 'sessions'])
        await c.query(
          disableCaptureSql({ schema: name === 'sessions' ? 'auth' : 'public', name }, 'reverse'),
        );
    // user_id is text on legacy and uuid on v2: a uuid value is assigned to either
    await c.query(
      sql(`INSERT INTO campaigns (id, name, campaign_type, status, user_id, total_items, processed_items,
             successful_items, failed_items, progress_percentage, created_at, updated_at)
           SELECT md5('scale' || g)::uuid, 'scale ' || g,
                  (ARRAY['domain_generation', 'dns_validation', 'http_keyword_validation'])[1 + g % 3],
                  s.st[1 + g % cardinality(s.st)], u.ids[1 + (g / 7) % cardinality(u.ids)], 0, 0, 0, 0, 0,
                  now() - g * interval '1 minute', now()
             FROM generate_series(1, $1::int) g,
                  (SELECT array_agg(DISTINCT status) AS st FROM campaigns) s,
                  (SELECT array_agg(id ORDER BY id) AS ids FROM auth.users) u`),
      [rows],
    );
    await c.query(
      sql(`INSERT INTO auth.sessions (id, user_id, is_active, expires_at, last_activity_at, created_at)
           SELECT 'scale-' || g, u.ids[1 + g % cardinality(u.ids)], g % 4 <> 0,
                  now() + (g % 100 - 50) * interval '1 hour', now(), now()
             FROM generate_series(1, $1::int) g, (SELECT array_agg(id ORDER BY id) AS ids FROM auth.users) u`),
      [rows],
    );
    await c.query(sql('ANALYZE campaigns'));
    await c.query(sql('ANALYZE auth.sessions'));
    for (const k of cases.filter((x) => SCALED.includes(x.name))) {
      const params = k.name === 'session_validate' ? [SCALE_SESSION] : k.params;
      const r = await c.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ${side.text(k)}`,
        params,
      );
      out.set(k.name, readPlan(r.rows.map((x) => x['QUERY PLAN'])));
    }
  } finally {
    await c.query('ROLLBACK');
  }
  return out;
}

const asIs = (k: Case) => k.text;
/** The statement against the legacy tables kept as the rollback copy (auth.* is schema-qualified). */
const onRollbackCopy = (k: Case) => k.text.replaceAll('auth.', `${quoteIdent(ROLLBACK_SCHEMA.auth)}.`);

async function session(url: string, name: string, searchPath?: string): Promise<pg.Client> {
  const c = await connect(url, name);
  await c.query('SET statement_timeout = 120000');
  if (searchPath) await c.query(`SET search_path = ${searchPath}`);
  return c;
}

/** Before consolidation: legacy as the service runs it today. */
async function measureLegacy(url: string, cases: Case[]): Promise<Map<string, Measured>> {
  const c = await session(url, 'dfc-bench-queries-legacy');
  try {
    const out = new Map<string, Measured>();
    for (const k of cases) {
      const [m] = await measure([{ c, text: asIs }], k);
      out.set(k.name, m!);
      log(`  legacy ${k.name.padEnd(30)} ${fmt(m!.medianMs).padStart(9)} ms  (${m!.runs} runs)`);
    }
    return out;
  } finally {
    await c.end();
  }
}

/** After cutover: v2 and the untouched legacy tables (rollback copy), interleaved; then the scale probe. */
async function measureAfter(url: string, cases: Case[]) {
  const cv2 = await session(url, 'dfc-bench-queries-v2');
  const cold = await session(
    url,
    'dfc-bench-queries-legacy-copy',
    `${quoteIdent(ROLLBACK_SCHEMA.public)}, public`,
  );
  try {
    const v2Side: Side = { c: cv2, text: asIs };
    const out = new Map<string, { copy: Measured; v2: Measured }>();
    for (const k of cases) {
      const [copy, v2] = await measure([{ c: cold, text: onRollbackCopy }, v2Side], k);
      if (k.mode === 'write') v2!.withoutCaptureMs = await withoutCapture(v2Side, k);
      out.set(k.name, { copy: copy!, v2: v2! });
      log(
        `  after  ${k.name.padEnd(30)} legacy copy ${fmt(copy!.medianMs).padStart(9)} ms, v2 ${fmt(v2!.medianMs).padStart(9)} ms  (${v2!.runs} runs)`,
      );
    }
    const scale = { copy: new Map<string, Plan>(), v2: new Map<string, Plan>() };
    if (SCALE_ROWS > 0) {
      scale.copy = await scaleProbe({ c: cold, text: onRollbackCopy }, cases, SCALE_ROWS, false);
      scale.v2 = await scaleProbe(v2Side, cases, SCALE_ROWS, true);
      log(`  scale probe: ${SCALE_ROWS} more campaigns and sessions on each side (rolled back)`);
    }
    return { out, scale };
  } finally {
    await cv2.end();
    await cold.end();
  }
}

// ---- setup ----------------------------------------------------------------------------------------

/** v2 indexes on the tables the statements touch, and the statements whose v2 plans use each. */
async function indexUse(url: string, rows: Row[]) {
  const tables = [
    ...new Set(
      rows.flatMap((r) => [...r.k.text.matchAll(/(?:FROM|JOIN|INTO)\s+(?:auth\.)?(\w+)/g)].map((m) => m[1]!)),
    ),
  ];
  return withClient(url, async (c) => {
    const r = await c.query<{ table: string; index: string; def: string }>(
      `SELECT tablename AS table, indexname AS index, regexp_replace(indexdef, '^.* USING ', 'USING ') AS def
         FROM pg_indexes WHERE schemaname IN ('public', 'auth') AND tablename = ANY ($1) ORDER BY 1, 2`,
      [tables],
    );
    return r.rows.map((x) => ({
      ...x,
      usedBy: rows.flatMap((w) =>
        w.v2.indexes.includes(x.index)
          ? [w.k.name]
          : w.scale?.v2.indexes.includes(x.index)
            ? [`${w.k.name}*`]
            : [],
      ),
    }));
  });
}

// ---- report --------------------------------------------------------------------------------------

interface Row {
  k: Case;
  /** legacy before consolidation */
  before: Measured;
  /** the same legacy tables after cutover (rollback copy), timed interleaved with v2 */
  copy: Measured;
  v2: Measured;
  /** the scale probe's plans (campaign and session reads only) */
  scale?: { legacy: Plan; v2: Plan };
  /** v2 ÷ legacy copy, both timed in the same window */
  ratio: number;
  changed: boolean;
  /** why a read counts as slower on v2 (empty: it does not) */
  slower: string[];
  /** worth a look but not slower (more buffer hits under a different plan) */
  notes: string[];
}

/**
 * Slower = beyond run-to-run noise on shared cores: {@link timedSlower} against the interleaved
 * legacy copy (pooled over three rounds when the first looked slower), or — with the same plan — more than twice the shared
 * buffers (load-independent: the same plan touching more pages means the rows lie worse).
 * Across a changed plan buffer counts are not comparable (a nested loop re-hits the same cached
 * index pages per probe, a hash join reads each page once); that is noted, not flagged.
 */
function compare(
  k: Case,
  before: Measured,
  copy: Measured,
  v2: Measured,
  scale?: { legacy: Plan; v2: Plan },
): Row {
  const ratio = v2.medianMs / copy.medianMs;
  const changed = before.signature !== v2.signature;
  const slower: string[] = [];
  const notes: string[] = [];
  const moreBuffers = (a: Plan, b: Plan) => b.buffers > 2 * a.buffers + 10;
  if (k.mode !== 'write') {
    if (timedSlower(copy.times, v2.times)) slower.push('time');
    if (moreBuffers(before, v2)) (changed ? notes : slower).push('buffers');
    if (scale && moreBuffers(scale.legacy, scale.v2))
      (scale.legacy.signature !== scale.v2.signature ? notes : slower).push('buffers at scale');
  }
  return { k, before, copy, v2, scale, ratio, changed, slower, notes };
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(3));
const idxList = (xs: string[]) => (xs.length ? xs.join(', ') : 'none (seq scan)');
/** Index names a plan reads; an INSERT without an ON CONFLICT arbiter reads none. */
const sideIdx = (r: Row, m: Measured) =>
  r.k.mode === 'write' && !m.indexes.length ? 'insert' : idxList(m.indexes);
const idxCell = (r: Row, sep: string) => `${sideIdx(r, r.before)}${sep}${sideIdx(r, r.v2)}`;
const planCell = (r: Row) => (r.changed ? `changed: ${idxCell(r, ' -> ')}` : `same (${sideIdx(r, r.v2)})`);

function textTable(rows: Row[]): string {
  const head = `${'statement'.padEnd(30)} ${'legacy ms'.padStart(10)} ${'copy ms'.padStart(9)} ${'v2 ms'.padStart(9)} ${'v2/leg'.padStart(7)} ${'buf leg'.padStart(8)} ${'buf v2'.padStart(7)}  plan`;
  const lines = rows.map((r) => {
    const flag = r.slower.length
      ? `  << SLOWER (${r.slower.join(', ')})`
      : r.notes.length
        ? `  (more ${r.notes.join(', ')}, other plan)`
        : '';
    return `${r.k.name.padEnd(30)} ${fmt(r.before.medianMs).padStart(10)} ${fmt(r.copy.medianMs).padStart(9)} ${fmt(r.v2.medianMs).padStart(9)} ${r.ratio.toFixed(2).padStart(7)} ${String(r.before.buffers).padStart(8)} ${String(r.v2.buffers).padStart(7)}  ${planCell(r)}${flag}`;
  });
  return [head, ...lines].join('\n');
}

interface Facts {
  seededRows: number;
  consolidateS: number;
  cutoverMs: number;
  load: string;
  totalS: number;
}

function markdown(rows: Row[], uses: Awaited<ReturnType<typeof indexUse>>, f: Facts): string {
  const md: string[] = [];
  md.push(
    `Run of ${new Date().toISOString().slice(0, 10)}: \`npm run bench:queries -- --domains ${DOMAINS} --write-doc\`; ` +
      `${DOMAINS.toLocaleString('en')} generated domains (seed 1, ${f.seededRows.toLocaleString('en')} rows in all), ` +
      `median of up to ${RUNS} runs, load average ${f.load} on 2 shared cores, ${f.totalS.toFixed(0)} s in all. ` +
      `Consolidation took ${f.consolidateS.toFixed(0)} s; the cutover held its locks ${f.cutoverMs} ms.`,
    '',
    '- *legacy*: before consolidation. *copy*: the same legacy tables after cutover (the rollback copy, ' +
      'their heap and indexes untouched), timed in alternation with *v2*, so both see the same machine load; ' +
      '*v2/legacy* divides those two.',
    '- *buf*: shared buffers the EXPLAIN ANALYZE touched (hit + read); it does not move with the load.',
    `- *at scale*: the seed has a few dozen campaigns and sessions, so their reads are Seq Scans on either schema; ` +
      `the scale probe adds ${SCALE_ROWS.toLocaleString('en')} campaigns and as many sessions in a rolled-back transaction ` +
      '(ANALYZEd) and shows the indexes and shared buffers of those plans.',
    '- writes run inside BEGIN … ROLLBACK; on v2 they are shown with the reverse-capture trigger that feeds ' +
      'the rollback copy (until the copy is dropped) and without it.',
    '',
    '| statement | kind | legacy ms | copy ms | v2 ms | v2/legacy | buf legacy | buf v2 | plan | indexes legacy → v2 | at scale legacy → v2 |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---|---|',
  );
  for (const r of rows) {
    const v2ms =
      r.v2.withoutCaptureMs === undefined
        ? fmt(r.v2.medianMs)
        : `${fmt(r.v2.medianMs)} (${fmt(r.v2.withoutCaptureMs)} w/o capture)`;
    const name = r.slower.length
      ? `**⚠ ${r.k.name}** (slower: ${r.slower.join(', ')})`
      : r.notes.length
        ? `${r.k.name} (more ${r.notes.join(', ')}, other plan)`
        : r.k.name;
    const scale = r.scale
      ? `${idxList(r.scale.legacy.indexes)} → ${idxList(r.scale.v2.indexes)} (buf ${r.scale.legacy.buffers} → ${r.scale.v2.buffers})`
      : '';
    md.push(
      `| ${name} | ${r.k.mode} | ${fmt(r.before.medianMs)} | ${fmt(r.copy.medianMs)} | ${v2ms} | ${r.ratio.toFixed(2)} | ${r.before.buffers} | ${r.v2.buffers} | ${r.changed ? 'changed' : 'same'} | ${idxCell(r, ' → ')} | ${scale} |`,
    );
  }
  md.push('', '### Parameters', '');
  for (const r of rows) md.push(`- \`${r.k.name}\`: ${r.k.about}`);
  md.push('', '### Plans (cost estimates removed, first 12 lines)', '');
  for (const r of rows) {
    if (!r.changed && !r.slower.length && r.k.mode !== 'write') continue;
    const text = r.k.text.length > 300 ? `${r.k.text.slice(0, 300)} …` : r.k.text;
    md.push(`#### ${r.k.name}`, '', '```sql', text, '```', '');
    md.push('legacy:', '', '```', r.before.plan, '```', '', 'v2:', '', '```', r.v2.plan, '```', '');
  }
  for (const r of rows.filter(
    (x) => x.scale && ['campaign_list_by_user_status', 'session_validate'].includes(x.k.name),
  )) {
    md.push(`#### ${r.k.name}, at scale`, '');
    md.push(
      'legacy:',
      '',
      '```',
      r.scale!.legacy.plan,
      '```',
      '',
      'v2:',
      '',
      '```',
      r.scale!.v2.plan,
      '```',
      '',
    );
  }
  const same = rows.filter((r) => !r.changed && !r.slower.length && r.k.mode !== 'write');
  md.push(`Same plan on both, not shown: ${same.map((r) => `\`${r.k.name}\``).join(', ')}.`, '');
  md.push('### v2 indexes on the tables these statements read, and the plans that use them', '');
  md.push('| table | index | definition | used by (v2 plans; * = at scale) |', '|---|---|---|---|');
  for (const u of uses)
    md.push(
      `| ${u.table} | ${u.index} | \`${u.def.replaceAll('|', '\\|')}\` | ${u.usedBy.join(', ') || '—'} |`,
    );
  return md.join('\n');
}

const BEGIN = '<!-- bench:queries generated: begin -->';
const END = '<!-- bench:queries generated: end -->';

/** Replace the generated block of docs/query-plans.md; the prose around it is kept. */
async function writeDoc(block: string) {
  const old = await readFile(DOC, 'utf8').catch(() => `# Query plans: legacy vs v2\n\n${BEGIN}\n${END}\n`);
  const a = old.indexOf(BEGIN);
  const b = old.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC} lacks the generated-block markers`);
  await writeFile(DOC, `${old.slice(0, a + BEGIN.length)}\n${block}\n${old.slice(b)}`);
}

// ---- main ----------------------------------------------------------------------------------------

/** Fresh statistics and visibility map, and no checkpoint of the load competing with the timings. */
const settle = (url: string) =>
  withClient(url, async (c) => {
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
  });
const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const dbName = `dfc_bench_queries_${DOMAINS}`;
const url = await createLegacyDatabase(serverUrl, dbName);
const seed = await seedDatabase(url, { domains: DOMAINS, seed: 1 });
await settle(url);
const seededRows = Object.values(seed.counts).reduce((a, b) => a + b, 0);
log(`[${elapsed()}] seeded ${seededRows} rows in ${seed.seconds.toFixed(1)} s; VACUUM ANALYZE done`);

const cases = await withClient(url, pickCases);
const legacy = await measureLegacy(url, cases);
log(`[${elapsed()}] legacy measured; consolidating`);
const cs = Date.now();
await consolidate(url);
const consolidateS = (Date.now() - cs) / 1000;
const co = await cutover(url);
await settle(url);
log(
  `[${elapsed()}] consolidated in ${consolidateS.toFixed(1)} s, cutover held ${co.lockHeldMs} ms; VACUUM ANALYZE done`,
);
const after = await measureAfter(url, cases);
const rows = cases.map((k) => {
  const a = after.out.get(k.name)!;
  const [sl, sv] = [after.scale.copy.get(k.name), after.scale.v2.get(k.name)];
  return compare(k, legacy.get(k.name)!, a.copy, a.v2, sl && sv ? { legacy: sl, v2: sv } : undefined);
});
const uses = await indexUse(url, rows);
const load = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');

if (values.json) {
  console.log(JSON.stringify({ domains: DOMAINS, runs: RUNS, rows, uses }));
} else {
  console.log(
    `\nbench/queries: ${DOMAINS} generated domains, median of up to ${RUNS} runs, ${elapsed()} in all (load ${load})\n`,
  );
  console.log(textTable(rows));
  for (const r of rows.filter((x) => x.v2.withoutCaptureMs !== undefined))
    console.log(`  ${r.k.name} on v2 without the reverse-capture trigger: ${fmt(r.v2.withoutCaptureMs!)} ms`);
  for (const r of rows.filter((x) => x.scale))
    console.log(
      `  at scale (+${SCALE_ROWS} campaigns and sessions) ${r.k.name}: ${idxList(r.scale!.legacy.indexes)} (${r.scale!.legacy.buffers} buf) -> ${idxList(r.scale!.v2.indexes)} (${r.scale!.v2.buffers} buf)`,
    );
  for (const r of rows.filter((x) => x.before.signature !== x.copy.signature))
    console.log(`  note: ${r.k.name} planned differently on the legacy copy than before consolidation`);
  const slower = rows.filter((r) => r.slower.length);
  console.log(
    slower.length
      ? `\nSLOWER on v2: ${slower.map((r) => r.k.name).join(', ')}`
      : '\nno read got slower on v2',
  );
}
if (values['write-doc']) {
  await writeDoc(
    markdown(rows, uses, {
      seededRows,
      consolidateS,
      cutoverMs: co.lockHeldMs,
      load,
      totalS: (Date.now() - t0) / 1000,
    }),
  );
  log(`wrote ${path.relative(process.cwd(), DOC)}`);
}
if (!values.keep) await dropDatabase(serverUrl, dbName);
process.exit(0);
