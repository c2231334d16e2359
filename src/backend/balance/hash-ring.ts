// A consistent-hash ring: each server owns weight × VNODES points (hash of "name#i"), a key
// belongs to the first point at or after its hash. Adding or removing one server of N moves
// only about 1/N of the keys, and a server that is down only hands its own keys to the next
// points on the ring (everyone else's keys stay put). Points depend on the server's name, so
// a server keeps its keys across reloads while its name stays.
import type { ServerRuntime } from '../server-runtime.js';
import type { Exclude } from './tiers.js';

/** Points per unit of weight: enough for an even spread (±10%) at small N. */
const VNODES = 100;
/** Cap on points per ring (big weights are scaled down to it). */
const MAX_POINTS = 100_000;

/** 32-bit FNV-1a of s[0, end), finished with murmur3's fmix32 for an even spread. */
export function hash32(s: string, end = s.length): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HashRing {
  readonly servers: readonly ServerRuntime[];
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(servers: readonly ServerRuntime[]) {
    this.servers = servers;
    const weightSum = servers.reduce((sum, s) => sum + Math.max(0, s.config.weight), 0);
    const perUnit = Math.max(1, Math.min(VNODES, Math.floor(MAX_POINTS / Math.max(1, weightSum))));
    const entries: [hash: number, owner: number][] = [];
    servers.forEach((s, owner) => {
      const n = Math.max(0, s.config.weight) * perUnit;
      for (let i = 0; i < n; i++) entries.push([hash32(`${s.config.name}#${i}`), owner]);
    });
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = Uint32Array.from(entries, (e) => e[1]);
  }

  /** Index of the first point at or after `hash`, wrapping to 0. */
  private start(hash: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }

  /** The first available, non-excluded server on the walk from `hash`; no allocation. */
  pick(hash: number, exclude: Exclude): ServerRuntime | undefined {
    // Check first that the walk can end early, so a full or down ring is not walked whole.
    let any = false;
    for (const s of this.servers) {
      if (s.available() && !exclude?.has(s)) {
        any = true;
        break;
      }
    }
    if (!any) return undefined;
    const n = this.points.length;
    for (let k = 0, i = this.start(hash); k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const s = this.servers[this.owners[i]!]!;
      if (s.available() && !exclude?.has(s)) return s;
    }
    return undefined;
  }

  /** Usable, non-excluded servers other than `skip`, in ring order from `hash`, each once. */
  *walk(hash: number, exclude: Exclude, skip: ServerRuntime | undefined): Generator<ServerRuntime> {
    const seen = new Set<ServerRuntime>();
    if (skip) seen.add(skip);
    const n = this.points.length;
    for (let k = 0, i = this.start(hash); k < n && seen.size < this.servers.length; k++, i = i + 1 === n ? 0 : i + 1) {
      const s = this.servers[this.owners[i]!]!;
      if (seen.has(s)) continue;
      seen.add(s);
      if (s.usable() && !exclude?.has(s)) yield s;
    }
  }
}
