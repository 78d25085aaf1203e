/** Personas, proxies, keyword sets and rules, and the encryption tables of 000012/000015. */
import { array, bool, bytea, json, NULL, num, row, text, ts } from './copy-text.js';
import type { SeedPlan } from './plan.js';
import { Rng } from './prng.js';
import { bcryptHash, randomIpv4 } from './rows-auth.js';
import type { TableLoad } from './table.js';
import { CITIES, DNS_RESOLVERS, KEYWORD_SET_NAMES, KEYWORDS, PROXY_PROVIDERS, USER_AGENTS } from './vocab.js';

const DAY = 86_400_000;

/** config_details that pass validate_dns_persona_config (resolvers array, two numbers, one boolean). */
function dnsConfig(rng: Rng) {
  return {
    resolvers: rng.sample(DNS_RESOLVERS, rng.int(1, 3)),
    useSystemResolvers: rng.chance(0.2),
    queryTimeoutSeconds: rng.int(2, 10),
    maxDomainsPerRequest: rng.pick([50, 100, 200]),
    resolverStrategy: rng.pick(['round_robin', 'random', 'sequential']),
    concurrentQueriesPerDomain: rng.int(1, 3),
    rateLimitDps: rng.pick([50, 100, 250]),
  };
}

/** config_details that pass validate_http_persona_config (non-empty userAgent, headers object). */
function httpConfig(rng: Rng) {
  return {
    userAgent: rng.pick(USER_AGENTS),
    headers: {
      Accept: 'text/html,application/xhtml+xml',
      'Accept-Language': rng.pick(['en-US,en;q=0.9', 'de-DE,de;q=0.8']),
    },
    headerOrder: ['User-Agent', 'Accept', 'Accept-Language'],
    requestTimeoutSeconds: rng.int(5, 30),
    followRedirects: rng.chance(0.8),
    cookieHandling: { mode: rng.pick(['session', 'none']) },
  };
}

