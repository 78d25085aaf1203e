/**
 * What one simulated worker knows and owns: rows discovered at start plus the keys it created.
 * Every row belongs to exactly one worker (seeded campaigns round-robin, children with their
 * campaign), so workers never write the same row and the ledger's per-key order is exact. Reads may
 * look at anything the worker knows.
 */
import type pg from 'pg';
import { DISCOVERY } from './statements.js';

/** mulberry32: small, fast, deterministic per seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A set with O(1) add, remove and random pick (swap-remove). */
export class Bag<T extends { id: string }> {
  private items: T[] = [];
  private pos = new Map<string, number>();
  constructor(private readonly cap = Number.POSITIVE_INFINITY) {}
  get size() {
    return this.items.length;
  }
  add(x: T): void {
    if (this.pos.has(x.id) || this.items.length >= this.cap) return;
    this.pos.set(x.id, this.items.length);
    this.items.push(x);
  }
  get(id: string): T | undefined {
    const i = this.pos.get(id);
    return i === undefined ? undefined : this.items[i];
  }
  remove(id: string): void {
    const i = this.pos.get(id);
    if (i === undefined) return;
    const last = this.items.pop()!;
    this.pos.delete(id);
    if (i < this.items.length) {
      this.items[i] = last;
      this.pos.set(last.id, i);
    }
  }
  removeWhere(pred: (x: T) => boolean): void {
    for (const x of this.items.filter(pred)) this.remove(x.id);
  }
  pick(r: () => number, pred?: (x: T) => boolean): T | undefined {
    if (!pred) return this.items[Math.floor(r() * this.items.length)];
    // a few random probes, then a scan from a random start: bounded and still deterministic
    for (let i = 0; i < 8 && this.items.length; i++) {
      const x = this.items[Math.floor(r() * this.items.length)]!;
      if (pred(x)) return x;
    }
    const n = this.items.length;
    const start = Math.floor(r() * n);
    for (let i = 0; i < n; i++) {
      const x = this.items[(start + i) % n]!;
      if (pred(x)) return x;
    }
    return undefined;
  }
}

export interface Campaign {
  id: string;
  type: string;
  status: string;
  total: number;
  processed: number;
  hasParams: boolean;
  /** created by this run (only those are ever deleted) */
  created: boolean;
}
export interface Child {
  id: string;
  campaignId: string;
}
export interface DnsResult extends Child {
  domainName: string;
}

/** The keys one worker owns. */
export class World {
  readonly campaigns = new Bag<Campaign>();
  readonly sessions = new Bag<{ id: string }>();
  readonly domains = new Bag<Child>(20_000);
  readonly dnsResults = new Bag<DnsResult>(20_000);
  readonly jobs = new Bag<Child>(20_000);
  readonly keywordSets = new Bag<{ id: string; created: boolean }>();
  /** campaignId here is the keyword set's id */
  readonly keywordRules = new Bag<Child>(20_000);
  readonly ownedProxies = new Bag<{ id: string }>();
  constructor(
    readonly users: readonly string[],
    readonly personas: readonly string[],
    readonly proxies: readonly string[],
  ) {}

  dropKeywordSet(id: string): void {
    this.keywordSets.remove(id);
    this.keywordRules.removeWhere((r) => r.campaignId === id);
  }

  /** Forget a deleted campaign and the children the database cascaded with it. */
  dropCampaign(id: string): void {
    this.campaigns.remove(id);
    this.domains.removeWhere((d) => d.campaignId === id);
    this.dnsResults.removeWhere((d) => d.campaignId === id);
    this.jobs.removeWhere((d) => d.campaignId === id);
  }
}

const LIMITS = {
  users: 500,
  campaigns: 5000,
  sessions: 5000,
  domains: 5000,
  dnsResults: 5000,
  jobs: 5000,
  personas: 50,
  proxies: 200,
  keywordSets: 2000,
  keywordRules: 5000,
};

/** Find rows to work on and split them between `workers` worlds (deterministic for the same data). */
export async function discover(c: pg.ClientBase, workers: number): Promise<World[]> {
  const q = async (text: string, limit: number) => (await c.query(text, [limit])).rows;
  const users = (await q(DISCOVERY.users, LIMITS.users)).map((r) => r.id as string);
  const personas = (await q(DISCOVERY.personas, LIMITS.personas)).map((r) => r.id as string);
  const proxies = (await q(DISCOVERY.proxies, LIMITS.proxies)).map((r) => r.id as string);
  const worlds = Array.from({ length: workers }, () => new World(users, personas, proxies));
  // proxies are referenced by every worker but updated only by their owner
  proxies.forEach((id, i) => {
    worlds[i % workers]!.ownedProxies.add({ id });
  });
  const setOwner = new Map<string, World>();
  (await q(DISCOVERY.keywordSets, LIMITS.keywordSets)).forEach((r, i) => {
    const w = worlds[i % workers]!;
    setOwner.set(r.id, w);
    w.keywordSets.add({ id: r.id, created: false });
  });
  for (const r of await q(DISCOVERY.keywordRules, LIMITS.keywordRules))
    setOwner.get(r.keyword_set_id)?.keywordRules.add({ id: r.id, campaignId: r.keyword_set_id });
  const owner = new Map<string, World>();
  (await q(DISCOVERY.campaigns, LIMITS.campaigns)).forEach((r, i) => {
    const w = worlds[i % workers]!;
    owner.set(r.id, w);
    w.campaigns.add({
      id: r.id,
      type: r.campaign_type,
      status: r.status,
      total: Number(r.total_items ?? 0),
      processed: Number(r.processed_items ?? 0),
      hasParams: r.has_params === 't' || r.has_params === true,
      created: false,
    });
  });
  (await q(DISCOVERY.sessions, LIMITS.sessions)).forEach((r, i) => {
    worlds[i % workers]!.sessions.add({ id: r.id });
  });
  // children go to their campaign's owner; orphans (campaign unknown or gone) are left alone
  for (const r of await q(DISCOVERY.domains, LIMITS.domains))
    owner
      .get(r.domain_generation_campaign_id)
      ?.domains.add({ id: r.id, campaignId: r.domain_generation_campaign_id });
  for (const r of await q(DISCOVERY.dnsResults, LIMITS.dnsResults))
    owner
      .get(r.dns_campaign_id)
      ?.dnsResults.add({ id: r.id, campaignId: r.dns_campaign_id, domainName: r.domain_name });
  for (const r of await q(DISCOVERY.jobs, LIMITS.jobs))
    owner.get(r.campaign_id)?.jobs.add({ id: r.id, campaignId: r.campaign_id });
  return worlds;
}
