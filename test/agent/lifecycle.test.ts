import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-life-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('agent lifecycle', () => {
  it('ends blocking queries with the current value when it closes, instead of hanging', async () => {
    const a = await TestAgent.start();
    const first = await a.get('/v1/catalog/services');
    const live = a.agent.store.liveQueries;
    const pending = a.get(`/v1/catalog/services?index=${first.index}&wait=60s`);
    await waitFor('the blocking query to be watching', () => a.agent.store.liveQueries > live);
    const started = Date.now();
    await a.close();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.ok(Date.now() - started < 5000, 'closed promptly');
  });

  it('keeps its node ID, services and indexes across a restart on the same data dir', async () => {
    const first = await TestAgent.start({ dataDir: join(dir, 'a') });
    await first.put('/v1/agent/service/register', { Name: 'web', Port: 80, Connect: { SidecarService: {} } });
    const nodeBefore = ((await first.get('/v1/catalog/nodes')).json as { ID: string }[])[0]?.ID;
    const indexBefore = first.agent.store.currentIndex();
    await first.close();
    const second = await TestAgent.start({ dataDir: join(dir, 'a') });
    try {
      assert.equal(((await second.get('/v1/catalog/nodes')).json as { ID: string }[])[0]?.ID, nodeBefore);
      assert.deepEqual(Object.keys((await second.get('/v1/agent/services')).json as object).sort(), ['web', 'web-sidecar-proxy']);
      assert.equal(second.agent.store.currentIndex(), indexBefore, 'restart wrote nothing new');
    } finally {
      await second.close();
    }
  });
});
