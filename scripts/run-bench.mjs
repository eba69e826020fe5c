#!/usr/bin/env node
// Runs every compiled benchmark under dist/bench (or those matching the filters) one after
// another, each in its own process so one's memory does not colour the next; each prints its figures.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist/bench');
const filters = process.argv.slice(2);
const files = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (filters.length === 0 || filters.some((s) => f.includes(s)))).sort()
  : [];
if (files.length === 0) {
  console.error('run-bench: no benchmarks found (bench/*.bench.ts)');
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--expose-gc', join(dir, f)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
