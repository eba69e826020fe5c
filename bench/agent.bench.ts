// ADS benchmark through the whole data path: an in-process agent (SQLite store in a temporary
// directory, catalog, CA, proxycfg, generators, ADS server) with N sidecars registered through
// the catalog, and N delta clients in a child process. Every change is a catalog write, so the
// figures include the store's watches, the snapshot pipeline and the generators, not only the
// ADS server (bench/ads.bench.ts measures that alone, with synthetic resources).
//
// The mesh: 100 services of N/100 instances each, every instance with a sidecar (the clients);
// each sidecar has upstreams `common` (every proxy), `hot` (10% of them) or one service, and
// three more services; http everywhere (proxy-defaults), default-deny with every service
// allowing ten others. `common` and `hot` have three instances whose sidecars carry a TTL check.
//
// Changes: a TTL check of one `hot` / `common` instance going critical / passing (an endpoint
// change for 10% / all proxies), and the mesh's protocol switching between http and http2 in
// proxy-defaults (every Cluster, Listener and Route of every proxy).
// Usage: node --expose-gc dist/bench/agent.bench.js [N]   (default 1000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '../src/cli/agent.js';
import { TypeUrl } from '../src/core/type-urls.js';
import { Clients, connectMeasured, memory, reportEnd, timeChange } from './ads-harness.js';

const N = Number(process.argv[2] ?? 1000);
const SERVICES = 100;

interface Sidecar {
  readonly id: string;
  readonly upstreams: readonly string[];
}

function planMesh(): Sidecar[] {
  const svc = (i: number) => `svc-${i % SERVICES}`;
  return Array.from({ length: N }, (_, p) => ({
    id: `${svc(p)}-${p}-sidecar-proxy`,
    upstreams: [...new Set(['common', p < N / 10 ? 'hot' : svc(p * 7), svc(p * 13 + 1), svc(p * 17 + 2), svc(p * 19 + 3)])],
  }));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const agent = await startAgent({
    datacenter: 'dc1',
    primaryDatacenter: 'dc1',
    retryJoinWan: [],
    node: 'bench',
    bind: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    dataDir,
    defaultIntentionPolicy: 'deny',
    nodeMeta: {},
    logLevel: 'silent',
  });
  const { catalog } = agent;
  const base = memory();
  const t0 = performance.now();

  await catalog.setConfigEntry({ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } });
  await Promise.all(
    Array.from({ length: SERVICES }, (_, i) =>
      catalog.setConfigEntry({
        Kind: 'service-intentions',
        Name: `svc-${i}`,
        Sources: Array.from({ length: 10 }, (_, k) => ({ Name: `svc-${(i + 11 * (k + 1)) % SERVICES}`, Action: 'allow' })),
      }),
    ),
  );
  for (const name of ['common', 'hot']) {
    await Promise.all(
      [0, 1, 2].map((i) =>
        catalog.registerService({
          ID: `${name}-${i}`,
          Name: name,
          Port: 8080,
          Address: `10.1.0.${i + 1}`,
          Connect: { SidecarService: { Port: 21000, Checks: [{ CheckID: `${name}-${i}-ttl`, Name: 'ttl', TTL: '24h', Status: 'passing' }] } },
        }),
      ),
    );
  }
  console.log(`agent ADS benchmark: ${N} sidecars with ~5 upstreams each over ${SERVICES} services; config entries and the upstream-only services written in ${(performance.now() - t0).toFixed(0)} ms`);

  const sidecars = planMesh();
  const byId = new Map(sidecars.map((s, p) => [s.id, p]));
  // Registered in batches of 100, as many agents' anti-entropy would; the store commits each batch as a group.
  const register = async (ids: readonly string[]) => {
    const t = performance.now();
    for (let b = 0; b < ids.length; b += 100) {
      await Promise.all(
        ids.slice(b, b + 100).map((id) => {
          const p = byId.get(id) ?? 0;
          return catalog.registerService({
            ID: id.replace(/-sidecar-proxy$/, ''),
            Name: `svc-${p % SERVICES}`,
            Port: 8080,
            Address: `10.2.${Math.floor(p / 250)}.${p % 250}`,
            Connect: { SidecarService: { Port: 21000, Proxy: { Upstreams: (sidecars[p]?.upstreams ?? []).map((u, i) => ({ DestinationName: u, LocalBindPort: 9190 + i })) } } },
          });
        }),
      );
    }
    console.log(`registered ${ids.length} services with their sidecars in ${(performance.now() - t).toFixed(0)} ms`);
  };
  const clients = new Clients();
  let ok = await connectMeasured(clients, agent.xds.port, [...byId.keys()], base, 'catalog rows, proxycfg pipeline, resources, ADS session', register);

  const flip = (check: string) => (g: number) => catalog.updateCheck(check, g % 2 === 1 ? 'critical' : 'passing');
  const hot = sidecars.filter((s) => s.upstreams.includes('hot')).length;
  ok = (await timeChange(clients, N, { name: 'endpoint change: a `hot` instance fails its check (10% of proxies)', affected: hot, typeUrl: TypeUrl.Endpoint, endpointChange: true, apply: flip('hot-0-ttl') })) && ok;
  ok = (await timeChange(clients, N, { name: 'endpoint change: a `common` instance fails its check (every proxy)', affected: N, typeUrl: TypeUrl.Endpoint, endpointChange: true, apply: flip('common-0-ttl') })) && ok;
  ok =
    (await timeChange(clients, N, {
      name: 'proxy-defaults protocol http <-> http2 (every Cluster, Listener and Route of every proxy)',
      affected: N,
      typeUrl: TypeUrl.Cluster,
      endpointChange: false,
      apply: (g: number) => catalog.setConfigEntry({ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: g % 2 === 1 ? 'http2' : 'http' } }),
    })) && ok;

  reportEnd(ok);
  await clients.stop();
  await agent.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
