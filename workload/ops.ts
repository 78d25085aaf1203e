/**
 * The simulated DomainFlow operations: each picks its target from the worker's World, runs the
 * service's statements (workload/statements.ts) and returns the ledger entries of what it wrote
 * (from the statements' RETURNING rows, in server text form). Write ops run inside one short
 * transaction opened by the runner; read ops run in autocommit. `after` updates the World and is
 * called only once the COMMIT succeeded, so a retried op re-plans from unchanged bookkeeping.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { LedgerEntry, LedgerOp, TextRow } from './ledger-format.js';
import { DOMAIN_BATCH, DOMAIN_BATCH_COLUMNS, S, type StatementName } from './statements.js';
import type { Campaign, World } from './world.js';

export type Draft = Omit<LedgerEntry, 'seq' | 'at'>;
export interface OpResult {
  entries: Draft[];
  after?: () => void;
}
export type OpKind = 'read' | 'write';
export interface Op {
  name: string;
  kind: OpKind;
  run(c: pg.ClientBase): Promise<OpResult>;
}
export interface OpContext {
  world: World;
  r: () => number;
  /** unique per run, so names never collide with seeded rows or earlier runs */
  token: string;
  worker: number;
  counter: { n: number };
}

/** The legacy status-transition rule (000013, as repaired: same status allowed). */
const EDGES: Record<string, string[]> = {
  pending: ['queued', 'cancelled'],
  queued: ['running', 'paused', 'cancelled'],
  running: ['paused', 'completed', 'failed'],
  paused: ['running', 'cancelled'],
  completed: ['archived'],
  failed: ['queued', 'archived'],
};
/** Campaigns we update: a known, non-terminal status (dirty statuses might break a new CHECK). */
const updatable = (c: Campaign) => c.status in EDGES;
const STATUSES = Object.keys(EDGES);

const ONE: OpResult = { entries: [] };
/** DNS results stored per work-queue fetch. */
const DNS_PER_BATCH = 3;

