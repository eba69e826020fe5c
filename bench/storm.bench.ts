// Reconnect storm benchmark (issue 11, item 6): an in-process agent (SQLite store, catalog, CA,
// proxycfg, generators, ADS server) with N registered sidecars, and N delta clients in a child
// process that all open their streams at once, as after an agent restart or a network partition
// heals: each on its own HTTP/2 connection, all opened in one go (gRPC framed by the client, so
// no client library paces the connections), and each retrying a failed stream with Envoy's
// backoff. Three scenarios:
//   shared     the sidecars front 10 services (10 leaf certificates to sign)
//   distinct   every sidecar its own service (N leaves), with the default CSR limit (50/s)
//   unlimited  every sidecar its own service, with the CSR limit off (CSRMaxPerSecond 0)
// Figures: time from the storm's start to the last client holding its whole configuration,
// failed streams by class (connection resets above all), the server's peak RSS, and its
// event-loop delay (p99 and max) during the storm.
// Usage: node --expose-gc dist/bench/storm.bench.js [N] [scenario]   (default 5000, every scenario,
// each in its own process so one's memory does not colour the next)
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startAgent } from '../src/cli/agent.js';
import { Clients, memory, pct, reportEnd } from './ads-harness.js';

const N = Number(process.argv[2] ?? 5000);
const SCENARIOS = {
  shared: { services: 10, csrMaxPerSecond: undefined },
  distinct: { services: N, csrMaxPerSecond: undefined },
  unlimited: { services: N, csrMaxPerSecond: 0 },
} as const;
type Scenario = keyof typeof SCENARIOS;
const DEFAULT_CSR_PER_SECOND = 50;
const TIMEOUT_MS = 15 * 60_000;

interface Figures {
  readonly scenario: Scenario;
  readonly configured: number;
  readonly lastMs: number;
  readonly p50Ms: number;
  readonly resets: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly peakRss: number;
  readonly eldP99: number;
  readonly eldMax: number;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const now = () => performance.timeOrigin + performance.now();

async function registerMesh(agent: Awaited<ReturnType<typeof startAgent>>, services: number): Promise<string[]> {
  const { catalog } = agent;
  await catalog.setConfigEntry({ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } });
  const ids: string[] = [];
  // Registered in batches of 100 (the store commits each batch as a group); every sidecar has one
  // upstream, the next service, and an explicit port (the automatic range has 256).
  for (let b = 0; b < N; b += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, N - b) }, (_, k) => {
        const i = b + k;
        ids.push(`inst-${i}-sidecar-proxy`);
        return catalog.registerService({
          ID: `inst-${i}`,
          Name: `svc-${i % services}`,
          Port: 8080,
          Address: `10.2.${Math.floor(i / 250)}.${i % 250}`,
          Connect: { SidecarService: { Port: 21000, Proxy: { Upstreams: [{ DestinationName: `svc-${(i + 1) % services}`, LocalBindPort: 9190 }] } } },
        });
      }),
    );
  }
  return ids;
}

/** Resolves once `n` clients are configured (polled through the child's progress reports). */
async function allConfigured(clients: Clients, n: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (clients.progress.ready < n) {
    if (Date.now() > deadline) throw new Error(`only ${clients.progress.ready} of ${n} clients configured after ${s(TIMEOUT_MS)}`);
    await clients.next('progress');
  }
}

