// Leader-ping latency while the agent takes a stream of maximum-size request bodies (issue 11,
// item 2): a real agent process (bin/switchyard agent -dev), four senders each sending bodies
// back to back, and one client pinging GET /v1/status/leader every 20 ms throughout. Phases:
// idle; valid config entries just under the default 1 MiB limit (decoded in the worker, validated
// and stored); 1 MiB JSON arrays (refused by the bounds in the worker); 16 MiB bodies (refused 413
// from their Content-Length); then the same two body phases against an agent configured with a
// 4 MiB limit, to show what raising it costs. Printed per phase: ping p50/p99/max, bodies answered
// and their statuses.
// Usage: node dist/bench/http-bodies.bench.js [seconds per phase]   (default 8)
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { DEFAULT_MAX_BODY_BYTES } from '../src/api/route.js';

const PHASE_MS = Number(process.argv[2] ?? 8) * 1000;
const SENDERS = 4;
const BIN = new URL('../../bin/switchyard', import.meta.url).pathname;

/** A service-intentions entry of about `bytes` bytes of JSON (sources with long descriptions). */
function intentionsOf(bytes: number, name: string): string {
  const source = (i: number) => ({ Name: `src-${String(i).padStart(5, '0')}`, Action: 'allow', Description: 'd'.repeat(500) });
  const one = JSON.stringify(source(0)).length + 1;
  return JSON.stringify({ Kind: 'service-intentions', Name: name, Sources: Array.from({ length: Math.floor(bytes / one) }, (_, i) => source(i)) });
}

const pct = (xs: number[], p: number) => (xs.length ? ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number) : NaN);

async function startAgent(maxBodyBytes: number): Promise<{ base: string; stop: () => void }> {
  const args = [BIN, 'agent', '-dev', '-http-port', '0', '-grpc-port', '0', '-node', 'bench', '-http-max-body-bytes', String(maxBodyBytes)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /HTTP on (\S+),/.exec(out);
      if (out.includes('agent running') && m) resolve(`http://${m[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${out}`)));
  });
  return { base, stop: () => child.kill('SIGKILL') };
}

async function phase(base: string, name: string, body: (() => string) | undefined): Promise<void> {
  const pings: number[] = [];
  const statuses = new Map<number | string, number>();
  const deadline = performance.now() + PHASE_MS;
  const pinger = (async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      await (await fetch(`${base}/v1/status/leader`)).text();
      pings.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const senders = body
    ? Array.from({ length: SENDERS }, async () => {
        while (performance.now() < deadline) {
          let key: number | string;
          try {
            const r = await fetch(`${base}/v1/config`, { method: 'PUT', body: body() });
            await r.text();
            key = r.status;
          } catch (err) {
            key = (err as Error).message;
          }
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        }
      })
    : [];
  await Promise.all([pinger, ...senders]);
  const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
  console.log(
    `${name.padEnd(34)} pings ${String(pings.length).padStart(4)}  p50 ${pct(pings, 0.5).toFixed(1).padStart(6)} ms  p99 ${pct(pings, 0.99).toFixed(1).padStart(6)} ms  max ${Math.max(...pings).toFixed(1).padStart(7)} ms   bodies ${answered} ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
}

const mib = (n: number) => `${n / 2 ** 20} MiB`;

/** The body phases against an agent whose limit is `limit`; the 413 phase only when `oversize`. */
async function bodies(limit: number, oversize: boolean): Promise<void> {
  const agent = await startAgent(limit);
  try {
    const valid = intentionsOf(limit - 8 * 1024, 'web');
    const array = `[${Array.from({ length: Math.floor(limit / 2) - 2 }, () => '1').join(',')}]`;
    console.log(`\nlimit ${mib(limit)}: valid entry ${valid.length} B, array ${array.length} B; ${SENDERS} senders, ${PHASE_MS / 1000} s per phase`);
    await phase(agent.base, 'idle', undefined);
    await phase(agent.base, `valid ${mib(limit)} config entries (200)`, () => valid);
    await phase(agent.base, `${mib(limit)} JSON arrays (400)`, () => array);
    if (oversize) {
      const huge = 'x'.repeat(16 * 1024 * 1024);
      await phase(agent.base, '16 MiB bodies (413)', () => huge);
    }
  } finally {
    agent.stop();
  }
}

async function main(): Promise<void> {
  await bodies(DEFAULT_MAX_BODY_BYTES, true);
  await bodies(4 * 1024 * 1024, false);
}

await main();
