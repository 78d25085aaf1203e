/**
 * `--dirty`: rows of the kinds that break real consolidations, each kind with an exact count. They
 * are added on top of the clean data (new rows, nothing clean is altered), so clean counts stay
 * as planned and every dirty row is attributable to one kind.
 */
import { array, json, NULL, num, row, text, ts } from './copy-text.js';
import { type PlannedCampaign, type SeedPlan, V2_STATUSES } from './plan.js';
import { IdSpace, Rng } from './prng.js';
import { randomIpv4 } from './rows-auth.js';
import { domainOf } from './rows-campaigns.js';
import type { TableLoad } from './table.js';

export const DIRTY_KINDS = [
  'campaigns_user_id_not_uuid',
  'campaigns_user_id_unknown_user',
  'campaigns_status_outside_v2',
  'http_params_source_type_invalid',
  'audit_logs_user_id_not_uuid',
  'audit_logs_client_ip_not_ip',
  'generated_domains_orphaned',
  'generated_domains_duplicate_offset',
] as const;
export type DirtyKind = (typeof DIRTY_KINDS)[number];

/** A dirty table load; `replica` loads it with session_replication_role = replica (FKs would refuse it). */
export type DirtyLoad = TableLoad & { replica?: boolean };

const UUID_RE = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

/**
 * One independent query per kind that counts the rows of that kind in any legacy database (tests
 * compare it with the report; `dfc validate` may reuse it). Fixed SQL, no parameters.
 */
export const DIRTY_PROBES: Record<DirtyKind, string> = {
  campaigns_user_id_not_uuid: `SELECT count(*) FROM public.campaigns WHERE user_id IS NOT NULL AND user_id !~ ${UUID_RE}`,
  campaigns_user_id_unknown_user: `SELECT count(*) FROM public.campaigns c WHERE c.user_id ~ ${UUID_RE} AND NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id = c.user_id::uuid)`,
  campaigns_status_outside_v2: `SELECT count(*) FROM public.campaigns WHERE status NOT IN (${V2_STATUSES.map((s) => `'${s}'`).join(', ')})`,
  http_params_source_type_invalid: `SELECT count(*) FROM public.http_keyword_campaign_params WHERE source_type NOT IN ('DomainGeneration', 'DNSValidation')`,
  audit_logs_user_id_not_uuid: `SELECT count(*) FROM public.audit_logs WHERE user_id IS NOT NULL AND user_id !~ ${UUID_RE}`,
  audit_logs_client_ip_not_ip: `SELECT count(*) FROM public.audit_logs WHERE client_ip IS NOT NULL AND NOT pg_input_is_valid(client_ip, 'inet')`,
  generated_domains_orphaned: `SELECT count(*) FROM public.generated_domains d WHERE NOT EXISTS (SELECT 1 FROM public.campaigns c WHERE c.id = d.domain_generation_campaign_id)`,
  generated_domains_duplicate_offset: `SELECT count(*) FROM (SELECT 1 FROM public.generated_domains GROUP BY domain_generation_campaign_id, offset_index HAVING count(*) > 1) d`,
};

