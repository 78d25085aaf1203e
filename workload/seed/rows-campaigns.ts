/** Campaigns of every type and status, their params tables, and the generation config states. */
import { createHash } from 'node:crypto';
import { array, json, NULL, num, row, text, ts } from './copy-text.js';
import { domainName, type PlannedCampaign, type SeedPlan } from './plan.js';
import { Rng } from './prng.js';
import type { TableLoad } from './table.js';
import { KEYWORDS } from './vocab.js';

/** Domain j (0-based, in offset order) of a generation campaign. */
export const domainOf = (g: PlannedCampaign, j: number) => domainName(g.gen!, g.gen!.startOffset + j);

/** The personas (and for HTTP, proxies) a validation campaign rotates through; results pick from these. */
export function campaignTools(plan: SeedPlan, c: PlannedCampaign): { personas: string[]; proxies: string[] } {
  const rng = new Rng(plan.seed, `tools:${c.id}`);
  const pool = c.type === 'dns_validation' ? plan.personas.dns : plan.personas.http;
  return {
    personas: rng.sample(pool, rng.int(1, 3)),
    proxies: c.type === 'http_keyword_validation' ? rng.sample(plan.proxies, rng.int(2, 5)) : [],
  };
}

const configHash = (key: string) => createHash('sha256').update(key).digest('hex');

function configDetails(g: NonNullable<PlannedCampaign['gen']>) {
  return {
    patternType: g.patternType,
    variableLength: g.variableLength,
    characterSet: g.charset,
    constantString: g.constant,
    tld: g.tld,
  };
}

const ERRORS: Record<string, string> = {
  domain_generation: 'generation worker stopped: context deadline exceeded',
  dns_validation: 'all resolvers in persona pool returned SERVFAIL',
  http_keyword_validation: 'proxy pool exhausted: no healthy proxies',
};

