#!/usr/bin/env node
// Builds the Go example CA plugin (examples/ca-plugin-go) into .tools/ca-plugin-go/ca-plugin-go.
// Its messages are generated from proto/plugin/ca.proto with protoc-gen-go (built from the
// module's own pinned google.golang.org/protobuf, a `tool` of its go.mod) through buf, into a
// copy of the sources under .tools (never committed). Go modules and build caches stay under
// .tools/go; nothing is installed outside the repository. A build is reused while the hash of
// its inputs (the sources, the proto, the Go version) is unchanged.
// Usage: node scripts/ca-plugin-go.mjs   (prints the binary's path)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goInputsHash, runGo } from './go.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const example = join(root, 'examples/ca-plugin-go');
const proto = join(root, 'proto/plugin/ca.proto');
const dir = join(root, '.tools/ca-plugin-go');
export const GO_PLUGIN_BIN = join(dir, 'ca-plugin-go');

const PURPOSE = 'the Go example CA plugin';
const go = (args, cwd) => runGo(args, cwd, PURPOSE);

export function buildGoPlugin() {
  const stamp = join(dir, '.built');
  const want = goInputsHash(example, PURPOSE, [readFileSync(proto)]);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && existsSync(GO_PLUGIN_BIN)) return GO_PLUGIN_BIN;
  process.stderr.write(`tools: building the Go example CA plugin into ${dir}\n`);
  const src = join(dir, 'src');
  rmSync(dir, { recursive: true, force: true });
  cpSync(example, src, { recursive: true });
  const gen = join(dir, 'protoc-gen-go');
  go(['build', '-o', gen, 'google.golang.org/protobuf/cmd/protoc-gen-go'], src);
  const protoDir = join(dir, 'proto');
  mkdirSync(join(protoDir, 'plugin'), { recursive: true });
  cpSync(proto, join(protoDir, 'plugin/ca.proto'));
  writeFileSync(join(protoDir, 'buf.yaml'), 'version: v2\n');
  const template = { version: 'v2', plugins: [{ local: gen, out: src, opt: ['module=switchyard.dev/ca-plugin'] }] };
  execFileSync(join(root, 'node_modules/.bin/buf'), ['generate', '--template', JSON.stringify(template)], { cwd: protoDir, stdio: ['ignore', 'inherit', 'inherit'] });
  go(['build', '-trimpath', '-o', GO_PLUGIN_BIN, '.'], src);
  writeFileSync(stamp, want);
  return GO_PLUGIN_BIN;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${buildGoPlugin()}\n`);
