// The example CA plugins as executables a CA configuration can name in plugin_cmd: the Go one
// (built by scripts/ca-plugin-go.mjs into .tools/, cached) and the TypeScript one (this
// repository's SDK, started through a wrapper script written into a test's temp dir).
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const REPO = new URL('../../../', import.meta.url).pathname;
const TS_PLUGIN = new URL('./ts-ca-plugin.js', import.meta.url).pathname;

export interface PluginBinary {
  readonly name: string;
  readonly cmd: string;
  readonly sha256: string;
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
  return { name: 'ca-plugin-go', cmd: goBinary, sha256: sha256Of(goBinary) };
}

/** The TypeScript example plugin: a wrapper script in a fresh temp dir (`dir` to choose it). */
export function tsPlugin(dir = mkdtempSync(join(tmpdir(), 'sy-ts-plugin-'))): PluginBinary {
  const cmd = join(dir, 'ts-ca-plugin');
  writeFileSync(cmd, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(TS_PLUGIN)} "$@"\n`);
  chmodSync(cmd, 0o755);
  return { name: 'ts-ca-plugin', cmd, sha256: sha256Of(cmd) };
}