export function campaignTables(plan: SeedPlan): TableLoad[] {
  const { campaigns, asOf } = plan;

  const campaignsT: TableLoad = {
    schema: 'public',
    name: 'campaigns',
    columns: [
      'id',
      'name',
      'campaign_type',
      'status',
      'user_id',
      'total_items',
      'processed_items',
      'successful_items',
      'failed_items',
      'progress_percentage',
      'metadata',
      'created_at',
      'updated_at',
      'started_at',
      'completed_at',
      'error_message',
    ],
    rows: campaigns.length,
    *lines() {
      const rng = new Rng(plan.seed, 'campaigns');
      for (const c of campaigns) {
        const processed = c.rows;
        const progress = c.total > 0 ? Math.round((processed / c.total) * 10_000) / 100 : 0;
        const updated =
          c.completedAt ??
          (c.startedAt !== null ? Math.max(c.startedAt, asOf - rng.int(0, 3_600_000)) : c.createdAt);
        const metadata = rng.chance(0.1)
          ? null
          : {
              source: rng.pick(['ui', 'api', 'scheduler']),
              priority: rng.int(1, 5),
              tags: rng.sample(['q3', 'brand', 'research', 'client-x'], rng.int(0, 2)),
            };
        yield row([
          c.id,
          text(c.name),
          c.type,
          c.status,
          c.userId,
          num(c.total),
          num(processed),
          num(c.successful),
          num(processed - c.successful),
          num(progress),
          json(metadata),
          ts(c.createdAt),
          ts(updated),
          ts(c.startedAt),
          ts(c.completedAt),
          c.status === 'failed' ? text(ERRORS[c.type]!) : NULL,
        ]);
      }
    },
  };

  const gens = campaigns.filter((c) => c.type === 'domain_generation');
  const genParamsT: TableLoad = {
    schema: 'public',
    name: 'domain_generation_campaign_params',
    columns: [
      'campaign_id',
      'pattern_type',
      'variable_length',
      'character_set',
      'constant_string',
      'tld',
      'num_domains_to_generate',
      'total_possible_combinations',
      'current_offset',
    ],
    rows: gens.length,
    *lines() {
      for (const c of gens) {
        const g = c.gen!;
        yield row([
          c.id,
          g.patternType,
          num(g.variableLength),
          text(g.charset),
          text(g.constant),
          g.tld,
          num(g.numToGenerate),
          num(g.totalPossible),
          num(g.startOffset + c.rows),
        ]);
      }
    },
  };

  const statesT: TableLoad = {
    schema: 'public',
    name: 'domain_generation_config_states',
    columns: ['config_hash', 'last_offset', 'config_details', 'updated_at'],
    rows: plan.configStates.length,
    *lines() {
      for (const s of plan.configStates)
        yield row([configHash(s.key), num(s.lastOffset), json(configDetails(s.gen)), ts(s.updatedAt)]);
    },
  };

  const dnsCampaigns = campaigns.filter((c) => c.type === 'dns_validation');
  const dnsParamsT: TableLoad = {
    schema: 'public',
    name: 'dns_validation_campaign_params',
    columns: [
      'campaign_id',
      'source_generation_campaign_id',
      'persona_ids',
      'rotation_interval_seconds',
      'processing_speed_per_minute',
      'batch_size',
      'retry_attempts',
      'metadata',
    ],
    rows: dnsCampaigns.length,
    *lines() {
      const rng = new Rng(plan.seed, 'dns_validation_campaign_params');
      for (const c of dnsCampaigns) {
        yield row([
          c.id,
          c.source!.id,
          array(campaignTools(plan, c).personas),
          num(rng.pick([0, 30, 60, 300])),
          num(rng.pick([0, 600, 1200, 3000])),
          num(rng.pick([50, 100, 250])),
          num(rng.int(0, 3)),
          json({ rateLimited: rng.chance(0.3) }),
        ]);
      }
    },
  };

  const httpCampaigns = campaigns.filter((c) => c.type === 'http_keyword_validation');
  const httpParamsT: TableLoad = {
    schema: 'public',
    name: 'http_keyword_campaign_params',
    columns: [
      'campaign_id',
      'source_campaign_id',
      'source_type',
      'persona_ids',
      'keyword_set_ids',
      'ad_hoc_keywords',
      'proxy_ids',
      'proxy_pool_id',
      'proxy_selection_strategy',
      'rotation_interval_seconds',
      'processing_speed_per_minute',
      'batch_size',
      'retry_attempts',
      'target_http_ports',
      'last_processed_domain_name',
      'metadata',
    ],
    rows: httpCampaigns.length,
    *lines() {
      const rng = new Rng(plan.seed, 'http_keyword_campaign_params');
      for (const c of httpCampaigns) {
        const tools = campaignTools(plan, c);
        let last: string | null = null;
        if (c.rows > 0 && c.sourceType === 'DomainGeneration') last = domainOf(c.source!, c.rows - 1);
        if (c.rows > 0 && c.sourceType === 'DNSValidation') {
          const d = c.source!;
          last = domainOf(d.source!, c.httpFromDns!.at(-1)! - d.firstRow);
        }
        yield row([
          c.id,
          c.source!.id,
          c.sourceType!,
          array(tools.personas),
          array(rng.sample(plan.keywordSets, rng.int(1, 3))),
          rng.chance(0.5) ? array(rng.sample(KEYWORDS, rng.int(1, 3))) : NULL,
          array(tools.proxies),
          NULL,
          rng.pick(['round_robin', 'random', 'least_latency']),
          num(rng.pick([0, 60, 300])),
          num(rng.pick([0, 120, 600])),
          num(rng.pick([10, 20, 50])),
          num(rng.int(0, 3)),
          array(rng.chance(0.7) ? [80, 443] : [443]),
          text(last),
          json({ depth: rng.int(0, 2) }),
        ]);
      }
    },
  };

  return [campaignsT, genParamsT, statesT, dnsParamsT, httpParamsT];
}
