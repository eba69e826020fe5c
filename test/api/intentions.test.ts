import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

interface Ixn {
  SourceName: string;
  DestinationName: string;
  Action: string;
  Precedence: number;
  Description: string;
}

describe('/v1/connect/intentions', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  it('creates, reads, updates and deletes an exact intention, stored as a service-intentions entry', async () => {
    const put = await a.put('/v1/connect/intentions/exact?source=web&destination=db', { Action: 'deny', Description: 'no' });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json, true);
    const got = (await a.get('/v1/connect/intentions/exact?source=web&destination=db')).json as Ixn;
    assert.deepEqual([got.SourceName, got.DestinationName, got.Action, got.Description, got.Precedence], ['web', 'db', 'deny', 'no', 9]);
    const entry = (await a.get('/v1/config/service-intentions/db')).json as { Sources: { Name: string; Action: string }[] };
    assert.deepEqual(entry.Sources.map((s) => [s.Name, s.Action]), [['web', 'deny']]);
    await a.put('/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow' });
    assert.equal(((await a.get('/v1/connect/intentions/exact?source=web&destination=db')).json as Ixn).Action, 'allow');
    assert.equal((await a.delete('/v1/connect/intentions/exact?source=web&destination=db')).status, 200);
    assert.equal((await a.get('/v1/connect/intentions/exact?source=web&destination=db')).status, 404);
    assert.equal((await a.get('/v1/config/service-intentions/db')).status, 404, 'entry removed with its last source');
  });

  it('lists intentions highest precedence first and checks with exact names before wildcards', async () => {
    await a.put('/v1/config', { Kind: 'service-intentions', Name: '*', Sources: [{ Name: '*', Action: 'deny' }, { Name: 'ops', Action: 'allow' }] });
    await a.put('/v1/config', { Kind: 'service-intentions', Name: 'api', Sources: [{ Name: '*', Action: 'allow' }, { Name: 'web', Action: 'deny' }] });
    const list = (await a.get('/v1/connect/intentions')).json as Ixn[];
    assert.deepEqual(list.map((i) => `${i.SourceName}=>${i.DestinationName}:${i.Precedence}`), ['web=>api:9', '*=>api:8', 'ops=>*:6', '*=>*:5']);
    const check = async (s: string, d: string) => ((await a.get(`/v1/connect/intentions/check?source=${s}&destination=${d}`)).json as { Allowed: boolean }).Allowed;
    assert.equal(await check('web', 'api'), false, 'exact deny beats wildcard allow');
    assert.equal(await check('billing', 'api'), true, 'wildcard source allow on api');
    assert.equal(await check('ops', 'db'), true, 'source exact to any destination');
    assert.equal(await check('billing', 'db'), false, '*=>* deny');
  });

  it('uses the default policy when nothing matches', async () => {
    await a.delete('/v1/config/service-intentions/*');
    assert.equal(((await a.get('/v1/connect/intentions/check?source=x&destination=y')).json as { Allowed: boolean }).Allowed, true, 'default allow');
    a.catalog.setDefaultIntentionPolicy('deny');
    assert.equal(((await a.get('/v1/connect/intentions/check?source=x&destination=y')).json as { Allowed: boolean }).Allowed, false, 'default deny');
    a.catalog.setDefaultIntentionPolicy('allow');
  });

  it('denies at L4 when the matching intention has L7 permissions', async () => {
    assert.equal((await a.put('/v1/config', { Kind: 'service-defaults', Name: 'shop', Protocol: 'http' })).status, 200);
    const put = await a.put('/v1/config', { Kind: 'service-intentions', Name: 'shop', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/cart' } }] }] });
    assert.equal(put.status, 200, put.text);
    const d = a.catalog.check('web', 'shop');
    assert.equal(d.Allowed, false);
    assert.match(d.Reason, /L7/);
  });

  it('refuses L7 permissions towards a tcp service, and a protocol change to tcp under them (as Consul)', async () => {
    const before = a.agent.store.currentIndex();
    const l7 = { Kind: 'service-intentions', Name: 'ledger', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'api', Permissions: [{ Action: 'allow', HTTP: { PathExact: '/ok' } }] }] };
    const refused = await a.put('/v1/config', l7);
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /Sources\[1\]\.Permissions: service "ledger" has protocol "tcp", which is incompatible with L7 intentions permissions/);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing stored');
    assert.equal((await a.get('/v1/config/service-intentions/ledger')).status, 404);
    assert.equal((await a.put('/v1/config', { Kind: 'service-defaults', Name: 'ledger', Protocol: 'http2' })).status, 200);
    assert.equal((await a.put('/v1/config', l7)).status, 200, 'accepted once the service speaks http2');
    const back = await a.put('/v1/config', { Kind: 'service-defaults', Name: 'ledger', Protocol: 'tcp' });
    assert.equal(back.status, 400, back.text);
    assert.match(back.text, /Protocol: service "ledger" has protocol "tcp", which is incompatible with L7 intentions permissions/);
    assert.equal(((await a.get('/v1/config/service-defaults/ledger')).json as { Protocol: string }).Protocol, 'http2', 'unchanged');
  });

  it('rejects bad input with 400 naming the field and stores nothing', async () => {
    const before = a.agent.store.currentIndex();
    const cases: [string, unknown, RegExp][] = [
      ['/v1/connect/intentions/exact?destination=db', { Action: 'allow' }, /source: query parameter is required/],
      ['/v1/connect/intentions/exact?source=web&destination=bad!', { Action: 'allow' }, /destination: must contain only letters/],
      ['/v1/connect/intentions/exact?source=web&destination=db', { Action: 'maybe' }, /Action: Invalid option/],
      ['/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow', Colour: 'red' }, /Colour: unknown field/],
      ['/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow', SourceName: 'api' }, /SourceName: "api" differs/],
    ];
    for (const [path, body, message] of cases) {
      const r = await a.put(path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before);
    const check = await a.get('/v1/connect/intentions/check?source=web');
    assert.equal(check.status, 400);
    assert.match(check.text, /destination: query parameter is required/);
  });
});
