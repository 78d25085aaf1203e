/** auth.* rows: users with roles, sessions, reset tokens, rate limits, the auth audit trail, MFA codes. */
import { array, bool, json, NULL, num, row, text, ts } from './copy-text.js';
import { ADMIN_USER_ID, type SeedPlan } from './plan.js';
import { Rng } from './prng.js';
import type { SeededIds, TableLoad } from './table.js';
import { SCREEN_RESOLUTIONS, USER_AGENTS } from './vocab.js';

const DAY = 86_400_000;
const BCRYPT = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export const randomIpv4 = (rng: Rng) =>
  `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
export const bcryptHash = (rng: Rng) => `$2a$12$${rng.chars(BCRYPT, 53)}`;

/** A custom role and two permissions on top of the 5 roles and 17 permissions 000002 seeds. */
function extraAuth(plan: SeedPlan) {
  const rng = new Rng(plan.seed, 'auth.extra');
  return {
    roleId: rng.uuid(),
    permissions: [
      { id: rng.uuid(), name: 'keyword_sets:read', display: 'Read Keyword Sets', action: 'read' },
      { id: rng.uuid(), name: 'keyword_sets:update', display: 'Update Keyword Sets', action: 'update' },
    ],
    createdAt: plan.asOf - 300 * DAY,
  };
}

export function authTables(plan: SeedPlan, seeded: SeededIds): TableLoad[] {
  const { asOf, users } = plan;
  const extra = extraAuth(plan);
  const active = (u: (typeof users)[number]) => u.i % 20 !== 7; // 5% deactivated accounts

  const usersT: TableLoad = {
    schema: 'auth',
    name: 'users',
    columns: [
      'id',
      'email',
      'email_verified',
      'email_verification_token',
      'email_verification_expires_at',
      'password_hash',
      'password_pepper_version',
      'first_name',
      'last_name',
      'avatar_url',
      'is_active',
      'is_locked',
      'failed_login_attempts',
      'locked_until',
      'last_login_at',
      'last_login_ip',
      'password_changed_at',
      'must_change_password',
      'created_at',
      'updated_at',
      'mfa_enabled',
      'mfa_secret_encrypted',
      'mfa_recovery_codes_encrypted',
      'mfa_enforced_at',
      'mfa_setup_completed_at',
      'mfa_last_used_at',
    ],
    rows: users.length,
    *lines() {
      const rng = new Rng(plan.seed, 'auth.users');
      for (const u of users) {
        const verified = rng.chance(0.9);
        const locked = u.i % 25 === 3;
        const lastLogin = asOf - rng.int(0, 30 * DAY);
        const mfaAt = u.mfa ? u.createdAt + rng.int(1, 60) * DAY : null;
        yield row([
          u.id,
          text(u.email),
          bool(verified),
          verified ? NULL : rng.hex(32),
          verified ? NULL : ts(asOf + 2 * DAY),
          bcryptHash(rng),
          num(rng.chance(0.8) ? 2 : 1),
          text(u.first),
          text(u.last),
          rng.chance(0.3) ? `https://avatars.example.com/${u.id}.png` : NULL,
          bool(active(u)),
          bool(locked),
          num(locked ? 5 : rng.int(0, 2)),
          locked ? ts(asOf + rng.int(1, 24) * 3_600_000) : NULL,
          ts(lastLogin),
          randomIpv4(rng),
          ts(u.createdAt + rng.int(0, 100) * DAY),
          bool(rng.chance(0.05)),
          ts(u.createdAt),
          ts(lastLogin),
          bool(u.mfa),
          u.mfa ? `v1:${rng.hex(48)}` : NULL,
          u.mfa ? `v1:${rng.hex(96)}` : NULL,
          mfaAt !== null && rng.chance(0.5) ? ts(mfaAt) : NULL,
          ts(mfaAt),
          u.mfa ? ts(asOf - rng.int(0, 9 * DAY)) : NULL,
        ]);
      }
    },
  };

  const permissionsT: TableLoad = {
    schema: 'auth',
    name: 'permissions',
    columns: ['id', 'name', 'display_name', 'description', 'resource', 'action', 'created_at'],
    rows: extra.permissions.length,
    *lines() {
      for (const p of extra.permissions)
        yield row([
          p.id,
          p.name,
          p.display,
          `Allows ${p.action} on keyword sets`,
          'keyword_sets',
          p.action,
          ts(extra.createdAt),
        ]);
    },
  };

  const rolesT: TableLoad = {
    schema: 'auth',
    name: 'roles',
    columns: ['id', 'name', 'display_name', 'description', 'is_system_role', 'created_at', 'updated_at'],
    rows: 1,
    *lines() {
      yield row([
        extra.roleId,
        'support',
        'Support Engineer',
        'Read-only access for customer support',
        'f',
        ts(extra.createdAt),
        ts(extra.createdAt),
      ]);
    },
  };

  const perm = (name: string) => {
    const id = seeded.permissions.get(name);
    if (!id) throw new Error(`permission ${name} missing: the database is not at the legacy seed state`);
    return id;
  };
  const grants: [string, string][] = [
    [extra.roleId, perm('campaigns:read')],
    [extra.roleId, perm('personas:read')],
    [extra.roleId, perm('proxies:read')],
    [extra.roleId, perm('system:audit')],
    [extra.roleId, extra.permissions[0]!.id],
  ];
  for (const role of ['super_admin', 'admin', 'campaign_manager']) {
    const rid = seeded.roles.get(role);
    if (rid) for (const p of extra.permissions) grants.push([rid, p.id]);
  }
  const rolePermissionsT: TableLoad = {
    schema: 'auth',
    name: 'role_permissions',
    columns: ['role_id', 'permission_id'],
    rows: grants.length,
    *lines() {
      for (const [r, p] of grants) yield row([r, p]);
    },
  };

  // Every user gets one role; some a second, time-limited one.
  const roleNames = [
    'admin',
    'campaign_manager',
    'campaign_manager',
    'analyst',
    'user',
    'user',
    'user',
    'support',
  ];
  const assignments: { user: string; role: string; at: number; expires: number | null }[] = [];
  {
    const rng = new Rng(plan.seed, 'auth.user_roles');
    for (const u of users) {
      const name = rng.pick(roleNames);
      const role = name === 'support' ? extra.roleId : seeded.roles.get(name);
      if (!role) throw new Error(`role ${name} missing: the database is not at the legacy seed state`);
      assignments.push({ user: u.id, role, at: u.createdAt + 60_000, expires: null });
      const second = seeded.roles.get('analyst');
      if (name !== 'analyst' && second && rng.chance(0.15))
        assignments.push({
          user: u.id,
          role: second,
          at: asOf - rng.int(1, 30) * DAY,
          expires: asOf + rng.int(1, 60) * DAY,
        });
    }
  }
  const userRolesT: TableLoad = {
    schema: 'auth',
    name: 'user_roles',
    columns: ['user_id', 'role_id', 'assigned_by', 'assigned_at', 'expires_at'],
    rows: assignments.length,
    *lines() {
      for (const a of assignments) yield row([a.user, a.role, ADMIN_USER_ID, ts(a.at), ts(a.expires)]);
    },
  };

  // Sessions: 2 live and 4 expired or logged-out per user. The BEFORE trigger computes the fingerprints.
  const sessionsT: TableLoad = {
    schema: 'auth',
    name: 'sessions',
    columns: [
      'id',
      'user_id',
      'ip_address',
      'user_agent',
      'is_active',
      'expires_at',
      'last_activity_at',
      'created_at',
      'screen_resolution',
    ],
    rows: users.length * 6,
    *lines() {
      const rng = new Rng(plan.seed, 'auth.sessions');
      for (const u of users) {
        for (let k = 0; k < 6; k++) {
          const live = k < 2 && active(u);
          const created = live ? asOf - rng.int(1, 20 * 3_600_000) : asOf - rng.int(2, 90) * DAY;
          const expires = live
            ? asOf + rng.int(1, 7 * 24) * 3_600_000
            : created + rng.int(1, 7 * 24) * 3_600_000;
          yield row([
            rng.hex(64),
            u.id,
            randomIpv4(rng),
            text(rng.pick(USER_AGENTS)),
            bool(live || rng.chance(0.3)),
            ts(expires),
            ts(live ? asOf - rng.int(0, 1_800_000) : created + rng.int(0, 3_600_000)),
            ts(created),
            rng.chance(0.8) ? rng.pick(SCREEN_RESOLUTIONS) : NULL,
          ]);
        }
      }
    },
  };

  const resetUsers = users.filter((u) => u.i % 2 === 0);
  const resetT: TableLoad = {
    schema: 'auth',
    name: 'password_reset_tokens',
    columns: [
      'id',
      'user_id',
      'token_hash',
      'expires_at',
      'used_at',
      'ip_address',
      'user_agent',
      'created_at',
    ],
    rows: resetUsers.length,
    *lines() {
      const rng = new Rng(plan.seed, 'auth.password_reset_tokens');
      for (const u of resetUsers) {
        const created = asOf - rng.int(0, 120) * DAY - rng.int(0, DAY);
        const used = rng.chance(0.6);
        yield row([
          rng.uuid(),
          u.id,
          rng.hex(32),
          ts(created + 3_600_000),
          used ? ts(created + rng.int(60, 3000) * 1000) : NULL,
          randomIpv4(rng),
          text(rng.pick(USER_AGENTS)),
          ts(created),
        ]);
      }
    },
  };

  const rateLimitCount = users.length + 20;
  const rateT: TableLoad = {
    schema: 'auth',
    name: 'rate_limits',
    columns: ['id', 'identifier', 'action', 'attempts', 'window_start', 'blocked_until'],
    rows: rateLimitCount,
    *lines() {
      const rng = new Rng(plan.seed, 'auth.rate_limits');
      let id = seeded.nextRateLimitId;
      for (const u of users) {
        const n = rng.int(1, 6);
        yield row([
          num(id++),
          text(u.email),
          'login',
          num(n),
          ts(asOf - rng.int(0, 900_000)),
          n >= 5 ? ts(asOf + 900_000) : NULL,
        ]);
      }
      // Anonymous IP-keyed limits; the index keeps (identifier, action) unique.
      for (let k = 0; k < 20; k++) {
        const ip = `198.51.100.${k + 1}`;
        const n = rng.int(1, 40);
        const action = k % 2 === 0 ? 'login' : 'password_reset';
        yield row([
          num(id++),
          ip,
          action,
          num(n),
          ts(asOf - rng.int(0, 900_000)),
          n >= 20 ? ts(asOf + 3_600_000) : NULL,
        ]);
      }
    },
  };

  const auditPerUser = 25;
  const authAuditT: TableLoad = {
    schema: 'auth',
    name: 'auth_audit_log',
    columns: [
      'id',
      'user_id',
      'session_id',
      'event_type',
      'event_status',
      'ip_address',
      'user_agent',
      'details',
      'risk_score',
      'created_at',
      'session_fingerprint',
      'security_flags',
    ],
    rows: users.length * auditPerUser,
    *lines() {
      const rng = new Rng(plan.seed, 'auth.auth_audit_log');
      let id = seeded.nextAuthAuditId;
      const events = [
        ['login', 50],
        ['logout', 20],
        ['login_failed', 15],
        ['session_refresh', 8],
        ['password_change', 3],
        ['mfa_verify', 4],
      ] as const;
      for (const u of users) {
        for (let k = 0; k < auditPerUser; k++) {
          const ev = rng.weighted(events);
          const failed = ev === 'login_failed';
          const risk = failed ? rng.int(30, 90) : rng.int(0, 20);
          const flags = risk > 60 ? { ip_mismatch: true, new_device: rng.chance(0.5) } : {};
          // Failed logins for an unknown address carry no user.
          const anon = failed && rng.chance(0.3);
          yield row([
            num(id++),
            anon ? NULL : u.id,
            failed ? NULL : rng.hex(64),
            ev,
            failed ? 'failure' : 'success',
            randomIpv4(rng),
            text(rng.pick(USER_AGENTS)),
            json(failed ? { reason: 'invalid_credentials', email: u.email } : { method: 'password' }),
            num(risk),
            ts(asOf - rng.int(0, 180 * DAY)),
            failed ? NULL : rng.hex(32),
            json(flags),
          ]);
        }
      }
    },
  };

  const mfaUsers = users.filter((u) => u.mfa);
  const backupT: TableLoad = {
    schema: 'public',
    name: 'mfa_backup_codes',
    columns: ['id', 'user_id', 'code_hash', 'created_at', 'used_at', 'used_ip_address', 'is_active'],
    rows: mfaUsers.length * 10,
    *lines() {
      const rng = new Rng(plan.seed, 'mfa_backup_codes');
      for (const u of mfaUsers) {
        const created = u.createdAt + rng.int(1, 60) * DAY;
        for (let k = 0; k < 10; k++) {
          const used = rng.chance(0.15);
          yield row([
            rng.uuid(),
            u.id,
            bcryptHash(rng),
            ts(created),
            used ? ts(created + rng.int(1, 90) * DAY) : NULL,
            used ? randomIpv4(rng) : NULL,
            bool(!used),
          ]);
        }
      }
    },
  };

  const policiesT: TableLoad = {
    schema: 'public',
    name: 'mfa_policies',
    columns: [
      'id',
      'policy_name',
      'description',
      'require_mfa_for_admins',
      'require_mfa_for_all_users',
      'allowed_mfa_types',
      'grace_period_days',
      'min_backup_codes',
      'backup_code_regeneration_days',
      'is_active',
      'created_at',
      'updated_at',
      'created_by',
      'updated_by',
    ],
    rows: 2,
    *lines() {
      const rng = new Rng(plan.seed, 'mfa_policies');
      const at = asOf - 200 * DAY;
      yield row([
        rng.uuid(),
        'strict',
        'MFA for every user, no grace period',
        't',
        't',
        array(['totp', 'backup_code']),
        '0',
        '10',
        '180',
        'f',
        ts(at),
        ts(at),
        ADMIN_USER_ID,
        NULL,
      ]);
      const by = users[0]!.id;
      yield row([
        rng.uuid(),
        'contractors',
        'Contractor accounts: TOTP only',
        't',
        'f',
        array(['totp']),
        '3',
        '8',
        '90',
        't',
        ts(at),
        ts(at + DAY),
        by,
        by,
      ]);
    },
  };

  // MFA devices exist in our history (erratum 1 repairs 000010); one primary TOTP device per MFA
  // user, some with a second WebAuthn key, and their verification attempts.
  const devices: { id: string; user: string; type: 'totp' | 'webauthn'; at: number }[] = [];
  {
    const rng = new Rng(plan.seed, 'mfa_devices.plan');
    for (const u of mfaUsers) {
      const at = u.createdAt + rng.int(1, 60) * DAY;
      devices.push({ id: rng.uuid(), user: u.id, type: 'totp', at });
      if (rng.chance(0.3))
        devices.push({ id: rng.uuid(), user: u.id, type: 'webauthn', at: at + rng.int(1, 30) * DAY });
    }
  }
  const devicesT: TableLoad = {
    schema: 'public',
    name: 'mfa_devices',
    optional: true,
    columns: [
      'id',
      'user_id',
      'device_name',
      'device_type',
      'device_identifier',
      'secret_encrypted',
      'public_key_credential',
      'is_primary',
      'is_active',
      'verified_at',
      'last_used_at',
      'created_at',
      'updated_at',
    ],
    rows: devices.length,
    *lines() {
      const rng = new Rng(plan.seed, 'mfa_devices');
      for (const d of devices) {
        const totp = d.type === 'totp';
        yield row([
          d.id,
          d.user,
          totp ? 'Authenticator app' : 'YubiKey 5C',
          d.type,
          NULL,
          totp ? `v1:${rng.hex(32)}` : NULL,
          totp ? NULL : rng.hex(64),
          bool(totp),
          't',
          ts(d.at + 60_000),
          ts(asOf - rng.int(0, 20) * DAY),
          ts(d.at),
          ts(d.at),
        ]);
      }
    },
  };
  const attemptsPerDevice = 8;
  const attemptsT: TableLoad = {
    schema: 'public',
    name: 'mfa_verification_attempts',
    optional: true,
    columns: [
      'id',
      'user_id',
      'device_id',
      'attempt_type',
      'success',
      'failure_reason',
      'ip_address',
      'user_agent',
      'attempted_at',
    ],
    rows: devices.length * attemptsPerDevice,
    *lines() {
      const rng = new Rng(plan.seed, 'mfa_verification_attempts');
      for (const d of devices) {
        for (let k = 0; k < attemptsPerDevice; k++) {
          const ok = rng.chance(0.85);
          yield row([
            rng.uuid(),
            d.user,
            d.id,
            d.type,
            bool(ok),
            ok ? NULL : 'invalid code',
            randomIpv4(rng),
            text(rng.pick(USER_AGENTS)),
            ts(d.at + rng.int(0, Math.max(1, asOf - d.at))),
          ]);
        }
      }
    },
  };

  return [
    usersT,
    permissionsT,
    rolesT,
    rolePermissionsT,
    userRolesT,
    sessionsT,
    resetT,
    rateT,
    authAuditT,
    backupT,
    policiesT,
    devicesT,
    attemptsT,
  ];
}
