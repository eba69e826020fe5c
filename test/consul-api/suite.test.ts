// HashiCorp's own api test suite (github.com/hashicorp/consul/api) run against Switchyard, as the
// measure of "Consul's Go client works unchanged" (scripts/consul-api-suite.mjs fetches, builds
// and runs it; each Go test starts its own `switchyard agent` through the `consul` launcher).
// Prints the per-group counts; fails when a test that is not on the README's list of expected
// failures fails, and when a test on that list passes (so the list stays honest).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface SuiteResult {
  readonly tests: { name: string; group?: string; outcome: 'pass' | 'fail' | 'skip'; output: string[] }[];
  readonly groups: { group: string; passed: number; failed: number; skipped: number; failing: string[] }[];
}

/** The README's list of expected failures: each `TestAPI_…` named between its two markers. */
export function expectedFailures(readme: string): Set<string> {
  const start = readme.indexOf('<!-- consul-api-expected-failures -->');
  const end = readme.indexOf('<!-- /consul-api-expected-failures -->');
  assert.ok(start >= 0 && end > start, 'README.md has the consul-api-expected-failures markers');
  return new Set([...readme.slice(start, end).matchAll(/`(TestAPI_\w+)`/g)].map((m) => m[1] as string));
}

test("Consul's api test suite against Switchyard: only the README's expected failures fail", { timeout: 25 * 60_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'consul-api-'));
  try {
    const out = join(dir, 'result.json');
    const r = spawnSync(process.execPath, [join(root, 'scripts/consul-api-suite.mjs'), '--json', out], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, `the suite runner failed:\n${r.stderr}\n${r.stdout}`);
    const result = JSON.parse(readFileSync(out, 'utf8')) as SuiteResult;
    for (const line of r.stdout.split('\n').filter((l) => !l.startsWith('---') && l.trim() !== '')) t.diagnostic(line);
    const expected = expectedFailures(readFileSync(join(root, 'README.md'), 'utf8'));
    const unexpected = result.tests.filter((x) => x.outcome === 'fail' && !expected.has(x.name));
    const nowPassing = result.tests.filter((x) => x.outcome === 'pass' && expected.has(x.name)).map((x) => x.name);
    const ran = new Set(result.tests.map((x) => x.name));
    const gone = [...expected].filter((n) => !ran.has(n));
    assert.deepEqual(
      unexpected.map((x) => x.name),
      [],
      `tests not on README.md's expected-failure list failed:\n${unexpected.map((x) => `--- ${x.name}\n${x.output.slice(0, 15).join('\n')}`).join('\n')}`,
    );
    assert.deepEqual(nowPassing, [], "tests on README.md's expected-failure list now pass: take them off the list");
    assert.deepEqual(gone, [], "README.md's expected-failure list names tests the suite does not have");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
