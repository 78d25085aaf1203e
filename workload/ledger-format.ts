/**
 * The write ledger: one JSON line per COMMITTED application write, and the pure fold that turns a
 * ledger into the state the database must now be in. Kept free of any engine code on purpose: this
 * is the independent instrument that checks the engine, so it must not share the engine's bugs.
 *
 * Line format (after one `{"type":"header",...}` line):
 *   {"seq":12,"table":"public.campaigns","key":{"id":"…"},"op":"update",
 *    "values":{"status":"running","updated_at":"2025-…+00"},"refs":{…},"at":"ISO time"}
 * `values` hold the server's text form of every column the statement wrote (for an update only the
 * columns it SET); `refs` hold parent keys (not checked, only used to model cascades);
 * `uncertain: true` marks a write whose COMMIT outcome is unknown (connection lost during COMMIT).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DfcError } from '../src/errors.js';

export type LedgerOp = 'insert' | 'update' | 'delete';
/** Column values in PostgreSQL's text output form; null is SQL NULL. */
export type TextRow = Record<string, string | null>;

export interface LedgerEntry {
  seq: number;
  /** schema-qualified, e.g. "public.campaigns", "auth.sessions" */
  table: string;
  key: TextRow;
  op: LedgerOp;
  values?: TextRow;
  refs?: TextRow;
  at: string;
  uncertain?: boolean;
  /** the application operation that wrote it (for diagnosis) */
  opName?: string;
}

export interface LedgerHeader {
  type: 'header';
  version: 1;
  startedAt: string;
  seed: number;
  rate: number;
}

/**
 * The DomainFlow foreign-key actions the ledger relies on (legacy, kept by v2): when the ledger
 * deletes a parent, the database itself deletes (cascade) or nulls (set null) these children.
 * Only relations our writes can trigger are listed: we delete campaigns, DNS results, jobs and
 * keyword sets.
 *   campaigns → generated_domains, domain_generation_campaign_params, campaign_jobs,
 *               dns_validation_results (dns_campaign_id), http_keyword_results: ON DELETE CASCADE
 *   generated_domains → dns_validation_results.generated_domain_id: ON DELETE SET NULL
 *   dns_validation_results → http_keyword_results.dns_result_id: ON DELETE SET NULL
 *   keyword_sets → keyword_rules: ON DELETE CASCADE
 * Parents are keyed by their single-column primary key (`id`).
 */
export const CASCADE_RULES: readonly {
  parent: string;
  child: string;
  column: string;
  action: 'cascade' | 'set null';
}[] = [
  {
    parent: 'public.campaigns',
    child: 'public.generated_domains',
    column: 'domain_generation_campaign_id',
    action: 'cascade',
  },
  {
    parent: 'public.campaigns',
    child: 'public.domain_generation_campaign_params',
    column: 'campaign_id',
    action: 'cascade',
  },
  { parent: 'public.campaigns', child: 'public.campaign_jobs', column: 'campaign_id', action: 'cascade' },
  {
    parent: 'public.campaigns',
    child: 'public.dns_validation_results',
    column: 'dns_campaign_id',
    action: 'cascade',
  },
  {
    parent: 'public.campaigns',
    child: 'public.http_keyword_results',
    column: 'http_keyword_campaign_id',
    action: 'cascade',
  },
  {
    parent: 'public.keyword_sets',
    child: 'public.keyword_rules',
    column: 'keyword_set_id',
    action: 'cascade',
  },
  {
    parent: 'public.generated_domains',
    child: 'public.dns_validation_results',
    column: 'generated_domain_id',
    action: 'set null',
  },
  {
    parent: 'public.dns_validation_results',
    child: 'public.http_keyword_results',
    column: 'dns_result_id',
    action: 'set null',
  },
];

/**
 * Appends entries as JSON lines with synchronous writes, so a failed write (disk full, EIO) is seen
 * at once, not lost in a stream: the writer stops, `failed` is set, and `close()` throws it as
 * DFC_LEDGER. `close()` also writes the end line (`{"type":"end","entries":N}`), which is what
 * lets `readLedger` tell a complete ledger from one cut at a line boundary.
 */
export class LedgerWriter {
  private fd: number | undefined;
  private seq = 0;
  entries = 0;
  /** the first write error; nothing is written after it */
  failed: DfcError | undefined;

