// ADS benchmark: N simulated delta clients (a child process) against the server (this process).
// Measures, for an endpoint change shared by 10% and by all proxies and for a roots rotation:
// time from the change to each affected client's ACK (p50/p99/max), bytes per affected client
// against a state-of-the-world resend, event-loop delay during the push; and memory per client.
// Usage: node dist/bench/ads.bench.js [N]   (default 1000)
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { BehaviorSubject } from 'rxjs';
import { nullLogger } from '../src/core/logger.js';
import type { EncodedResource, ResourceSet } from '../src/core/resources.js';
import { TypeUrl } from '../src/core/type-urls.js';
import { encodeSotwResponse } from '../src/server/encoding.js';
import { startXdsServer } from '../src/server/server.js';
import type { ProxyResourceSource } from '../src/server/source.js';
import type { ClientCommand, ClientEvent, ClientStats } from './ads-clients.js';
import * as mesh from './mesh.js';

const N = Number(process.argv[2] ?? 1000);
const SERVICES = 100;
const TARGETS = { p99Ms: 250, bytesPerProxy: 150 * 1024, sotwRatio: 50 };

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

function memory(): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss };
}

class Clients {
  private readonly child: ChildProcess;
  private readonly listeners: Array<(e: ClientEvent) => void> = [];
  progress = { ready: 0, responses: 0 };

  constructor() {
    this.child = fork(new URL('./ads-clients.js', import.meta.url).pathname, [], { stdio: 'inherit' });
    this.child.on('message', (e: ClientEvent) => {
      if (e.ev === 'progress') this.progress = { ready: e.ready, responses: e.responses };
      for (const l of this.listeners.splice(0)) l(e);
    });
  }

  send(c: ClientCommand): void {
    this.child.send(c);
  }

  next<K extends ClientEvent['ev']>(ev: K): Promise<Extract<ClientEvent, { ev: K }>> {
    return new Promise((resolve) => {
      const wait = (e: ClientEvent) => (e.ev === ev ? resolve(e as Extract<ClientEvent, { ev: K }>) : this.listeners.push(wait));
      this.listeners.push(wait);
    });
  }

  /** Resolves once the client count is ready and no response arrived for `quietMs`. */
  async settled(ready: number, quietMs = 400, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let since = Date.now();
    while (Date.now() < deadline) {
      await this.next('progress');
      if (this.progress.responses !== last || this.progress.ready < ready) {
        last = this.progress.responses;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) return;
    }
    throw new Error(`clients did not settle: ${JSON.stringify(this.progress)} (want ${ready} ready)`);
  }

