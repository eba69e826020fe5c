// A property fuzzer over the HTTP API: deterministic (seeded) malformed and hostile requests
// against every write endpoint and config kind, with hostile query strings, sizes, nesting and
// encodings. Each case is sent over a raw connection (so paths and bytes go as generated) and
// checked: no 5xx, and a refused input stores nothing (the store's index is unchanged). Used by
// a bounded test in `npm test` and by bench/fuzz.bench.ts for a large run.
import { RawConnection } from './raw-http.js';

/** mulberry32: a small deterministic PRNG, so a failure replays from its seed and case number. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzCase {
  readonly cls: string;
  readonly method: string;
  readonly path: string;
  readonly body: Buffer | undefined;
}

const KINDS = ['proxy-defaults', 'service-defaults', 'service-intentions', 'service-router', 'service-splitter', 'service-resolver', 'mesh', 'ingress-gateway', 'terminating-gateway', 'bogus', ''];
const WRITES: readonly (readonly [string, string])[] = [
  ['PUT', '/v1/agent/service/register'],
  ['PUT', '/v1/config'],
  ['PUT', '/v1/connect/intentions/exact?source=web&destination=db'],
  ['PUT', '/v1/connect/ca/configuration'],
  ['PUT', '/v1/agent/check/update/c1'],
  ['PUT', '/v1/agent/check/pass/c1'],
  ['PUT', '/v1/agent/service/deregister/web'],
  ['DELETE', '/v1/config/service-defaults/web'],
  ['DELETE', '/v1/connect/intentions/exact?source=web&destination=db'],
  ['POST', '/v1/agent/connect/authorize'],
];
const READS = ['/v1/catalog/services', '/v1/health/service/web', '/v1/agent/services', '/v1/config/proxy-defaults', '/v1/agent/connect/ca/leaf/web', '/v1/connect/intentions/check', '/v1/agent/xds/status/x'];
const HOSTILE_STRINGS = ['', '\u0000', 'a\nb', '\ud800', '../..', '%00', 'x'.repeat(70_000), '😀', '<script>', '" OR 1=1', '\u202e', '-1', '1e309', 'NaN', 'null', '__proto__', 'constructor'];
/** Percent-encodes `s`; a lone surrogate (which encodeURIComponent refuses) goes as the bytes it would have been. */
const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
};
const HOSTILE_NUMBERS = [-1, 0, 65536, 1e21, 1.5, -0, Number.MAX_SAFE_INTEGER + 2];

export class HttpFuzzer {
  constructor(private readonly rnd: () => number) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }

  /** A random JSON value, at most `depth` deep. */
  private value(depth: number): unknown {
    const r = this.rnd();
    if (depth <= 0 || r < 0.3) return this.pick<unknown>([...HOSTILE_STRINGS, ...HOSTILE_NUMBERS, true, false, null, 'web', 'db', 80, 'tcp', 'http']);
    if (r < 0.6) return Array.from({ length: Math.floor(this.rnd() * 4) }, () => this.value(depth - 1));
    const keys = ['Name', 'Kind', 'ID', 'Port', 'Meta', 'Config', 'Proxy', 'Sources', 'Action', 'Tags', 'Check', 'Checks', 'Provider', 'Upstreams', this.pick(HOSTILE_STRINGS)];
    return Object.fromEntries(Array.from({ length: Math.floor(this.rnd() * 5) }, () => [this.pick(keys), this.value(depth - 1)]));
  }

  /** A body close to a valid one for the endpoint, with one field made hostile. */
  private nearValid(path: string): unknown {
    const base: Record<string, unknown> = path.startsWith('/v1/config')
      ? { Kind: this.pick(KINDS), Name: this.pick(['web', 'global', 'mesh', '', '*']) }
      : path.includes('register')
        ? { Name: 'web', Port: 8080 }
        : path.includes('ca/configuration')
          ? { Provider: 'consul', Config: {} }
          : { Action: 'allow' };
    const field = this.pick(['Name', 'Kind', 'ID', 'Port', 'Meta', 'Config', 'Proxy', 'Sources', 'Tags', 'Check', 'Connect', 'Provider', 'provider', 'Action', 'Protocol']);
    base[field] = this.value(3);
    return base;
  }

  private deep(levels: number): string {
    return '{"Name":"web","Meta":' + '{"a":'.repeat(levels) + '1' + '}'.repeat(levels) + '}';
  }

  private query(): string {
    const keys = ['index', 'wait', 'cas', 'filter', 'tag', 'passing', 'pem', 'source', 'destination', 'dc', 'ns', this.pick(HOSTILE_STRINGS)];
    const n = Math.floor(this.rnd() * 3);
    if (n === 0) return '';
    return '?' + Array.from({ length: n }, () => `${enc(this.pick(keys))}=${enc(String(this.pick<unknown>([...HOSTILE_STRINGS.slice(0, 10), ...HOSTILE_NUMBERS, '5s', '1ms', '100h'])))}`).join('&');
  }

  next(): FuzzCase {
    const r = this.rnd();
    const [method, path0] = this.pick(WRITES);
    const path = path0 + (path0.includes('?') ? '' : this.query());
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    if (r < 0.35) return { cls: 'near-valid body', method, path, body: json(this.nearValid(path0)) };
    if (r < 0.5) return { cls: 'random JSON', method, path, body: json(this.value(5)) };
    if (r < 0.58) return { cls: 'deep nesting', method, path, body: Buffer.from(this.deep(this.pick([63, 65, 200, 5000, 20_000]))) };
    if (r < 0.64) return { cls: 'invalid UTF-8', method, path, body: Buffer.from([0x7b, 0x22, 0x4e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) };
    if (r < 0.7) return { cls: 'truncated JSON', method, path, body: json(this.nearValid(path0)).subarray(0, 1 + Math.floor(this.rnd() * 20)) };
    if (r < 0.75) return { cls: 'large body', method, path, body: Buffer.from(JSON.stringify({ Name: 'web', Tags: Array.from({ length: this.pick([9_999, 10_001, 50_000]) }, () => 't') })) };
    if (r < 0.8) return { cls: 'wide object', method, path, body: Buffer.from(JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: Object.fromEntries(Array.from({ length: this.pick([100, 10_001]) }, (_, i) => [`k${i}`, i])) })) };
    if (r < 0.88) {
      const bad = this.pick(['/v1/agent/service/deregister/%', '/v1/agent/service/%E0%A4%A', '/v1/config/' + enc(this.pick(HOSTILE_STRINGS)) + '/x', '/v1/agent/../status/leader', '/v1/agent/%2e%2e/status/leader', '/v1//config', '/v1/agent/service/' + 'a'.repeat(10_000)]);
      return { cls: 'hostile path', method: this.pick(['GET', 'PUT', 'DELETE', 'POST', 'PATCH']), path: bad, body: undefined };
    }
    if (r < 0.95) return { cls: 'hostile query', method: 'GET', path: this.pick(READS) + this.query(), body: undefined };
    return { cls: 'wrong method', method: this.pick(['PATCH', 'POST', 'OPTIONS', 'DELETE', 'PUT']), path: this.pick(READS), body: json(this.value(2)) };
  }
}

