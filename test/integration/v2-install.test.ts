/**
 * Schema v2 on a real server: `dfc install` on an empty database, the committed SQL file applied
 * with psql gives the same catalog, every function the guide calls works on meaningful data, and
 * every statement of the simulated DomainFlow service prepares on legacy and on v2 alike.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { installV2 } from '../../src/install.js';
import { V2 } from '../../src/schema/v2/index.js';
import { renderInstallSql } from '../../src/schema/v2/render.js';
import { auditLogs } from '../../src/schema/v2/tables-results.js';
import { V2_SQL_PATH } from '../../src/schema/v2/write-sql.js';
import { quoteIdent } from '../../src/sql/sql.js';
import { APP_STATEMENTS } from '../../workload/statements.js';
import { freshDatabase } from '../helpers/db.js';

/** One line per catalog object of public/auth (columns, constraints, indexes, triggers, functions, policies, comments, grants). */
const CATALOG = `
SELECT 'col ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' nn=' || a.attnotnull || ' def=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL SELECT 'con ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('public', 'auth') AND k.contype <> 'n'
UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname IN ('public', 'auth')
UNION ALL SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname IN ('public', 'auth')
UNION ALL SELECT 'fn ' || pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('public', 'auth') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL SELECT 'pol ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || coalesce(qual, '') FROM pg_policies WHERE schemaname IN ('public', 'auth')
UNION ALL SELECT 'view ' || schemaname || '.' || matviewname || ' ' || definition FROM pg_matviews WHERE schemaname = 'public'
UNION ALL SELECT 'cmt ' || d.classoid::regclass || ' ' || d.objsubid || ' ' || d.description FROM pg_description d
  JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('public', 'auth')
UNION ALL SELECT 'grant ' || table_name || ' ' || privilege_type FROM information_schema.role_table_grants WHERE grantee = 'domainflow'
ORDER BY 1`;

async function catalog(url: string): Promise<string[]> {
  return withClient(url, async (c) => (await c.query<{ x: string }>(CATALOG)).rows.map((r) => r.x));
}

async function installed(): Promise<string> {
  const url = await freshDatabase('empty');
  await installV2(url);
  return url;
}

const one = async <R extends pg.QueryResultRow>(c: pg.Client, text: string, values: unknown[] = []) =>
  (await c.query<R>(text, values)).rows[0] as R;

