// Endpoints Consul's clients and CLI call for what Switchyard does, in Consul's shapes: a node's
// services, a node's checks, checks by state, the agent's self (the gRPC port `consul connect
// envoy` looks up) and its members.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:http';
import { TestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

describe("Consul's node, health-state and agent endpoints", () => {
  let a: TestAgent;
  before(async () => {
    a = await TestAgent.start({ node: 'node1' });
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'web-1', Name: 'web', Tags: ['v1'], Port: 8080, Check: { CheckID: 'web-ttl', TTL: '30s' } })).status, 200);
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'db-1', Name: 'db', Port: 5432, Check: { CheckID: 'db-ttl', TTL: '30s', Status: 'passing' } })).status, 200);
  });
  after(async () => a?.close());

  it("GET /v1/catalog/node/:node: the node and its services by ID, null for a node it does not know", async () => {
    const r = await a.get('/v1/catalog/node/node1');
    assert.equal(r.status, 200);
    assert.ok(r.index > 0, 'X-Consul-Index');
    assert.deepEqual([r.headers.get('x-consul-knownleader'), r.headers.get('x-consul-lastcontact')], ['true', '0'], "Consul's query metadata");
    const body = r.json as { Node: { Node: string; Datacenter: string }; Services: Record<string, { Service: string; Tags: string[]; Port: number }> };
    assert.deepEqual([body.Node.Node, body.Node.Datacenter], ['node1', 'dc1']);
    assert.deepEqual(Object.keys(body.Services).sort(), ['consul', 'db-1', 'web-1'], "the server's own consul service beside the agent's");
    assert.deepEqual([body.Services['web-1']?.Service, body.Services['web-1']?.Tags, body.Services['web-1']?.Port], ['web', ['v1'], 8080]);
    const unknown = await a.get('/v1/catalog/node/nobody');
    assert.deepEqual([unknown.status, unknown.text], [200, 'null']);
  });

  it("GET /v1/health/node/:node and /v1/health/state/:state: checks with their service's tags", async () => {
    const node = (await a.get('/v1/health/node/node1')).json as { CheckID: string; Status: string; ServiceName: string; ServiceTags: string[] }[];
    const serf = node.find((c) => c.CheckID === 'serfHealth');
    assert.deepEqual([serf?.Status, serf?.ServiceName], ['passing', ''], "the agent's node check, as a Consul agent keeps it");
    const web = node.find((c) => c.CheckID === 'web-ttl');
    assert.deepEqual([web?.Status, web?.ServiceName, web?.ServiceTags], ['critical', 'web', ['v1']]);
    const critical = (await a.get('/v1/health/state/critical')).json as { CheckID: string }[];
    assert.deepEqual(critical.map((c) => c.CheckID), ['web-ttl']);
    const passing = (await a.get('/v1/health/state/passing')).json as { CheckID: string }[];
    assert.ok(passing.some((c) => c.CheckID === 'db-ttl') && !passing.some((c) => c.CheckID === 'web-ttl'));
    const any = (await a.get('/v1/health/state/any')).json as unknown[];
    assert.equal(any.length, node.length);
    const bad = await a.get('/v1/health/state/sick');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /state: must be one of any, passing, warning, critical, got "sick"/);
  });

  it('GET /v1/agent/self: datacenter, node, and the gRPC port consul connect envoy reads', async () => {
    const self = (await a.get('/v1/agent/self')).json as { Config: { Datacenter: string; NodeName: string; NodeID: string; Server: boolean }; DebugConfig: { GRPCPort: number }; xDS: { Ports: { Plaintext: number } } };
    assert.deepEqual([self.Config.Datacenter, self.Config.NodeName, self.Config.Server], ['dc1', 'node1', true]);
    assert.match(self.Config.NodeID, /^[0-9a-f-]{36}$/);
    assert.equal(self.DebugConfig.GRPCPort, a.agent.xds.port);
    assert.equal(self.xDS.Ports.Plaintext, a.agent.xds.port);
  });

  it('GET /v1/agent/members: this agent, alive, in its datacenter', async () => {
    const members = (await a.get('/v1/agent/members')).json as { Name: string; Status: number; Tags: { dc: string; role: string } }[];
    assert.deepEqual(members.map((m) => [m.Name, m.Status, m.Tags.dc, m.Tags.role]), [['node1', 1, 'dc1', 'consul']]);
  });

  it("POST /v1/connect/intentions (Consul's legacy create), by ID, and match", async () => {
    const create = await a.call('POST', '/v1/connect/intentions', { SourceName: 'web', DestinationName: 'db', SourceType: '', Action: 'allow', Description: 'web reads db' });
    assert.equal(create.status, 200, create.text);
    const { ID: id } = create.json as { ID: string };
    assert.match(id, /^[0-9a-f-]{36}$/);
    const before = a.agent.store.currentIndex();
    const again = await a.call('POST', '/v1/connect/intentions', { SourceName: 'web', DestinationName: 'db', Action: 'deny' });
    assert.equal(again.status, 409);
    assert.match(again.text, /duplicate intention found: web => db/);
    const missing = await a.call('POST', '/v1/connect/intentions', { DestinationName: 'db', Action: 'deny' });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /SourceName: is required/);
    assert.equal(a.agent.store.currentIndex(), before, 'a refused create writes nothing');

    const got = (await a.get(`/v1/connect/intentions/${id}`)).json as { ID: string; SourceName: string; Action: string; Description: string };
    assert.deepEqual([got.ID, got.SourceName, got.Action, got.Description], [id, 'web', 'allow', 'web reads db']);
    assert.equal((await a.call('POST', '/v1/connect/intentions', { SourceName: '*', DestinationName: 'db', Action: 'deny' })).status, 200);
    const match = (await a.get('/v1/connect/intentions/match?by=destination&name=db&name=web')).json as Record<string, { SourceName: string }[]>;
    assert.deepEqual(match.db?.map((i) => i.SourceName), ['web', '*'], 'highest precedence first');
    assert.deepEqual(match.web, []);
    const bySource = (await a.get('/v1/connect/intentions/match?by=source&name=web')).json as Record<string, { DestinationName: string }[]>;
    assert.deepEqual(bySource.web?.map((i) => i.DestinationName), ['db', 'db']);
    assert.equal((await a.get('/v1/connect/intentions/match?by=sideways&name=db')).status, 400);

    assert.equal((await a.delete(`/v1/connect/intentions/${id}`)).status, 200);
    assert.equal((await a.get(`/v1/connect/intentions/${id}`)).status, 404);
    assert.equal((await a.get('/v1/connect/intentions/check?source=web&destination=db')).json && ((await a.get('/v1/connect/intentions/check?source=web&destination=db')).json as { Allowed: boolean }).Allowed, false, 'the * deny decides now');
  });

  it("PUT /v1/connect/intentions/:id (Consul's legacy update) keeps the ID and CreatedAt, and may move it to another pair", async () => {
    const create = await a.call('POST', '/v1/connect/intentions', { SourceName: 'api', DestinationName: 'db', Action: 'deny' });
    const { ID: id } = create.json as { ID: string };
    const first = (await a.get(`/v1/connect/intentions/${id}`)).json as { CreatedAt?: string; UpdatedAt?: string };
    assert.match(first.CreatedAt ?? '', /^\d{4}-\d\d-\d\dT/, 'a legacy intention has its creation time');
    const upd = await a.put(`/v1/connect/intentions/${id}`, { ID: id, SourceName: 'api', DestinationName: 'db', SourceType: 'consul', Action: 'allow', Precedence: 9, CreatedAt: '0001-01-01T00:00:00Z' });
    assert.equal(upd.status, 200, upd.text);
    const got = (await a.get(`/v1/connect/intentions/${id}`)).json as { ID: string; Action: string; CreatedAt?: string };
    assert.deepEqual([got.ID, got.Action, got.CreatedAt], [id, 'allow', first.CreatedAt]);
    // As Consul's legacy update: the body may move the intention to another pair, its ID kept.
    const moved = await a.put(`/v1/connect/intentions/${id}`, { SourceName: 'web', DestinationName: 'db', Action: 'deny' });
    assert.equal(moved.status, 200, moved.text);
    const after = (await a.get(`/v1/connect/intentions/${id}`)).json as { ID: string; SourceName: string; Action: string };
    assert.deepEqual([after.ID, after.SourceName, after.Action], [id, 'web', 'deny']);
    const before = a.agent.store.currentIndex();
    assert.equal((await a.put('/v1/connect/intentions/00000000-0000-0000-0000-000000000000', { SourceName: 'x', DestinationName: 'y', Action: 'deny' })).status, 404);
    assert.equal(a.agent.store.currentIndex(), before, 'a refused update writes nothing');
    assert.equal((await a.delete(`/v1/connect/intentions/${id}`)).status, 200);
  });

  it("treats a sidecar's empty Check (Consul's CLI sends {}) as none, and a mesh entry sent without Name as \"mesh\"", async () => {
    const r = await a.put('/v1/agent/service/register', { Name: 'cli', Port: 7070, Check: null, Checks: null, Connect: { SidecarService: { Weights: { Passing: 1, Warning: 1 }, Check: {}, Checks: null } } });
    assert.equal(r.status, 200, r.text);
    const checks = (await a.get('/v1/agent/checks')).json as Record<string, { ServiceID: string }>;
    assert.deepEqual(Object.values(checks).filter((c) => c.ServiceID.startsWith('cli')), [], 'no check registered from {}');
    assert.equal(((await a.get('/v1/agent/services')).json as Record<string, { Kind?: string }>)['cli-sidecar-proxy']?.Kind, 'connect-proxy');
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'bad', Port: 7071, Check: { Notes: 'no kind' } })).status, 400, 'a check that sets something is still checked');
    assert.equal((await a.put('/v1/config', { Kind: 'mesh', TransparentProxy: { MeshDestinationsOnly: true } })).status, 200);
    assert.equal(((await a.get('/v1/config/mesh/mesh')).json as { Name: string }).Name, 'mesh');
    assert.equal((await a.put('/v1/config', { Kind: 'mesh', Name: 'other' })).status, 400);
    assert.equal((await a.put('/v1/agent/service/deregister/cli')).status, 200);
  });

  it('PUT /v1/agent/check/register and /deregister: node and service checks, run by the agent', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      const before = a.agent.store.currentIndex();
      for (const [body, message] of [
        [{ TTL: '30s' }, /Name: is required/],
        [{ Name: 'x', TTL: '30s', ServiceID: 'nope' }, /ServiceID: "nope" is not a service registered with this agent/],
        [{ Name: 'x' }, /must set one of TTL, HTTP, TCP or GRPC/],
      ] as const) {
        const r = await a.put('/v1/agent/check/register', body);
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, message);
      }
      assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');

      assert.equal((await a.put('/v1/agent/check/register', { name: 'disk', ttl: '30s', notes: 'as Consul spells it' })).status, 200);
      assert.equal((await a.put('/v1/agent/check/register', { ID: 'web-http', Name: 'web http', ServiceID: 'web-1', HTTP: `http://127.0.0.1:${port}/`, Interval: '100ms' })).status, 200);
      const checks = (await a.get('/v1/agent/checks')).json as Record<string, { Status: string; ServiceID: string; Notes: string }>;
      assert.deepEqual([checks.disk?.Status, checks.disk?.ServiceID, checks.disk?.Notes], ['critical', '', 'as Consul spells it'], "the ID defaults to the Name");
      assert.equal(checks['web-http']?.ServiceID, 'web-1');
      await waitFor('the agent to run the HTTP check', async () => ((await a.get('/v1/agent/checks')).json as Record<string, { Status: string }>)['web-http']?.Status === 'passing');
      assert.equal((await a.put('/v1/agent/check/pass/disk')).status, 200);
      const health = (await a.get('/v1/health/service/web')).json as { Checks: { CheckID: string }[] }[];
      assert.deepEqual(health[0]?.Checks.map((c) => c.CheckID).sort(), ['disk', 'serfHealth', 'web-http', 'web-ttl'], "a service's health shows its checks and the node's (serfHealth too, as a Consul agent's)");

      assert.equal((await a.put('/v1/agent/check/deregister/web-http')).status, 200);
      assert.equal((await a.put('/v1/agent/check/deregister/disk')).status, 200);
      assert.equal((await a.put('/v1/agent/check/deregister/disk')).status, 404);
      const left = (await a.get('/v1/agent/checks')).json as Record<string, unknown>;
      assert.ok(!('disk' in left) && !('web-http' in left));
    } finally {
      server.close();
    }
  });
});

