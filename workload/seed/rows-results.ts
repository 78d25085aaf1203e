/**
 * The row-heavy tables: generated domains (N), DNS results (~30% of N), HTTP keyword results
 * (~10%), campaign jobs (~5%) and audit logs (~50%). Lines are built by hand (no JSON.stringify per
 * row) because these loops run millions of times; ids come from the plan's counter-based id spaces.
 */
import { NULL, row, text, ts } from './copy-text.js';
import { dnsOutcome, httpOutcome, type PlannedCampaign, type SeedPlan } from './plan.js';
import { Rng } from './prng.js';
import { randomIpv4 } from './rows-auth.js';
import { campaignTools, domainOf } from './rows-campaigns.js';
import type { TableLoad } from './table.js';
import { PAGE_TITLES, USER_AGENTS } from './vocab.js';

const DAY = 86_400_000;

export function resultTables(plan: SeedPlan): TableLoad[] {
  const { campaigns, ids, seed, asOf } = plan;
  const gens = campaigns.filter((c) => c.type === 'domain_generation' && c.rows > 0);
  const dnsCs = campaigns.filter((c) => c.type === 'dns_validation' && c.rows > 0);
  const httpCs = campaigns.filter((c) => c.type === 'http_keyword_validation' && c.rows > 0);
  const t0 = (c: PlannedCampaign) => c.startedAt ?? c.createdAt;

  const domainsT: TableLoad = {
    schema: 'public',
    name: 'generated_domains',
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
    rows: plan.domains,
    bulk: true,
    *lines() {
      for (const c of gens) {
        const g = c.gen!;
        const fixed = `\t${c.id}\t`;
        const tail = `\t${text(g.constant)}\t${g.patternType}\t${g.tld}\t`;
        for (let j = 0; j < c.rows; j++) {
          const at = ts(t0(c) + j * c.stepMs);
          yield `${ids.domains.uuid(c.firstRow + j)}${fixed}${domainOf(c, j)}${tail}${g.startOffset + j}\t${at}\t${at}\n`;
        }
      }
    },
  };

  const dnsT: TableLoad = {
    schema: 'public',
    name: 'dns_validation_results',
    columns: [
      'id',
      'dns_campaign_id',
      'generated_domain_id',
      'domain_name',
      'validation_status',
      'dns_records',
      'validated_by_persona_id',
      'attempts',
      'last_checked_at',
      'created_at',
    ],
    rows: plan.dnsRows,
    bulk: true,
    *lines() {
      const rng = new Rng(seed, 'dns_validation_results');
      for (const d of dnsCs) {
        const g = d.source!;
        const personas = campaignTools(plan, d).personas;
        for (let j = 0; j < d.rows; j++) {
          const r = d.firstRow + j;
          const status = dnsOutcome(seed, r);
          const records =
            status === 'resolved'
              ? `{"A": ["${randomIpv4(rng)}"], "ttl": ${rng.pick([60, 300, 3600])}${rng.chance(0.4) ? `, "MX": ["mx1.${domainOf(g, j)}"]` : ''}}`
              : status === 'timeout'
                ? NULL
                : `{"error": "${status === 'unresolved' ? 'NXDOMAIN' : 'SERVFAIL'}"}`;
          const at = ts(t0(d) + j * d.stepMs);
          yield `${ids.dns.uuid(r)}\t${d.id}\t${ids.domains.uuid(g.firstRow + j)}\t${domainOf(g, j)}\t${status}\t${records}\t${personas[j % personas.length]}\t${status === 'resolved' ? 1 : rng.int(1, 3)}\t${at}\t${at}\n`;
        }
      }
    },
  };

  const httpT: TableLoad = {
    schema: 'public',
    name: 'http_keyword_results',
    columns: [
      'id',
      'http_keyword_campaign_id',
      'dns_result_id',
      'domain_name',
      'validation_status',
      'http_status_code',
      'response_headers',
      'page_title',
      'extracted_content_snippet',
      'found_keywords_from_sets',
      'found_ad_hoc_keywords',
      'content_hash',
      'validated_by_persona_id',
      'used_proxy_id',
      'attempts',
      'last_checked_at',
      'created_at',
    ],
    rows: plan.httpRows,
    bulk: true,
    *lines() {
      const rng = new Rng(seed, 'http_keyword_results');
      for (const h of httpCs) {
        const tools = campaignTools(plan, h);
        for (let j = 0; j < h.rows; j++) {
          const r = h.firstRow + j;
          let domain: string;
          let dnsId = NULL;
          if (h.sourceType === 'DNSValidation') {
            const dnsRow = h.httpFromDns![j]!;
            domain = domainOf(h.source!.source!, dnsRow - h.source!.firstRow);
            dnsId = ids.dns.uuid(dnsRow);
          } else {
            domain = domainOf(h.source!, j);
          }
          const status = httpOutcome(seed, r);
          const code =
            status === 'error' ? NULL : status === 'failed' ? String(rng.pick([403, 404, 500, 502])) : '200';
          const found =
            status === 'success'
              ? `[{"keyword": "${rng.pick(['pricing', 'checkout', 'for sale'])}", "count": ${rng.int(1, 9)}}]`
              : '[]';
          const at = ts(t0(h) + j * h.stepMs);
          // Snippets keep the page's line breaks and tabs: the COPY encoder escapes them.
          const snippet =
            status === 'success' ? text(`Welcome to ${domain}\n\tBuy now — limited offer`) : NULL;
          yield `${ids.http.uuid(r)}\t${h.id}\t${dnsId}\t${domain}\t${status}\t${code}\t${code === NULL ? NULL : `{"Server": "${rng.pick(['nginx', 'cloudflare', 'Apache'])}", "Content-Type": "text/html"}`}\t${code === NULL ? NULL : text(rng.pick(PAGE_TITLES))}\t${snippet}\t${found}\t[]\t${code === NULL ? NULL : rng.hex(32)}\t${tools.personas[j % tools.personas.length]}\t${tools.proxies[j % tools.proxies.length]}\t${rng.int(1, 3)}\t${at}\t${at}\n`;
        }
      }
    },
  };

  // Jobs: spread over all campaigns in proportion to their work; status follows the campaign's.
  const cumulative: number[] = [];
  let sum = 0;
  for (const c of campaigns) {
    sum += c.rows + 50;
    cumulative.push(sum);
  }
  const jobsT: TableLoad = {
    schema: 'public',
    name: 'campaign_jobs',
    columns: [
      'id',
      'campaign_id',
      'job_type',
      'status',
      'job_payload',
      'attempts',
      'max_attempts',
      'last_error',
      'last_attempted_at',
      'created_at',
      'updated_at',
      'scheduled_at',
      'processing_server_id',
      'next_execution_at',
      'locked_at',
      'locked_by',
    ],
    rows: plan.jobRows,
    bulk: true,
    *lines() {
      const rng = new Rng(seed, 'campaign_jobs');
      for (let k = 0; k < plan.jobRows; k++) {
        const x = rng.float() * sum;
        let lo = 0;
        let hi = cumulative.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid]! > x) hi = mid;
          else lo = mid + 1;
        }
        const c = campaigns[lo]!;
        const status = jobStatus(rng, c.status);
        const created = t0(c) + rng.int(0, Math.max(1, c.rows) * c.stepMs);
        const attempted =
          status === 'pending' || status === 'queued' ? null : created + rng.int(1, 60) * 1000;
        const attempts = attempted === null ? 0 : status === 'failed' ? 3 : rng.int(1, 2);
        const live = status === 'running' || status === 'processing';
        const server = live ? `worker-${rng.int(1, 4)}` : NULL;
        yield row([
          rng.uuid(),
          c.id,
          c.type,
          status,
          `{"batchStart": ${rng.int(0, Math.max(0, c.rows - 1))}, "batchSize": ${rng.pick([50, 100, 500])}}`,
          String(attempts),
          '3',
          status === 'failed'
            ? text(rng.pick(['context deadline exceeded', 'connection reset by peer', 'campaign cancelled']))
            : NULL,
          ts(attempted),
          ts(created),
          ts(attempted ?? created),
          ts(created),
          server,
          status === 'queued' || status === 'pending' ? ts(asOf + rng.int(1, 3600) * 1000) : NULL,
          live ? ts(asOf - rng.int(1, 600) * 1000) : NULL,
          server,
        ]);
      }
    },
  };

  const auditT: TableLoad = {
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
    rows: plan.auditRows,
    bulk: true,
    *lines() {
      const rng = new Rng(seed, 'audit_logs');
      const userIds = plan.users.map((u) => u.id);
      const uas = USER_AGENTS.map((u) => text(u));
      for (let k = 0; k < plan.auditRows; k++) {
        const kind = rng.u32() % 100;
        let user: string;
        let entity: string;
        let type: string;
        let action: string;
        let at: number;
        let details: string;
        if (kind < 60) {
          const c = campaigns[rng.u32() % campaigns.length]!;
          user = c.userId;
          entity = c.id;
          type = 'Campaign';
          action = rng.pick([
            'campaign.create',
            'campaign.start',
            'campaign.pause',
            'campaign.resume',
            'campaign.update',
            'campaign.view',
          ]);
          at = c.createdAt + rng.int(0, Math.max(1, asOf - c.createdAt));
          details = `{"campaignType": "${c.type}", "status": "${c.status}"}`;
        } else {
          user = userIds[rng.u32() % userIds.length]!;
          at = asOf - rng.int(0, 365 * DAY);
          if (kind < 75)
            [type, entity, action] = [
              'Persona',
              rng.pick(plan.personas.http),
              rng.pick(['persona.update', 'persona.test']),
            ];
          else if (kind < 85)
            [type, entity, action] = [
              'Proxy',
              rng.pick(plan.proxies),
              rng.pick(['proxy.update', 'proxy.health_check']),
            ];
          else if (kind < 95)
            [type, entity, action] = ['KeywordSet', rng.pick(plan.keywordSets), 'keyword_set.update'];
          else [type, entity, action] = ['User', user, rng.pick(['user.login', 'user.update_profile'])];
          details = `{"changed": ${rng.int(1, 4)}}`;
        }
        const ip =
          rng.u32() % 10 === 0
            ? `2001:db8:${(rng.u32() % 65536).toString(16)}::${(rng.u32() % 65536).toString(16)}`
            : randomIpv4(rng);
        yield `${rng.uuid()}\t${ts(at)}\t${user}\t${action}\t${type}\t${entity}\t${details}\t${ip}\t${uas[rng.u32() % uas.length]}\n`;
      }
    },
  };

  return [domainsT, dnsT, httpT, jobsT, auditT];
}

function jobStatus(rng: Rng, campaignStatus: string): string {
  switch (campaignStatus) {
    case 'pending':
      return 'pending';
    case 'queued':
      return 'queued';
    case 'running':
      return rng.weighted([
        ['queued', 30],
        ['running', 15],
        ['processing', 15],
        ['completed', 40],
      ] as const);
    case 'paused':
      return rng.weighted([
        ['pending', 40],
        ['completed', 60],
      ] as const);
    case 'failed':
      return rng.weighted([
        ['failed', 60],
        ['completed', 40],
      ] as const);
    case 'cancelled':
      return rng.weighted([
        ['failed', 30],
        ['completed', 70],
      ] as const);
    default:
      return 'completed';
  }
}
