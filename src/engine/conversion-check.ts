/**
 * The conversion check (rows v2 cannot take), run in its own session concurrently with the copy:
 * it is a CPU-bound scan of every legacy table (regexes, lookups; 38 s of a 1M-domain run when it
 * ran first, alone), so it overlaps the backfill and the index builds instead of preceding them.
 *
 * Correct because under the abort policy any row it finds stops the run and everything made
 * meanwhile (shadow schemas, capture triggers, captured changes) is undone before the refusal
 * (CONSOLIDATION_04, same message and fix as before), so legacy is exactly as it was; under the
 * quarantine policy the copy applies the predicates itself and the check only reports. A resumed
 * run (the check was started by a process that died) simply counts again.
 */
import type pg from 'pg';
import { SideSession } from '../db/side-session.js';
import { DfcError } from '../errors.js';
import type { MappedTable } from './mapping.js';
import { countConversionIssues, type IssueCount } from './support.js';

export class ConversionCheck {
  private side?: SideSession<IssueCount[]>;

  constructor(
    private readonly url: string,
    private readonly tables: MappedTable[],
  ) {}

  /** Start counting in a session of its own (idempotent). */
  start(): void {
    this.side ??= new SideSession(this.url, 'dfc-consolidate-check', async (c) =>
      (await countConversionIssues(c, this.tables)).filter((i) => i.count > 0),
    );
  }

  get started(): boolean {
    return this.side !== undefined;
  }

  /** how long the count itself took (s), once it finished */
  get seconds(): number | null {
    return this.side?.seconds ?? null;
  }

  /** The issues found (count > 0 only); starts the count if nothing started it. */
  result(): Promise<IssueCount[]> {
    this.start();
    return this.side!.result();
  }

  /** Cancel a count still running (the run failed for another reason) and wait for it to end. */
  async stop(c: pg.ClientBase): Promise<void> {
    await this.side?.stop(c);
  }
}

/** The abort policy's refusal, naming every issue with its count and sample keys. */
export function conversionRefusal(bad: IssueCount[]): DfcError {
  return new DfcError(
    'CONSOLIDATION_04',
    `${bad.reduce((a, i) => a + i.count, 0)} legacy rows cannot be converted to v2: ${bad.map((i) => `${i.id} (${i.count}, e.g. ${JSON.stringify(i.sample.slice(0, 3))})`).join('; ')}`,
    {
      fix: 'fix the rows (each reason and fix is listed by `dfc validate`), or rerun with --on-invalid quarantine to keep the original rows in consolidation.engine_quarantine and convert the rest; nothing was kept: the shadow copy and capture made meanwhile were removed, legacy is untouched',
      details: { issues: bad, conversionRefusal: true },
    },
  );
}

export const isConversionRefusal = (e: unknown): e is DfcError =>
  e instanceof DfcError &&
  e.code === 'CONSOLIDATION_04' &&
  Boolean((e.details as { conversionRefusal?: boolean } | undefined)?.conversionRefusal);

/**
 * Errors an unconvertible row can cause in the copy before the check has named it: a failed
 * cast or constraint (SQLSTATE classes 22 and 23), or our own constraint/index refusal.
 */
export function mayBeConversionFailure(e: unknown): boolean {
  const code = (e as { code?: string; cause?: { code?: string } })?.code ?? '';
  if (e instanceof DfcError) {
    const cause = (e.cause as { code?: string } | undefined)?.code ?? '';
    return e.code === 'CONSOLIDATION_04' || cause.startsWith('22') || cause.startsWith('23');
  }
  return code.startsWith('22') || code.startsWith('23');
}
