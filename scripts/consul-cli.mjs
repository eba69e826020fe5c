#!/usr/bin/env node
// Builds Consul's own CLI (v1.14.11, the newest Consul whose sources and modules are all
// MPL-2.0 open source) into .tools/consul-cli/consul, from test/consul-cli: a main that registers
// only the commands whose endpoints Switchyard serves (services, catalog, config, intention,
// connect ca, connect envoy, members, watch). Go modules and build caches stay under .tools/go;
// nothing is installed outside the repository. A build is reused while the hash of its inputs
// (the sources, go.mod/go.sum, the Go version) is unchanged.
// Usage: node scripts/consul-cli.mjs   (prints the binary's path)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'test/consul-cli');
const dir = join(root, '.tools/consul-cli');
export const CONSUL_CLI_BIN = join(dir, 'consul');

function goEnv() {
  const go = join(root, '.tools/go');
  return { ...process.env, GOMODCACHE: join(go, 'mod'), GOCACHE: join(go, 'cache'), GOFLAGS: '-modcacherw -mod=readonly', GOTOOLCHAIN: 'local' };
}

function go(args) {
  try {
    return execFileSync('go', args, { cwd: src, env: goEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error("the Go toolchain (go) is not on PATH: it builds Consul's CLI for the compatibility tests");
    throw new Error(`go ${args.join(' ')} failed in ${src}:\n${err.stderr ?? err.message}`);
  }
}

function inputsHash() {
  const h = createHash('sha256');
  h.update(go(['version']));
  for (const f of readdirSync(src).sort()) h.update(`${f}\0`).update(readFileSync(join(src, f)));
  return h.digest('hex');
}

export function buildConsulCli() {
  const stamp = join(dir, '.built');
  const want = inputsHash();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && existsSync(CONSUL_CLI_BIN)) return CONSUL_CLI_BIN;
  process.stderr.write(`tools: building Consul's CLI (v1.14.11) into ${dir} (a few minutes the first time)\n`);
  mkdirSync(dir, { recursive: true });
  go(['build', '-trimpath', '-ldflags=-s -w', '-o', CONSUL_CLI_BIN, '.']);
  writeFileSync(stamp, want);
  return CONSUL_CLI_BIN;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${buildConsulCli()}\n`);