describe('dfc install', () => {
  it('gives the full v2 catalog on an empty database, with golang-migrate at 17', async () => {
    const url = await freshDatabase('empty');
    const r = await installV2(url);
    expect(r).toMatchObject({
      tables: 33,
      materializedViews: 3,
      views: 1,
      triggers: 16,
      functions: 25,
      migrationVersion: 17,
    });
    // 80 declared table indexes + 48 behind primary keys/uniques + 7 on the materialized views
    expect(r.indexes).toBe(135);
    expect(r.constraints).toBe(106);
    await withClient(url, async (c) => {
      expect((await c.query('SELECT version, dirty FROM schema_migrations')).rows).toEqual([
        { version: '17', dirty: false },
      ]);
      const v = await one(
        c,
        'SELECT version_number, migration_count, consolidation_completed FROM schema_version_info',
      );
      expect(v).toEqual({ version_number: '2.0', migration_count: 17, consolidation_completed: true });
      const seeded = await one(
        c,
        `SELECT (SELECT count(*) FROM auth.roles)::int AS roles, (SELECT count(*) FROM auth.permissions)::int AS permissions,
                (SELECT count(*) FROM auth.role_permissions)::int AS grants, (SELECT count(*) FROM auth.user_roles)::int AS user_roles,
                (SELECT count(*) FROM mfa_policies WHERE policy_name = 'default')::int AS policies`,
      );
      expect(seeded).toEqual({ roles: 5, permissions: 17, grants: 48, user_roles: 1, policies: 1 });
      // key objects: the renamed-upstream table under its legacy name, the columns upstream dropped,
      // the corrected types, and every materialized view's unique index
      const cols = await c.query<{ t: string }>(
        `SELECT table_schema || '.' || table_name || '.' || column_name || ':' || data_type AS t FROM information_schema.columns
          WHERE (table_name, column_name) IN (('dns_validation_campaign_params', 'persona_ids'), ('keyword_rules', 'is_case_sensitive'),
                 ('keyword_rules', 'context_chars'), ('proxies', 'password_encrypted'), ('personas', 'config_details_encrypted'),
                 ('users', 'mfa_recovery_codes_encrypted'), ('campaigns', 'user_id'), ('audit_logs', 'user_id'), ('audit_logs', 'client_ip'))
          ORDER BY 1`,
      );
      expect(cols.rows.map((x) => x.t)).toEqual([
        'auth.users.mfa_recovery_codes_encrypted:text',
        'public.audit_logs.client_ip:inet',
        'public.audit_logs.user_id:uuid',
        'public.campaigns.user_id:uuid',
        'public.dns_validation_campaign_params.persona_ids:ARRAY',
        'public.keyword_rules.context_chars:integer',
        'public.keyword_rules.is_case_sensitive:boolean',
        'public.personas.config_details_encrypted:bytea',
        'public.proxies.password_encrypted:bytea',
      ]);
      const uniques = await c.query<{ i: string }>(
        `SELECT ic.relname AS i FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
          WHERE t.relkind = 'm' AND x.indisunique ORDER BY 1`,
      );
      expect(uniques.rows.map((x) => x.i)).toEqual([
        'campaign_statistics_id_idx',
        'idx_system_performance_summary_key',
        'idx_user_activity_user_id',
      ]);
      const dup = await c.query(
        `SELECT 1 FROM pg_indexes WHERE indexname = 'idx_domains_campaign_offset_status'`,
      );
      expect(dup.rowCount).toBe(0);
      const rls = await c.query<{ relname: string }>(
        `SELECT relname FROM pg_class WHERE relrowsecurity ORDER BY 1`,
      );
      expect(rls.rows.map((x) => x.relname)).toEqual(['encryption_key_rotations', 'proxies']);
    });
  });

  it('committed db/v2/consolidated_schema_v2.sql is the render, and psql -1 ON_ERROR_STOP gives the same catalog', async () => {
    expect(readFileSync(V2_SQL_PATH, 'utf8')).toBe(renderInstallSql());
    const viaInstall = await installed();
    const viaPsql = await freshDatabase('empty');
    const psql = existsSync('/usr/bin/psql') ? '/usr/bin/psql' : 'psql';
    execFileSync(psql, ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', V2_SQL_PATH, viaPsql], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const [a, b] = await Promise.all([catalog(viaInstall), catalog(viaPsql)]);
    expect(a.length).toBeGreaterThan(700);
    expect(b).toEqual(a);
  });

  it('refuses a database that is not empty, and changes nothing', async () => {
    const url = await installed();
    const before = await catalog(url);
    const e1 = await installV2(url).catch((e) => e);
    expect(e1).toBeInstanceOf(DfcError);
    expect(e1.code).toBe('DFC_CONFIG');
    expect(e1.fix).toMatch(/dfc consolidate/);
    expect(await catalog(url)).toEqual(before);

    const other = await freshDatabase('empty');
    await withClient(other, (c) => c.query('CREATE TABLE public.someone_elses (id int)'));
    const e2 = await installV2(other).catch((e) => e);
    expect(e2.code).toBe('DFC_CONFIG');
    expect(e2.message).toMatch(/someone_elses/);
    expect(e2.fix).toMatch(/empty database/);
  });
});

/** A user with one role; returns its id. */
async function user(
  c: pg.Client,
  email: string,
  role: string,
  roleExpires: string | null = null,
): Promise<string> {
  const u = await one<{ id: string }>(
    c,
    `INSERT INTO auth.users (email, password_hash, first_name, last_name) VALUES ($1, 'x', 'F', 'L') RETURNING id`,
    [email],
  );
  await c.query(
    `INSERT INTO auth.user_roles (user_id, role_id, expires_at) SELECT $1, id, $3::timestamp FROM auth.roles WHERE name = $2`,
    [u.id, role, roleExpires],
  );
  return u.id;
}

describe('v2 functions on meaningful data', () => {
  it('auth.cleanup_expired_sessions deletes expired and long-inactive sessions, counts and audits them', async () => {
    const url = await installed();
    await withClient(url, async (c) => {
      const u = await user(c, 'a@x.test', 'user');
      await c.query(
        `INSERT INTO auth.sessions (id, user_id, is_active, expires_at, last_activity_at) VALUES
           ('expired', $1, true, LOCALTIMESTAMP - interval '1 minute', LOCALTIMESTAMP),
           ('idle-inactive', $1, false, LOCALTIMESTAMP + interval '1 day', LOCALTIMESTAMP - interval '8 days'),
           ('recent-inactive', $1, false, LOCALTIMESTAMP + interval '1 day', LOCALTIMESTAMP - interval '1 day'),
           ('live', $1, true, LOCALTIMESTAMP + interval '1 day', LOCALTIMESTAMP)`,
        [u],
      );
      expect((await one(c, 'SELECT auth.cleanup_expired_sessions() AS n')).n).toBe(2);
      const left = await c.query('SELECT id FROM auth.sessions ORDER BY id');
      expect(left.rows.map((r) => r.id)).toEqual(['live', 'recent-inactive']);
      const audit = await one(
        c,
        `SELECT event_status, (details->>'deleted_sessions')::int AS n FROM auth.auth_audit_log WHERE event_type = 'session_cleanup'`,
      );
      expect(audit).toEqual({ event_status: 'success', n: 2 });
    });
  });

  it('materialized views: exact counts without fan-out, refreshed concurrently while readers hold them', async () => {
    const url = await installed();
    await withClient(url, async (c) => {
      const u = await user(c, 'owner@x.test', 'campaign_manager');
      const camp = await one<{ id: string }>(
        c,
        `INSERT INTO campaigns (name, status, user_id, total_items, processed_items) VALUES ('g', 'running', $1, 200, 100) RETURNING id`,
        [u],
      );
      const other = await one<{ id: string }>(
        c,
        `INSERT INTO campaigns (name, status) VALUES ('empty', 'pending') RETURNING id`,
      );
      await c.query(
        `INSERT INTO generated_domains (domain_generation_campaign_id, domain_name, offset_index)
         SELECT $1, 'd' || i || '.com', i FROM generate_series(0, 4) i`,
        [camp.id],
      );
      await c.query(
        `INSERT INTO dns_validation_results (dns_campaign_id, generated_domain_id, domain_name, validation_status)
         SELECT $1, id, domain_name, CASE WHEN offset_index < 2 THEN 'resolved' ELSE 'unresolved' END
           FROM generated_domains WHERE offset_index < 3`,
        [camp.id],
      );
      await c.query(
        `INSERT INTO http_keyword_results (http_keyword_campaign_id, domain_name, validation_status, found_keywords_from_sets)
         VALUES ($1, 'd0.com', 'success', '["kw"]'), ($1, 'd1.com', 'failed', '[]')`,
        [camp.id],
      );
      await c.query(
        `INSERT INTO campaign_jobs (campaign_id, job_type, status) SELECT $1, 'generation', s
           FROM unnest(ARRAY['pending', 'running', 'completed', 'failed']) s`,
        [camp.id],
      );
      await c.query(
        `INSERT INTO auth.sessions (id, user_id, expires_at) SELECT 's' || i, $1, LOCALTIMESTAMP + interval '1 day' FROM generate_series(1, 3) i`,
        [u],
      );
      await c.query(
        `INSERT INTO auth.auth_audit_log (user_id, event_type, event_status) VALUES ($1, 'login', 'success'), ($1, 'login', 'success'), ($1, 'login', 'failure')`,
        [u],
      );

      // a reader holds ACCESS SHARE on every view; a plain REFRESH would wait for it, so the
      // lock_timeout turns a non-concurrent refresh into an error
      await withClient(url, async (reader) => {
        await reader.query('BEGIN');
        for (const v of ['campaign_statistics', 'user_activity_summary', 'system_performance_summary'])
          await reader.query(`SELECT count(*) FROM ${v}`);
        await c.query(`SET lock_timeout = '5s'`);
        const report = (
          await one<{ r: Record<string, unknown> }>(c, 'SELECT refresh_all_materialized_views() AS r')
        ).r;
        await reader.query('COMMIT');
        expect(report).toMatchObject({
          campaign_statistics: 'success',
          user_activity_summary: 'success',
          system_performance_summary: 'success',
          views: {
            campaign_statistics: { concurrently: true },
            user_activity_summary: { concurrently: true },
            system_performance_summary: { concurrently: true },
          },
        });
      });

      const cs = await one(
        c,
        `SELECT total_domains::int, resolved_domains::int, validated_domains::int, total_dns_validations::int, total_http_validations::int,
                http_keywords_found::int, total_jobs::int, active_jobs::int, failed_jobs::int, max_domain_offset::int
           FROM campaign_statistics WHERE id = $1`,
        [camp.id],
      );
      expect(cs).toEqual({
        total_domains: 5,
        resolved_domains: 2,
        validated_domains: 1,
        total_dns_validations: 3,
        total_http_validations: 2,
        http_keywords_found: 1,
        total_jobs: 4,
        active_jobs: 2,
        failed_jobs: 1,
        max_domain_offset: 4,
      });
      // the same figures computed live, for every campaign (the empty one too)
      const mismatches = await c.query(
        `SELECT s.id FROM campaign_statistics s JOIN campaigns c ON c.id = s.id
          WHERE s.total_domains <> (SELECT count(*) FROM generated_domains g WHERE g.domain_generation_campaign_id = c.id)
             OR s.resolved_domains <> (SELECT count(*) FROM dns_validation_results d WHERE d.dns_campaign_id = c.id AND d.validation_status = 'resolved')
             OR s.validated_domains <> (SELECT count(*) FROM http_keyword_results h WHERE h.http_keyword_campaign_id = c.id AND h.validation_status = 'success')
             OR s.total_jobs <> (SELECT count(*) FROM campaign_jobs j WHERE j.campaign_id = c.id)`,
      );
      expect(mismatches.rowCount).toBe(0);
      expect(
        (await c.query('SELECT id FROM campaign_statistics ORDER BY id')).rows.map((r) => r.id).sort(),
      ).toEqual([camp.id, other.id].sort());

      // 1 campaign of 100 items, 3 sessions, 2 logins: upstream's join said 600 processed items
      const ua = await one(
        c,
        `SELECT total_campaigns::int, active_campaigns::int, active_sessions::int, recent_logins::int, total_processed_items::int
           FROM user_activity_summary WHERE user_id = $1`,
        [u],
      );
      expect(ua).toEqual({
        total_campaigns: 1,
        active_campaigns: 1,
        active_sessions: 3,
        recent_logins: 2,
        total_processed_items: 100,
      });

      const sp = await c.query(
        'SELECT summary_key, running_campaigns::int, active_sessions::int, pending_jobs::int, running_jobs::int FROM system_performance_summary',
      );
      expect(sp.rows).toEqual([
        { summary_key: 1, running_campaigns: 1, active_sessions: 3, pending_jobs: 1, running_jobs: 1 },
      ]);

      // the legacy signatures still work and refresh (legacy's per-campaign overload always failed)
      await c.query(`UPDATE campaigns SET processed_items = 150 WHERE id = $1`, [camp.id]);
      await c.query('SELECT refresh_campaign_statistics($1::uuid)', [camp.id]);
      await c.query('SELECT refresh_campaign_statistics()');
      expect(
        (await one(c, 'SELECT processed_items::int AS p FROM campaign_statistics WHERE id = $1', [camp.id]))
          .p,
      ).toBe(150);
    });
  });

  it('cleanup_old_audit_logs respects the retention, the exempt actions and high-risk security events', async () => {
    const url = await installed();
    await withClient(url, async (c) => {
      await c.query(
        `INSERT INTO audit_logs (timestamp, action) VALUES
           (now() - interval '40 days', 'campaign_created'), (now() - interval '40 days', 'user_created'),
           (now() - interval '40 days', 'role_assigned'), (now() - interval '10 days', 'campaign_created')`,
      );
      await c.query(
        `INSERT INTO auth.auth_audit_log (event_type, event_status, risk_score, created_at) VALUES
           ('login', 'success', 1, LOCALTIMESTAMP - interval '200 days'), ('login', 'failure', 9, LOCALTIMESTAMP - interval '200 days'),
           ('login', 'success', 1, LOCALTIMESTAMP - interval '100 days')`,
      );
      expect((await one(c, 'SELECT cleanup_old_audit_logs(30) AS n')).n).toBe(1);
      const left = await c.query(
        `SELECT action FROM audit_logs WHERE action <> 'audit_log_cleanup' ORDER BY action`,
      );
      expect(left.rows.map((r) => r.action)).toEqual(['campaign_created', 'role_assigned', 'user_created']);
      const auth = await c.query(
        'SELECT risk_score FROM auth.auth_audit_log ORDER BY risk_score, created_at',
      );
      expect(auth.rows.map((r) => r.risk_score)).toEqual([1, 9]);
      const logged = await one(
        c,
        `SELECT (details->>'deleted_audit_logs')::int AS n FROM audit_logs WHERE action = 'audit_log_cleanup'`,
      );
      expect(logged.n).toBe(1);
      await expect(c.query('SELECT cleanup_old_audit_logs(0)')).rejects.toThrow(/at least 1/);
    });
  });

  it('auth.get_user_permissions: through unexpired roles of an active, unlocked user', async () => {
    const url = await installed();
    await withClient(url, async (c) => {
      const analyst = await user(c, 'an@x.test', 'analyst');
      expect((await one(c, 'SELECT auth.get_user_permissions($1) AS p', [analyst])).p).toEqual([
        'campaigns:read',
        'personas:read',
        'proxies:read',
      ]);
      const expired = await user(c, 'ex@x.test', 'admin', '2000-01-01');
      expect((await one(c, 'SELECT auth.get_user_permissions($1) AS p', [expired])).p).toEqual([]);
      await c.query('UPDATE auth.users SET is_locked = true WHERE id = $1', [analyst]);
      expect((await one(c, 'SELECT auth.get_user_permissions($1) AS p', [analyst])).p).toEqual([]);
      const admin = await one(
        c,
        `SELECT auth.get_user_permissions('00000000-0000-0000-0000-000000000001') AS p`,
      );
      expect(admin.p).toHaveLength(17);
    });
  });

  it('auth.validate_session_security: true for a clean session, all mismatches flagged in one row', async () => {
    const url = await installed();
    await withClient(url, async (c) => {
      const u = await user(c, 's@x.test', 'user');
      await c.query(
        `INSERT INTO auth.sessions (id, user_id, ip_address, user_agent, screen_resolution, expires_at)
         VALUES ('sess', $1, '10.0.0.1', 'Mozilla/5.0', '1920x1080', LOCALTIMESTAMP + interval '1 hour')`,
        [u],
      );
      await c.query(`UPDATE auth.sessions SET last_activity_at = LOCALTIMESTAMP - interval '5 minutes'`);
      const ok = await c.query(
        `SELECT * FROM auth.validate_session_security('sess', '10.0.0.1', 'Mozilla/5.0', true, true)`,
      );
      expect(ok.rows).toEqual([
        {
          is_valid: true,
          user_id: u,
          security_flags: {},
          permissions: ['campaigns:read', 'personas:read'],
          roles: ['user'],
        },
      ]);
      // a valid check extends the session
      const touched = await one(
        c,
        `SELECT last_activity_at > LOCALTIMESTAMP - interval '1 minute' AS fresh FROM auth.sessions`,
      );
      expect(touched.fresh).toBe(true);

      const bad = await c.query(
        `SELECT * FROM auth.validate_session_security('sess', '10.9.9.9', 'curl/8', true, true)`,
      );
      expect(bad.rows).toEqual([
        {
          is_valid: false,
          user_id: u,
          security_flags: { ip_mismatch: true, user_agent_mismatch: true, fingerprint_mismatch: true },
          permissions: null,
          roles: null,
        },
      ]);
      // without the match requirements, a different client still trips the fingerprint
      const fp = await one(
        c,
        `SELECT security_flags FROM auth.validate_session_security('sess', '10.9.9.9', 'Mozilla/5.0')`,
      );
      expect(fp.security_flags).toEqual({ fingerprint_mismatch: true });

      await c.query(`UPDATE auth.sessions SET last_activity_at = LOCALTIMESTAMP - interval '2 hours'`);
      const idle = await one(
        c,
        `SELECT is_valid, security_flags FROM auth.validate_session_security('sess', '10.0.0.1', 'Mozilla/5.0')`,
      );
      expect(idle).toEqual({ is_valid: false, security_flags: { idle_timeout: true } });
      const still = await one(
        c,
        `SELECT last_activity_at < LOCALTIMESTAMP - interval '1 hour' AS idle FROM auth.sessions`,
      );
      expect(still.idle).toBe(true);

      const none = await one(
        c,
        `SELECT is_valid, security_flags FROM auth.validate_session_security('nope', NULL, NULL)`,
      );
      expect(none).toEqual({ is_valid: false, security_flags: { error: 'session_not_found' } });
    });
  });

  it('triggers: status transitions (same status and pausing allowed), status log, metadata and persona validation', async () => {
    const url = await installed();
    await withClient(url, async (c) => {
      const camp = await one<{ id: string }>(
        c,
        `INSERT INTO campaigns (name, status, total_items) VALUES ('t', 'running', 10) RETURNING id`,
      );
      await c.query(`UPDATE campaigns SET status = 'running', processed_items = 5 WHERE id = $1`, [camp.id]);
      await c.query(`UPDATE campaigns SET status = 'pausing' WHERE id = $1`, [camp.id]);
      await c.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [camp.id]);
      await expect(
        c.query(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, [camp.id]),
      ).rejects.toThrow(/Invalid status transition from paused to completed/);
      await expect(c.query(`UPDATE campaigns SET status = 'bogus' WHERE id = $1`, [camp.id])).rejects.toThrow(
        /campaigns_status_check|Invalid status transition/,
      );
      const log = await c.query(
        `SELECT details->>'old_status' AS o, details->>'new_status' AS n FROM audit_logs
          WHERE action = 'campaign_status_change' AND entity_id = $1 ORDER BY timestamp, details->>'new_status' DESC`,
        [camp.id],
      );
      expect(log.rows).toEqual([
        { o: 'running', n: 'pausing' },
        { o: 'pausing', n: 'paused' },
      ]);
      await expect(
        c.query(`INSERT INTO campaigns (name, status, metadata) VALUES ('m', 'pending', '[1]')`),
      ).rejects.toThrow(/metadata must be a JSON object/);
      await c.query(
        `INSERT INTO personas (name, persona_type, config_details) VALUES ('d', 'dns',
          '{"resolvers": ["1.1.1.1"], "useSystemResolvers": false, "queryTimeoutSeconds": 5, "maxDomainsPerRequest": 10}')`,
      );
      await expect(
        c.query(
          `INSERT INTO personas (name, persona_type, config_details) VALUES ('h', 'http', '{"userAgent": ""}')`,
        ),
      ).rejects.toThrow(/Invalid HTTP persona configuration/);
      expect(
        (await one(c, `SELECT validate_jsonb_structure('{"a":1,"b":2}', ARRAY['a'], ARRAY['b']) AS ok`)).ok,
      ).toBe(true);
      expect(
        (await one(c, `SELECT validate_jsonb_structure('{"a":1,"c":2}', ARRAY['a'], ARRAY['b']) AS ok`)).ok,
      ).toBe(false);
      expect((await one(c, `SELECT validate_jsonb_structure('{"b":2}', ARRAY['a']) AS ok`)).ok).toBe(false);
    });
  });
});

