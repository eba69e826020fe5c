// The HTTP fuzzer at scale (issue 11, item 9): 10,000 seeded malformed and hostile requests
// against an in-process agent with a durable store, with a leader ping every 25 cases. Prints
// the cases by class and reply status, the 5xx count, the refused inputs that stored something,
// and the RSS before and after. Fails (exit 1) on any 5xx or stored refusal.
// Then the xDS fuzzer: 1,000 hostile Delta, SotW and undecodable streams against the agent's
// gRPC port, with a real registered sidecar as the probe after every batch of 20.
// Usage: node dist/bench/fuzz.bench.js [cases] [seed] [streams]   (default 10000, 1, 1000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '../src/cli/agent.js';
import { runHttpFuzz } from '../test/support/http-fuzz.js';
import { runXdsFuzz } from '../test/support/xds-fuzz.js';

const CASES = Number(process.argv[2] ?? 10_000);
const SEED = Number(process.argv[3] ?? 1);
const STREAMS = Number(process.argv[4] ?? 1000);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-fuzz-'));
const agent = await startAgent({ datacenter: 'dc1', primaryDatacenter: 'dc1', retryJoinWan: [], node: 'fuzz', bind: '127.0.0.1', httpPort: 0, grpcPort: 0, dataDir, defaultIntentionPolicy: 'allow', nodeMeta: {}, logLevel: 'silent' });
try {
  await agent.catalog.registerService({ Name: 'web', Port: 80, Check: { CheckID: 'c1', TTL: '60s' } });
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const stats = await runHttpFuzz(Number(agent.httpAddress.split(':').pop()), SEED, CASES, async () => agent.store.currentIndex());
  const seconds = (performance.now() - t0) / 1000;
  console.log(`HTTP fuzz: ${stats.cases} cases (seed ${SEED}) in ${seconds.toFixed(1)} s, leader pinged every 25 cases and answered every time`);
  for (const [cls, row] of [...stats.byClass].sort()) {
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    console.log(`  ${cls.padEnd(18)} ${String(total).padStart(5)}  ${[...row].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
  }
  console.log(`  5xx: ${stats.serverErrors.length}   stored on refusal: ${stats.storedOnRefusal.length}   RSS before ${mib(rssBefore)}, after ${mib(process.memoryUsage().rss)}`);
  for (const e of stats.serverErrors.slice(0, 5)) console.log(`  5xx: ${e.status} ${e.c.cls} ${e.c.method} ${e.c.path}: ${e.body.slice(0, 200)}`);
  for (const e of stats.storedOnRefusal.slice(0, 5)) console.log(`  stored on refusal: ${e.status} ${e.c.cls} ${e.c.method} ${e.c.path}`);
  if (stats.serverErrors.length || stats.storedOnRefusal.length) process.exitCode = 1;

  // The HTTP run may have deregistered anything: the probe is a service of its own.
  await agent.catalog.registerService({ Name: 'probe', Port: 81, Connect: { SidecarService: {} } });
  const x0 = performance.now();
  const xds = await runXdsFuzz(agent.xds.port, SEED, STREAMS, 'probe-sidecar-proxy');
  console.log(`xDS fuzz: ${xds.streams} hostile streams (seed ${SEED}) in ${((performance.now() - x0) / 1000).toFixed(1)} s; the probe sidecar was configured after each of ${xds.probes} batches`);
  console.log(`  ended by: ${[...xds.ends].map(([k, n]) => `${k}: ${n}`).join(', ')}   unacceptable ends (INTERNAL, UNKNOWN, ...): ${xds.unacceptable.length}   RSS ${mib(process.memoryUsage().rss)}`);
  for (const u of xds.unacceptable.slice(0, 5)) console.log(`  unacceptable: ${u}`);
  if (xds.unacceptable.length) process.exitCode = 1;
} finally {
  await agent.close();
  rmSync(dataDir, { recursive: true, force: true });
}