export interface FuzzStats {
  readonly byClass: Map<string, Map<number, number>>;
  serverErrors: { readonly c: FuzzCase; readonly status: number; readonly body: string }[];
  storedOnRefusal: { readonly c: FuzzCase; readonly status: number }[];
  cases: number;
}

/** The raw HTTP request for a case (bytes exactly as generated). */
function requestBytes(c: FuzzCase): Buffer {
  const head = `${c.method} ${c.path} HTTP/1.1\r\nHost: fuzz\r\n`;
  if (!c.body) return Buffer.from(`${head}\r\n`);
  return Buffer.concat([Buffer.from(`${head}Content-Type: application/json\r\nContent-Length: ${c.body.length}\r\n\r\n`), c.body]);
}

/**
 * Runs `count` cases against the agent at `port`, pinging the leader endpoint after every
 * `pingEvery` cases (a ping that is not answered fails the run). `index()` reads the store's
 * index, to tell whether a refused case stored anything.
 */
export async function runHttpFuzz(port: number, seed: number, count: number, index: () => Promise<number>, opts: { readonly pingEvery?: number } = {}): Promise<FuzzStats> {
  const fuzzer = new HttpFuzzer(prng(seed));
  const stats: FuzzStats = { byClass: new Map(), serverErrors: [], storedOnRefusal: [], cases: 0 };
  let conn = await RawConnection.open(port);
  try {
    for (let i = 0; i < count; i++) {
      const c = fuzzer.next();
      const before = await index();
      await conn.send(requestBytes(c));
      const r = await conn.response();
      stats.cases++;
      const row = stats.byClass.get(c.cls) ?? new Map<number, number>();
      row.set(r.status, (row.get(r.status) ?? 0) + 1);
      stats.byClass.set(c.cls, row);
      if (r.status >= 500) stats.serverErrors.push({ c, status: r.status, body: r.body });
      if (r.status >= 400 && (await index()) !== before) stats.storedOnRefusal.push({ c, status: r.status });
      if (r.headers.connection === 'close') {
        conn.destroy();
        conn = await RawConnection.open(port);
      }
      if (i % (opts.pingEvery ?? 25) === 0) {
        await conn.send(Buffer.from('GET /v1/status/leader HTTP/1.1\r\nHost: fuzz\r\n\r\n'));
        const ping = await conn.response();
        if (ping.status !== 200) throw new Error(`leader ping answered ${ping.status} after case ${i} (${c.cls} ${c.method} ${c.path})`);
      }
    }
  } finally {
    conn.destroy();
  }
  return stats;
}
