// A bounded run of the HTTP fuzzer in `npm test` (bench/fuzz.bench.ts runs 10,000+ cases):
// malformed and hostile requests against every write endpoint and config kind; no 5xx, the
// agent answers leader pings throughout, and nothing is stored for a refused input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { runHttpFuzz } from '../support/http-fuzz.js';

describe('HTTP fuzz (bounded)', () => {
  let a: TestAgent;
  before(async () => {
    a = await TestAgent.start();
    // Something for the reads and deletes to find.
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'web', Port: 80, Check: { CheckID: 'c1', TTL: '60s' } })).status, 200);
  });
  after(() => a.close());

  for (const seed of [1, 2]) {
    it(`seed ${seed}: 400 cases, no 5xx, no change stored for a refused input, leader answered throughout`, async () => {
      const port = Number(a.agent.httpAddress.split(':').pop());
      const stats = await runHttpFuzz(port, seed, 400, async () => a.agent.store.currentIndex());
      assert.equal(stats.cases, 400);
      assert.deepEqual(stats.serverErrors.map((e) => `${e.status} ${e.c.cls} ${e.c.method} ${e.c.path}: ${e.body.slice(0, 200)}`), []);
      assert.deepEqual(stats.storedOnRefusal.map((e) => `${e.status} ${e.c.cls} ${e.c.method} ${e.c.path}`), []);
      // The run covered refusals of each kind, not only one answer.
      const statuses = new Set([...stats.byClass.values()].flatMap((m) => [...m.keys()]));
      for (const s of [200, 400, 404, 405]) assert.ok(statuses.has(s), `some case answered ${s}`);
    });
  }
});
