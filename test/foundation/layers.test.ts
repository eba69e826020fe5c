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

describe('dependency-direction check', () => {
  it('passes on the real src/', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
  });

  it('fails on an upward import and names the file and both layers', () => {
    const dir = tree({
      'core/ids.ts': "import { x } from '../catalog/services.js';\nexport const y = x;\n",
      'catalog/services.ts': 'export const x = 1;\n',
    });
    try {
      const r = run(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /core\/ids\.ts: layer "core" imports "\.\.\/catalog\/services\.js" from layer "catalog", which is above it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when the pure generators import rxjs', () => {
    const dir = tree({ 'xds/clusters.ts': "import { map } from 'rxjs';\nexport const m = map;\n" });
    try {
      const r = run(dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /xds\/clusters\.ts: layer "xds" may not import "rxjs"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('allows downward imports', () => {
    const dir = tree({
      'core/ids.ts': 'export const x = 1;\n',
      'catalog/services.ts': "import { x } from '../core/ids.js';\nexport const y = x;\n",
    });
    try {
      assert.equal(run(dir).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
