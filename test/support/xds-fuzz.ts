// A property fuzzer over the xDS port: seeded hostile Delta and SotW streams (bad and changing
// node ids and metadata, unknown and empty type URLs, stale and invented nonces, NACKs with huge
// messages, unsubscribes of names never subscribed, thousands of names, garbage bytes). Every
// stream is recorded with how the server ended it, and a well-behaved probe stream must receive
// its configuration after every batch. Used by a bounded test in `npm test` and by
// bench/fuzz.bench.ts for a large run.
import { Client, credentials, status, type ClientDuplexStream } from '@grpc/grpc-js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { DeltaClient, node, SotwClient, type StreamEnd } from './ads-client.js';
import { prng } from './http-fuzz.js';

/** What the server may end a hostile stream with: the client's error, or a limit (never INTERNAL or UNKNOWN). */
export const ACCEPTABLE_ENDS: ReadonlySet<number> = new Set([status.INVALID_ARGUMENT, status.RESOURCE_EXHAUSTED, status.CANCELLED]);

export interface XdsFuzzStats {
  streams: number;
  readonly ends: Map<string, number>;
  readonly unacceptable: string[];
  probes: number;
}

const TYPES = [...Object.values(TypeUrl), '', 'type.googleapis.com/envoy.config.cluster.v3.Bogus', 'x'.repeat(5000), TypeUrl.Cluster.replace('v3', 'v2')];

/**
 * Runs `count` hostile streams against the xDS port, `batch` at a time; after each batch a probe
 * stream for `probeId` (a proxy the server serves) must receive a Cluster response.
 */
export async function runXdsFuzz(port: number, seed: number, count: number, probeId: string, opts: { readonly batch?: number } = {}): Promise<XdsFuzzStats> {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const names = () => Array.from({ length: pick([0, 1, 3, 5000]) }, (_, i) => pick(['api', '', '*', `n${i}`, 'x'.repeat(300), '\u0000']));
  // Never the probe's own node id: its streams per node are bounded, and the probe must get in.
  let serial = 0;
  const fuzzId = () => `fuzz-${serial++ % 50}`;
  const nodeOf = () =>
    pick([
      node(fuzzId()),
      node('unregistered-proxy'),
      node(''),
      node('x'.repeat(300)),
      node('bad\nid'),
      { ...node(fuzzId()), metadata: { blob: 'x'.repeat(pick([10, 70_000])) } },
      { id: fuzzId(), cluster: '', metadata: undefined, locality: undefined, userAgentName: pick(['envoy', 'gRPC Node', '']), extensions: [], clientFeatures: [], listeningAddresses: [] } as unknown as ReturnType<typeof node>,
    ]);
  const stats: XdsFuzzStats = { streams: 0, ends: new Map(), unacceptable: [], probes: 0 };
  const raw = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const record = (what: string, end: StreamEnd | undefined) => {
    const key = end ? (status[end.code] ?? String(end.code)) : 'open (closed by the client)';
    stats.ends.set(key, (stats.ends.get(key) ?? 0) + 1);
    if (end && !ACCEPTABLE_ENDS.has(end.code)) stats.unacceptable.push(`${what}: ${status[end.code]} ${end.details}`);
  };
  try {
    for (let done = 0; done < count; ) {
      const open: { what: string; ended: () => StreamEnd | undefined; close: () => void }[] = [];
      for (let b = 0; b < (opts.batch ?? 20) && done < count; b++, done++) {
        const r = rnd();
        if (r < 0.45) {
          const c = DeltaClient.open(port, nodeOf());
          for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
            c.send({
              typeUrl: pick(TYPES),
              resourceNamesSubscribe: names(),
              resourceNamesUnsubscribe: rnd() < 0.3 ? names() : [],
              initialResourceVersions: rnd() < 0.2 ? { api: 'v-never', '': '' } : {},
              responseNonce: pick(['', 'nonce-from-nowhere', '1', 'x'.repeat(1000)]),
              ...(rnd() < 0.2 && { errorDetail: { code: 3, message: 'e'.repeat(pick([10, 100_000])), details: [] } }),
              ...(rnd() < 0.2 && { node: nodeOf() }),
            });
          }
          open.push({ what: 'delta', ended: () => c.ended, close: () => c.close() });
        } else if (r < 0.85) {
          const c = SotwClient.open(port, nodeOf());
          for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
            c.send({ typeUrl: pick(TYPES), resourceNames: names(), versionInfo: pick(['', '1', 'zzz']), responseNonce: pick(['', 'nonce-from-nowhere', '7']), ...(rnd() < 0.2 && { node: nodeOf() }), ...(rnd() < 0.2 && { errorDetail: { code: 13, message: 'nack', details: [] } }) });
          }
          open.push({ what: 'sotw', ended: () => c.ended, close: () => c.close() });
        } else {
          const method = pick(['DeltaAggregatedResources', 'StreamAggregatedResources']);
          const stream: ClientDuplexStream<Buffer, Buffer> = raw.makeBidiStreamRequest(`/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`, (x: Buffer) => x, (x: Buffer) => x);
          let end: StreamEnd | undefined;
          stream.on('error', (err: StreamEnd) => (end = { code: err.code, details: err.details }));
          stream.on('data', () => undefined);
          stream.write(Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))));
          open.push({ what: `garbage ${method}`, ended: () => end, close: () => stream.cancel() });
        }
      }
      // A well-behaved proxy is still served while the hostile streams are open.
      const probe = DeltaClient.open(port, node(probeId));
      try {
        probe.subscribe(TypeUrl.Cluster);
        await probe.expect('the probe stream to be configured', 10_000);
        stats.probes++;
      } finally {
        probe.close();
      }
      for (const s of open) {
        record(s.what, s.ended());
        s.close();
      }
      stats.streams += open.length;
    }
  } finally {
    raw.close();
  }
  return stats;
}
