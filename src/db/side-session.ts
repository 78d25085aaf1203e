/**
 * Work that runs in a session of its own beside a plan (the conversion count beside the copy, the
 * shadow ANALYZEs beside the constraints): started once, its result awaited later, cancelled when
 * the run fails. A rejection is observed by result(), never unhandled.
 */
import type pg from 'pg';
import { connect } from './connection.js';

export class SideSession<T> {
  private readonly running: Promise<T>;
  private pid?: number;
  private settled = false;
  /** how long the work took (s, connecting included), once it finished */
  seconds: number | null = null;

  constructor(url: string, applicationName: string, work: (c: pg.Client) => Promise<T>) {
    const t0 = Date.now();
    this.running = (async () => {
      const c = await connect(url, applicationName);
      try {
        this.pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        const value = await work(c);
        this.seconds = (Date.now() - t0) / 1000;
        return value;
      } finally {
        this.settled = true;
        await c.end().catch(() => {});
      }
    })();
    this.running.catch(() => {});
  }

  result(): Promise<T> {
    return this.running;
  }

  /** Cancel what still runs (the run failed for another reason) and wait for the session to end. */
  async stop(c: pg.ClientBase): Promise<void> {
    if (this.settled) return;
    if (this.pid) await c.query('SELECT pg_cancel_backend($1)', [this.pid]).catch(() => {});
    await this.running.catch(() => {});
  }
}
