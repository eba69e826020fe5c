// Golden files: compare canonical JSON with fixtures/<scenario>/golden/<name>.json, or rewrite
// them when UPDATE_GOLDEN=1 (review the diff like code).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FIXTURES } from './scenario.js';

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

export function serialise(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function assertGolden(scenario: string, file: string, value: unknown): void {
  const path = join(FIXTURES, scenario, 'golden', file);
  const actual = serialise(value);
  if (UPDATE_GOLDEN) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `missing golden ${path}: run UPDATE_GOLDEN=1 npm test and review the new file`);
  assert.equal(actual, readFileSync(path, 'utf8'), `fixtures/${scenario}/golden/${file} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}