  private constructor(
    private readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Give the entries sequence numbers in call order (= commit acknowledgement order) and append them. */
  append(entries: Omit<LedgerEntry, 'seq' | 'at'>[], at = new Date().toISOString()): void {
    if (this.failed || !entries.length) return;
    const lines = entries.map((e, i) => JSON.stringify({ seq: this.seq + i + 1, ...e, at })).join('\n');
    if (this.write(`${lines}\n`)) {
      this.seq += entries.length;
      this.entries += entries.length;
    }
  }

  private write(text: string): boolean {
    if (this.fd === undefined || this.failed) return false;
    const buf = Buffer.from(text, 'utf8');
    try {
      for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off, buf.length - off);
      return true;
    } catch (cause) {
      this.failed = new DfcError(
        'DFC_LEDGER',
        `writing the ledger ${this.path} failed after ${this.entries} entries: ${(cause as Error).message}`,
        {
          fix: 'free space or pick a writable --ledger path, then re-run the load; this ledger is incomplete',
          cause,
        },
      );
      return false;
    }
  }

  /**
   * Create the file. An existing file is refused unless `overwrite` (the CLI's --force); an
   * unwritable path is a DFC_CONFIG error, not a crash later.
   */
  static async open(
    path: string,
    header: Omit<LedgerHeader, 'type' | 'version'>,
    opts: { overwrite?: boolean } = {},
  ): Promise<LedgerWriter> {
    let fd: number;
    try {
      fd = openSync(path, opts.overwrite ? 'w' : 'wx');
    } catch (cause) {
      const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST';
      throw new DfcError(
        'DFC_CONFIG',
        exists
          ? `the ledger ${path} already exists`
          : `cannot write the ledger ${path}: ${(cause as Error).message}`,
        {
          fix: exists
            ? 'pass a new --ledger path, or --force to overwrite it'
            : 'pass a --ledger path in a writable directory',
          cause,
        },
      );
    }
    const w = new LedgerWriter(path, fd);
    if (!w.write(`${JSON.stringify({ type: 'header', version: 1, ...header })}\n`)) {
      await w.close().catch(() => {});
      throw w.failed;
    }
    return w;
  }

  /** Write the end line and close; throws the write error if any write failed. */
  async close(): Promise<void> {
    if (this.fd === undefined) return;
    this.write(`${JSON.stringify({ type: 'end', entries: this.entries })}\n`);
    try {
      closeSync(this.fd);
    } catch (cause) {
      this.failed ??= new DfcError(
        'DFC_LEDGER',
        `closing the ledger ${this.path} failed: ${(cause as Error).message}`,
        {
          fix: 'check the disk holding the ledger, then re-run the load',
          cause,
        },
      );
    }
    this.fd = undefined;
    if (this.failed) throw this.failed;
  }
}

const OPS = new Set(['insert', 'update', 'delete']);
const isTextRow = (v: unknown) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => x === null || typeof x === 'string');

function isEntry(o: Record<string, unknown>): boolean {
  return (
    Number.isInteger(o.seq) &&
    typeof o.table === 'string' &&
    isTextRow(o.key) &&
    Object.keys(o.key as object).length > 0 &&
    OPS.has(o.op as string) &&
    (o.values === undefined || isTextRow(o.values)) &&
    (o.refs === undefined || isTextRow(o.refs)) &&
    typeof o.at === 'string'
  );
}

/**
 * Read a ledger strictly: a header first, then entries numbered 1, 2, 3 … without gaps, then the
 * end line with their count. An empty, malformed, truncated or unterminated ledger is a DFC_LEDGER
 * error: verifying only part of a ledger would blame (or clear) the database for the instrument.
 */
export async function readLedger(path: string): Promise<LedgerEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new DfcError('DFC_CONFIG', `cannot read the ledger ${path}`, {
      fix: 'pass the file written by `dfc load --ledger FILE`',
      cause,
    });
  }
  const bad = (what: string) =>
    new DfcError('DFC_LEDGER', `ledger ${path} ${what}`, {
      fix: 'this ledger cannot prove anything; re-run `dfc load --ledger NEW_FILE` to produce a complete one',
    });
  if (!text.trim()) throw bad('is empty');
  if (!text.endsWith('\n')) throw bad('is truncated: its last line is incomplete');
  const lines = text.slice(0, -1).split('\n');
  const out: LedgerEntry[] = [];
  let ended = false;
  for (let i = 0; i < lines.length; i++) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(lines[i]!);
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('not an object');
    } catch {
      throw bad(`line ${i + 1} is not a ledger line (malformed JSON)`);
    }
    if (ended) throw bad(`has line ${i + 1} after its end line`);
    if (i === 0) {
      if (obj.type !== 'header' || obj.version !== 1)
        throw bad('does not start with a version-1 header line');
      continue;
    }
    if (obj.type === 'end') {
      if (obj.entries !== out.length)
        throw bad(`end line counts ${String(obj.entries)} entries but ${out.length} were read`);
      ended = true;
      continue;
    }
    if (!isEntry(obj)) throw bad(`line ${i + 1} is not a ledger entry (seq, table, key, op, at)`);
    if (obj.seq !== out.length + 1)
      throw bad(
        `line ${i + 1} has seq ${String(obj.seq)}, expected ${out.length + 1} (entries lost or reordered)`,
      );
    out.push(obj as unknown as LedgerEntry);
  }
  if (!ended) throw bad(`is truncated: no end line after ${out.length} entries (the writer did not finish)`);
  return out;
}