/** The parameter types PostgreSQL infers for each service statement on one database. */
async function parameterTypes(url: string): Promise<Record<string, string[]>> {
  return withClient(url, async (c) => {
    const out: Record<string, string[]> = {};
    for (const s of APP_STATEMENTS) {
      try {
        await c.query(`PREPARE dfc_check AS ${s.text}`);
      } catch (e) {
        throw new Error(`${s.name} does not prepare: ${(e as Error).message}`);
      }
      const r = await one<{ t: string[] }>(
        c,
        `SELECT parameter_types::text[] AS t FROM pg_prepared_statements WHERE name = 'dfc_check'`,
      );
      out[s.name] = r.t;
      await c.query('DEALLOCATE dfc_check');
    }
    return out;
  });
}

/** A value of the given type that satisfies v2's CHECKs (foreign keys are off for the run: replica role). */
function sample(type: string, statement: string, index: number): unknown {
  if (type === 'uuid') return crypto.randomUUID();
  if (type === 'inet') return '10.1.2.3';
  if (type === 'jsonb') return '{}';
  if (type === 'boolean') return true;
  if (type.endsWith('[]')) return '{}';
  if (type.startsWith('timestamp')) return new Date().toISOString();
  if (['integer', 'bigint', 'double precision', 'numeric', 'smallint'].includes(type)) return 1;
  if (statement === 'campaign_insert' && index === 2) return 'domain_generation';
  if (statement === 'domains_insert_batch') return `d${index}.example`;
  // keyword_rules.rule_type is CHECKed to {string, regex}
  if (statement === 'keyword_rule_insert' && index === 3) return 'string';
  return 'pending';
}