const pick = <T>(r: () => number, xs: readonly T[]): T | undefined => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const ip = (r: () => number) => `10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;

async function q(c: pg.ClientBase, name: StatementName, values: unknown[]): Promise<pg.QueryResult> {
  return c.query(S[name], values);
}

/** Ledger entries from RETURNING rows: key columns, parent refs, everything else = written values. */
function entries(
  table: string,
  op: LedgerOp,
  opName: string,
  rows: TextRow[],
  keyCols: string[] = ['id'],
  refCols: string[] = [],
): Draft[] {
  return rows.map((row) => {
    const key: TextRow = {};
    const refs: TextRow = {};
    const values: TextRow = {};
    for (const [k, v] of Object.entries(row)) {
      if (keyCols.includes(k)) key[k] = v;
      else if (refCols.includes(k)) refs[k] = v;
      else values[k] = v;
    }
    const e: Draft = { table, key, op, opName };
    if (op !== 'delete') e.values = values;
    if (refCols.length) e.refs = refs;
    return e;
  });
}

// ---- reads ---------------------------------------------------------------------------------------

function read(name: string, statement: StatementName, values: unknown[]): Op {
  return {
    name,
    kind: 'read',
    run: async (c) => {
      await q(c, statement, values);
      return ONE;
    },
  };
}

type Make = (x: OpContext) => Op | undefined;

const reads: Record<string, Make> = {
  campaign_list: ({ world: w, r }) => {
    const user = pick(r, w.users);
    return user === undefined
      ? undefined
      : read('campaign_list', 'campaign_list_by_user_status', [user, pick(r, STATUSES), 20]);
  },
  campaign_detail: ({ world: w, r }) => {
    const c = w.campaigns.pick(r);
    return c && read('campaign_detail', 'campaign_detail', [c.id]);
  },
  generation_params: ({ world: w, r }) => {
    const c = w.campaigns.pick(r, (x) => x.hasParams);
    return c && read('generation_params', 'campaign_generation_params', [c.id]);
  },
  domains_page: ({ world: w, r }) => {
    const c = w.campaigns.pick(r, (x) => x.hasParams);
    return c && read('domains_page', 'domains_page', [c.id, 50, int(r, 0, 4) * 50]);
  },
  domains_count: ({ world: w, r }) => {
    const c = w.campaigns.pick(r, (x) => x.hasParams);
    return c && read('domains_count', 'domains_count', [c.id]);
  },
  dns_work_queue: ({ world: w, r }) => {
    const c = w.campaigns.pick(r, (x) => x.hasParams);
    return c && read('dns_work_queue', 'dns_work_queue', [c.id, 100]);
  },
  dns_results_page: ({ world: w, r }) => {
    const d = w.dnsResults.pick(r);
    return d && read('dns_results_page', 'dns_results_page', [d.campaignId, 50, 0]);
  },
  http_results_page: ({ world: w, r }) => {
    const c = w.campaigns.pick(r);
    return c && read('http_results_page', 'http_results_page', [c.id, 50]);
  },
  session_validate: ({ world: w, r }) => {
    const s = w.sessions.pick(r);
    return s && read('session_validate', 'session_validate', [s.id]);
  },
  job_queue: ({ r }) => read('job_queue', 'job_queue', [r() < 0.5 ? 'queued' : 'pending', 20]),
  jobs_by_campaign: ({ world: w, r }) => {
    const j = w.jobs.pick(r);
    return j && read('jobs_by_campaign', 'jobs_by_campaign', [j.campaignId, 20]);
  },
  keyword_sets: () => read('keyword_sets', 'keyword_sets_enabled', [50]),
  keyword_rules: ({ world: w, r }) => {
    const k = w.keywordSets.pick(r);
    return k && read('keyword_rules', 'keyword_rules_by_set', [k.id]);
  },
  proxies_healthy: () => read('proxies_healthy', 'proxies_healthy', [20]),
  audit_by_entity: ({ world: w, r }) => {
    const c = w.campaigns.pick(r);
    return c && read('audit_by_entity', 'audit_by_entity', ['Campaign', c.id, 20]);
  },
};

// ---- writes --------------------------------------------------------------------------------------

function write(name: string, run: Op['run']): Op {
  return { name, kind: 'write', run };
}

function auditRow(x: OpContext, action: string, campaignId: string): unknown[] {
  const { r, world: w } = x;
  return [
    randomUUID(),
    pick(r, w.users) ?? null, // a real user's UUID: v2 turns user_id into a uuid FK to auth.users
    action,
    'Campaign',
    campaignId,
    JSON.stringify({ source: 'domainflow-sim', worker: x.worker, n: x.counter.n }),
    ip(r),
    'DomainFlow/1.0 (sim)',
  ];
}

const writes: Record<string, Make> = {
  campaign_create: (x) => {
    const { r, world: w } = x;
    const n = ++x.counter.n;
    const id = randomUUID();
    const total = int(r, 100, 1000);
    const len = int(r, 3, 6);
    const values = [
      id,
      `sim ${x.token} w${x.worker} #${n}`,
      'domain_generation',
      'pending',
      pick(r, w.users) ?? null,
      total,
      JSON.stringify({ source: 'domainflow-sim', worker: x.worker, n }),
    ];
    const params = [
      id,
      'prefix_variable',
      len,
      'abcdefghijklmnopqrstuvwxyz',
      `s${x.token}`,
      'com',
      total,
      26 ** len,
    ];
    const audit = auditRow(x, 'campaign_created', id);
    return write('campaign_create', async (c) => {
      const a = await q(c, 'campaign_insert', values);
      const b = await q(c, 'generation_params_insert', params);
      const l = await q(c, 'audit_insert', audit);
      return {
        entries: [
          ...entries('public.campaigns', 'insert', 'campaign_create', a.rows),
          ...entries('public.domain_generation_campaign_params', 'insert', 'campaign_create', b.rows, [
            'campaign_id',
          ]),
          ...entries('public.audit_logs', 'insert', 'campaign_create', l.rows),
        ],
        after: () =>
          w.campaigns.add({
            id,
            type: 'domain_generation',
            status: 'pending',
            total,
            processed: 0,
            hasParams: true,
            created: true,
          }),
      };
    });
  },

  domains_insert: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r, (c) => c.hasParams);
    if (!camp) return undefined;
    const ids = Array.from({ length: DOMAIN_BATCH }, () => randomUUID());
    const keyword = pick(r, ['cloud', 'shop', 'data', 'mail', null]);
    return write('domains_insert', async (c) => {
      const p = await q(c, 'generation_params_lock_offset', [camp.id]);
      const cur = p.rows[0];
      if (!cur) return ONE;
      const base = Number(cur.current_offset);
      const tld = (cur.tld as string) || 'com';
      const values: unknown[] = [];
      ids.forEach((id, i) => {
        const off = base + i;
        const row = [
          id,
          camp.id,
          `x${x.token}w${x.worker}o${off}.${tld}`,
          keyword,
          'prefix_variable',
          tld,
          off,
        ];
        values.push(...row, new Date().toISOString());
      });
      if (values.length !== DOMAIN_BATCH * DOMAIN_BATCH_COLUMNS.length) throw new Error('batch shape');
      const ins = await q(c, 'domains_insert_batch', values);
      const upd = await q(c, 'generation_params_set_offset', [camp.id, base + DOMAIN_BATCH]);
      return {
        entries: [
          ...entries('public.generated_domains', 'insert', 'domains_insert', ins.rows),
          ...entries('public.domain_generation_campaign_params', 'update', 'domains_insert', upd.rows, [
            'campaign_id',
          ]),
        ],
        after: () => {
          for (const id of ids) w.domains.add({ id, campaignId: camp.id });
        },
      };
    });
  },

  campaign_progress: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r, updatable);
    if (!camp) return undefined;
    const step = int(r, 1, 50);
    return write('campaign_progress', async (c) => {
      const cur = (await q(c, 'campaign_lock_status', [camp.id])).rows[0];
      if (!cur || !(cur.status in EDGES)) return ONE;
      const processed = Number(cur.processed_items ?? 0) + step;
      const total = Math.max(Number(cur.total_items ?? 0), processed);
      const ok = Math.floor(processed * 0.8);
      const pct = Math.round((processed / total) * 10000) / 100;
      const u = await q(c, 'campaign_update_progress', [camp.id, processed, ok, processed - ok, total, pct]);
      return {
        entries: entries('public.campaigns', 'update', 'campaign_progress', u.rows),
        after: () => {
          camp.processed = processed;
          camp.total = total;
        },
      };
    });
  },

  campaign_status: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r, updatable);
    if (!camp) return undefined;
    const roll = r();
    const message = `simulated failure ${x.counter.n}`;
    return write('campaign_status', async (c) => {
      const cur = (await q(c, 'campaign_lock_status', [camp.id])).rows[0];
      const edges = cur ? EDGES[cur.status as string] : undefined;
      if (!cur || !edges) return ONE;
      // terminal targets are rarer, so campaigns stay writable for a while
      const weighted = edges.flatMap((s) => (s === 'archived' || s === 'cancelled' ? [s] : [s, s, s]));
      const next = weighted[Math.floor(roll * weighted.length)]!;
      let u: pg.QueryResult;
      if (next === 'running') u = await q(c, 'campaign_start', [camp.id, next]);
      else if (next === 'completed') u = await q(c, 'campaign_complete', [camp.id, next]);
      else if (next === 'failed') u = await q(c, 'campaign_fail', [camp.id, next, message]);
      else if (cur.status === 'failed' && next === 'queued')
        u = await q(c, 'campaign_requeue', [camp.id, next]);
      else u = await q(c, 'campaign_update_status', [camp.id, next]);
      return {
        entries: entries('public.campaigns', 'update', 'campaign_status', u.rows),
        after: () => {
          camp.status = next;
        },
      };
    });
  },

  campaign_clear_error: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r, updatable);
    if (!camp) return undefined;
    return write('campaign_clear_error', async (c) => {
      const cur = (await q(c, 'campaign_lock_status', [camp.id])).rows[0];
      if (!cur || !(cur.status in EDGES)) return ONE;
      const u = await q(c, 'campaign_clear_error', [camp.id]);
      return { entries: entries('public.campaigns', 'update', 'campaign_clear_error', u.rows) };
    });
  },

  campaign_delete: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r, (c) => c.created);
    if (!camp) return undefined;
    return write('campaign_delete', async (c) => {
      const d = await q(c, 'campaign_delete', [camp.id]);
      return {
        entries: entries('public.campaigns', 'delete', 'campaign_delete', d.rows),
        after: () => w.dropCampaign(camp.id),
      };
    });
  },

  domain_update: (x) => {
    const { r, world: w } = x;
    const d = w.domains.pick(r);
    if (!d) return undefined;
    const kw = pick(r, ['alpha', 'beta', 'gamma', 'delta'])!;
    return write('domain_update', async (c) => {
      const u = await q(c, 'domain_update_source', [d.id, kw, `pattern-${kw}`]);
      return {
        entries: entries(
          'public.generated_domains',
          'update',
          'domain_update',
          u.rows,
          ['id'],
          ['domain_generation_campaign_id'],
        ),
      };
    });
  },

  domain_clear_keyword: (x) => {
    const { r, world: w } = x;
    const d = w.domains.pick(r);
    if (!d) return undefined;
    return write('domain_clear_keyword', async (c) => {
      const u = await q(c, 'domain_clear_keyword', [d.id]);
      return {
        entries: entries(
          'public.generated_domains',
          'update',
          'domain_clear_keyword',
          u.rows,
          ['id'],
          ['domain_generation_campaign_id'],
        ),
      };
    });
  },

  dns_insert: (x) => {
    const { r, world: w } = x;
    const gen = w.campaigns.pick(r, (c) => c.hasParams);
    if (!gen) return undefined;
    // results belong to a DNS campaign we own (else to the generation campaign itself)
    const dnsCamp = w.campaigns.pick(r, (c) => c.type === 'dns_validation') ?? gen;
    const results = Array.from({ length: DNS_PER_BATCH }, () => ({
      id: randomUUID(),
      status: pick(r, ['resolved', 'resolved', 'unresolved', 'timeout'])!,
      records: JSON.stringify({ A: [ip(r)], ttl: int(r, 60, 3600) }),
      persona: r() < 0.5 ? (pick(r, w.personas) ?? null) : null,
      which: r(),
    }));
    return write('dns_insert', async (c) => {
      // the DNS worker fetches a batch (LIMIT 100 as the service does: on legacy a small LIMIT makes
      // the planner pick a nested-loop anti join over the unindexed generated_domain_id, 100× slower)
      // and stores results for a few random domains of it, so one name clash cannot stall the queue
      const queue = (await q(c, 'dns_work_queue', [gen.id, 100])).rows;
      const out: Draft[] = [];
      const added: { id: string; domainName: string }[] = [];
      for (const res of results) {
        const dom = queue.splice(Math.floor(res.which * queue.length), 1)[0];
        if (!dom) break;
        const ins = await q(c, 'dns_result_insert', [
          res.id,
          dnsCamp.id,
          dom.id,
          dom.domain_name,
          res.status,
          res.records,
          res.persona,
          1,
        ]);
        out.push(...entries('public.dns_validation_results', 'insert', 'dns_insert', ins.rows));
        if (ins.rows.length) added.push({ id: res.id, domainName: dom.domain_name });
      }
      return {
        entries: out,
        after: () => {
          for (const a of added) w.dnsResults.add({ ...a, campaignId: dnsCamp.id });
        },
      };
    });
  },

  dns_update: (x) => {
    const { r, world: w } = x;
    const d = w.dnsResults.pick(r);
    if (!d) return undefined;
    const status = pick(r, ['resolved', 'unresolved', 'timeout', 'error'])!;
    return write('dns_update', async (c) => {
      const u = await q(c, 'dns_result_update', [d.id, status]);
      return {
        entries: entries(
          'public.dns_validation_results',
          'update',
          'dns_update',
          u.rows,
          ['id'],
          ['dns_campaign_id'],
        ),
      };
    });
  },

  dns_clear_records: (x) => {
    const { r, world: w } = x;
    const d = w.dnsResults.pick(r);
    if (!d) return undefined;
    return write('dns_clear_records', async (c) => {
      const u = await q(c, 'dns_result_clear_records', [d.id]);
      return {
        entries: entries(
          'public.dns_validation_results',
          'update',
          'dns_clear_records',
          u.rows,
          ['id'],
          ['dns_campaign_id'],
        ),
      };
    });
  },

  dns_delete: (x) => {
    const { r, world: w } = x;
    const d = w.dnsResults.pick(r);
    if (!d) return undefined;
    return write('dns_delete', async (c) => {
      const del = await q(c, 'dns_result_delete', [d.id]);
      return {
        entries: entries('public.dns_validation_results', 'delete', 'dns_delete', del.rows),
        after: () => w.dnsResults.remove(d.id),
      };
    });
  },

  http_insert: (x) => {
    const { r, world: w } = x;
    const d = w.dnsResults.pick(r);
    if (!d) return undefined;
    const camp =
      w.campaigns.pick(r, (c) => c.type === 'http_keyword_validation') ?? w.campaigns.get(d.campaignId);
    if (!camp) return undefined;
    const code = pick(r, [200, 200, 301, 404, 500])!;
    const values = [
      randomUUID(),
      camp.id,
      d.id,
      d.domainName,
      code === 200 ? 'success' : 'failed',
      code,
      JSON.stringify({ 'content-type': 'text/html', server: 'nginx' }),
      `Welcome to ${d.domainName}`,
      'lorem ipsum dolor sit amet',
      JSON.stringify(r() < 0.5 ? [] : [{ set: 'brands', keyword: 'shop' }]),
      JSON.stringify(r() < 0.7 ? [] : ['sale']),
      `h${int(r, 0, 1e9)}`,
      r() < 0.3 ? (pick(r, w.proxies) ?? null) : null,
      1,
    ];
    return write('http_insert', async (c) => {
      const ins = await q(c, 'http_result_insert', values);
      return { entries: entries('public.http_keyword_results', 'insert', 'http_insert', ins.rows) };
    });
  },

  job_insert: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r);
    if (!camp) return undefined;
    const id = randomUUID();
    const next = r() < 0.5 ? new Date(Date.now() + int(r, 1, 3600) * 1000).toISOString() : null;
    const values = [
      id,
      camp.id,
      pick(r, ['generation', 'dns_validation', 'http_keyword_validation'])!,
      pick(r, ['pending', 'queued'])!,
      JSON.stringify({ batch: int(r, 1, 100) }),
      3,
      next,
    ];
    return write('job_insert', async (c) => {
      const ins = await q(c, 'job_insert', values);
      return {
        entries: entries('public.campaign_jobs', 'insert', 'job_insert', ins.rows),
        after: () => w.jobs.add({ id, campaignId: camp.id }),
      };
    });
  },

  job_attempt: (x) => {
    const { r, world: w } = x;
    const j = w.jobs.pick(r);
    if (!j) return undefined;
    const status = pick(r, ['running', 'completed', 'failed', 'queued'])!;
    const err = status === 'failed' ? `timeout after ${int(r, 1, 30)}s` : null; // NULL clears the last error
    return write('job_attempt', async (c) => {
      const u = await q(c, 'job_record_attempt', [j.id, status, err]);
      return {
        entries: entries('public.campaign_jobs', 'update', 'job_attempt', u.rows, ['id'], ['campaign_id']),
      };
    });
  },

  job_delete: (x) => {
    const { r, world: w } = x;
    const j = w.jobs.pick(r);
    if (!j) return undefined;
    return write('job_delete', async (c) => {
      const del = await q(c, 'job_delete', [j.id]);
      return {
        entries: entries('public.campaign_jobs', 'delete', 'job_delete', del.rows),
        after: () => w.jobs.remove(j.id),
      };
    });
  },

  keyword_set_create: (x) => {
    const { r, world: w } = x;
    const n = ++x.counter.n;
    const id = randomUUID();
    const words = [
      pick(r, ['shop', 'sale', 'cloud', 'bank'])!,
      pick(r, ['login', 'deal', 'free', 'secure'])!,
    ];
    const set = [
      id,
      `sim ${x.token} w${x.worker} set #${n}`,
      r() < 0.5 ? 'simulated keyword set' : null,
      JSON.stringify(words),
    ];
    const rules = words.map((word, i) => [
      randomUUID(),
      id,
      i === 0 ? word : `\\b${word}\\b`,
      i === 0 ? 'string' : 'regex',
      r() < 0.3,
      r() < 0.5 ? 'brand' : null,
      int(r, 0, 100),
    ]);
    return write('keyword_set_create', async (c) => {
      const a = await q(c, 'keyword_set_insert', set);
      const out = entries('public.keyword_sets', 'insert', 'keyword_set_create', a.rows);
      for (const rule of rules)
        out.push(
          ...entries(
            'public.keyword_rules',
            'insert',
            'keyword_set_create',
            (await q(c, 'keyword_rule_insert', rule)).rows,
          ),
        );
      return {
        entries: out,
        after: () => {
          w.keywordSets.add({ id, created: true });
          for (const rule of rules) w.keywordRules.add({ id: rule[0] as string, campaignId: id });
        },
      };
    });
  },

  keyword_set_update: (x) => {
    const { r, world: w } = x;
    const k = w.keywordSets.pick(r);
    if (!k) return undefined;
    const values = [k.id, r() < 0.4 ? null : `updated by sim ${x.counter.n}`, r() < 0.8];
    return write('keyword_set_update', async (c) => {
      const u = await q(c, 'keyword_set_update', values);
      return { entries: entries('public.keyword_sets', 'update', 'keyword_set_update', u.rows) };
    });
  },

  keyword_rule_update: (x) => {
    const { r, world: w } = x;
    const k = w.keywordRules.pick(r);
    if (!k) return undefined;
    const values = [k.id, pick(r, ['promo', 'checkout', 'account'])!, r() < 0.5 ? null : 'intent'];
    return write('keyword_rule_update', async (c) => {
      const u = await q(c, 'keyword_rule_update', values);
      return {
        entries: entries(
          'public.keyword_rules',
          'update',
          'keyword_rule_update',
          u.rows,
          ['id'],
          ['keyword_set_id'],
        ),
      };
    });
  },

  keyword_set_delete: (x) => {
    const { r, world: w } = x;
    const k = w.keywordSets.pick(r, (s) => s.created);
    if (!k) return undefined;
    return write('keyword_set_delete', async (c) => {
      const d = await q(c, 'keyword_set_delete', [k.id]);
      return {
        entries: entries('public.keyword_sets', 'delete', 'keyword_set_delete', d.rows),
        after: () => w.dropKeywordSet(k.id),
      };
    });
  },

  proxy_health: (x) => {
    const { r, world: w } = x;
    const p = w.ownedProxies.pick(r);
    if (!p) return undefined;
    const healthy = r() < 0.8;
    // an unreachable proxy has no status line and no latency: NULLs
    const values = [
      p.id,
      healthy,
      healthy ? pick(r, ['200 OK', '204 No Content'])! : null,
      healthy ? int(r, 20, 900) : null,
    ];
    return write('proxy_health', async (c) => {
      const u = await q(c, 'proxy_record_health', values);
      return { entries: entries('public.proxies', 'update', 'proxy_health', u.rows) };
    });
  },

  session_touch: (x) => {
    const { r, world: w } = x;
    const s = w.sessions.pick(r);
    if (!s) return undefined;
    return write('session_touch', async (c) => {
      const u = await q(c, 'session_touch', [s.id]);
      return { entries: entries('auth.sessions', 'update', 'session_touch', u.rows) };
    });
  },

  audit_insert: (x) => {
    const { r, world: w } = x;
    const camp = w.campaigns.pick(r);
    if (!camp) return undefined;
    const values = auditRow(
      x,
      pick(r, ['campaign_viewed', 'campaign_exported', 'campaign_updated'])!,
      camp.id,
    );
    return write('audit_insert', async (c) => {
      const ins = await q(c, 'audit_insert', values);
      return { entries: entries('public.audit_logs', 'insert', 'audit_insert', ins.rows) };
    });
  },
};