async function runScenario(scenario: Scenario): Promise<Figures> {
  const { services, csrMaxPerSecond } = SCENARIOS[scenario];
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-storm-'));
  const agent = await startAgent({ datacenter: 'dc1', primaryDatacenter: 'dc1', retryJoinWan: [], node: 'bench', bind: '127.0.0.1', httpPort: 0, grpcPort: 0, dataDir, defaultIntentionPolicy: 'allow', nodeMeta: {}, logLevel: 'silent' });
  try {
    if (csrMaxPerSecond !== undefined) await agent.ca.setConfiguration({ Provider: 'consul', Config: { CSRMaxPerSecond: csrMaxPerSecond } });
    const t = performance.now();
    const ids = await registerMesh(agent, services);
    const base = memory();
    const csr = csrMaxPerSecond ?? DEFAULT_CSR_PER_SECOND;
    console.log(`\n${scenario}: ${N} sidecars of ${services} services registered in ${s(performance.now() - t)}; CSR limit ${csr > 0 ? `${csr}/s` : 'off'}; RSS before the storm ${mb(base.rss)}`);

    const clients = new Clients();
    const eld = monitorEventLoopDelay({ resolution: 5 });
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
    eld.enable();
    const cpu0 = process.cpuUsage();
    const t0 = now();
    clients.send({ cmd: 'start', port: agent.xds.port, proxies: ids, transport: 'http2' });
    await allConfigured(clients, ids.length);
    const cpu = process.cpuUsage(cpu0);
    eld.disable();
    clearInterval(sampler);
    clients.send({ cmd: 'storm-report' });
    const report = await clients.next('storm-report');
    await clients.stop();

    const ready = report.readyAt.map((at) => at - t0);
    const failures = report.failures;
    const resets = Object.entries(failures).reduce((n, [cls, k]) => n + (/reset/i.test(cls) ? k : 0), 0);
    const figures: Figures = { scenario, configured: ready.length, lastMs: Math.max(...ready), p50Ms: pct(ready, 50), resets, failures, peakRss, eldP99: eld.percentile(99) / 1e6, eldMax: eld.max / 1e6 };
    const floor = services > csr && csr > 0 ? ` (the CSR limit alone needs ${s(((services - csr) / csr) * 1000)} for ${services} leaves)` : '';
    console.log(`  configured ${figures.configured}/${N}: last at ${s(figures.lastMs)}${floor}, half by ${s(figures.p50Ms)}`);
    console.log(`  failed streams (each retried with backoff): ${Object.keys(failures).length ? Object.entries(failures).map(([cls, k]) => `${k} ${cls}`).join(', ') : 'none'}; connection resets ${resets}`);
    console.log(`  server: peak RSS ${mb(peakRss)} (+${mb(peakRss - base.rss)} over the storm), event-loop delay p99 ${figures.eldP99.toFixed(1)} ms, max ${figures.eldMax.toFixed(1)} ms, CPU ${s((cpu.user + cpu.system) / 1000)}`);
    console.log(`  clients' process: peak RSS ${mb(report.maxRss)}`);
    return figures;
  } finally {
    await agent.close({ graceMs: 0 });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every scenario, each in a child process of its own; then the figures side by side. */
async function runAll(): Promise<void> {
  console.log(`reconnect storm: ${N} delta streams opened at once against one agent`);
  const all: Figures[] = [];
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    const child = fork(fileURLToPath(import.meta.url), [String(N), scenario], { execArgv: ['--enable-source-maps', '--expose-gc'], stdio: 'inherit' });
    const got = await new Promise<Figures | undefined>((resolve) => {
      let figures: Figures | undefined;
      child.on('message', (m: Figures) => (figures = m));
      child.on('exit', () => resolve(figures));
    });
    if (got) all.push(got);
    else console.log(`  ${scenario}: FAILED (see above)`);
  }
  console.log('\nscenario    configured   last stream   resets   server peak RSS   event-loop delay p99 / max');
  for (const f of all) {
    console.log(`${f.scenario.padEnd(11)} ${`${f.configured}/${N}`.padStart(10)}   ${s(f.lastMs).padStart(11)}   ${String(f.resets).padStart(6)}   ${mb(f.peakRss).padStart(15)}   ${f.eldP99.toFixed(1)} / ${f.eldMax.toFixed(1)} ms`);
  }
  reportEnd(all.length === Object.keys(SCENARIOS).length && all.every((f) => f.configured === N && f.resets === 0));
}

const only = process.argv[3] as Scenario | undefined;
if (only) {
  if (!(only in SCENARIOS)) throw new Error(`unknown scenario "${only}" (one of ${Object.keys(SCENARIOS).join(', ')})`);
  runScenario(only).then(
    (f) => {
      process.send?.(f);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  runAll().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