describe('the simulated DomainFlow service on v2', () => {
  it('every statement prepares on legacy and on v2 with the same parameters; only corrected types differ', async () => {
    const [legacy, v2] = await Promise.all([freshDatabase('legacy'), installed()]);
    const [lt, vt] = await Promise.all([parameterTypes(legacy), parameterTypes(v2)]);
    expect(APP_STATEMENTS.length).toBeGreaterThan(30);
    const changed: string[] = [];
    for (const s of APP_STATEMENTS) {
      const a = lt[s.name] as string[];
      const b = vt[s.name] as string[];
      expect(b.length, s.name).toBe(a.length);
      a.forEach((t, i) => {
        if (t !== b[i]) changed.push(`${s.name} $${i + 1} ${t}->${b[i]}`);
      });
    }
    // the only inference changes are the corrected columns: user ids text -> uuid, client_ip text -> inet
    for (const x of changed) expect(x).toMatch(/ text->(uuid|inet)$/);
    expect(changed).toEqual(
      expect.arrayContaining([
        'campaign_insert $5 text->uuid',
        'audit_insert $2 text->uuid',
        'audit_insert $7 text->inet',
      ]),
    );
  });

  it('every statement runs unchanged on v2 with sample parameters', async () => {
    const url = await installed();
    const types = await parameterTypes(url);
    await withClient(url, async (c) => {
      await c.query('BEGIN');
      // replica role: foreign keys and triggers off, CHECKs and types still enforced
      await c.query(`SET LOCAL session_replication_role = replica`);
      const failures: string[] = [];
      for (const s of APP_STATEMENTS) {
        const values = (types[s.name] as string[]).map((t, i) => sample(t, s.name, i));
        await c.query('SAVEPOINT s');
        try {
          await c.query(s.text, values);
          await c.query('RELEASE SAVEPOINT s');
        } catch (e) {
          failures.push(`${s.name}: ${(e as Error).message}`);
          await c.query('ROLLBACK TO SAVEPOINT s');
        }
      }
      await c.query('ROLLBACK');
      expect(failures).toEqual([]);
    });
  });
});

