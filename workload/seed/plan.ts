/**
 * The seed's plan: every entity that other rows point at (users, personas, proxies, keyword sets,
 * campaigns with their params) decided up front in memory, plus the exact size of every row-heavy
 * table. The row streams in rows-*.ts then only read the plan, so every count is known before the
 * first COPY (progress has a total, the report a figure to compare with).
 */
import { IdSpace, mix32, Rng } from './prng.js';
import { CHARSETS, CONSTANTS, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, TLDS } from './vocab.js';

export const V2_STATUSES = [
  'pending',
  'queued',
  'running',
  'paused',
  'completed',
  'failed',
  'archived',
  'cancelled',
] as const;
export type CampaignStatus = (typeof V2_STATUSES)[number];
export type CampaignType = 'domain_generation' | 'dns_validation' | 'http_keyword_validation';

/** Statuses of campaigns that did some work (pending/queued ones have no rows yet). */
const WORKED: readonly CampaignStatus[] = [
  'running',
  'paused',
  'completed',
  'failed',
  'archived',
  'cancelled',
];
const WORKED_WEIGHTS: readonly (readonly [CampaignStatus, number])[] = [
  ['completed', 55],
  ['archived', 15],
  ['running', 12],
  ['paused', 6],
  ['failed', 7],
  ['cancelled', 5],
];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The seeded admin of migration 000002; the assigner of every role. */
export const ADMIN_USER_ID = '00000000-0000-0000-0000-000000000001';

/** Default reference time: data is a pure function of (seed, domains, asOf). */
export const DEFAULT_AS_OF = Date.UTC(2025, 5, 1);

export interface PlannedUser {
  i: number;
  id: string;
  email: string;
  first: string;
  last: string;
  createdAt: number;
  mfa: boolean;
}

export interface GenParams {
  patternType: 'prefix' | 'suffix' | 'both';
  variableLength: number;
  charset: string;
  constant: string;
  tld: string;
  totalPossible: bigint;
  startOffset: number;
  numToGenerate: number;
  configKey: string;
}

export interface PlannedCampaign {
  i: number;
  id: string;
  type: CampaignType;
  status: CampaignStatus;
  userId: string;
  name: string;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** rows this campaign owns in its result table (domains, DNS results or HTTP results) */
  rows: number;
  /** global index of its first row in that table */
  firstRow: number;
  total: number;
  successful: number;
  /** wall-clock milliseconds between two of its rows */
  stepMs: number;
  gen?: GenParams;
  /** for DNS and HTTP campaigns: the campaign whose domains/results they validate */
  source?: PlannedCampaign;
  /** for HTTP campaigns: 'DomainGeneration' or 'DNSValidation' */
  sourceType?: 'DomainGeneration' | 'DNSValidation';
  /** for HTTP campaigns over a DNS campaign: the source DNS rows it took, in order */
  httpFromDns?: number[];
}

export interface SeedPlan {
  seed: number;
  domains: number;
  asOf: number;
  users: PlannedUser[];
  personas: { dns: string[]; http: string[] };
  proxies: string[];
  keywordSets: string[];
  campaigns: PlannedCampaign[];
  ids: { domains: IdSpace; dns: IdSpace; http: IdSpace };
  /** domain_generation_config_states: one per configuration, at the offset after its last domain */
  configStates: { key: string; gen: GenParams; lastOffset: number; updatedAt: number }[];
  dnsRows: number;
  httpRows: number;
  jobRows: number;
  auditRows: number;
}

/** DNS outcome of DNS result row r: a pure function so plan and row stream agree. */
export function dnsOutcome(seed: number, r: number): 'resolved' | 'unresolved' | 'timeout' | 'error' {
  const h = mix32((seed ^ 0x5bd1e995 ^ Math.imul(r, 0x9e3779b1)) >>> 0) % 100;
  return h < 68 ? 'resolved' : h < 88 ? 'unresolved' : h < 96 ? 'timeout' : 'error';
}

/** HTTP outcome of HTTP result row r. */
export function httpOutcome(seed: number, r: number): 'success' | 'no_keywords' | 'failed' | 'error' {
  const h = mix32((seed ^ 0x27d4eb2f ^ Math.imul(r, 0x85ebca6b)) >>> 0) % 100;
  return h < 45 ? 'success' : h < 80 ? 'no_keywords' : h < 93 ? 'failed' : 'error';
}

/** Split n into k parts with random weights; the parts sum to n exactly. */
function split(rng: Rng, n: number, k: number): number[] {
  const w = Array.from({ length: k }, () => 0.4 + rng.float());
  const sum = w.reduce((a, b) => a + b, 0);
  const parts = w.map((x) => Math.floor((n * x) / sum));
  let rest = n - parts.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % k, rest--) parts[i]!++;
  return parts;
}

function combos(charset: string, len: number, pattern: GenParams['patternType']): bigint {
  return BigInt(charset.length) ** BigInt(pattern === 'both' ? 2 * len : len);
}