/** Expected final state of one (table, key). */
export interface ExpectedRow {
  table: string;
  key: TextRow;
  /** true: must exist; false: must be absent; undefined: unknown (an uncertain write decided it) */
  present: boolean | undefined;
  /** columns whose last written value is known */
  values: TextRow;
  /** parent keys known for cascade modelling (from values or refs) */
  refs: TextRow;
}

export interface FoldResult {
  rows: ExpectedRow[];
  uncertainSkipped: number;
}

const keyOf = (table: string, key: TextRow) =>
  `${table}\u0000${Object.keys(key)
    .sort()
    .map((k) => `${k}=${key[k]}`)
    .join('\u0000')}`;

/**
 * Fold the ledger in sequence order into the expected final state: last write wins, an update
 * merges into what is known, a delete means absent (and applies the cascades above to the ledger's
 * own rows), an insert after a delete means present with only the inserted values. An uncertain
 * write makes what it touched unknown (presence for insert/delete, its columns for update).
 */
export function foldLedger(entries: readonly LedgerEntry[]): FoldResult {
  const rows = new Map<string, ExpectedRow>();
  // child table → parent id → state keys referencing it (for the cascade model)
  const byRef = new Map<string, Map<string, Set<string>>>();
  const childRules = (child: string) => CASCADE_RULES.filter((r) => r.child === child);
  let uncertainSkipped = 0;

  const index = (sk: string, row: ExpectedRow) => {
    for (const rule of childRules(row.table)) {
      const v = row.refs[rule.column];
      if (v == null) continue;
      const k = `${row.table}\u0000${rule.column}`;
      const m = byRef.get(k) ?? new Map<string, Set<string>>();
      byRef.set(k, m);
      const s = m.get(v) ?? new Set<string>();
      m.set(v, s);
      s.add(sk);
    }
  };

  const applyDelete = (parent: ExpectedRow) => {
    const id = parent.key.id;
    if (id == null) return;
    for (const rule of CASCADE_RULES.filter((r) => r.parent === parent.table)) {
      const set = byRef.get(`${rule.child}\u0000${rule.column}`)?.get(id);
      if (!set) continue;
      for (const sk of [...set]) {
        const child = rows.get(sk);
        if (!child || child.refs[rule.column] !== id) continue;
        set.delete(sk);
        if (rule.action === 'cascade') {
          if (child.present === false) continue;
          child.present = false;
          child.values = {};
          applyDelete(child);
        } else if (child.present !== false) {
          child.values[rule.column] = null;
          child.refs[rule.column] = null;
        }
      }
    }
  };

  for (const e of entries) {
    const sk = keyOf(e.table, e.key);
    let row = rows.get(sk);
    if (!row) {
      row = { table: e.table, key: e.key, present: undefined, values: {}, refs: {} };
      rows.set(sk, row);
    }
    const written = e.values ?? {};
    if (e.uncertain) {
      uncertainSkipped += 1;
      if (e.op === 'update') for (const c of Object.keys(written)) delete row.values[c];
      else {
        row.present = undefined;
        row.values = {};
      }
      continue;
    }
    if (e.op === 'delete') {
      row.present = false;
      row.values = {};
      applyDelete(row);
      continue;
    }
    if (e.op === 'insert') {
      row.present = true;
      row.values = { ...written };
      row.refs = {};
    } else {
      if (row.present === undefined) row.present = true; // a pre-existing row we updated
      Object.assign(row.values, written);
    }
    // parent keys: refs given explicitly, or parent columns among the written values
    for (const rule of childRules(e.table)) {
      const c = rule.column;
      const v = e.refs && c in e.refs ? e.refs[c] : c in written ? written[c] : e.key[c];
      if (v !== undefined) row.refs[rule.column] = v;
    }
    index(sk, row);
  }
  return { rows: [...rows.values()], uncertainSkipped };
}
