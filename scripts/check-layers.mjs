#!/usr/bin/env node
// Fails when a module under src/ imports from a layer above its own.
// Usage: node scripts/check-layers.mjs [srcDir]   (default: src)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Each layer may import only the layers listed for it (and itself). Lower layers never see
 * higher ones: gen <- core <- store <- acl, catalog, ca <- proxycfg <- xds <- server <- api <- cli.
 */
export const ALLOWED = {
  gen: [],
  core: ['gen'],
  store: ['gen', 'core'],
  acl: ['gen', 'core', 'store'],
  catalog: ['gen', 'core', 'store'],
  ca: ['gen', 'core', 'store'],
  proxycfg: ['gen', 'core', 'store', 'catalog', 'ca'],
  xds: ['gen', 'core', 'catalog', 'ca', 'proxycfg'],
  server: ['gen', 'core', 'store', 'acl', 'catalog', 'ca', 'proxycfg', 'xds'],
  api: ['gen', 'core', 'store', 'acl', 'catalog', 'ca', 'proxycfg', 'xds', 'server'],
  cli: ['gen', 'core', 'store', 'acl', 'catalog', 'ca', 'proxycfg', 'xds', 'server', 'api'],
};

/** Packages a layer may not import at all (the generators are pure: no rxjs, no I/O). */
export const FORBIDDEN_PACKAGES = {
  xds: ['rxjs', 'node:fs', 'node:net', 'node:child_process', 'pino'],
  core: ['rxjs'],
};

/**
 * Proxy kinds each have a module of their own in proxycfg (and may have one in xds), named after
 * the kind: one kind's module may not import another's; what kinds share lives in the layer's
 * shared modules (proxycfg/upstreams.ts, proxycfg/resolve.ts, the xds generators).
 */
export const KIND_MODULES = ['connect-proxy', 'mesh-gateway', 'ingress-gateway', 'terminating-gateway'];
/** The generators read snapshots as data: from proxycfg they import types only, never a pipeline. */
export const TYPE_ONLY = { xds: ['proxycfg'] };

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

/** The proxy kind a module is named after, if any (`connect-proxy.ts`, `connect-proxy.js`). */
function kindOf(path) {
  const base = path.split(sep).pop().replace(/\.(ts|js)$/, '');
  return KIND_MODULES.includes(base) ? base : undefined;
}

export function checkLayers(srcDir) {
  const problems = [];
  for (const layer of readdirSync(srcDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
    if (layer === 'gen') continue;
    if (!(layer in ALLOWED)) {
      problems.push(`src/${layer}: not a known layer (add it to scripts/check-layers.mjs)`);
      continue;
    }
    for (const file of tsFiles(join(srcDir, layer))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3];
        const rel = relative(srcDir, file);
        if (spec.startsWith('.')) {
          const targetPath = relative(srcDir, resolve(dirname(file), spec));
          const target = targetPath.split(sep)[0];
          if (target !== layer && !ALLOWED[layer].includes(target)) {
            problems.push(`${rel}: layer "${layer}" imports "${spec}" from layer "${target}", which is above it`);
          }
          if ((TYPE_ONLY[layer] ?? []).includes(target) && !/^\s*(import|export)\s+type\s/.test(m[0].replace(/^\n/, ''))) {
            problems.push(`${rel}: layer "${layer}" may import only types from layer "${target}" ("${spec}")`);
          }
          const ownKind = kindOf(file);
          const targetKind = kindOf(targetPath);
          if (target === layer && ownKind && targetKind && ownKind !== targetKind) {
            problems.push(`${rel}: the ${ownKind} module imports the ${targetKind} module ("${spec}"); share code through the layer's shared modules`);
          }
        } else if ((FORBIDDEN_PACKAGES[layer] ?? []).some((p) => spec === p || spec.startsWith(`${p}/`))) {
          problems.push(`${rel}: layer "${layer}" may not import "${spec}"`);
        }
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const srcDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '../src'));
  const problems = checkLayers(srcDir);
  if (problems.length) {
    console.error(`check-layers: ${problems.length} upward or forbidden import(s):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log('check-layers: ok');
}
