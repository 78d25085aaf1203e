/** The session policy: every timeout is a positive bound; capabilities by server version. */
import { describe, expect, it } from 'vitest';
import { parseFaults } from '../../src/core/faults.js';
import { capabilitiesOf, DEFAULT_SESSION_POLICY, sessionPolicy } from '../../src/db/session.js';

describe('session policy', () => {
  it('takes positive numbers (strings from flags too) and refuses 0, negatives and non-numbers as DFC_CONFIG', () => {
    expect(sessionPolicy({ lockTimeoutMs: '750' }).lockTimeoutMs).toBe(750);
    expect(sessionPolicy({}).statementTimeoutMs).toBe(DEFAULT_SESSION_POLICY.statementTimeoutMs);
    for (const bad of [0, -1, 'abc', '', Number.NaN, Number.POSITIVE_INFINITY, null])
      expect(() => sessionPolicy({ statementTimeoutMs: bad })).toThrow(
        expect.objectContaining({ code: 'DFC_CONFIG' }),
      );
  });
  it('knows what each supported version can do', () => {
    expect(capabilitiesOf(120022)).toMatchObject({
      major: 12,
      blockRangeBackfill: false,
      dropDatabaseForce: false,
    });
    expect(capabilitiesOf(130000)).toMatchObject({
      major: 13,
      blockRangeBackfill: false,
      dropDatabaseForce: true,
    });
    expect(capabilitiesOf(180001)).toMatchObject({
      major: 18,
      blockRangeBackfill: true,
      dropDatabaseForce: true,
    });
  });
  it('DFC_FAULT names one fault or is a DFC_CONFIG error', () => {
    expect(parseFaults(undefined)).toEqual({});
    expect(parseFaults('hold-after:shadow:create')).toEqual({ holdAfter: 'shadow:create' });
    expect(parseFaults('crash-before:indexes:public.campaigns')).toEqual({
      crashBefore: 'indexes:public.campaigns',
    });
    expect(parseFaults('fail-validation')).toEqual({ failValidation: true });
    expect(() => parseFaults('explode')).toThrow(expect.objectContaining({ code: 'DFC_CONFIG' }));
  });
});
