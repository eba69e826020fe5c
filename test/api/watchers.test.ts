import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

describe('many blocking watchers', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  it('wakes 1000 concurrent blocking queries with one write, sharing one store query', async () => {
    const first = await a.get('/v1/health/service/api');
    const live = a.agent.store.liveQueries;
    const pending = Array.from({ length: 1000 }, () => a.agent.http.dispatch('GET', `/v1/health/service/api?index=${first.index}&wait=60s`, undefined));
    assert.equal(a.agent.store.liveQueries, live + 1, 'one shared query serves every watcher');
    const started = Date.now();
    await a.put('/v1/agent/service/register', { Name: 'api', Port: 80 });
    const replies = await Promise.all(pending);
    const took = Date.now() - started;
    assert.ok(replies.every((r) => r.status === 200 && (r.body as unknown[]).length === 1), 'every watcher saw the new instance');
    assert.ok(took < 5000, `woken in ${took} ms`);
  });
});
