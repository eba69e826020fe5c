// ADS benchmark: N simulated delta clients (a child process) against the server (this process).
// Measures, for an endpoint change shared by 10% and by all proxies and for a roots rotation:
// time from the change to each affected client's ACK (p50/p99/max), bytes per affected client
// against a state-of-the-world resend, event-loop delay during the push; and memory per client.
// Usage: node dist/bench/ads.bench.js [N]   (default 1000)
import { BehaviorSubject } from 'rxjs';
import { nullLogger } from '../src/core/logger.js';
import type { EncodedResource, ResourceSet } from '../src/core/resources.js';
import { TypeUrl } from '../src/core/type-urls.js';
import { startXdsServer } from '../src/server/server.js';
import type { ProxyResourceSource } from '../src/server/source.js';
import { Clients, connectMeasured, kb, memory, reportEnd, timeChange } from './ads-harness.js';
import * as mesh from './mesh.js';

const N = Number(process.argv[2] ?? 1000);
const SERVICES = 100;

interface Proxy {
  readonly id: string;
  readonly upstreams: readonly string[];
  readonly subject: BehaviorSubject<ResourceSet>;
}

function buildMesh(): Proxy[] {
  const services = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
  // Resources a generator would produce identically for many proxies are built once and shared.
  const sharedCache = new Map<string, EncodedResource>();
  const shared = (key: string, build: () => EncodedResource) => {
    let r = sharedCache.get(key);
    if (!r) sharedCache.set(key, (r = build()));
    return r;
  };
  const roots = mesh.rootsSecret();
  return Array.from({ length: N }, (_, p) => {
    const id = `sidecar-${p}`;
    const upstreams = [...new Set(['common', p < N / 10 ? 'hot' : (services[(p * 7) % SERVICES] as string), services[(p * 13 + 1) % SERVICES] as string, services[(p * 17 + 2) % SERVICES] as string, services[(p * 19 + 3) % SERVICES] as string])];
    const sources = Array.from({ length: 10 }, (_, i) => services[(p + i * 11) % SERVICES] as string);
    const set = mesh.resourceSet([
      mesh.leafSecret(id),
      roots,
      shared('local_app', () => mesh.localApp(8080)),
      ...upstreams.map((u) => shared(`cluster/${u}`, () => mesh.cluster(u))),
      ...upstreams.map((u) => shared(`cla/${u}`, () => mesh.endpoints(u))),
      mesh.publicListener(id, 20000, sources),
      ...upstreams.map((u, i) => shared(`listener/${u}/${i}`, () => mesh.upstreamListener(u, 9190 + i))),
      mesh.publicRoute(id),
      ...upstreams.map((u) => shared(`route/${u}`, () => mesh.upstreamRoute(u))),
    ]);
    return { id, upstreams, subject: new BehaviorSubject<ResourceSet>(set) };
  });
}

async function main(): Promise<void> {
  const before = memory();
  const proxies = buildMesh();
  const byId = new Map(proxies.map((p) => [p.id, p]));
  const source: ProxyResourceSource = { watch: (id) => byId.get(id)?.subject ?? new BehaviorSubject<ResourceSet | undefined>(undefined) };
  const afterMesh = memory();
  const server = await startXdsServer({ source, logger: nullLogger });
  const base = memory();
  console.log(`ADS benchmark: ${N} delta clients (child process), ${SERVICES} services, ~${proxies[0]?.upstreams.length} upstreams each; desired sets ${kb(afterMesh.heap - before.heap)} for the mesh`);

  const clients = new Clients();
  let ok = await connectMeasured(clients, server.port, proxies.map((p) => p.id), base, 'ADS session');

  // Each generation's replacement is built once and shared by every affected proxy, as generators
  // share it; the new sets are built before the clock starts.
  const change = (name: string, typeUrl: string, affected: readonly Proxy[], replacement: (g: number) => EncodedResource) => {
    const next = [1, 2, 3].map((g) => {
      const r = replacement(g);
      return affected.map((p) => [p, mesh.withReplaced(p.subject.value, [r])] as const);
    });
    return {
      name,
      typeUrl,
      affected: affected.length,
      endpointChange: typeUrl === TypeUrl.Endpoint,
      apply: (g: number) => {
        for (const [p, set] of next[g - 1] ?? []) p.subject.next(set);
      },
    };
  };
  const hot = proxies.filter((p) => p.upstreams.includes('hot'));
  ok = (await timeChange(clients, N, change('endpoint change (CLA shared by 10%)', TypeUrl.Endpoint, hot, (g) => mesh.endpoints('hot', g)))) && ok;
  ok = (await timeChange(clients, N, change('endpoint change (CLA shared by all)', TypeUrl.Endpoint, proxies, (g) => mesh.endpoints('common', 10 + g)))) && ok;
  ok = (await timeChange(clients, N, change('roots rotation (Secret in every proxy)', TypeUrl.Secret, proxies, (g) => mesh.rootsSecret(g)))) && ok;

  reportEnd(ok);
  await clients.stop();
  await server.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
