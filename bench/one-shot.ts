/**
 * The machine's limit for the consolidation's work, shared by the benches: every v2 table copied
 * by one INSERT … SELECT of the v2 mapping into a bare copy, then every primary key, unique
 * constraint and index built plainly — no capture, no batches, no journal. Only SQL and the v2
 * definition: none of the engine's code paths.
 */
import type pg from 'pg';
import { connect } from '../src/db/connection.js';
import { V2 } from '../src/schema/v2/index.js';
import type { SchemaMap } from '../src/schema/v2/model.js';
import * as render from '../src/schema/v2/render.js';
import { quoteIdent } from '../src/sql/sql.js';

const now = () => Number(process.hrtime.bigint()) / 1e6;

const LIMIT: SchemaMap = { public: '"bench_limit_public"', auth: '"bench_limit_auth"' };

/**
 * The one-shot limit: copy (INSERT … SELECT of the v2 mapping into bare tables) + plain index
 * builds, on `sessions` connections: each takes the next table, biggest first (with 2, the same
 * parallelism as the run's 2 lanes — the machine's limit for this work on 2 cores).
 */
export async function oneShotLimit(
  url: string,
  sessions = 1,
  opts: { maintenanceWorkers?: number } = {},
): Promise<{ rows: number; copySeconds: number; indexSeconds: number; sessions: number }> {
  const drop =
    'DROP SCHEMA IF EXISTS bench_limit_public CASCADE; DROP SCHEMA IF EXISTS bench_limit_auth CASCADE';
  const clients = await Promise.all(Array.from({ length: sessions }, () => connect(url, 'bench-limit')));
  try {
    const c = clients[0]!;
    await c.query(drop);
    await c.query('CREATE SCHEMA bench_limit_public; CREATE SCHEMA bench_limit_auth');
    const sizes = await c.query<{ rel: string; bytes: string }>(
      `SELECT x AS rel, pg_total_relation_size(to_regclass(x)) AS bytes FROM unnest($1::text[]) x`,
      [V2.tables.map((t) => `${quoteIdent(t.legacy.schema)}.${quoteIdent(t.legacy.name)}`)],
    );
    const bytes = new Map(sizes.rows.map((r) => [r.rel, Number(r.bytes)]));
    const size = (t: (typeof V2.tables)[number]) =>
      bytes.get(`${quoteIdent(t.legacy.schema)}.${quoteIdent(t.legacy.name)}`) ?? 0;
    const order = [...V2.tables].sort((a, b) => size(b) - size(a));
    /** every session takes the next table until none is left */
    const onSessions = async (work: (c: pg.Client, t: (typeof V2.tables)[number]) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        clients.map(async (cl) => {
          for (let k = next++; k < order.length; k = next++) await work(cl, order[k]!);
        }),
      );
    };
    let rows = 0;
    const t0 = now();
    await onSessions(async (cl, t) => {
      await cl.query(render.createTableSql(t, LIMIT, { constraints: 'none' }));
      const cols = t.columns.map((col) => col.name);
      const ins = await cl.query(
        `INSERT INTO ${render.qualifiedTable(t, LIMIT)} (${cols.map(quoteIdent).join(', ')})
         SELECT ${cols.map((col) => `(${t.mapping[col]!.forward})`).join(', ')} FROM ${quoteIdent(t.legacy.schema)}.${quoteIdent(t.legacy.name)} s`,
      );
      rows += ins.rowCount ?? 0;
    });
    // parallel workers per index build (max_parallel_maintenance_workers): the server's own default unless given
    if (opts.maintenanceWorkers !== undefined)
      for (const cl of clients)
        await cl.query(`SELECT set_config('max_parallel_maintenance_workers', $1, false)`, [
          String(opts.maintenanceWorkers),
        ]);
    const t1 = now();
    await onSessions(async (cl, t) => {
      await cl.query(render.primaryKeySql(t, LIMIT));
      for (const u of t.uniques) await cl.query(render.uniqueConstraintSql(t, u, LIMIT));
      for (const i of t.indexes) await cl.query(render.indexSql(t, i, LIMIT));
    });
    const t2 = now();
    await c.query(drop);
    return { rows, copySeconds: (t1 - t0) / 1000, indexSeconds: (t2 - t1) / 1000, sessions };
  } finally {
    await Promise.all(clients.map((cl) => cl.end().catch(() => {})));
  }
}
