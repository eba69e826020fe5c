#!/usr/bin/env node
// The npm registry reachable here does not serve @bufbuild/buf's macOS, Windows and armv7
// binary packages, so `npm install` leaves them out of package-lock.json and `npm ci` then
// refuses the lock. This records them in the lock as the optional, platform-restricted
// packages they are (npm never fetches them on linux-x64). Run it after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const buf = lock.packages['node_modules/@bufbuild/buf'];
let added = 0;
for (const [name, version] of Object.entries(buf.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [, os, arch] = /buf-(\w+)-(\w+)$/.exec(name);
  const cpu = { x64: 'x64', arm64: 'arm64', aarch64: 'arm64', armv7: 'arm' }[arch];
  lock.packages[key] = { version, cpu: [cpu], dev: true, license: 'Apache-2.0', optional: true, os: [os], engines: { node: '>=12' } };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(LOCK, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-optional-platforms: ${added} entries added`);
