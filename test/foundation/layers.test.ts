// The dependency-direction check must pass on the real tree and fail on an upward import.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const REPO = new URL('../../../', import.meta.url).pathname;
const SCRIPT = join(REPO, 'scripts/check-layers.mjs');

function run(srcDir?: string) {
  return spawnSync(process.execPath, [SCRIPT, ...(srcDir ? [srcDir] : [])], { encoding: 'utf8' });
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Runs `check` on a throw-away source tree of `files`, removed afterwards. */
function inTree(files: Record<string, string>, check: (dir: string) => void): void {
  const dir = tree(files);
  try {
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('dependency-direction check', () => {
  it('passes on the real src/', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
  });

  it('fails on an upward import and names the file and both layers', () => {
    const files = {
      'core/ids.ts': "import { x } from '../catalog/services.js';\nexport const y = x;\n",
      'catalog/services.ts': 'export const x = 1;\n',
    };
    inTree(files, (dir) => {
      const r = run(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /core\/ids\.ts: layer "core" imports "\.\.\/catalog\/services\.js" from layer "catalog", which is above it/);
    });
  });

  it('fails when the pure generators import rxjs', () => {
    inTree({ 'xds/clusters.ts': "import { map } from 'rxjs';\nexport const m = map;\n" }, (dir) => {
      const r = run(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /xds\/clusters\.ts: layer "xds" may not import "rxjs"/);
    });
  });

  it("fails when one proxy kind's module imports another's", () => {
    const files = {
      'proxycfg/connect-proxy.ts': 'export const x = 1;\n',
      'proxycfg/mesh-gateway.ts': "import { x } from './connect-proxy.js';\nexport const y = x;\n",
      'proxycfg/upstreams.ts': 'export const u = 1;\n',
    };
    inTree(files, (dir) => {
      const r = run(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /proxycfg\/mesh-gateway\.ts: the mesh-gateway module imports the connect-proxy module/);
      // Shared modules are for every kind.
      writeFileSync(join(dir, 'proxycfg/mesh-gateway.ts'), "import { u } from './upstreams.js';\nexport const y = u;\n");
      const again = run(dir);
      assert.equal(again.status, 0, again.stderr);
    });
  });

  it('fails when the generators import a value (not a type) from proxycfg', () => {
    const files = {
      'proxycfg/kinds.ts': 'export const PROXY_KINDS = {};\nexport type K = string;\n',
      'xds/generate.ts': "import { PROXY_KINDS } from '../proxycfg/kinds.js';\nimport type { K } from '../proxycfg/kinds.js';\nexport const t: K = String(PROXY_KINDS);\n",
    };
    inTree(files, (dir) => {
      const r = run(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /xds\/generate\.ts: layer "xds" may import only types from layer "proxycfg"/);
      assert.equal(r.stderr.match(/may import only types/g)?.length, 1, 'the type import is allowed');
    });
  });

  it('allows downward imports', () => {
    const files = {
      'core/ids.ts': 'export const x = 1;\n',
      'catalog/services.ts': "import { x } from '../core/ids.js';\nexport const y = x;\n",
    };
    inTree(files, (dir) => assert.equal(run(dir).status, 0));
  });
});
