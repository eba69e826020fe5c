#!/usr/bin/env node
// Builds Consul's own CLI (v1.14.11, the newest Consul whose sources and modules are all
// MPL-2.0 open source) into .tools/consul-cli/consul, from test/consul-cli: a main that registers
// only the commands whose endpoints Switchyard serves (services, catalog, config, intention,
// connect ca, connect envoy, members, watch). Go modules and build caches stay under .tools/go;
// nothing is installed outside the repository. A build is reused while the hash of its inputs
// (the sources, go.mod/go.sum, the Go version) is unchanged.
// Usage: node scripts/consul-cli.mjs   (prints the binary's path)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoBinary } from './go.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSUL_CLI_BIN = join(root, '.tools/consul-cli/consul');

export const buildConsulCli = () =>
  buildGoBinary(join(root, 'test/consul-cli'), CONSUL_CLI_BIN, "Consul's CLI for the compatibility tests", "Consul's CLI (v1.14.11, a few minutes the first time)");

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${buildConsulCli()}\n`);