export function buildPlan(seed: number, domains: number, asOf = DEFAULT_AS_OF): SeedPlan {
  const rng = new Rng(seed, 'plan');
  const nUsers = Math.min(500, Math.max(10, Math.ceil(domains / 20_000)));
  const users: PlannedUser[] = [];
  for (let i = 0; i < nUsers; i++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const local = `${first}.${last}`.toLowerCase().replace(/'/g, '');
    users.push({
      i,
      id: rng.uuid(),
      email: `${local}.${i + 1}@${rng.pick(EMAIL_DOMAINS)}`,
      first,
      last,
      createdAt: asOf - rng.int(200, 720) * DAY - rng.int(0, DAY),
      mfa: rng.chance(0.25),
    });
  }
  const uuids = (n: number) => Array.from({ length: n }, () => rng.uuid());
  const personas = { dns: uuids(12), http: uuids(12) };
  const proxies = uuids(20);
  const keywordSets = uuids(10);

  const campaigns: PlannedCampaign[] = [];
  const owner = () => rng.pick(users).id;
  // Timeline: a validation campaign is created hours after the campaign it reads (generation
  // spans at most about an hour); pending/queued ones were created in the last two days.
  const newCampaign = (
    type: CampaignType,
    status: CampaignStatus,
    name: string,
    after?: PlannedCampaign,
  ): PlannedCampaign => {
    const worked = status !== 'pending' && status !== 'queued';
    const createdAt = after
      ? after.createdAt + rng.int(2, 20) * HOUR
      : worked
        ? asOf - rng.int(3, 360) * DAY - rng.int(0, DAY)
        : asOf - rng.int(0, 2 * DAY);
    const c: PlannedCampaign = {
      i: campaigns.length,
      id: rng.uuid(),
      type,
      status,
      userId: owner(),
      name,
      createdAt,
      startedAt: worked ? createdAt + rng.int(1, 600) * 1000 : null,
      completedAt: null,
      rows: 0,
      firstRow: 0,
      total: 0,
      successful: 0,
      stepMs: rng.int(5, 50),
    };
    campaigns.push(c);
    return c;
  };

  // Generation campaigns: the active ones own the N domains; two idle ones cover pending/queued.
  const nActive = Math.max(6, Math.ceil(domains / 20_000));
  const sizes = split(rng, domains, nActive);
  // The first six campaigns of each type cover every working status (rotated per type), the rest
  // are drawn with production-like weights.
  const statusOf = (k: number, shift = 0) =>
    k < WORKED.length ? WORKED[(k + shift) % WORKED.length]! : rng.weighted(WORKED_WEIGHTS);
  const configs = new Map<string, { gen: GenParams; next: number }>();
  const gens: PlannedCampaign[] = [];
  let row = 0;
  let prevKey: string | undefined;
  for (let k = 0; k < nActive; k++) {
    const status = statusOf(k);
    const n = sizes[k]!;
    // One in four campaigns continues an earlier configuration from where it stopped, as
    // DomainFlow does through domain_generation_config_states.
    const prev = prevKey !== undefined && rng.chance(0.25) ? configs.get(prevKey) : undefined;
    const reuse = prev && BigInt(prev.next + n * 2) <= prev.gen.totalPossible ? prev : undefined;
    let gen: GenParams;
    if (reuse) {
      gen = { ...reuse.gen, startOffset: reuse.next };
    } else {
      const patternType = rng.pick(['prefix', 'suffix', 'both'] as const);
      const charset = rng.pick(CHARSETS);
      // Room for this campaign and a few continuations of it.
      let len = 1;
      while (combos(charset, len, patternType) < BigInt(Math.max(64, n * 8))) len++;
      const constant = rng.pick(CONSTANTS);
      const tld = rng.pick(TLDS);
      gen = {
        patternType,
        variableLength: len,
        charset,
        constant,
        tld,
        totalPossible: combos(charset, len, patternType),
        startOffset: 0,
        numToGenerate: 0,
        configKey: `${patternType}|${len}|${charset}|${constant}|${tld}`,
      };
    }
    const finished = status === 'completed' || status === 'archived';
    // Campaigns that stopped early wanted more than they produced.
    gen.numToGenerate = finished ? n : n + rng.int(1, Math.max(1, Math.floor(n / 2)));
    configs.set(gen.configKey, { gen, next: gen.startOffset + n });
    prevKey = gen.configKey;
    const c = newCampaign('domain_generation', status, `${gen.constant}-${gen.tld} batch ${k + 1}`);
    c.gen = gen;
    c.rows = n;
    c.firstRow = row;
    c.total = gen.numToGenerate;
    c.successful = n;
    row += n;
    gens.push(c);
  }
  for (const status of ['pending', 'queued'] as const) {
    const c = newCampaign('domain_generation', status, `scheduled generation (${status})`);
    const gen: GenParams = {
      patternType: 'prefix',
      variableLength: 3,
      charset: CHARSETS[0],
      constant: rng.pick(CONSTANTS),
      tld: 'com',
      totalPossible: combos(CHARSETS[0], 3, 'prefix'),
      startOffset: 0,
      numToGenerate: rng.int(100, 5000),
      configKey: '',
    };
    c.gen = gen;
    c.total = gen.numToGenerate;
  }

  // DNS campaigns: one per active generation campaign validates its first 30% of domains (by offset).
  let dnsRow = 0;
  const dnsOf = new Map<PlannedCampaign, PlannedCampaign>();
  gens.forEach((g, k) => {
    const d = newCampaign('dns_validation', statusOf(k, 2), `DNS check: ${g.name}`, g);
    d.source = g;
    d.rows = Math.round(g.rows * 0.3);
    d.firstRow = dnsRow;
    dnsRow += d.rows;
    for (let r = d.firstRow; r < d.firstRow + d.rows; r++)
      if (dnsOutcome(seed, r) === 'resolved') d.successful++;
    d.total = d.status === 'completed' || d.status === 'archived' ? d.rows : g.rows;
    dnsOf.set(g, d);
  });
  for (const status of ['pending', 'queued'] as const) {
    const d = newCampaign('dns_validation', status, `scheduled DNS check (${status})`);
    d.source = rng.pick(gens);
    d.total = d.source.rows;
  }

  // HTTP keyword campaigns: one per active generation campaign, ~10% of its domains. Most read the
  // resolved DNS results; one in four reads the generated domains directly.
  let httpRow = 0;
  gens.forEach((g, k) => {
    const h = newCampaign('http_keyword_validation', statusOf(k, 4), `Keyword scan: ${g.name}`, dnsOf.get(g));
    const want = Math.round(g.rows * 0.1);
    const d = dnsOf.get(g)!;
    if (k % 4 === 3) {
      h.sourceType = 'DomainGeneration';
      h.source = g;
      h.rows = want;
    } else {
      h.sourceType = 'DNSValidation';
      h.source = d;
      const taken: number[] = [];
      for (let r = d.firstRow; r < d.firstRow + d.rows && taken.length < want; r++)
        if (dnsOutcome(seed, r) === 'resolved') taken.push(r);
      h.httpFromDns = taken;
      h.rows = taken.length;
    }
    h.firstRow = httpRow;
    httpRow += h.rows;
    for (let r = h.firstRow; r < h.firstRow + h.rows; r++)
      if (httpOutcome(seed, r) === 'success') h.successful++;
    h.total = h.status === 'completed' || h.status === 'archived' ? h.rows : Math.max(h.rows, h.source.rows);
  });
  for (const status of ['pending', 'queued'] as const) {
    const h = newCampaign('http_keyword_validation', status, `scheduled keyword scan (${status})`);
    h.sourceType = 'DNSValidation';
    h.source = dnsOf.get(rng.pick(gens))!;
    h.total = h.source.rows;
  }

  for (const c of campaigns) {
    if (c.startedAt === null) continue;
    // A row every 5-50 ms of wall clock: a 20k-domain batch takes minutes, as in the real service.
    const span = Math.max(1, c.rows) * c.stepMs;
    if (
      c.status === 'completed' ||
      c.status === 'archived' ||
      c.status === 'failed' ||
      c.status === 'cancelled'
    )
      c.completedAt = c.startedAt + span + rng.int(1, 120) * 1000;
  }

  const configStates = [...configs.entries()].map(([key, v]) => {
    const last = gens.filter((g) => g.gen!.configKey === key).at(-1)!;
    return {
      key,
      gen: v.gen,
      lastOffset: v.next,
      updatedAt: last.completedAt ?? last.startedAt ?? last.createdAt,
    };
  });

  return {
    seed,
    domains,
    asOf,
    users,
    personas,
    proxies,
    keywordSets,
    campaigns,
    ids: {
      domains: new IdSpace(seed, 'generated_domains'),
      dns: new IdSpace(seed, 'dns_validation_results'),
      http: new IdSpace(seed, 'http_keyword_results'),
    },
    configStates,
    dnsRows: dnsRow,
    httpRows: httpRow,
    jobRows: Math.round(domains * 0.05),
    auditRows: Math.round(domains * 0.5),
  };
}

/** The variable part of domain number `offset` of a generation config (base-|charset| digits). */
export function domainName(g: GenParams, offset: number): string {
  const b = g.charset.length;
  const digits = g.patternType === 'both' ? 2 * g.variableLength : g.variableLength;
  let s = '';
  let k = offset;
  for (let i = 0; i < digits; i++) {
    s = g.charset[k % b]! + s;
    k = Math.floor(k / b);
  }
  if (g.patternType === 'prefix') return `${s}${g.constant}.${g.tld}`;
  if (g.patternType === 'suffix') return `${g.constant}${s}.${g.tld}`;
  return `${s.slice(0, g.variableLength)}${g.constant}${s.slice(g.variableLength)}.${g.tld}`;
}
