import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

type Tagged = Record<string, { Address: string; Port: number }>;

describe('service TaggedAddresses', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  /** The service's tagged addresses in each of Consul's shapes that carry a service. */
  async function everyShape(id: string, name: string): Promise<Record<string, unknown>> {
    const agent = (await a.get(`/v1/agent/service/${id}`)).json as { TaggedAddresses?: Tagged };
    const list = ((await a.get('/v1/agent/services')).json as Record<string, { TaggedAddresses?: Tagged }>)[id];
    const catalog = ((await a.get(`/v1/catalog/service/${name}`)).json as { ServiceID: string; ServiceTaggedAddresses?: Tagged }[]).find((s) => s.ServiceID === id);
    const health = ((await a.get(`/v1/health/service/${name}`)).json as { Service: { ID: string; TaggedAddresses?: Tagged } }[]).find((e) => e.Service.ID === id);
    return { agent: agent.TaggedAddresses, services: list?.TaggedAddresses, catalog: catalog?.ServiceTaggedAddresses, health: health?.Service.TaggedAddresses };
  }

  it('stores the tags given and returns them in every shape, with the agent\'s per-family defaults', async () => {
    const given = { lan: { Address: '10.0.0.5', Port: 8080 }, wan: { Address: 'web.example.com', Port: 443 }, custom_tag: { Address: '10.9.9.9', Port: 1 } };
    const r = await a.put('/v1/agent/service/register', { Name: 'web', Port: 8080, Address: '10.0.0.5', TaggedAddresses: given });
    assert.equal(r.status, 200, r.text);
    // Consul's agent adds lan_ipv4 and wan_ipv4 from the service's own IPv4 Address and Port.
    const expected = { ...given, lan_ipv4: { Address: '10.0.0.5', Port: 8080 }, wan_ipv4: { Address: '10.0.0.5', Port: 8080 } };
    assert.deepEqual(await everyShape('web', 'web'), { agent: expected, services: expected, catalog: expected, health: expected });

    // A per-family tag that is given is kept, and an IPv6 Address fills the _ipv6 pair.
    const v6 = { Name: 'v6', Port: 9000, Address: 'fd00::7', TaggedAddresses: { lan_ipv6: { Address: 'fd00::8', Port: 9001 } } };
    assert.equal((await a.put('/v1/agent/service/register', v6)).status, 200);
    const v6expected = { lan_ipv6: { Address: 'fd00::8', Port: 9001 }, wan_ipv6: { Address: 'fd00::7', Port: 9000 } };
    assert.deepEqual(await everyShape('v6', 'v6'), { agent: v6expected, services: v6expected, catalog: v6expected, health: v6expected });

    // What a read returns can be registered again unchanged (a read-modify-write).
    const back = (await a.get('/v1/agent/service/web')).json as { TaggedAddresses: Tagged };
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'web', Port: 8080, Address: '10.0.0.5', TaggedAddresses: back.TaggedAddresses })).status, 200);
    assert.deepEqual((await everyShape('web', 'web')).agent, expected);
  });

  it('leaves TaggedAddresses out where a service has none, as Consul does, records stored without the field included', async () => {
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'plain', Port: 80, Address: 'plain.example.com' })).status, 200);
    // A record written before TaggedAddresses were modelled has no such field at all.
    await a.agent.store.write((tx) => {
      tx.put('services', 'node1/old', { ID: 'old', Service: 'old', Kind: '', Tags: [], Meta: {}, Address: '10.1.1.1', Port: 81, Namespace: 'default', Datacenter: 'dc1', Node: 'node1' });
    });
    for (const [id, name] of [['plain', 'plain'], ['old', 'old']] as const) {
      assert.equal((await a.get(`/v1/agent/service/${id}`)).status, 200);
      assert.deepEqual(await everyShape(id, name), { agent: undefined, services: undefined, catalog: undefined, health: undefined }, id);
    }
    // The sidecar of a service registered with tags gets only its own (none given, no Address here).
    const r = await a.put('/v1/agent/service/register', { Name: 'tagged', Port: 82, TaggedAddresses: { wan: { Address: '203.0.113.1', Port: 82 } }, Connect: { SidecarService: {} } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((await everyShape('tagged', 'tagged')).agent, { wan: { Address: '203.0.113.1', Port: 82 } });
    assert.equal(((await a.get('/v1/agent/service/tagged-sidecar-proxy')).json as { TaggedAddresses?: unknown }).TaggedAddresses, undefined);
  });

  it('refuses bad tagged addresses with 400 naming the field, storing nothing', async () => {
    const before = a.agent.store.currentIndex();
    const reg = (TaggedAddresses: unknown) => ({ Name: 'bad', Port: 80, TaggedAddresses });
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`t${i}`, { Address: '10.0.0.1', Port: 80 }]));
    const cases: [unknown, RegExp][] = [
      [reg({ wan: { Address: '10.0.0.1', Port: 0 } }), /TaggedAddresses\.wan\.Port: must be between 1 and 65535/],
      [reg({ wan: { Address: '10.0.0.1', Port: 65536 } }), /TaggedAddresses\.wan\.Port: must be between 1 and 65535/],
      [reg({ wan: { Address: '10.0.0.1', Port: '443' } }), /TaggedAddresses\.wan\.Port: .*expected number/],
      [reg({ wan: { Address: '10.0.0.1' } }), /TaggedAddresses\.wan\.Port: /],
      [reg({ lan: { Address: '', Port: 80 } }), /TaggedAddresses\.lan\.Address: must not be empty/],
      [reg({ lan: { Address: 'a'.repeat(257), Port: 80 } }), /TaggedAddresses\.lan\.Address: must be at most 256 characters/],
      [reg({ lan: { Address: 'evil\nhost', Port: 80 } }), /TaggedAddresses\.lan\.Address: must not contain control characters/],
      [reg({ lan: { Address: '10.0.0.1', Port: 80, Weight: 1 } }), /TaggedAddresses\.lan\.Weight: unknown field/],
      [reg({ lan: '10.0.0.1:80' }), /TaggedAddresses\.lan: /],
      [reg({ '': { Address: '10.0.0.1', Port: 80 } }), /TaggedAddresses: a tag must not be empty/],
      [reg({ ['t'.repeat(129)]: { Address: '10.0.0.1', Port: 80 } }), /TaggedAddresses\.t{129}: the tag must be at most 128 characters/],
      [reg({ 'a\tb': { Address: '10.0.0.1', Port: 80 } }), /TaggedAddresses\.a\tb: the tag must not contain control characters/],
      [reg(many), /TaggedAddresses: must hold at most 16 tags \(it has 17\)/],
      [reg(['10.0.0.1']), /TaggedAddresses: must be an object/],
      [{ Name: 'bad', Port: 80, Connect: { SidecarService: { TaggedAddresses: { wan: { Address: 'x', Port: -1 } } } } }, /Connect\.SidecarService\.TaggedAddresses\.wan\.Port: must be between 1 and 65535/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 200)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal((await a.get('/v1/agent/service/bad')).status, 404);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });
});
