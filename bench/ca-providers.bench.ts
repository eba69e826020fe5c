// Leaves signed per second through each CA provider, by the path the agent takes
// (CAService.signLeaf: CSR parse, self-signature and identity checks, then the provider's sign):
// the built-in provider, the TypeScript example plugin and the Go example plugin (both through
// the real go-plugin host: a process, AutoMTLS gRPC over a unix socket), and Vault (a real
// OpenBao dev server, signing through its PKI role). Each runs one request at a time and then
// CONCURRENCY in flight, with the CSR rate limit off; one line per provider and mode gives
// leaves/s and p50/p99 latency. A provider whose tool is missing (Go, OpenBao) is skipped with
// the reason printed; any other failure fails the run (exit 1).
// BENCH_SECONDS (default 3) sets the length of each measurement.
import { performance } from 'node:perf_hooks';
import { CAService } from '../src/ca/ca-service.js';
import { nameCN } from '../src/ca/certs.js';
import { buildCsr } from '../src/ca/csr.js';
import { generateKey, signerFor, type GeneratedKey } from '../src/ca/keys.js';
import { MemoryCAStateStore } from '../src/ca/state-store.js';
import { systemClock } from '../src/core/clock.js';
import { nullLogger } from '../src/core/logger.js';
import { goPlugin, tsPlugin } from '../test/support/ca-plugins.js';
import { OpenBaoProcess } from '../test/support/openbao.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 16;
const SERVICES = 64;
const spec = { type: 'ec', bits: 256 } as const;

interface Provider {
  readonly name: string;
  /** The CA configuration, or why this provider cannot run here. */
  setup(): Promise<{ config: Record<string, unknown>; teardown?: () => Promise<void> } | { skip: string }>;
}

/** Missing tools are a skip; the reason is printed. */
class ToolMissing extends Error {}

const providers: Provider[] = [
  { name: 'built-in', setup: () => Promise.resolve({ config: { Provider: 'consul' } }) },
  {
    name: 'plugin (TypeScript)',
    setup: () => Promise.resolve({ config: { Provider: 'plugin', Config: { plugin_cmd: tsPlugin().cmd } } }),
  },
  {
    name: 'plugin (Go)',
    async setup() {
      try {
        return { config: { Provider: 'plugin', Config: { plugin_cmd: (await goPlugin()).cmd } } };
      } catch (err) {
        if (/Go toolchain \(go\) is not on PATH/.test((err as Error).message)) return { skip: (err as Error).message };
        throw err;
      }
    },
  },
  {
    name: 'vault (OpenBao)',
    async setup() {
      let bao: OpenBaoProcess;
      try {
        bao = await OpenBaoProcess.start();
      } catch (err) {
        if (/could not be installed|does not exist/.test((err as Error).message)) throw new ToolMissing((err as Error).message.split('\n')[0]);
        throw err;
      }
      return {
        config: { Provider: 'vault', Config: { Address: bao.address, Token: bao.rootToken, RootPKIPath: 'bench-root', IntermediatePKIPath: 'bench-int' } },
        teardown: () => bao.stop(),
      };
    },
  },
];

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

interface Figures {
  readonly perSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly n: number;
}

/** `inFlight` workers sign leaves back to back for SECONDS; every latency is kept. */
async function measure(sign: (i: number) => Promise<unknown>, inFlight: number, seconds: number): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = next++;
      const t = performance.now();
      await sign(i);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSec: latencies.length / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99), n: latencies.length };
}

const fmt = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function line(name: string, mode: string, f: Figures): string {
  return `${name.padEnd(20)} ${mode.padEnd(14)} ${Math.round(f.perSec).toString().padStart(6)} leaves/s   p50 ${fmt(f.p50).padStart(6)} ms   p99 ${fmt(f.p99).padStart(6)} ms   (${f.n} leaves)`;
}

async function bench(p: Provider, keys: readonly GeneratedKey[]): Promise<string[]> {
  const got = await p.setup();
  if ('skip' in got) return [`${p.name.padEnd(20)} skipped: ${got.skip}`];
  // The rate limit off: the provider's own speed is measured, not the CSR limiter's.
  const initialConfig = { ...got.config, Config: { ...(got.config.Config as Record<string, unknown> | undefined), CSRMaxPerSecond: 0 } };
  const ca = new CAService({ store: new MemoryCAStateStore(), clock: systemClock, logger: nullLogger, datacenter: 'dc1', initialConfig });
  try {
    await ca.start();
    const csrs = keys.map((key, i) => buildCsr(nameCN(`svc${i}`), key.spki, [`spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/svc${i}`], signerFor(spec, key.pkcs8)));
    const sign = (i: number) => ca.signLeaf(csrs[i % csrs.length] as Uint8Array, { service: `svc${i % csrs.length}` });
    // Warm up (JIT, connections, Vault's first issue) before measuring.
    await measure(sign, 4, Math.min(1, SECONDS / 3));
    const seq = await measure(sign, 1, SECONDS);
    const conc = await measure(sign, CONCURRENCY, SECONDS);
    return [line(p.name, 'sequential', seq), line(p.name, `${CONCURRENCY} in flight`, conc)];
  } finally {
    await ca.stop();
    await got.teardown?.();
  }
}

const keys = await Promise.all(Array.from({ length: SERVICES }, () => generateKey(spec)));
console.log(`leaves signed through CAService.signLeaf (CSR validation + provider), EC P-256, ${SECONDS} s per measurement\n`);
let failed = 0;
for (const p of providers) {
  try {
    for (const l of await bench(p, keys)) console.log(l);
  } catch (err) {
    if (err instanceof ToolMissing) {
      console.log(`${p.name.padEnd(20)} skipped: ${err.message}`);
      continue;
    }
    failed++;
    console.log(`${p.name.padEnd(20)} FAILED: ${(err as Error).stack ?? String(err)}`);
  }
}
console.log(`\nload average while measuring: ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(failed ? 1 : 0);
