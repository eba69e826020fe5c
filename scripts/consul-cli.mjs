#!/usr/bin/env node
// Builds Consul's own CLI (v1.14.11, the newest Consul whose sources and modules are all
// MPL-2.0 open source) into .tools/consul-cli/consul, from test/consul-cli: a main that registers
// only the commands whose endpoints Switchyard serves (services, catalog, config, intention,
// connect ca, connect envoy, members, watch). Go modules and build caches stay under .tools/go;
// nothing is installed outside the repository. A build is reused while the hash of its inputs
// (the sources, go.mod/go.sum, the Go version) is unchanged.
// Usage: node scripts/consul-cli.mjs   (prints the binary's path)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goInputsHash, runGo } from './go.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'test/consul-cli');
const dir = join(root, '.tools/consul-cli');
export const CONSUL_CLI_BIN = join(dir, 'consul');

const PURPOSE = "Consul's CLI for the compatibility tests";

export function buildConsulCli() {
  const stamp = join(dir, '.built');
  const want = goInputsHash(src, PURPOSE);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && existsSync(CONSUL_CLI_BIN)) return CONSUL_CLI_BIN;
  process.stderr.write(`tools: building Consul's CLI (v1.14.11) into ${dir} (a few minutes the first time)\n`);
  mkdirSync(dir, { recursive: true });
  runGo(['build', '-trimpath', '-ldflags=-s -w', '-o', CONSUL_CLI_BIN, '.'], src, PURPOSE);
  writeFileSync(stamp, want);
  return CONSUL_CLI_BIN;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${buildConsulCli()}\n`);
