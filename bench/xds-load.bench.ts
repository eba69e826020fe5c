// The mesh at scale, driven from outside: a real agent process (bin/switchyard, SQLite store in a
// temporary directory) and the Go load client of bench/xds-load (go-control-plane's protos and
// grpc-go, none of Switchyard's code), which registers the mesh through the HTTP API, opens one
// Envoy-like delta ADS stream per client sidecar and times an endpoint change, a mesh-wide
// proxy-defaults change and a roots rotation. Prints the client's figures per N beside issue
// 17's targets (set for N = 10,000).
// Usage: node dist/bench/xds-load.bench.js [N,N,...]   (default 1000,10000)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/wait.js';

const REPO = new URL('../../', import.meta.url).pathname;
const SIZES = (process.argv[2] ?? '1000,10000').split(',').map(Number);

interface Phase {
  readonly name: string;
  readonly expected: number;
  readonly reached: number;
  readonly last_p99_ms: number;
  readonly server_cpu_ms_per_proxy: number;
  readonly http_probe_worst_ms: number;
}

interface Result {
  readonly n: number;
  readonly reconnect_convergence_s: number;
  readonly marginal_kb_per_proxy: number;
  readonly server_peak_rss_mb: number;
  readonly initial_convergence_http_probe_worst_ms: number;
  readonly reconnect_http_probe_worst_ms: number;
  readonly phases: readonly Phase[];
}

function run(cmd: string, args: readonly string[], onLine: (line: string) => void): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    child.once('exit', (code) => resolve(code));
  });
}

async function measure(bin: string, n: number): Promise<Result | undefined> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-xds-load-'));
  const [http, grpc] = [await freePort(), await freePort()];
  // SWITCHYARD_NODE_FLAGS passes extra node flags to the agent (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
  const nodeFlags = (process.env.SWITCHYARD_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const agent = spawn(process.execPath, [...nodeFlags, join(REPO, 'bin/switchyard'), 'agent', '-data-dir', dataDir, '-node', 'bench', '-http-port', String(http), '-grpc-port', String(grpc), '-xds-max-streams', String(n + 1000), '-log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    let result: Result | undefined;
    const code = await run(bin, ['-http', `http://127.0.0.1:${http}`, '-grpc', `127.0.0.1:${grpc}`, '-pid', String(agent.pid), '-n', String(n), '-conns', String(Math.max(16, Math.ceil(n / 300)))], (line) => {
      if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as Result;
      else console.log(`  ${line}`);
    });
    return code === 0 ? result : undefined;
  } finally {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function targets(r: Result): string[] {
  const phase = (prefix: string) => r.phases.find((p) => p.name.startsWith(prefix));
  const ep = phase('endpoint');
  const pd = phase('mesh-wide');
  const roots = phase('roots');
  const loop = Math.max(r.initial_convergence_http_probe_worst_ms, r.reconnect_http_probe_worst_ms, ...r.phases.map((p) => p.http_probe_worst_ms));
  return [
    `endpoint change to ${ep?.expected ?? '?'} proxies p99 ${ep?.last_p99_ms.toFixed(1)} ms (target at 10,000: <= 100 ms to 600)`,
    `mesh-wide proxy-defaults p99 ${pd?.last_p99_ms.toFixed(0)} ms, ${pd?.server_cpu_ms_per_proxy.toFixed(3)} ms CPU per proxy (target: <= 2000 ms, <= 0.2 ms)`,
    `roots rotation p99 ${roots?.last_p99_ms.toFixed(0)} ms (target: <= 3000 ms)`,
    `marginal memory ${r.marginal_kb_per_proxy.toFixed(1)} KB per proxy (target: <= 60 KB); peak RSS ${r.server_peak_rss_mb.toFixed(0)} MB`,
    `worst HTTP probe ${loop.toFixed(1)} ms (an upper bound on event-loop delay; target: <= 50 ms): initial convergence ${r.initial_convergence_http_probe_worst_ms.toFixed(1)}, reconnect ${r.reconnect_http_probe_worst_ms.toFixed(1)}, phases ${r.phases.map((p) => p.http_probe_worst_ms.toFixed(1)).join(' / ')}`,
    `reconnect with leaves signed ${r.reconnect_convergence_s.toFixed(1)} s (target: <= 30 s)`,
  ];
}

async function main(): Promise<void> {
  const script = (await import(join(REPO, 'scripts/xds-load.mjs'))) as { buildXdsLoad(): string };
  const bin = script.buildXdsLoad();
  let failed = false;
  for (const n of SIZES) {
    console.log(`xds-load N=${n} (50 backends, 3 upstreams each)`);
    const r = await measure(bin, n);
    if (!r) {
      failed = true;
      console.log('  FAILED');
      continue;
    }
    for (const line of targets(r)) console.log(`  ${line}`);
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