describe('conversion issues', () => {
  it('every predicate runs on the legacy schema, and flags exactly the rows that would not convert', async () => {
    const legacy = await freshDatabase('legacy');
    await withClient(legacy, async (c) => {
      for (const t of V2.tables)
        for (const issue of t.conversionIssues) {
          const from = `${quoteIdent(t.legacy.schema)}.${quoteIdent(t.legacy.name)} s`;
          await c.query(`SELECT count(*) FROM ${from} WHERE ${issue.predicate}`).catch((e) => {
            throw new Error(`${issue.id}: ${(e as Error).message}`);
          });
        }
      const audit = auditLogs.conversionIssues;
      const uuidIssue = audit.find((i) => i.id === 'audit_logs.user_id.not_uuid');
      const inetIssue = audit.find((i) => i.id === 'audit_logs.client_ip.not_inet');
      // candidates PostgreSQL does and does not accept; a predicate that lets a value through must mean the cast works
      const uuids = [
        'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        '{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}',
        'a0eebc999c0b4ef8bb6d6bb9bd380a11',
        'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11',
        'system',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
        ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '',
      ];
      const ips = [
        '10.0.0.1',
        '192.168.1.0/24',
        '::1',
        '2001:DB8::1',
        'fe80::1/64',
        '::',
        'unknown',
        '300.1.1.1',
        '1.2.3',
        '',
      ];
      for (const [issue, values, type] of [
        [uuidIssue, uuids, 'uuid'],
        [inetIssue, ips, 'inet'],
      ] as const) {
        const column = type === 'uuid' ? 'user_id' : 'client_ip';
        for (const v of values) {
          const flagged = (
            await one<{ f: boolean }>(
              c,
              `SELECT (${issue?.predicate}) AS f FROM (SELECT $1::text AS ${column}) s`,
              [v],
            )
          ).f;
          const casts = await c.query(`SELECT $1::text::${type}`, [v]).then(
            () => true,
            () => false,
          );
          expect({ v, flagged }).toEqual({ v, flagged: !casts });
        }
      }
    });
  });
});