describe("Consul's catalog register and deregister", () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start({ node: 'node1' })));
  after(async () => a?.close());

  it('registers an external node with a service and a check, and deregisters the check, the service and the node', async () => {
    const body = {
      Node: 'ext-db',
      Address: '10.9.0.1',
      NodeMeta: { 'external-node': 'true' },
      Service: { ID: 'pg-1', Service: 'pg', Tags: ['primary'], Port: 5432, Meta: null },
      Check: { CheckID: 'pg-alive', Name: 'pg alive', Status: 'passing', ServiceID: 'pg-1', Definition: { TCP: '10.9.0.1:5432', Interval: '10s' } },
    };
    const r = await a.put('/v1/catalog/register', body);
    assert.deepEqual([r.status, r.text], [200, 'true']);
    const nodes = (await a.get('/v1/catalog/nodes')).json as { Node: string; Address: string; Meta: Record<string, string> }[];
    const ext = nodes.find((n) => n.Node === 'ext-db');
    assert.deepEqual([ext?.Address, ext?.Meta], ['10.9.0.1', { 'external-node': 'true' }]);
    const health = (await a.get('/v1/health/service/pg?passing')).json as { Node: { Node: string }; Service: { ID: string; Tags: string[] }; Checks: { CheckID: string; Status: string }[] }[];
    assert.deepEqual(health.map((h) => [h.Node.Node, h.Service.ID, h.Service.Tags, h.Checks.map((c) => `${c.CheckID}:${c.Status}`)]), [['ext-db', 'pg-1', ['primary'], ['pg-alive:passing']]]);
    assert.ok(!('pg-1' in ((await a.get('/v1/agent/services')).json as object)), "not one of this agent's services");

    assert.equal((await a.put('/v1/catalog/deregister', { Node: 'ext-db', CheckID: 'pg-alive' })).status, 200);
    assert.deepEqual(((await a.get('/v1/health/service/pg')).json as { Checks: unknown[] }[])[0]?.Checks, []);
    assert.equal((await a.put('/v1/catalog/deregister', { Node: 'ext-db', ServiceID: 'pg-1' })).status, 200);
    assert.equal((await a.get('/v1/catalog/service/pg')).text, '[]');
    assert.equal((await a.put('/v1/catalog/deregister', { Node: 'ext-db' })).status, 200);
    assert.equal((await a.get('/v1/catalog/node/ext-db')).text, 'null');
  });

  it("refuses a bad registration naming the field (the service's fields under Service), writing nothing", async () => {
    const before = a.agent.store.currentIndex();
    const cases: [unknown, RegExp][] = [
      [{ Address: '10.9.0.2' }, /Node:/],
      [{ Node: 'ext', Address: '10.9.0.2', Service: { Service: 'bad name', Port: 1 } }, /Service\.Name: must contain only letters/],
      [{ Node: 'ext', Address: '10.9.0.2', Check: { Name: 'c', ServiceID: 'nope' } }, /Check\.ServiceID: "nope" is not a service on node "ext"/],
      [{ Node: 'ext', Address: '10.9.0.2', Datacenter: 'dc7' }, /Datacenter: this agent writes datacenter "dc1" only/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/catalog/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });
});
