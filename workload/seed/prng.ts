/**
 * Deterministic randomness for the seed. Two kinds, both pure functions of the seed:
 *
 * - {@link Rng}: a sequential stream (sfc32) per table, so adding a column to one table's generator
 *   does not shift the values of any other table.
 * - {@link IdSpace}: counter-based UUIDs, `uuid(i)` for row i of a table, so a child table can name
 *   its parent's id (e.g. the generated domain behind a DNS result) without keeping 1M ids in memory.
 *   Within one IdSpace ids are unique by construction (a 32-bit bijection of i feeds the first word).
 */

/** A 32-bit avalanche bijection (Chris Wellons' lowbias32). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a of a string folded through mix32: stable stream keys from names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(w: number): string {
  return HEX[w >>> 24]! + HEX[(w >>> 16) & 255]! + HEX[(w >>> 8) & 255]! + HEX[w & 255]!;
}

/** Format four 32-bit words as an RFC 4122 version-4 UUID (bits 48-51 = 4, variant 10). */
export function uuidFromWords(a: number, b: number, c: number, d: number): string {
  const b2 = ((b & 0xffff0fff) | 0x00004000) >>> 0;
  const c2 = ((c & 0x3fffffff) | 0x80000000) >>> 0;
  const bh = hex32(b2);
  const ch = hex32(c2);
  return `${hex32(a)}-${bh.slice(0, 4)}-${bh.slice(4)}-${ch.slice(0, 4)}-${ch.slice(4)}${hex32(d)}`;
}

/** Sequential generator: sfc32 seeded from (seed, stream name). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number, stream: string) {
    const s = hashString(stream);
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(s);
    this.c = mix32((seed + s) >>> 0);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)]!;
  }

  /** Pick by weight: `weighted([['a', 3], ['b', 1]])` returns 'a' three times as often. */
  weighted<T>(xs: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of xs) total += w;
    let r = this.float() * total;
    for (const [v, w] of xs) {
      r -= w;
      if (r < 0) return v;
    }
    return xs[xs.length - 1]![0];
  }

  /** k distinct elements, in random order. */
  sample<T>(xs: readonly T[], k: number): T[] {
    const copy = [...xs];
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.float() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }

  uuid(): string {
    return uuidFromWords(this.u32(), this.u32(), this.u32(), this.u32());
  }

  /** n random bytes as lower-case hex. */
  hex(nBytes: number): string {
    let s = '';
    for (let i = 0; i < nBytes; i++) s += HEX[this.u32() & 255]!;
    return s;
  }

  /** n characters from an alphabet. */
  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.float() * alphabet.length)]!;
    return s;
  }
}

/** Counter-based UUIDs for the rows of one table: `uuid(i)` is a pure function of (seed, name, i). */
export class IdSpace {
  private readonly base: number;

  constructor(seed: number, name: string) {
    this.base = mix32((seed ^ hashString(name)) >>> 0);
  }

  uuid(i: number): string {
    const x = mix32((this.base ^ i) >>> 0);
    return uuidFromWords(
      mix32((x + 0x68e31da4) >>> 0),
      mix32((x + 0xb5297a4d) >>> 0),
      mix32((x + 0x1b56c4e9) >>> 0),
      mix32((x ^ 0x2545f491) >>> 0),
    );
  }
}
