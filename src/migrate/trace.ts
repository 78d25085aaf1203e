/**
 * `dfc migrate trace FILE`: runs a migration file on a scratch copy of the database and reports,
 * per statement, the relation locks it took (pg_locks), the tables it rewrote (relfilenode
 * changed) and how long it ran at that size — what a static lint cannot know.
 *
 * A statement runs in a transaction of its own (as in a transactional file); before COMMIT the
 * session reads its own granted locks, which DDL holds until the end of the transaction. A
 * CONCURRENTLY statement cannot run in a transaction: a second session samples pg_locks for the
 * first one's pid while it runs. Statements inside the file's own BEGIN … COMMIT run as written.
 *
 * @example
 *   await traceMigration(url, 'migrations/000019_widen.up.sql')
 *   // → { statements: [{ statement: 'ALTER TABLE campaigns ALTER COLUMN total_items TYPE numeric',
 *   //      locks: [{ relation: 'public.campaigns', mode: 'ACCESS EXCLUSIVE' }, …],
 *   //      rewritten: [{ relation: 'public.campaigns', rows: 2000 }], ms: 41 }] }
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { connect } from '../db/connection.js';
import { DfcError } from '../errors.js';
import { parseFile } from '../lint/source.js';
import { scratchCopy } from './scratch.js';

export interface TracedLock {
  relation: string;
  /** e.g. 'ACCESS EXCLUSIVE' (the strongest mode seen on that relation) */
  mode: string;
}

export interface TracedStatement {
  index: number;
  line: number;
  statement: string;
  ms: number;
  /** ran outside a transaction with sampled locks (CONCURRENTLY) */
  sampled: boolean;
  locks: TracedLock[];
  rewritten: { relation: string; rows: number }[];
  error?: string;
}

export interface TraceReport {
  file: string;
  scratch: 'clone' | 'install';
  statements: TracedStatement[];
  ok: boolean;
}

/** PostgreSQL's lock modes, weakest first. */
const MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];
const modeName = (m: string) =>
  m
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();

const LOCKS_SQL = `
SELECT coalesce(n.nspname || '.' || c.relname, 'oid ' || l.relation::text) AS relation, l.mode
  FROM pg_catalog.pg_locks l
  LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted
   AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
   AND coalesce(n.nspname, '') NOT IN ('pg_catalog', 'information_schema')
   AND coalesce(n.nspname, '') NOT LIKE 'pg_toast%'`;

const FILENODES_SQL = `
SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS relation, c.relfilenode::text AS node,
       greatest(c.reltuples, 0)::bigint AS rows
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%'`;

type Nodes = Map<string, { relation: string; node: string; rows: number }>;

async function filenodes(c: pg.ClientBase): Promise<Nodes> {
  const r = await c.query<{ oid: string; relation: string; node: string; rows: string }>(FILENODES_SQL);
  return new Map(r.rows.map((x) => [x.oid, { relation: x.relation, node: x.node, rows: Number(x.rows) }]));
}

function addLocks(into: Map<string, string>, rows: { relation: string; mode: string }[]): void {
  for (const { relation, mode } of rows) {
    const had = into.get(relation);
    if (!had || MODES.indexOf(mode) > MODES.indexOf(had)) into.set(relation, mode);
  }
}

function isConcurrent(kind: string, node: Record<string, unknown>): boolean {
  if (kind === 'IndexStmt' || kind === 'DropStmt') return Boolean(node.concurrent);
  if (kind === 'ReindexStmt')
    return ((node.params ?? []) as { DefElem?: { defname?: string } }[]).some(
      (p) => p.DefElem?.defname === 'concurrently',
    );
  return false;
}

export async function traceMigration(
  url: string,
  file: string,
  opts: { dir?: string } = {},
): Promise<TraceReport> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new DfcError('DFC_CONFIG', `cannot read ${file}`, { fix: 'pass the path of a migration file' });
  }
  const parsed = await parseFile(file, text);
  const buf = Buffer.from(text, 'utf8');
  const scratch = await scratchCopy(url, { dir: opts.dir ?? path.dirname(file) });
  const out: TracedStatement[] = [];
  let a: pg.Client | undefined;
  let b: pg.Client | undefined;
  try {
    a = await connect(scratch.url, 'dfc-trace');
    b = await connect(scratch.url, 'dfc-trace-observer');
    const pid = (await a.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    let inFileTransaction = false;
    for (const [index, st] of parsed.statements.entries()) {
      const sqlText = buf.subarray(st.start, st.end).toString('utf8');
      const kind = st.kind;
      const tx = kind === 'TransactionStmt' ? String(st.node.kind) : '';
      const concurrent = isConcurrent(kind, st.node);
      const own = !inFileTransaction && !concurrent && !tx;
      const locks = new Map<string, string>();
      const before = await filenodes(a);
      let sampling = true;
      const sampler = concurrent
        ? (async () => {
            while (sampling) {
              addLocks(locks, (await b!.query<{ relation: string; mode: string }>(LOCKS_SQL, [pid])).rows);
              await new Promise((r) => setTimeout(r, 2));
            }
          })()
        : Promise.resolve();
      const t0 = performance.now();
      let error: string | undefined;
      try {
        if (own) await a.query('BEGIN');
        await a.query(sqlText);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      const ms = Math.round((performance.now() - t0) * 10) / 10;
      sampling = false;
      await sampler;
      if (!error && !concurrent) addLocks(locks, (await a.query(LOCKS_SQL, [pid])).rows);
      const after = error ? before : await filenodes(a);
      if (own) await a.query(error ? 'ROLLBACK' : 'COMMIT');
      if (tx === 'TRANS_STMT_BEGIN' || tx === 'TRANS_STMT_START') inFileTransaction = true;
      if (['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK'].includes(tx)) inFileTransaction = false;
      const rewritten = [...before.entries()]
        .filter(([oid, x]) => after.has(oid) && after.get(oid)!.node !== x.node)
        .map(([, x]) => ({ relation: x.relation, rows: x.rows }));
      out.push({
        index: index + 1,
        line: st.line,
        statement: st.excerpt,
        ms,
        sampled: concurrent,
        locks: [...locks.entries()]
          .map(([relation, mode]) => ({ relation, mode: modeName(mode) }))
          .sort((x, y) => x.relation.localeCompare(y.relation)),
        rewritten,
        ...(error ? { error } : {}),
      });
      if (error) break;
    }
  } finally {
    await a?.end().catch(() => {});
    await b?.end().catch(() => {});
    await scratch.drop().catch(() => {});
  }
  return { file, scratch: scratch.method, statements: out, ok: out.every((s) => !s.error) };
}
