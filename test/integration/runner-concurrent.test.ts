/**
 * The runner's concurrent groups, on real sessions: neighbouring `concurrent` steps really run at
 * the same time (one per lane), each journaled in its own transaction; a deadlock the server
 * breaks between two of them is retried; after a failure no new step starts and the error is
 * thrown once the running ones finished.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NO_FAULTS } from '../../src/core/faults.js';
import type { StepRecord } from '../../src/core/runner.js';
import { runPlan } from '../../src/core/runner.js';
import type { Plan, RunContext, Step } from '../../src/core/step.js';
import { Session } from '../../src/db/session.js';
import { freshDatabase } from '../helpers/db.js';

const opened: Session[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function context(url: string, lanes: number): Promise<RunContext> {
  const all: Session[] = [];
  for (let i = 0; i < lanes; i++) all.push(await Session.open(url, `runner-test-${i}`));
  opened.push(...all);
  return { session: all[0]!, lanes: all.slice(1), runId: '0', emit: () => {}, faults: NO_FAULTS };
}

/** A journal in a table: record() runs in the step's transaction, on the step's session. */
function tableJournal(done: string[] = []) {
  return {
    done: async () => new Set(done),
    record: async (ctx: RunContext, finished: StepRecord[]) => {
      for (const f of finished)
        await ctx.session.client.query('INSERT INTO journal (id, pid) VALUES ($1, pg_backend_pid())', [
          f.step.id,
        ]);
    },
  };
}

const step = (id: string, run: Step['run'], tx: Step['tx'] = 'transaction'): Step => ({
  id,
  phase: 'p',
  tx,
  concurrent: true,
  describe: () => ({ summary: id }),
  run,
});

const plan = (steps: Step[]): Plan => ({ name: 't', phases: [{ id: 'p', title: 'p', steps }] });

async function setup(): Promise<string> {
  const url = await freshDatabase('empty', 'runner');
  const s = await Session.open(url, 'runner-setup');
  opened.push(s);
  await s.client.query(
    `CREATE TABLE journal (id text PRIMARY KEY, pid int NOT NULL);
     CREATE TABLE spans (id text PRIMARY KEY, started timestamptz NOT NULL, ended timestamptz NOT NULL);
     CREATE TABLE a (x int); CREATE TABLE b (x int)`,
  );
  return url;
}

/** A step that sleeps 300 ms and records when it ran (clock_timestamp: real time, not the transaction's). */
const sleeper = (id: string) =>
  step(id, async (ctx) => {
    await ctx.session.client.query(
      `WITH t0 AS (SELECT clock_timestamp() AS s), z AS (SELECT pg_sleep(0.3) FROM t0)
       INSERT INTO spans SELECT $1, (SELECT s FROM t0), clock_timestamp() FROM z`,
      [id],
    );
  });

describe('runPlan with lanes', () => {
  it('runs concurrent neighbours side by side, each journaled on the session that ran it', async () => {
    const url = await setup();
    const ctx = await context(url, 2);
    await runPlan(plan([sleeper('s1'), sleeper('s2'), sleeper('s3'), sleeper('s4')]), ctx, tableJournal());
    const s = ctx.session.client;
    const spans = (
      await s.query<{ id: string; a: number; b: number }>(
        `SELECT id, extract(epoch FROM started)::float8 AS a, extract(epoch FROM ended)::float8 AS b FROM spans ORDER BY started`,
      )
    ).rows;
    expect(spans.map((x) => x.id).sort()).toEqual(['s1', 's2', 's3', 's4']);
    // at least two of them overlapped in time: they did not run one after the other
    const overlaps = spans.some((x, i) => spans.slice(i + 1).some((y) => y.a < x.b && x.a < y.b));
    expect(overlaps).toBe(true);
    // journaled by both lanes' sessions
    const pids = await s.query('SELECT count(DISTINCT pid)::int AS n, count(*)::int AS rows FROM journal');
    expect(pids.rows[0]).toEqual({ n: 2, rows: 4 });
  });

  it('without lanes runs them one at a time', async () => {
    const url = await setup();
    const ctx = await context(url, 1);
    await runPlan(plan([sleeper('s1'), sleeper('s2')]), ctx, tableJournal());
    const r = await ctx.session.client.query<{ overlap: boolean }>(
      `SELECT (SELECT started FROM spans WHERE id = 's2') >= (SELECT ended FROM spans WHERE id = 's1') AS overlap`,
    );
    expect(r.rows[0]!.overlap).toBe(true);
  });

  it('retries a step the server aborted to break a deadlock between two lanes', async () => {
    const url = await setup();
    const ctx = await context(url, 2);
    const tries = new Map<string, number>();
    // each locks one table, waits until the other holds its own, then asks for the other's: a cycle
    const crossing = (id: string, first: string, second: string) =>
      step(id, async (c) => {
        tries.set(id, (tries.get(id) ?? 0) + 1);
        await c.session.client.query(`LOCK TABLE ${first} IN ACCESS EXCLUSIVE MODE`);
        await c.session.client.query(
          `DO $$ BEGIN
             FOR i IN 1..200 LOOP
               EXIT WHEN (SELECT count(*) FROM pg_locks l JOIN pg_class cl ON cl.oid = l.relation
                           WHERE cl.relname IN ('a', 'b') AND l.mode = 'AccessExclusiveLock' AND l.granted) = 2;
               PERFORM pg_sleep(0.01);
             END LOOP;
           END $$`,
        );
        await c.session.client.query(`LOCK TABLE ${second} IN ACCESS EXCLUSIVE MODE`);
      });
    await runPlan(plan([crossing('ab', 'a', 'b'), crossing('ba', 'b', 'a')]), ctx, tableJournal());
    const journaled = await ctx.session.client.query('SELECT id FROM journal ORDER BY id');
    expect(journaled.rows.map((r) => r.id)).toEqual(['ab', 'ba']);
    // one of them was aborted by the deadlock detector and ran again
    expect((tries.get('ab') ?? 0) + (tries.get('ba') ?? 0)).toBe(3);
  });

  it('after a failure starts no new step, lets the running one finish and throws the error', async () => {
    const url = await setup();
    const ctx = await context(url, 2);
    const failing = step('bad', async (c) => {
      await c.session.client.query('SELECT pg_sleep(0.05)');
      throw new Error('step bad failed');
    });
    await expect(
      runPlan(plan([sleeper('long'), failing, sleeper('after1'), sleeper('after2')]), ctx, tableJournal()),
    ).rejects.toThrow('step bad failed');
    const journaled = await ctx.session.client.query('SELECT id FROM journal ORDER BY id');
    // the long step, running when bad failed, finished and was journaled; nothing started after
    expect(journaled.rows.map((r) => r.id)).toEqual(['long']);
  });

  it('skips the steps the journal already has', async () => {
    const url = await setup();
    const ctx = await context(url, 2);
    await runPlan(plan([sleeper('s1'), sleeper('s2'), sleeper('s3')]), ctx, tableJournal(['s2']));
    const journaled = await ctx.session.client.query('SELECT id FROM journal ORDER BY id');
    expect(journaled.rows.map((r) => r.id)).toEqual(['s1', 's3']);
  });
});
