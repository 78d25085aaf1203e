/** The privilege matrix comparison: real differences count, a role dropped by someone else meanwhile does not. */
import { describe, expect, it } from 'vitest';
import { diffMatrices, type PrivilegeMatrix } from '../../src/engine/privileges.js';

const matrix = (present: string[], facts: string[]): PrivilegeMatrix => ({
  roles: ['app', 'gone'],
  present,
  objects: new Set(['rel public.campaigns', 'fn public.f()']),
  facts: new Set(facts),
});

describe('diffMatrices', () => {
  it('reports a privilege lost by a role that still exists', () => {
    const before = matrix(['app'], ['rel public.campaigns | app SELECT', 'fn public.f() | app EXECUTE']);
    const after = matrix(['app'], ['fn public.f() | app EXECUTE']);
    expect(diffMatrices(before, after)).toEqual([
      { object: 'rel public.campaigns', fact: 'app SELECT', before: true, after: false },
    ]);
  });

  it('leaves out the facts of a role dropped between the two matrices, and only those', () => {
    const before = matrix(
      ['app', 'gone'],
      ['fn public.f() | gone EXECUTE', 'fn public.f() | app EXECUTE', 'rel public.campaigns | app SELECT'],
    );
    const after = matrix(['app'], ['fn public.f() | app EXECUTE']);
    expect(diffMatrices(before, after)).toEqual([
      { object: 'rel public.campaigns', fact: 'app SELECT', before: true, after: false },
    ]);
  });
});
