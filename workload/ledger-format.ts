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
import { createWriteStream, type WriteStream } from 'node:fs';
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

/** Appends entries as JSON lines; `close()` flushes. */
export class LedgerWriter {
  private readonly out: WriteStream;
  private seq = 0;
  entries = 0;

  constructor(path: string, header: Omit<LedgerHeader, 'type' | 'version'>) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.write(`${JSON.stringify({ type: 'header', version: 1, ...header })}\n`);
  }

  /** Give the entries sequence numbers in call order (= commit acknowledgement order) and append them. */
  append(entries: Omit<LedgerEntry, 'seq' | 'at'>[], at = new Date().toISOString()): void {
    for (const e of entries) {
      this.seq += 1;
      this.entries += 1;
      this.out.write(`${JSON.stringify({ seq: this.seq, ...e, at })}\n`);
    }
  }

  /** Create the file (truncating it); an unwritable path is a DFC_CONFIG error, not a crash later. */
  static async open(path: string, header: Omit<LedgerHeader, 'type' | 'version'>): Promise<LedgerWriter> {
    const w = new LedgerWriter(path, header);
    await new Promise<void>((resolve, reject) => {
      w.out.once('ready', () => resolve());
      w.out.once('error', (cause) =>
        reject(
          new DfcError('DFC_CONFIG', `cannot write the ledger ${path}: ${cause.message}`, {
            fix: 'pass a --ledger path in a writable directory',
            cause,
          }),
        ),
      );
    });
    return w;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}

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
  const out: LedgerEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line);
    } catch (cause) {
      // a torn last line (the writer was killed mid-write) is not an entry; anything else is corruption
      if (i >= lines.length - 2) break;
      throw new DfcError('DFC_CONFIG', `ledger ${path} line ${i + 1} is not JSON`, {
        fix: 'the ledger is corrupt; re-run the load to produce a new one',
        cause,
      });
    }
    if (obj.type === 'header') continue;
    out.push(obj as unknown as LedgerEntry);
  }
  return out.sort((a, b) => a.seq - b.seq);
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
