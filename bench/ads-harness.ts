// What the ADS benchmarks share: the child process of simulated delta clients, one timed change
// (from the change to the last affected client's ACK), and how the figures are printed against
// the targets of issue 6.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientCommand, ClientEvent, ClientStats } from './ads-clients.js';

export const TARGETS = { p99Ms: 250, bytesPerProxy: 150 * 1024, sotwRatio: 50 };

export const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
export const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
const f = (x: number) => x.toFixed(1);

/** Heap (with external and array buffers) and RSS after forced collections (run with --expose-gc). */
export function memory(): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss };
}

/** The simulated sidecars (ads-clients.ts), in a child process so they do not share our event loop. */
export class Clients {
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

  /** Resolves once `ready` clients hold every type and no response arrived for `quietMs`. */
  async settled(ready: number, quietMs = 400, timeoutMs = 300_000): Promise<void> {
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

  async stop(): Promise<void> {
    this.send({ cmd: 'stop' });
    await new Promise((resolve) => {
      this.child.once('exit', resolve);
      setTimeout(() => this.child.kill(), 2000).unref();
    });
  }
}

interface Run {
  readonly lat: number[];
  readonly stats: readonly ClientStats[];
  readonly pushMs: number;
  readonly eldP99: number;
  readonly eldMax: number;
  /** CPU time (user + system) of this process and of the client process until quiet. */
  readonly serverCpuMs: number;
  readonly clientCpuMs: number;
}

/** One change: `apply` makes it, then we wait until every client is quiet and collect what the affected ones saw. */
async function timeOnce(clients: Clients, ready: number, apply: () => unknown): Promise<Run> {
  clients.send({ cmd: 'mark' });
  await clients.next('marked');
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await delay(20); // let the histogram's timer start, so the push's own block is sampled
  const cpu0 = process.cpuUsage();
  const t0 = performance.timeOrigin + performance.now();
  await apply();
  const pushMs = performance.timeOrigin + performance.now() - t0;
  await clients.settled(ready);
  h.disable();
  const cpu = process.cpuUsage(cpu0);
  clients.send({ cmd: 'report' });
  const report = await clients.next('report');
  return {
    lat: report.stats.map((s) => s.lastAckAt - t0),
    stats: report.stats,
    pushMs,
    eldP99: h.percentile(99) / 1e6,
    eldMax: h.max / 1e6,
    serverCpuMs: (cpu.user + cpu.system) / 1000,
    clientCpuMs: report.cpuMs,
  };
}

export interface Change {
  readonly name: string;
  /** How many clients must answer. */
  readonly affected: number;
  /** The type the change is about, for the same-type state-of-the-world comparison. */
  readonly typeUrl: string;
  /** Issue 6 states its latency and bytes targets for endpoint changes; other changes are reported only. */
  readonly endpointChange: boolean;
  /** Makes change number `generation` (1, 2, 3 ...). */
  apply(generation: number): unknown;
}

const REPEATS = 3;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Makes a change REPEATS times and prints the figures over all runs; returns whether the targets hold. */
export async function timeChange(clients: Clients, ready: number, change: Change): Promise<boolean> {
  const runs: Run[] = [];
  for (let g = 1; g <= REPEATS; g++) runs.push(await timeOnce(clients, ready, () => change.apply(g)));
  const lat = runs.flatMap((r) => r.lat);
  const stats = runs.flatMap((r) => r.stats);
  const bytes = Math.max(...runs.map((r) => mean(r.stats.map((s) => s.bytes))));
  const payload = Math.max(...runs.map((r) => mean(r.stats.map((s) => s.payloadBytes))));
  const full = mean(stats.map((s) => Object.values(s.sotwBytes).reduce((a, b) => a + b, 0)));
  const sameType = mean(stats.map((s) => s.sotwBytes[change.typeUrl] ?? 0));
  const p99 = pct(lat, 99);
  const answered = runs.map((r) => r.stats.length);
  const ok = (!change.endpointChange || (p99 <= TARGETS.p99Ms && bytes * TARGETS.sotwRatio <= full)) && answered.every((n) => n === change.affected);
  console.log(`\n${change.name}: ${change.affected} affected proxies, ${REPEATS} runs, answered ${answered.join('/')}`);
  console.log(`  change -> ACK    p50 ${f(pct(lat, 50))} ms   p99 ${f(p99)} ms   max per run ${runs.map((r) => f(Math.max(...r.lat))).join(' / ')} ms   ${change.endpointChange ? `(target p99 <= ${TARGETS.p99Ms} ms)` : '(no latency target)'}`);
  console.log(`  change call ${runs.map((r) => f(r.pushMs)).join(' / ')} ms; event-loop delay during push: p99 ${runs.map((r) => f(r.eldP99)).join(' / ')} ms, max ${runs.map((r) => f(r.eldMax)).join(' / ')} ms`);
  console.log(`  CPU until quiet (incl. ~400 ms idle polling): server ${runs.map((r) => r.serverCpuMs.toFixed(0)).join(' / ')} ms, clients ${runs.map((r) => r.clientCpuMs.toFixed(0)).join(' / ')} ms`);
  console.log(`  bytes per affected client ${bytes.toFixed(0)} B in ${f(mean(runs[0]?.stats.map((s) => s.responses) ?? []))} responses, of which ${payload.toFixed(0)} B are the resources themselves (1/${(full / payload).toFixed(0)} of everything) and ${(bytes - payload).toFixed(0)} B the envelope (type URLs, names, versions, nonce); ` +
    `SotW resend of everything it holds ${full.toFixed(0)} B (1/${(full / bytes).toFixed(0)}), of the changed type only ${sameType.toFixed(0)} B (1/${(sameType / bytes).toFixed(1)}) ` +
    `${change.endpointChange ? `(target <= 1/${TARGETS.sotwRatio} of everything)` : '(no bytes target)'}`);
  console.log(`  ${ok ? 'targets met' : 'TARGET MISSED'}`);
  return ok;
}

/**
 * Connects `proxies` in two halves, measuring this process's memory (from `base`, taken before
 * the mesh existed) after each. The target is memory per proxy beyond shared resources, so it is
 * judged on the second half's growth per proxy (what one more proxy costs, once everything shared
 * and the runtime's own fixed growth are paid); the average over all of them is printed beside it.
 */
export async function connectMeasured(
  clients: Clients,
  port: number,
  proxies: readonly string[],
  base: { heap: number; rss: number },
  what: string,
  /** Runs before each half connects (for example registers those proxies). */
  prepare: (proxies: readonly string[]) => Promise<void> = async () => undefined,
): Promise<boolean> {
  const half = Math.floor(proxies.length / 2);
  const t0 = performance.now();
  await prepare(proxies.slice(0, half));
  clients.send({ cmd: 'start', port, proxies: proxies.slice(0, half) });
  await clients.settled(half);
  const mid = memory();
  await prepare(proxies.slice(half));
  clients.send({ cmd: 'start', port, proxies: proxies.slice(half) });
  await clients.settled(proxies.length);
  const end = memory();
  console.log(`bring-up of ${proxies.length} clients in two halves (with what runs before each): ${(performance.now() - t0 - 800).toFixed(0)} ms`);
  const added = proxies.length - half;
  const perHeap = (end.heap - mid.heap) / added;
  const perRss = (end.rss - mid.rss) / added;
  const ok = perHeap <= TARGETS.bytesPerProxy && perRss <= TARGETS.bytesPerProxy;
  console.log(`memory per proxy (${what}), the second ${added}: heap+external ${kb(perHeap)}, RSS ${kb(perRss)} (target <= ${kb(TARGETS.bytesPerProxy)}) ${ok ? 'met' : 'MISSED'}`);
  console.log(`  average over all ${proxies.length}, fixed and shared costs included: heap+external ${kb((end.heap - base.heap) / proxies.length)}, RSS ${kb((end.rss - base.rss) / proxies.length)}`);
  return ok;
}

export function reportEnd(ok: boolean): void {
  console.log(`\nload average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs (other work on the machine shows up in the latencies)`);
  console.log(`${ok ? 'all targets met' : 'SOME TARGETS MISSED'}`);
}
