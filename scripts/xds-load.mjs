#!/usr/bin/env node
// Builds the Go xDS load client (bench/xds-load: go-control-plane's protos and grpc-go, nothing
// of Switchyard's code) into .tools/xds-load, with modules and caches under .tools/go; reused
// while its inputs are unchanged.
// Usage: node scripts/xds-load.mjs   (prints the binary's path)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoBinary } from './go.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const XDS_LOAD_BIN = join(root, '.tools/xds-load/xds-load');

export const buildXdsLoad = () => buildGoBinary(join(root, 'bench/xds-load'), XDS_LOAD_BIN, 'the xDS load client of the benchmarks', 'the Go xDS load client');

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${buildXdsLoad()}\n`);
