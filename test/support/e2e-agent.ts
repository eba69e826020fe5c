// A real Switchyard agent as a child process (bin/switchyard agent), for end-to-end tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/cli/http-client.js';
import { freePort, waitFor } from './wait.js';

export const BIN = new URL('../../../bin/switchyard', import.meta.url).pathname;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export interface AgentOptions {
  /** Durable store directory; default a fresh temp dir (removed by stop()). */
  readonly dataDir?: string;
  readonly extraArgs?: readonly string[];
}

export class AgentProcess {
  private child: ChildProcess | undefined;
  private out = '';
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

  output(): string {
    return this.out;
  }

  /** (Re)starts the process on the same ports and data dir and waits until it answers. */
  async launch(): Promise<void> {
    const args = ['agent', '-data-dir', this.dataDir, '-http-port', String(this.httpPort), '-grpc-port', String(this.grpcPort), '-node', 'e2e', ...this.extraArgs];
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHYARD_LOG_LEVEL: process.env.SWITCHYARD_LOG_LEVEL ?? 'info' } });
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    running.add(child);
    this.child = child;
    await waitFor('the agent to answer /v1/status/leader', async () => {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${this.out.slice(-2000)}`);
      return (await this.api.get('/v1/status/leader')) !== undefined;
    }, { timeoutMs: 20_000 });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    running.delete(child);
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** `switchyard connect envoy -bootstrap` for a sidecar, as JSON. */
  bootstrapFor(service: string, extra: readonly string[] = []): Record<string, unknown> {
    const r = spawnSync(BIN, ['connect', 'envoy', '-sidecar-for', service, '-bootstrap', '-http-addr', this.httpAddr, '-grpc-addr', this.grpcAddr, ...extra], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`connect envoy -bootstrap failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }
}
