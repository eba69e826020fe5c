// The example CA plugins as executables a CA configuration can name in plugin_cmd: the Go one
// (built by scripts/ca-plugin-go.mjs into .tools/, cached) and the TypeScript one (this
// repository's SDK, started through a wrapper script written into a test's temp dir).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const REPO = new URL('../../../', import.meta.url).pathname;
const TS_PLUGIN = new URL('./ts-ca-plugin.js', import.meta.url).pathname;

export interface PluginBinary {
  readonly name: string;
  readonly cmd: string;
  readonly sha256: string;
  /** What its process's command line names: the binary, or the script a wrapper runs. */
  readonly runs: string;
}

export const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

let goBinary: string | undefined;

/** The Go example plugin, built on first use (Go must be on PATH). */
export async function goPlugin(): Promise<PluginBinary> {
  if (!goBinary) {
    const script = (await import(join(REPO, 'scripts/ca-plugin-go.mjs'))) as { buildGoPlugin(): string };
    try {
      goBinary = script.buildGoPlugin();
    } catch (err) {
      throw new Error(`the Go example CA plugin could not be built (node scripts/ca-plugin-go.mjs): ${(err as Error).message}`);
    }
  }
  return { name: 'ca-plugin-go', cmd: goBinary, sha256: sha256Of(goBinary), runs: goBinary };
}

/** A compiled test script as an executable: a wrapper in a fresh temp dir (`dir` to choose it). */
function scriptPlugin(name: string, script: string, dir = mkdtempSync(join(tmpdir(), 'sy-ts-plugin-'))): PluginBinary {
  const cmd = join(dir, name);
  writeFileSync(cmd, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(script)} "$@"\n`);
  chmodSync(cmd, 0o755);
  return { name, cmd, sha256: sha256Of(cmd), runs: script };
}

/** The TypeScript example plugin. */
export const tsPlugin = (dir?: string): PluginBinary => scriptPlugin('ts-ca-plugin', TS_PLUGIN, dir);

/** A plugin that does not exit when asked to shut down. */
export const stubbornPlugin = (): PluginBinary => scriptPlugin('stubborn-ca-plugin', new URL('./stubborn-ca-plugin.js', import.meta.url).pathname);

/** A plugin that never answers Sign. */
export const hangingPlugin = (): PluginBinary => scriptPlugin('hanging-ca-plugin', new URL('./hanging-ca-plugin.js', import.meta.url).pathname);

/** A plugin whose leaf-signing intermediate is apart from its root: the Vault provider, its settings in plugin_data. */
export const vaultPlugin = (): PluginBinary => scriptPlugin('vault-ca-plugin', new URL('./vault-ca-plugin.js', import.meta.url).pathname);
/** A plugin whose CA answers SupportsCrossSigning false (and cannot cross-sign). */
export const noCrossSignPlugin = (dir?: string): PluginBinary => scriptPlugin('no-cross-sign-ca-plugin', new URL('./no-cross-sign-ca-plugin.js', import.meta.url).pathname, dir);

/** A plugin of Consul's first protocol only (PEM answers, no State, no SupportsCrossSigning). */
export const consulStylePlugin = (): PluginBinary => scriptPlugin('consul-style-ca-plugin', new URL('./consul-style-ca-plugin.js', import.meta.url).pathname);

function parentOf(pid: string): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still a live process (not gone, not a zombie) running `path`. */
export function stillRunning(pid: number | string, path: string): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(path);
  } catch {
    return false;
  }
}

/** Every live process whose command line names `path`. */
export function processesRunning(path: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && stillRunning(d, path))
    .map(Number);
}

/** The live children of `parent` whose command line names `path` (the plugin processes it runs). */
export function pluginProcesses(path: string, parent: number = process.pid): number[] {
  return processesRunning(path).filter((pid) => parentOf(String(pid)) === parent);
}

/** The TypeScript plugin's script, as it shows in its process's command line. */
export const TS_PLUGIN_SCRIPT = TS_PLUGIN;
