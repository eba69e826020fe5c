// The real agent as a child process of bin/switchyard: spawnAgent for durability and signal
// tests, AgentProcess (fixed ports, restartable on its data dir) for end-to-end tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/cli/http-client.js';
import { freePort, waitFor } from './wait.js';

export const BIN = new URL('../../../bin/switchyard', import.meta.url).pathname;

export interface SpawnedAgent {
  readonly child: ChildProcess;
  readonly base: string;
  readonly addr: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Kills every agent still running (call from `after`, so a failed test never leaves one behind). */
export function killAgents(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function spawnAgent(args: readonly string[], opts: { readonly httpPort?: number } = {}): Promise<SpawnedAgent> {
  const port = opts.httpPort ?? (await freePort());
  const child = spawn(process.execPath, [BIN, 'agent', '-http-port', String(port), '-node', 'proc', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  await waitFor('the agent to start', () => {
    if (done) throw new Error(`agent exited: ${err}`);
    return out.includes('agent running');
  }, { timeoutMs: 20_000 });
  const addr = `127.0.0.1:${port}`;
  return { child, base: `http://${addr}`, addr, stdout: () => out, stderr: () => err, exited };
}

export interface AgentOptions {
  /** Durable store directory; default a fresh temp dir (removed by dispose()). */
  readonly dataDir?: string;
  readonly extraArgs?: readonly string[];
}

/** An agent on fixed HTTP and gRPC ports and a durable data dir, which can be stopped and relaunched. */
export class AgentProcess {
  private proc: SpawnedAgent | undefined;
  private earlier = '';
  readonly api: ApiClient;

  private constructor(
    readonly httpPort: number,
    readonly grpcPort: number,
    readonly dataDir: string,
    private readonly ownsDir: boolean,
    private readonly extraArgs: readonly string[],
  ) {
    this.api = new ApiClient(`127.0.0.1:${httpPort}`);
  }

  static async start(opts: AgentOptions = {}): Promise<AgentProcess> {
    const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sy-agent-'));
    const agent = new AgentProcess(await freePort(), await freePort(), dir, !opts.dataDir, opts.extraArgs ?? []);
    await agent.launch();
    return agent;
  }

  get httpAddr(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get grpcAddr(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  /** The running agent's process id. */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /** Everything every launch printed. */
  output(): string {
    return this.earlier + (this.proc ? this.proc.stdout() + this.proc.stderr() : '');
  }

  /** (Re)starts the process on the same ports and data dir. */
  async launch(): Promise<void> {
    if (this.proc) this.earlier = this.output();
    this.proc = undefined;
    this.proc = await spawnAgent(['-data-dir', this.dataDir, '-grpc-port', String(this.grpcPort), '-node', 'e2e', ...this.extraArgs], { httpPort: this.httpPort });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.proc?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.proc?.exited;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** `switchyard connect envoy -bootstrap` for a sidecar, as JSON. */
  bootstrapFor(service: string, extra: readonly string[] = []): Record<string, unknown> {
    return this.bootstrap(['-sidecar-for', service, ...extra]);
  }

  /** `switchyard connect envoy -bootstrap` with these flags (a gateway's, for example), as JSON. */
  bootstrap(flags: readonly string[]): Record<string, unknown> {
    const r = spawnSync(BIN, ['connect', 'envoy', ...flags, '-bootstrap', '-http-addr', this.httpAddr, '-grpc-addr', this.grpcAddr], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`connect envoy -bootstrap failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }
}
