// What Consul's api test suite found missing, each as a Consul client sees it (the fast checks
// beside test/consul-api/suite.test.ts): the server's own catalog records, the agent node's
// tagged addresses and Meta, catalog registrations in any order, `?filter=` and `?node-meta=`,
// /v1/health/checks, /v1/catalog/connect, gateway services, local service health, the legacy
// intention update, durations as nanoseconds, and the settings testutil writes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONSUL_API_VERSION } from '../../src/catalog/meta.js';
import { TestAgent } from '../support/agent.js';

describe("Consul's api suite's findings", () => {
  let a: TestAgent;
  const NODE_ID = '0d0c6f3e-7b7e-4c55-9e1a-2f3b4c5d6e7f';
  before(async () => {
    a = await TestAgent.start({ node: 'node1', nodeId: NODE_ID, caClusterId: '11111111-2222-3333-4444-555555555555' });
  });
  after(async () => a?.close());

  it("the agent's node: its configured ID, lan/wan tagged addresses and Consul's Meta keys", async () => {
    const nodes = (await a.get('/v1/catalog/nodes')).json as { ID: string; Node: string; TaggedAddresses: Record<string, string>; Meta: Record<string, string> }[];
    assert.deepEqual(nodes, [
      {
        ...nodes[0],
        ID: NODE_ID,
        Node: 'node1',
        TaggedAddresses: { lan: '127.0.0.1', lan_ipv4: '127.0.0.1', wan: '127.0.0.1', wan_ipv4: '127.0.0.1' },
        Meta: { 'consul-network-segment': '', 'consul-version': CONSUL_API_VERSION },
      },
    ]);
    const roots = (await a.get('/v1/agent/connect/ca/roots')).json as { TrustDomain: string };
    assert.equal(roots.TrustDomain, '11111111-2222-3333-4444-555555555555.consul', 'connect.ca_config.cluster_id fixes the trust domain');
  });

  it("the server's `consul` service and `serfHealth` check are in the catalog, not in the agent's own lists", async () => {
    const consul = (await a.get('/v1/catalog/service/consul')).json as { ServiceID: string; ServicePort: number; Datacenter: string }[];
    assert.deepEqual(consul.map((s) => [s.ServiceID, s.ServicePort, s.Datacenter]), [['consul', 8300, 'dc1']]);
    const health = (await a.get('/v1/health/service/consul?passing')).json as { Checks: { CheckID: string }[] }[];
    assert.deepEqual(health.map((h) => h.Checks.map((c) => c.CheckID)), [['serfHealth']]);
    assert.deepEqual((await a.get('/v1/agent/services')).json, {});
    assert.deepEqual((await a.get('/v1/agent/checks')).json, {});
    assert.equal((await a.get('/v1/agent/service/consul')).status, 404);
  });

  it('catalog registrations in any order: a service before its node (SkipNodeUpdate), then the node with its tagged addresses and locality', async () => {
    const service = { Node: 'ext', SkipNodeUpdate: true, Service: { ID: 'redis-1', Service: 'redis', Tags: ['v1'], Port: 6379, Locality: { Region: 'r1', Zone: 'z1' } } };
    assert.equal((await a.put('/v1/catalog/register', service)).status, 200);
    const node = { Node: 'ext', ID: 'e0155642-135d-4739-9853-a1ee6c9f945b', Address: '10.0.0.9', TaggedAddresses: { lan: '10.0.0.9', wan: '198.18.0.9' }, NodeMeta: { env: 'prod' }, Locality: { Region: 'r1' } };
    assert.equal((await a.put('/v1/catalog/register', node)).status, 200);
    const got = (await a.get('/v1/catalog/node/ext')).json as { Node: { ID: string; Address: string; TaggedAddresses: unknown; Locality: unknown }; Services: Record<string, unknown> };
    assert.deepEqual([got.Node.ID, got.Node.Address, got.Node.TaggedAddresses, got.Node.Locality], [node.ID, '10.0.0.9', node.TaggedAddresses, { Region: 'r1' }]);
    assert.deepEqual(Object.keys(got.Services), ['redis-1'], 'the service registered first is kept');
    const redis = (await a.get('/v1/catalog/service/redis')).json as { ServiceLocality: unknown }[];
    assert.deepEqual(redis.map((s) => s.ServiceLocality), [{ Region: 'r1', Zone: 'z1' }]);
    const noAddress = await a.put('/v1/catalog/register', { Node: 'other' });
    assert.equal(noAddress.status, 400);
    assert.match(noAddress.text, /Address: must not be empty unless SkipNodeUpdate is set/);
  });

  it('?filter= and ?node-meta= select as Consul does; a malformed filter is a 400 naming it', async () => {
    const names = async (path: string) => ((await a.get(path)).json as { Node: string }[]).map((n) => n.Node).sort();
    assert.deepEqual(await names('/v1/catalog/nodes?filter=' + encodeURIComponent('Meta.env == prod')), ['ext']);
    assert.deepEqual(await names('/v1/catalog/nodes?filter=' + encodeURIComponent('Node == node1 or Address == `10.0.0.9`')), ['ext', 'node1']);
    assert.deepEqual(await names('/v1/catalog/nodes?node-meta=env:prod'), ['ext']);
    assert.deepEqual(Object.keys((await a.get('/v1/catalog/services?filter=' + encodeURIComponent('NodeMeta["env"] == prod'))).json as object), ['redis']);
    assert.deepEqual(Object.keys((await a.get('/v1/catalog/services?node-meta=env:nope')).json as object), []);
    const tagged = (await a.get('/v1/health/service/redis?filter=' + encodeURIComponent('v1 in Service.Tags and Node.Meta.env != dev'))).json as unknown[];
    assert.equal(tagged.length, 1);
    assert.deepEqual((await a.get('/v1/health/service/redis?filter=' + encodeURIComponent('not (v1 in Service.Tags)'))).json, []);
    const bad = await a.get('/v1/catalog/nodes?filter=' + encodeURIComponent('Node =='));
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^filter: /);
  });

  it('/v1/health/checks/:service and /v1/catalog/connect/:service', async () => {
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'web-1', Name: 'web', Port: 8080, Check: { CheckID: 'web-ttl', TTL: '30s' }, Connect: { Native: true } })).status, 200);
    const checks = (await a.get('/v1/health/checks/web')).json as { CheckID: string; ServiceName: string }[];
    assert.deepEqual(checks.map((c) => [c.CheckID, c.ServiceName]), [['web-ttl', 'web']]);
    const connect = (await a.get('/v1/catalog/connect/web')).json as { ServiceID: string }[];
    assert.deepEqual(connect.map((s) => s.ServiceID), ['web-1'], 'a Connect-native instance');
  });

  it('/v1/agent/health/service/id|name: the aggregated status as the HTTP status, 404 for an unknown service', async () => {
    const r = await a.get('/v1/agent/health/service/id/web-1');
    assert.equal(r.status, 503);
    assert.equal((r.json as { AggregatedStatus: string }).AggregatedStatus, 'critical');
    assert.equal((await a.put('/v1/agent/check/pass/web-ttl')).status, 200);
    const byName = await a.get('/v1/agent/health/service/name/web');
    assert.equal(byName.status, 200);
    assert.deepEqual((byName.json as { AggregatedStatus: string; Service: { ID: string } }[]).map((i) => [i.AggregatedStatus, i.Service.ID]), [['passing', 'web-1']]);
    assert.equal((await a.get('/v1/agent/health/service/id/nope')).status, 404);
  });

  it('EnableTagOverride is kept and reported', async () => {
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'tagged', Name: 'tagged', EnableTagOverride: true })).status, 200);
    const s = (await a.get('/v1/agent/service/tagged')).json as { EnableTagOverride: boolean };
    assert.equal(s.EnableTagOverride, true);
    const c = (await a.get('/v1/catalog/service/tagged')).json as { ServiceEnableTagOverride: boolean }[];
    assert.equal(c[0]?.ServiceEnableTagOverride, true);
  });

  it('gateway services: listed services, then those a wildcard brings; durations in nanoseconds and an empty listener protocol taken', async () => {
    const ingress = {
      Kind: 'ingress-gateway',
      Name: 'ing',
      Defaults: { PassiveHealthCheck: { Interval: 10_000_000_000, MaxFailures: 3 } },
      Listeners: [{ Port: 8888, Protocol: '', Services: [{ Name: 'web' }] }],
    };
    const put = await a.put('/v1/config', ingress);
    assert.equal(put.status, 200, put.text);
    const stored = (await a.get('/v1/config/ingress-gateway/ing')).json as { Defaults: { PassiveHealthCheck: { Interval: string }; MaxConcurrentRequests: number } };
    assert.equal(stored.Defaults.PassiveHealthCheck.Interval, '10s');
    assert.equal(stored.Defaults.MaxConcurrentRequests, 0, 'a limit not set reads as 0, as Consul keeps it');
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'ing', Kind: 'ingress-gateway', Port: 8001 })).status, 200);
    const gateways = (await a.get('/v1/health/ingress/web?passing')).json as { Service: { Service: string; Kind: string } }[];
    assert.deepEqual(gateways.map((g) => [g.Service.Service, g.Service.Kind]), [['ing', 'ingress-gateway']], 'the ingress gateways routing to web');
    assert.deepEqual((await a.get('/v1/health/ingress/redis')).json, []);
    assert.deepEqual((await a.get('/v1/catalog/gateway-services/ing')).json, [{ Gateway: { Name: 'ing' }, Service: { Name: 'web' }, GatewayKind: 'ingress-gateway', Port: 8888, Protocol: 'tcp' }]);
    const terminating = { Kind: 'terminating-gateway', Name: 'term', Services: [{ Name: 'web', SNI: 'web.example' }, { Name: '*', CAFile: 'ca.pem' }] };
    assert.equal((await a.put('/v1/config', terminating)).status, 200);
    const linked = (await a.get('/v1/catalog/gateway-services/term')).json as { Service: { Name: string }; FromWildcard?: boolean; SNI?: string; CAFile?: string }[];
    assert.deepEqual(
      linked.map((g) => [g.Service.Name, g.SNI ?? '', g.CAFile ?? '', g.FromWildcard ?? false]),
      [['web', 'web.example', '', false], ['redis', '', 'ca.pem', true], ['tagged', '', 'ca.pem', true]],
      'the wildcard brings every typical service not listed, never the server\'s own consul service',
    );
    assert.equal((await a.put('/v1/config', { Kind: 'mesh' })).status, 200, 'the mesh entry without a Name, as the Go client sends it');
    const resolver = { Kind: 'service-resolver', Name: 'web', LoadBalancer: { Policy: 'ring_hash', HashPolicies: [{ Field: 'cookie', FieldValue: 'c', CookieConfig: { TTL: '10s' } }] } };
    assert.equal((await a.put('/v1/config', resolver)).status, 200);
    const lb = (await a.get('/v1/config/service-resolver/web')).json as { LoadBalancer: { HashPolicies: { CookieConfig: { TTL: unknown } }[] } };
    assert.equal(lb.LoadBalancer.HashPolicies[0]?.CookieConfig.TTL, 10_000_000_000, "a cookie's TTL reads as nanoseconds, as Consul answers it");
  });

  it('the legacy intention API: update by ID keeping ID and CreateIndex, a non-UUID ID refused, namespaced names and an absent empty Meta', async () => {
    const created = await a.call('POST', '/v1/connect/intentions', { SourceName: 'api', DestinationName: 'db', Action: 'allow' });
    assert.equal(created.status, 200, created.text);
    const id = (created.json as { ID: string }).ID;
    const before = (await a.get(`/v1/connect/intentions/${id}`)).json as Record<string, unknown>;
    assert.equal('Meta' in before, false);
    const updated = await a.put(`/v1/connect/intentions/${id}`, { ...before, SourceName: 'api-2', Action: 'deny' });
    assert.equal(updated.status, 200, updated.text);
    const after = (await a.get(`/v1/connect/intentions/${id}`)).json as { ID: string; SourceName: string; Action: string; CreateIndex: number };
    assert.deepEqual([after.ID, after.SourceName, after.Action, after.CreateIndex], [id, 'api-2', 'deny', before.CreateIndex]);
    assert.equal(((await a.get('/v1/connect/intentions')).json as unknown[]).length, 1, 'the old pair is gone');
    const check = await a.get('/v1/connect/intentions/check?source=default/api-2&destination=default/db');
    assert.deepEqual(check.json, { Allowed: false });
    assert.equal((await a.get('/v1/connect/intentions/check?source=team/api-2&destination=db')).status, 400);
    const bad = await a.get('/v1/connect/intentions/hello');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /UUID/);
  });

  it('/v1/agent/host answers the host with its collection time; ?cached reads answer as a cache hit of age 0', async () => {
    const host = (await a.get('/v1/agent/host')).json as { CollectionTime: number; Memory: { total: number }; CPU: unknown[] };
    assert.ok(host.CollectionTime > 0 && host.Memory.total > 0 && host.CPU.length > 0);
    const cached = await a.get('/v1/catalog/service/consul?cached');
    assert.deepEqual([cached.status, cached.headers.get('x-cache'), cached.headers.get('age')], [200, 'HIT', '0']);
    assert.equal((await a.get('/v1/catalog/service/consul')).headers.get('x-cache'), null);
  });

  it('?dc= naming a datacenter it does not know is refused on /v1/status', async () => {
    assert.equal((await a.get('/v1/status/leader?dc=nope')).status, 400);
    assert.equal((await a.get('/v1/status/leader?dc=dc1')).status, 200);
  });
});