export function catalogTables(plan: SeedPlan): TableLoad[] {
  const { asOf, users } = plan;

  const personasT: TableLoad = {
    schema: 'public',
    name: 'personas',
    columns: [
      'id',
      'name',
      'description',
      'persona_type',
      'config_details',
      'is_enabled',
      'created_at',
      'updated_at',
      'config_details_encrypted',
      'encryption_key_version',
    ],
    rows: plan.personas.dns.length + plan.personas.http.length,
    *lines() {
      const rng = new Rng(plan.seed, 'personas');
      for (const [type, ids] of [
        ['dns', plan.personas.dns],
        ['http', plan.personas.http],
      ] as const) {
        for (const [k, id] of ids.entries()) {
          const created = asOf - rng.int(100, 400) * DAY;
          const encrypted = k % 5 === 4; // a few personas already carry an encrypted copy (000015)
          yield row([
            id,
            `${type.toUpperCase()} persona ${k + 1}`,
            text(type === 'dns' ? 'Resolver profile' : 'Browser profile'),
            type,
            json(type === 'dns' ? dnsConfig(rng) : httpConfig(rng)),
            bool(k % 6 !== 5),
            ts(created),
            ts(created + rng.int(0, 90) * DAY),
            encrypted ? bytea(`c30d04070302${rng.hex(60)}`) : NULL,
            num(encrypted ? 2 : 1),
          ]);
        }
      }
    },
  };

  const proxiesT: TableLoad = {
    schema: 'public',
    name: 'proxies',
    columns: [
      'id',
      'name',
      'description',
      'address',
      'protocol',
      'username',
      'password_hash',
      'host',
      'port',
      'is_enabled',
      'is_healthy',
      'last_status',
      'last_checked_at',
      'latency_ms',
      'city',
      'country_code',
      'provider',
      'created_at',
      'updated_at',
      'password_encrypted',
      'encryption_key_version',
    ],
    rows: plan.proxies.length,
    *lines() {
      const rng = new Rng(plan.seed, 'proxies');
      for (const [k, id] of plan.proxies.entries()) {
        const protocol = rng.pick(['http', 'https', 'socks5']);
        const host = `10.${20 + k}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
        const port = rng.pick([3128, 8080, 1080, 8888]);
        const [city, cc] = rng.pick(CITIES);
        const auth = k % 4 !== 0;
        const healthy = rng.chance(0.85);
        const created = asOf - rng.int(30, 400) * DAY;
        yield row([
          id,
          `proxy-${String(k + 1).padStart(2, '0')}-${cc!.toLowerCase()}`,
          text(`${city} exit`),
          `${protocol}://${host}:${port}`,
          protocol,
          auth ? `df_user_${k + 1}` : NULL,
          auth ? bcryptHash(rng) : NULL,
          host,
          num(port),
          bool(k % 10 !== 9),
          bool(healthy),
          healthy ? 'OK' : text(rng.pick(['timeout', 'connection refused'])),
          ts(asOf - rng.int(0, 3_600_000)),
          healthy ? num(rng.int(20, 400)) : NULL,
          text(city!),
          text(cc!),
          text(rng.pick(PROXY_PROVIDERS)),
          ts(created),
          ts(created + rng.int(0, 20) * DAY),
          auth && k % 4 === 1 ? bytea(`c30d04070302${rng.hex(40)}`) : NULL,
          num(1),
        ]);
      }
    },
  };

  // Keyword sets: each rule also appears in the set's keywords jsonb, as the Go service stores it.
  const rules: {
    set: string;
    pattern: string;
    type: 'string' | 'regex';
    cs: boolean;
    category: string;
    ctx: number;
  }[] = [];
  const sets: { id: string; name: string; keywords: unknown[]; enabled: boolean; created: number }[] = [];
  {
    const rng = new Rng(plan.seed, 'keyword_sets');
    plan.keywordSets.forEach((id, k) => {
      const picked = rng.sample(KEYWORDS, rng.int(3, 6));
      const keywords = picked.map((p, j) => {
        // Some rules are regexes with backslashes: the COPY encoder must escape them.
        const regex = j === 0 && k % 2 === 0;
        const pattern = regex ? `\\b${p.replace(' ', '\\s+')}\\b` : p;
        const rule = {
          set: id,
          pattern,
          type: regex ? ('regex' as const) : ('string' as const),
          cs: rng.chance(0.2),
          category: KEYWORD_SET_NAMES[k]!.split(' ')[0]!.toLowerCase(),
          ctx: rng.pick([0, 50, 100]),
        };
        rules.push(rule);
        return {
          pattern,
          ruleType: rule.type,
          isCaseSensitive: rule.cs,
          category: rule.category,
          contextChars: rule.ctx,
        };
      });
      sets.push({
        id,
        name: KEYWORD_SET_NAMES[k]!,
        keywords,
        enabled: k !== 7,
        created: asOf - rng.int(60, 400) * DAY,
      });
    });
  }
  const setsT: TableLoad = {
    schema: 'public',
    name: 'keyword_sets',
    columns: ['id', 'name', 'description', 'keywords', 'created_at', 'updated_at', 'is_enabled'],
    rows: sets.length,
    *lines() {
      for (const s of sets)
        yield row([
          s.id,
          text(s.name),
          text(`Signals for ${s.name.toLowerCase()}`),
          json(s.keywords),
          ts(s.created),
          ts(s.created + DAY),
          bool(s.enabled),
        ]);
    },
  };
  const rulesT: TableLoad = {
    schema: 'public',
    name: 'keyword_rules',
    columns: [
      'id',
      'keyword_set_id',
      'pattern',
      'rule_type',
      'is_case_sensitive',
      'category',
      'context_chars',
      'created_at',
      'updated_at',
    ],
    rows: rules.length,
    *lines() {
      const rng = new Rng(plan.seed, 'keyword_rules');
      for (const r of rules) {
        const at = asOf - rng.int(10, 60) * DAY;
        yield row([
          rng.uuid(),
          r.set,
          text(r.pattern),
          r.type,
          bool(r.cs),
          text(r.category),
          num(r.ctx),
          ts(at),
          ts(at),
        ]);
      }
    },
  };

  const keyOwners = users.filter((u) => u.i % 2 === 1);
  const apiKeysT: TableLoad = {
    schema: 'public',
    name: 'encrypted_api_keys',
    columns: [
      'id',
      'user_id',
      'key_name',
      'encrypted_key',
      'key_hint',
      'permissions',
      'expires_at',
      'last_used_at',
      'created_at',
      'updated_at',
    ],
    rows: keyOwners.length,
    *lines() {
      const rng = new Rng(plan.seed, 'encrypted_api_keys');
      for (const u of keyOwners) {
        const created = u.createdAt + rng.int(1, 100) * DAY;
        yield row([
          rng.uuid(),
          u.id,
          rng.pick(['ci-pipeline', 'reporting', 'default']),
          bytea(rng.hex(48)),
          `df_…${rng.hex(2)}`,
          json({ campaigns: ['read', 'create'] }),
          rng.chance(0.5) ? ts(asOf + rng.int(1, 365) * DAY) : NULL,
          ts(asOf - rng.int(0, 20) * DAY),
          ts(created),
          ts(created),
        ]);
      }
    },
  };

  const configTypes = ['api_credential', 'webhook_secret', 'integration_token', 'other'] as const;
  const configsT: TableLoad = {
    schema: 'public',
    name: 'encrypted_configs',
    columns: [
      'id',
      'config_key',
      'encrypted_value',
      'config_type',
      'description',
      'created_at',
      'updated_at',
      'created_by',
      'updated_by',
    ],
    rows: 8,
    *lines() {
      const keys = [
        'whois.api_key',
        'slack.webhook',
        'github.token',
        'virustotal.api_key',
        'smtp.password',
        'pagerduty.key',
        'jira.token',
        'misc.salt',
      ];
      const rng = new Rng(plan.seed, 'encrypted_configs');
      for (const [k, key] of keys.entries()) {
        const at = asOf - rng.int(10, 300) * DAY;
        const by = rng.pick(users).id;
        yield row([
          rng.uuid(),
          key,
          bytea(rng.hex(40)),
          configTypes[k % 4]!,
          text(`Secret for ${key.split('.')[0]}`),
          ts(at),
          ts(at),
          by,
          by,
        ]);
      }
    },
  };

  const encAuditT: TableLoad = {
    schema: 'public',
    name: 'encryption_audit_log',
    columns: [
      'id',
      'timestamp',
      'user_id',
      'action',
      'resource_type',
      'resource_id',
      'success',
      'error_message',
      'ip_address',
      'user_agent',
    ],
    rows: users.length * 5,
    *lines() {
      const rng = new Rng(plan.seed, 'encryption_audit_log');
      for (const u of users) {
        for (let k = 0; k < 5; k++) {
          const action = rng.weighted([
            ['decrypt', 60],
            ['encrypt', 30],
            ['access_denied', 8],
            ['rotate_key', 2],
          ] as const);
          const onProxy = rng.chance(0.6);
          const ok = action !== 'access_denied';
          yield row([
            rng.uuid(),
            ts(asOf - rng.int(0, 200 * DAY)),
            u.id,
            action,
            onProxy ? 'proxy' : 'persona',
            onProxy ? rng.pick(plan.proxies) : rng.pick(plan.personas.http),
            bool(ok),
            ok ? NULL : 'permission denied',
            randomIpv4(rng),
            text(rng.pick(USER_AGENTS)),
          ]);
        }
      }
    },
  };

  const rotationsT: TableLoad = {
    schema: 'public',
    name: 'encryption_key_rotations',
    columns: [
      'id',
      'rotated_at',
      'rotated_by',
      'key_version',
      'tables_affected',
      'records_updated',
      'status',
      'error_message',
    ],
    rows: 2,
    *lines() {
      const rng = new Rng(plan.seed, 'encryption_key_rotations');
      yield row([
        rng.uuid(),
        ts(asOf - 180 * DAY),
        'ops@domainflow.local',
        '1',
        array(['proxies', 'personas']),
        '5',
        'completed',
        NULL,
      ]);
      yield row([
        rng.uuid(),
        ts(asOf - 30 * DAY),
        users[0]!.id,
        '2',
        array(['proxies', 'personas']),
        '5',
        'completed',
        NULL,
      ]);
    },
  };

  return [personasT, proxiesT, setsT, rulesT, apiKeysT, configsT, encAuditT, rotationsT];
}
