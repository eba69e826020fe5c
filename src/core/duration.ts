// Go-style durations (`10s`, `1m30s`, `250ms`), as Consul's JSON and query strings carry them.
import { ValidationError } from './errors.js';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a Go duration; a ValidationError naming `field` when it is not one. */
export function parseDuration(field: string, raw: string): number {
  if (raw === '0') return 0;
  const parts = [...raw.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== raw) {
    throw ValidationError.of(field, `"${raw}" is not a duration (for example 10s, 1m, 250ms)`);
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] as string] as number), 0));
}

/** The shortest Go-style spelling of a whole number of milliseconds (`72h`, `1h30m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** A whole number of nanoseconds (how Go's JSON encodes a time.Duration) as a Go duration string (`90m` -> `1h30m`). */
export function nanosToDuration(ns: number): string {
  if (ns === 0) return '0s';
  let rest = BigInt(ns);
  let out = '';
  for (const [unit, size] of [['h', 3_600_000_000_000n], ['m', 60_000_000_000n], ['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1000n], ['ns', 1n]] as const) {
    const n = rest / size;
    if (n > 0n) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
