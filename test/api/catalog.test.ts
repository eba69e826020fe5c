import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

describe('/v1/catalog and /v1/health', () => {
  let a: TestAgent;
  before(async () => {
    a = await TestAgent.start({ node: 'alpha' });
    await a.put('/v1/agent/service/register', { ID: 'web-1', Name: 'web', Port: 8080, Tags: ['blue'], Check: { TTL: '1h', Status: 'passing' }, Connect: { SidecarService: {} } });
    await a.put('/v1/agent/service/register', { ID: 'web-2', Name: 'web', Port: 8081, Tags: ['green'], Check: { TTL: '1h' } });
    await a.put('/v1/agent/service/register', { Name: 'native', Port: 7000, Connect: { Native: true } });
  });
  after(() => a.close());

  it('lists services with their tags, and nodes', async () => {
    const services = await a.get('/v1/catalog/services');
    assert.equal(services.status, 200);
    // `consul`: the service a Consul server keeps for itself, which Consul's clients expect.
    assert.deepEqual(services.json, { consul: [], native: [], web: ['blue', 'green'], 'web-sidecar-proxy': ['blue'] });
    assert.ok(services.index > 0);
    const nodes = (await a.get('/v1/catalog/nodes')).json as { Node: string; Address: string; Datacenter: string }[];
    assert.deepEqual(nodes.map((n) => [n.Node, n.Address, n.Datacenter]), [['alpha', '127.0.0.1', 'dc1']]);
  });

  it('lists the instances of a service in CatalogService shape, filtered by tag', async () => {
    const r = (await a.get('/v1/catalog/service/web')).json as Record<string, unknown>[];
    assert.deepEqual(r.map((s) => [s.ServiceID, s.ServicePort, s.Node, s.ServiceName]), [['web-1', 8080, 'alpha', 'web'], ['web-2', 8081, 'alpha', 'web']]);
    const green = (await a.get('/v1/catalog/service/web?tag=green')).json as Record<string, unknown>[];
    assert.deepEqual(green.map((s) => s.ServiceID), ['web-2']);
    assert.deepEqual((await a.get('/v1/catalog/service/none')).json, []);
  });

  it('returns health with checks, and only passing instances with ?passing', async () => {
    const all = (await a.get('/v1/health/service/web')).json as { Service: { ID: string }; Checks: { Status: string; ServiceID: string }[]; Node: { Node: string } }[];
    assert.deepEqual(all.map((e) => [e.Service.ID, e.Checks.find((c) => c.ServiceID !== '')?.Status, e.Node.Node]), [['web-1', 'passing', 'alpha'], ['web-2', 'critical', 'alpha']]);
    const passing = (await a.get('/v1/health/service/web?passing')).json as { Service: { ID: string } }[];
    assert.deepEqual(passing.map((e) => e.Service.ID), ['web-1']);
    const bad = await a.get('/v1/health/service/web?passing=maybe');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /passing: must be true or false/);
  });

  it('returns the sidecars and Connect-native instances for /v1/health/connect', async () => {
    const web = (await a.get('/v1/health/connect/web')).json as { Service: { ID: string; Proxy: { DestinationServiceName: string } } }[];
    assert.deepEqual(web.map((e) => [e.Service.ID, e.Service.Proxy.DestinationServiceName]), [['web-1-sidecar-proxy', 'web']]);
    const native = (await a.get('/v1/health/connect/native')).json as { Service: { ID: string } }[];
    assert.deepEqual(native.map((e) => e.Service.ID), ['native']);
  });

  it('rejects bad blocking parameters naming them', async () => {
    for (const [query, message] of [['index=abc', /index: must be a non-negative integer/], ['index=1&wait=soon', /wait: "soon" is not a duration/]] as const) {
      for (const path of ['/v1/catalog/services', '/v1/catalog/nodes', '/v1/health/service/web', '/v1/agent/services', '/v1/connect/intentions', '/v1/config/service-defaults']) {
        const r = await a.get(`${path}?${query}`);
        assert.equal(r.status, 400, `${path}?${query}`);
        assert.match(r.text, message);
      }
    }
  });

  it('answers a blocking query promptly when a relevant change lands', async () => {
    const first = await a.get('/v1/health/service/web');
    const pending = await a.blockingGet(`/v1/health/service/web?index=${first.index}&wait=30s`);
    const started = Date.now();
    await a.put('/v1/agent/check/pass/service:web-2');
    const r = await pending.reply;
    assert.ok(Date.now() - started < 5000, 'returned long before the wait');
    assert.ok(r.index > first.index, `index moved (${first.index} -> ${r.index})`);
    assert.deepEqual((r.json as { Checks: { Status: string }[] }[]).map((e) => e.Checks[0]?.Status), ['passing', 'passing']);
  });

  it('treats wait=0s as the default wait, as Consul does: the query still blocks', async () => {
    const first = await a.get('/v1/health/service/web');
    const pending = await a.blockingGet(`/v1/health/service/web?index=${first.index}&wait=0s`);
    await a.put('/v1/agent/check/warn/service:web-2');
    const r = await pending.reply;
    assert.ok(r.index > first.index, `answered by the change (${first.index} -> ${r.index})`);
    await a.put('/v1/agent/check/pass/service:web-2');
  });

  it('requires every tag when ?tag= is repeated, as Consul does', async () => {
    await a.put('/v1/agent/service/register', { ID: 'web-3', Name: 'web', Port: 8082, Tags: ['blue', 'canary'] });
    try {
      const ids = (r: { json: unknown }) => (r.json as { ServiceID?: string; Service?: { ID: string } }[]).map((e) => e.ServiceID ?? e.Service?.ID);
      assert.deepEqual(ids(await a.get('/v1/catalog/service/web?tag=blue&tag=canary')), ['web-3']);
      assert.deepEqual(ids(await a.get('/v1/health/service/web?tag=blue&tag=canary')), ['web-3']);
      assert.deepEqual(ids(await a.get('/v1/health/service/web?tag=blue')), ['web-1', 'web-3']);
    } finally {
      await a.put('/v1/agent/service/deregister/web-3');
    }
  });

  it('answers each filter its own result while another filter of the same service is being watched', async () => {
    // `?tag=` (filter by the empty tag: nothing matches, as in Consul) and no tag at all once
    // shared one watch key, so whichever was live answered for both.
    const empty = await a.get('/v1/health/service/web?tag=');
    assert.deepEqual(empty.json, []);
    const live = a.agent.store.liveQueries;
    const pending = a.get(`/v1/health/service/web?tag=&index=${empty.index}&wait=1s`);
    await waitFor('the blocking query to hold its watch', () => a.agent.store.liveQueries > live);
    const all = (await a.get('/v1/health/service/web')).json as { Service: { ID: string } }[];
    assert.deepEqual(all.map((e) => e.Service.ID), ['web-1', 'web-2']);
    assert.deepEqual((await pending).json, []);
  });

  it('answers a blocking query after about wait when nothing relevant changes', async () => {
    const first = await a.get('/v1/catalog/service/web');
    const started = Date.now();
    const pending = await a.blockingGet(`/v1/catalog/service/web?index=${first.index}&wait=400ms`);
    await a.put('/v1/config', { Kind: 'service-defaults', Name: 'other', Protocol: 'http' });
    const r = await pending.reply;
    const took = Date.now() - started;
    assert.ok(took >= 380 && took < 3000, `took ${took} ms`);
    assert.equal(r.index, first.index);
    assert.deepEqual(r.json, first.json);
  });
});