  kill(): void {
    this.child.kill();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

function sotwSize(set: ResourceSet, types = [TypeUrl.Secret, TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route]): number {
  return types.reduce((n, t) => n + encodeSotwResponse({ typeUrl: t, versionInfo: '0123456789abcdef', nonce: '12345', resources: [...(set.get(t)?.values() ?? [])] }).length, 0);
}

interface Run {
  readonly lat: number[];
  readonly bytes: number;
  readonly responses: number;
  readonly answered: number;
  readonly pushMs: number;
  readonly eldP99: number;
  readonly eldMax: number;
  /** CPU time (user + system) of the server process and of the client process until quiet. */
  readonly serverCpuMs: number;
  readonly clientCpuMs: number;
}

/** One change: emits the new sets, waits until every client is quiet, collects what the affected ones saw. */
async function pushOnce(clients: Clients, proxies: Proxy[], next: ReadonlyArray<readonly [Proxy, ResourceSet]>): Promise<Run> {
  clients.send({ cmd: 'mark' });
  await clients.next('marked');
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await delay(20); // let the histogram's timer start, so the push's own block is sampled
  const cpu0 = process.cpuUsage();
  const t0 = performance.timeOrigin + performance.now();
  for (const [p, set] of next) p.subject.next(set);
  const pushMs = performance.timeOrigin + performance.now() - t0;
  await clients.settled(proxies.length);
  h.disable();
  const cpu = process.cpuUsage(cpu0);
  clients.send({ cmd: 'report' });
  const report = await clients.next('report');
  const stats: readonly ClientStats[] = report.stats;
  const n = Math.max(1, stats.length);
  return {
    lat: stats.map((s) => s.lastAckAt - t0),
    bytes: stats.reduce((sum, s) => sum + s.bytes, 0) / n,
    responses: stats.reduce((sum, s) => sum + s.responses, 0) / n,
    answered: stats.length,
    pushMs,
    eldP99: h.percentile(99) / 1e6,
    eldMax: h.max / 1e6,
    serverCpuMs: (cpu.user + cpu.system) / 1000,
    clientCpuMs: report.cpuMs,
  };
}

const REPEATS = 3;

/** Repeats a change REPEATS times (generation 1..REPEATS) and prints the figures over all runs. */
async function push(name: string, clients: Clients, proxies: Proxy[], affected: Proxy[], change: (p: Proxy, generation: number) => ResourceSet): Promise<boolean> {
  const runs: Run[] = [];
  let sample: ResourceSet | undefined;
  for (let g = 1; g <= REPEATS; g++) {
    const next = affected.map((p) => [p, change(p, g)] as const);
    sample ??= next[0]?.[1];
    runs.push(await pushOnce(clients, proxies, next));
  }
  const lat = runs.flatMap((r) => r.lat);
  const bytes = Math.max(...runs.map((r) => r.bytes));
  const full = sotwSize(sample as ResourceSet);
  const sameType = sotwSize(sample as ResourceSet, [name.includes('roots') ? TypeUrl.Secret : TypeUrl.Endpoint]);
  const p99 = pct(lat, 99);
  // The bytes target is for endpoint changes; a rotated Secret is most of a proxy's config by size.
  const bytesTarget = name.startsWith('endpoint');
  const ok = p99 <= TARGETS.p99Ms && (!bytesTarget || bytes * TARGETS.sotwRatio <= full) && runs.every((r) => r.answered === affected.length);
  const f = (x: number) => x.toFixed(1);
  console.log(`\n${name}: ${affected.length} affected proxies, ${REPEATS} runs, answered ${runs.map((r) => r.answered).join('/')}`);
  console.log(`  change -> ACK    p50 ${f(pct(lat, 50))} ms   p99 ${f(p99)} ms   max per run ${runs.map((r) => f(Math.max(...r.lat))).join(' / ')} ms   (target p99 <= ${TARGETS.p99Ms} ms)`);
  console.log(`  emit loop ${runs.map((r) => f(r.pushMs)).join(' / ')} ms; event-loop delay during push: p99 ${runs.map((r) => f(r.eldP99)).join(' / ')} ms, max ${runs.map((r) => f(r.eldMax)).join(' / ')} ms`);
  console.log(`  CPU until quiet (incl. ~400 ms idle polling): server ${runs.map((r) => r.serverCpuMs.toFixed(0)).join(' / ')} ms, clients ${runs.map((r) => r.clientCpuMs.toFixed(0)).join(' / ')} ms`);
  console.log(`  bytes per affected client ${bytes.toFixed(0)} B in ${f(runs[0]?.responses ?? 0)} responses; ` +
    `SotW resend of the full config ${full} B (1/${(full / bytes).toFixed(0)}), of the changed type only ${sameType} B (1/${(sameType / bytes).toFixed(1)}) ${bytesTarget ? `(target <= 1/${TARGETS.sotwRatio} of full)` : '(no bytes target)'}`);
  console.log(`  ${ok ? 'targets met' : 'TARGET MISSED'}`);
  return ok;
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
  const t0 = performance.now();
  clients.send({ cmd: 'start', port: server.port, proxies: proxies.map((p) => p.id) });
  await clients.settled(N);
  const connected = memory();
  const perHeap = (connected.heap - base.heap) / N;
  const perRss = (connected.rss - base.rss) / N;
  console.log(`bring-up of ${N} clients: ${(performance.now() - t0 - 400).toFixed(0)} ms`);
  console.log(`memory per connected client: heap+external ${kb(perHeap)}, RSS ${kb(perRss)} (target <= ${kb(TARGETS.bytesPerProxy)}) ${perHeap <= TARGETS.bytesPerProxy && perRss <= TARGETS.bytesPerProxy ? 'met' : 'MISSED'}`);

  const hot = proxies.filter((p) => p.upstreams.includes('hot'));
  let ok = perHeap <= TARGETS.bytesPerProxy && perRss <= TARGETS.bytesPerProxy;
  // Each generation's replacement is built once and shared by every affected proxy, as generators share it.
  const once = <T>(build: (g: number) => T) => {
    const cache = new Map<number, T>();
    return (g: number) => cache.get(g) ?? (cache.set(g, build(g)), cache.get(g) as T);
  };
  const hotCla = once((g) => mesh.endpoints('hot', g));
  ok = (await push('endpoint change (CLA shared by 10%)', clients, proxies, hot, (p, g) => mesh.withReplaced(p.subject.value, [hotCla(g)]))) && ok;
  const commonCla = once((g) => mesh.endpoints('common', 10 + g));
  ok = (await push('endpoint change (CLA shared by all)', clients, proxies, proxies, (p, g) => mesh.withReplaced(p.subject.value, [commonCla(g)]))) && ok;
  const roots = once((g) => mesh.rootsSecret(g));
  ok = (await push('roots rotation (Secret in every proxy)', clients, proxies, proxies, (p, g) => mesh.withReplaced(p.subject.value, [roots(g)]))) && ok;

  console.log(`\nload average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs (other work on the machine shows up in the latencies)`);
  console.log(`${ok ? 'all targets met' : 'SOME TARGETS MISSED'}`);
  clients.send({ cmd: 'stop' });
  await delay(200);
  clients.kill();
  await server.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