/** Relative frequency of each op (reads ≈ 55%). */
export const OP_WEIGHTS: Record<string, number> = {
  campaign_list: 8,
  campaign_detail: 8,
  generation_params: 2,
  domains_page: 8,
  domains_count: 4,
  dns_work_queue: 4,
  dns_results_page: 3,
  http_results_page: 2,
  session_validate: 10,
  job_queue: 4,
  jobs_by_campaign: 3,
  audit_by_entity: 3,
  keyword_sets: 2,
  keyword_rules: 2,
  proxies_healthy: 2,
  campaign_create: 4,
  domains_insert: 6,
  campaign_progress: 5,
  campaign_status: 5,
  campaign_clear_error: 2,
  campaign_delete: 2,
  domain_update: 3,
  domain_clear_keyword: 2,
  dns_insert: 6,
  dns_update: 3,
  dns_clear_records: 2,
  dns_delete: 2,
  http_insert: 3,
  job_insert: 3,
  job_attempt: 3,
  job_delete: 2,
  session_touch: 6,
  audit_insert: 3,
  keyword_set_create: 2,
  keyword_set_update: 2,
  keyword_rule_update: 2,
  keyword_set_delete: 1,
  proxy_health: 3,
};

const MAKERS: Record<string, Make> = { ...reads, ...writes };
const NAMES = Object.keys(OP_WEIGHTS);
const TOTAL = NAMES.reduce((s, n) => s + OP_WEIGHTS[n]!, 0);

/** Pick the next op by weight; when its target is missing, fall back to creating a campaign. */
export function chooseOp(x: OpContext): Op {
  let roll = x.r() * TOTAL;
  let name = NAMES[NAMES.length - 1]!;
  for (const n of NAMES) {
    roll -= OP_WEIGHTS[n]!;
    if (roll < 0) {
      name = n;
      break;
    }
  }
  return MAKERS[name]!(x) ?? writes.campaign_create!(x)!;
}
