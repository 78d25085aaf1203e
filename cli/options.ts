/**
 * Number options, validated in one place. commander calls a parser while parsing argv, outside any
 * command's error handling, so a parser that threw would print a stack trace (and ignore --json).
 * These parsers never throw: a bad value becomes an `InvalidOption` marker, and `checkOptions`
 * (called first thing by every action, see run.ts) turns it into one DFC_CONFIG error.
 *
 * @example .option('--batch-size <n>', 'rows per batch', whole('--batch-size', { min: 1 }), 50000)
 */
import { DfcError } from '../src/index.js';

export interface NumberRule {
  /** smallest accepted value (inclusive, or exclusive with `aboveMin`) */
  min: number;
  aboveMin?: boolean;
  max?: number;
  /** whole numbers only (default true) */
  integer?: boolean;
}

/** What a parser returns for a value it rejects; found and reported by checkOptions. */
export class InvalidOption {
  constructor(
    readonly flag: string,
    readonly raw: string,
    readonly rule: NumberRule,
  ) {}

  toError(): DfcError {
    const { min, max, aboveMin, integer = true } = this.rule;
    const kind = integer ? 'a whole number' : 'a number';
    const range = max === undefined ? `${aboveMin ? '>' : '≥'} ${min}` : `between ${min} and ${max}`;
    const example = aboveMin ? min + 1 : Math.max(min, 1);
    return new DfcError('DFC_CONFIG', `${this.flag} must be ${kind} ${range}, got "${this.raw}"`, {
      fix: `pass ${kind} ${range}, e.g. ${this.flag} ${example}`,
    });
  }
}

const INTEGER = /^[0-9]+$/;
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

/** Parser for a number option; see the module comment. */
export function numberArg(flag: string, rule: NumberRule): (raw: string) => number {
  return (raw) => {
    const text = raw.trim();
    const n = Number(text);
    const integer = rule.integer !== false;
    const ok =
      (integer ? INTEGER : DECIMAL).test(text) &&
      Number.isFinite(n) &&
      (!integer || Number.isSafeInteger(n)) &&
      (rule.aboveMin ? n > rule.min : n >= rule.min) &&
      (rule.max === undefined || n <= rule.max);
    return ok ? n : (new InvalidOption(flag, raw, rule) as unknown as number);
  };
}

/** Whole-number option with a minimum (and optional maximum). */
export const whole = (flag: string, rule: Omit<NumberRule, 'integer'>) =>
  numberArg(flag, { ...rule, integer: true });

/** Positive decimal option (rates, durations in seconds). */
export const positive = (flag: string) => numberArg(flag, { min: 0, aboveMin: true, integer: false });

/** Throw the first rejected number option as DFC_CONFIG (nothing has run yet). */
export function checkOptions(opts: Record<string, unknown>): void {
  for (const v of Object.values(opts)) if (v instanceof InvalidOption) throw v.toError();
}