export function dirtyTables(plan: SeedPlan): { loads: DirtyLoad[]; kinds: Record<DirtyKind, number> } {
  const rng = new Rng(plan.seed, 'dirty');
  const ids = new IdSpace(plan.seed, 'dirty');
  let nextId = 0;
  const id = () => ids.uuid(nextId++);
  const { asOf } = plan;
  const gens = plan.campaigns.filter((c) => c.type === 'domain_generation' && c.rows > 0);
  const someUser = () => rng.pick(plan.users).id;

  // Campaigns: [user_id, type, status, kind]
  type DirtyCampaign = {
    id: string;
    user: string;
    type: PlannedCampaign['type'];
    status: string;
    at: number;
  };
  const campaigns: DirtyCampaign[] = [];
  const add = (user: string, type: DirtyCampaign['type'], status: string) => {
    const c = { id: id(), user, type, status, at: asOf - rng.int(30, 700) * 86_400_000 };
    campaigns.push(c);
    return c;
  };
  const notUuid = ['system', 'system', 'scheduler'].map((u) => add(u, 'domain_generation', 'completed'));
  const unknownUser = [id(), id()].map((u) => add(u, 'domain_generation', 'completed'));
  const stalled = [0, 1].map(() => add(someUser(), 'domain_generation', 'stalled'));
  const badSource = ['DNS', 'domain_generation'].map((st) => ({
    c: add(someUser(), 'http_keyword_validation', 'completed'),
    st,
  }));
  const genLike = [...notUuid, ...unknownUser, ...stalled];

  const campaignsT: DirtyLoad = {
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
      'metadata',
      'created_at',
      'updated_at',
      'started_at',
    ],
    rows: campaigns.length,
    *lines() {
      for (const [k, c] of campaigns.entries())
        yield row([
          c.id,
          `legacy import ${k + 1}`,
          c.type,
          c.status,
          text(c.user),
          '100',
          c.status === 'stalled' ? '40' : '100',
          json({ source: 'import' }),
          ts(c.at),
          ts(c.at + 3_600_000),
          ts(c.at + 60_000),
        ]);
    },
  };
  const genParamsT: DirtyLoad = {
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
    rows: genLike.length,
    *lines() {
      for (const c of genLike)
        yield row([c.id, 'prefix', '2', 'abcdefghijklmnopqrstuvwxyz', 'legacy', 'com', '100', '676', '0']);
    },
  };
  const httpParamsT: DirtyLoad = {
    schema: 'public',
    name: 'http_keyword_campaign_params',
    columns: [
      'campaign_id',
      'source_campaign_id',
      'source_type',
      'persona_ids',
      'keyword_set_ids',
      'batch_size',
      'retry_attempts',
    ],
    rows: badSource.length,
    *lines() {
      for (const { c, st } of badSource)
        yield row([
          c.id,
          rng.pick(gens.length > 0 ? gens : plan.campaigns).id,
          st,
          array([plan.personas.http[0]!]),
          array([plan.keywordSets[0]!]),
          '10',
          '1',
        ]);
    },
  };

  const auditNotUuid = Math.max(4, Math.round(plan.auditRows * 0.02));
  const auditBadIp = Math.max(2, Math.round(plan.auditRows * 0.01));
  const auditT: DirtyLoad = {
    schema: 'public',
    name: 'audit_logs',
    columns: [
      'id',
      'timestamp',
      'user_id',
      'action',
      'entity_type',
      'entity_id',
      'details',
      'client_ip',
      'user_agent',
    ],
    rows: auditNotUuid + auditBadIp,
    *lines() {
      for (let k = 0; k < auditNotUuid; k++)
        yield row([
          id(),
          ts(asOf - rng.int(0, 400) * 86_400_000),
          k % 3 === 2 ? 'anonymous' : 'system',
          'campaign.auto_archive',
          'Campaign',
          rng.pick(plan.campaigns).id,
          json({ by: 'scheduler' }),
          randomIpv4(rng),
          'DomainFlow-Scheduler/1.0',
        ]);
      for (let k = 0; k < auditBadIp; k++)
        yield row([
          id(),
          ts(asOf - rng.int(0, 400) * 86_400_000),
          someUser(),
          'user.login',
          'User',
          NULL,
          json({}),
          'unknown',
          NULL,
        ]);
    },
  };

  // Orphans: domains of two campaigns deleted long ago without their rows (possible only with FKs off).
  const orphanCampaigns = [id(), id()];
  const orphans = Math.max(5, Math.round(plan.domains * 0.001));
  // Duplicate offsets: a retried batch wrote a second name at an offset already taken.
  const dupTargets: { c: PlannedCampaign; j: number }[] = [];
  const wantDups = Math.min(plan.domains, Math.max(3, Math.round(plan.domains * 0.0005)));
  for (let k = 0; dupTargets.length < wantDups; k++) {
    const c = gens[k % gens.length]!;
    const j = Math.floor(k / gens.length);
    if (j < c.rows) dupTargets.push({ c, j });
  }
  const domainsT: DirtyLoad = {
    schema: 'public',
    name: 'generated_domains',
    replica: true,
    columns: [
      'id',
      'domain_generation_campaign_id',
      'domain_name',
      'source_keyword',
      'source_pattern',
      'tld',
      'offset_index',
      'generated_at',
      'created_at',
    ],
    rows: orphans + dupTargets.length,
    *lines() {
      for (let k = 0; k < orphans; k++) {
        const at = ts(asOf - 500 * 86_400_000 + k * 1000);
        yield row([
          id(),
          orphanCampaigns[k % 2]!,
          `orphan${k}legacy.com`,
          'legacy',
          'prefix',
          'com',
          num(k >> 1),
          at,
          at,
        ]);
      }
      for (const { c, j } of dupTargets) {
        const at = ts((c.startedAt ?? c.createdAt) + j * c.stepMs + 500);
        yield row([
          id(),
          c.id,
          domainOf(c, j).replace('.', '-retry.'),
          text(c.gen!.constant),
          c.gen!.patternType,
          c.gen!.tld,
          num(c.gen!.startOffset + j),
          at,
          at,
        ]);
      }
    },
  };

  return {
    loads: [campaignsT, genParamsT, httpParamsT, auditT, domainsT],
    kinds: {
      campaigns_user_id_not_uuid: notUuid.length,
      campaigns_user_id_unknown_user: unknownUser.length,
      campaigns_status_outside_v2: stalled.length,
      http_params_source_type_invalid: badSource.length,
      audit_logs_user_id_not_uuid: auditNotUuid,
      audit_logs_client_ip_not_ip: auditBadIp,
      generated_domains_orphaned: orphans,
      generated_domains_duplicate_offset: dupTargets.length,
    },
  };
}
