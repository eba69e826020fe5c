// ACL enforcement on every HTTP route, against a real agent with ACLs on and default_policy deny:
// a walk over every route the agent serves (each declares its rule; the anonymous token and an
// unknown one are refused or filtered as it says), the attacks of issue 15 with a token for one
// service, acl.tokens.default, and the agent's own token on its calls.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FILTERED_HEADER } from '../../src/api/acl-guard.js';
import type { Route } from '../../src/api/route.js';
import { GLOBAL_MANAGEMENT_ID } from '../../src/acl/model.js';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { main } from '../../src/cli/main.js';
import { TestAgent } from '../support/agent.js';
import { callWithToken, type TokenReply } from '../support/acl-http.js';

const call = callWithToken;

async function ok(agent: TestAgent, method: string, path: string, token: string, body?: unknown): Promise<TokenReply> {
  const r = await call(agent, method, path, token, body);
  assert.ok(r.status === 200, `${method} ${path}: ${r.status} ${r.text}`);
  return r;
}

async function startWithAcls(over: Parameters<typeof TestAgent.start>[0] = {}) {
  const agent = await TestAgent.start({ acl: { enabled: true, defaultPolicy: 'deny' }, ...over });
  const boot = await call(agent, 'PUT', '/v1/acl/bootstrap');
  assert.equal(boot.status, 200, boot.text);
  return { agent, root: (boot.json as { SecretID: string }).SecretID };
}

/** A token whose only grant is the service identity of `service`. */
async function serviceToken(agent: TestAgent, root: string, service: string): Promise<{ secret: string; accessor: string }> {
  const t = (await ok(agent, 'PUT', '/v1/acl/token', root, { Description: `identity ${service}`, ServiceIdentities: [{ ServiceName: service }] })).json as { SecretID: string; AccessorID: string };
  return { secret: t.SecretID, accessor: t.AccessorID };
}

const denied = (accessor: string, permission: string, name?: string) => `Permission denied: token with AccessorID '${accessor}' lacks permission '${permission}'${name ? ` on "${name}"` : ''}`;
const ANONYMOUS = '00000000-0000-0000-0000-000000000002';

describe('every route, ACLs on, default deny', () => {
  let agent: TestAgent;
  let root: string;
  let intentionId: string;
  let policyId: string;
  /** A token that may read nothing of the catalog (its one rule is on keys). */
  let nothing: string;

  before(async () => {
    ({ agent, root } = await startWithAcls());
    await ok(agent, 'PUT', '/v1/agent/service/register', root, { ID: 'web', Name: 'web', Port: 8080, Check: { CheckID: 'web-ttl', Name: 'web ttl', TTL: '600s' }, Connect: { SidecarService: {} } });
    await ok(agent, 'PUT', '/v1/agent/check/register', root, { CheckID: 'node-ttl', Name: 'node ttl', TTL: '600s' });
    await ok(agent, 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', root, { Action: 'allow' });
    await ok(agent, 'PUT', '/v1/config', root, { Kind: 'service-defaults', Name: 'web', Protocol: 'http' });
    intentionId = ((await ok(agent, 'GET', '/v1/connect/intentions', root)).json as { ID: string }[])[0]!.ID;
    policyId = ((await ok(agent, 'PUT', '/v1/acl/policy', root, { Name: 'p', Rules: 'node_prefix "" { policy = "read" }' })).json as { ID: string }).ID;
    await ok(agent, 'PUT', '/v1/acl/policy', root, { Name: 'keys', Rules: 'key_prefix "" { policy = "read" }' });
    nothing = ((await ok(agent, 'PUT', '/v1/acl/token', root, { Policies: [{ Name: 'keys' }] })).json as { SecretID: string }).SecretID;
  });
  after(() => agent.close());

  /** For each route, a request that reaches its check (existing objects, a body naming what it writes). */
  const sample = (r: Route): { path: string; body?: unknown } | undefined => {
    const node = agent.agent.config.node;
    const table: Record<string, { path: string; body?: unknown }> = {
      'PUT /v1/agent/service/register': { path: '/v1/agent/service/register', body: { Name: 'rogue', Port: 1 } },
      'PUT /v1/agent/service/deregister/:id': { path: '/v1/agent/service/deregister/web' },
      'GET /v1/agent/services': { path: '/v1/agent/services' },
      'GET /v1/agent/service/:id': { path: '/v1/agent/service/web' },
      'PUT /v1/agent/check/register': { path: '/v1/agent/check/register', body: { Name: 'c', TTL: '10s' } },
      'PUT /v1/agent/check/deregister/:id': { path: '/v1/agent/check/deregister/web-ttl' },
      'GET /v1/agent/checks': { path: '/v1/agent/checks' },
      'PUT /v1/agent/check/update/:id': { path: '/v1/agent/check/update/node-ttl', body: { Status: 'critical' } },
      'PUT /v1/agent/check/pass/:id': { path: '/v1/agent/check/pass/web-ttl' },
      'PUT /v1/agent/check/warn/:id': { path: '/v1/agent/check/warn/web-ttl' },
      'PUT /v1/agent/check/fail/:id': { path: '/v1/agent/check/fail/node-ttl' },
      'PUT /v1/catalog/register': { path: '/v1/catalog/register', body: { Node: 'ext', Address: '10.0.0.9', Service: { Service: 'rogue', Port: 1 } } },
      'PUT /v1/catalog/deregister': { path: '/v1/catalog/deregister', body: { Node: node, ServiceID: 'web' } },
      'GET /v1/catalog/services': { path: '/v1/catalog/services' },
      'GET /v1/catalog/service/:name': { path: '/v1/catalog/service/web' },
      'GET /v1/catalog/nodes': { path: '/v1/catalog/nodes' },
      'GET /v1/catalog/node/:node': { path: `/v1/catalog/node/${node}` },
      'GET /v1/health/node/:node': { path: `/v1/health/node/${node}` },
      'GET /v1/health/state/:state': { path: '/v1/health/state/any' },
      'GET /v1/health/service/:name': { path: '/v1/health/service/web' },
      'GET /v1/health/connect/:name': { path: '/v1/health/connect/web' },
      'PUT /v1/config': { path: '/v1/config', body: { Kind: 'service-defaults', Name: 'web', Protocol: 'grpc' } },
      'GET /v1/config/:kind': { path: '/v1/config/service-defaults' },
      'GET /v1/config/:kind/:name': { path: '/v1/config/service-defaults/web' },
      'DELETE /v1/config/:kind/:name': { path: '/v1/config/service-defaults/web' },
      'GET /v1/connect/intentions': { path: '/v1/connect/intentions' },
      'GET /v1/connect/intentions/exact': { path: '/v1/connect/intentions/exact?source=web&destination=db' },
      'PUT /v1/connect/intentions/exact': { path: '/v1/connect/intentions/exact?source=web&destination=db', body: { Action: 'deny' } },
      'DELETE /v1/connect/intentions/exact': { path: '/v1/connect/intentions/exact?source=web&destination=db' },
      'POST /v1/connect/intentions': { path: '/v1/connect/intentions', body: { SourceName: '*', DestinationName: 'db', Action: 'deny' } },
      'GET /v1/connect/intentions/match': { path: '/v1/connect/intentions/match?by=destination&name=db' },
      'GET /v1/connect/intentions/check': { path: '/v1/connect/intentions/check?source=web&destination=db' },
      'GET /v1/connect/intentions/:id': { path: `/v1/connect/intentions/${intentionId}` },
      'PUT /v1/connect/intentions/:id': { path: `/v1/connect/intentions/${intentionId}`, body: { Action: 'deny' } },
      'DELETE /v1/connect/intentions/:id': { path: `/v1/connect/intentions/${intentionId}` },
      'GET /v1/connect/ca/roots': { path: '/v1/connect/ca/roots' },
      'GET /v1/agent/connect/ca/roots': { path: '/v1/agent/connect/ca/roots' },
      'GET /v1/agent/connect/ca/leaf/:service': { path: '/v1/agent/connect/ca/leaf/web' },
      'POST /v1/agent/connect/authorize': { path: '/v1/agent/connect/authorize', body: { Target: 'db', ClientCertURI: 'spiffe://x.consul/ns/default/dc/dc1/svc/web' } },
      'POST /v1/internal/connect/ca/sign-intermediate': { path: '/v1/internal/connect/ca/sign-intermediate', body: { CSR: 'x' } },
      'GET /v1/connect/ca/configuration': { path: '/v1/connect/ca/configuration' },
      'PUT /v1/connect/ca/configuration': { path: '/v1/connect/ca/configuration', body: { Provider: 'consul', Config: {} } },
      'GET /v1/agent/xds/status': { path: '/v1/agent/xds/status' },
      'GET /v1/agent/xds/status/:proxyId': { path: '/v1/agent/xds/status/web-sidecar-proxy' },
      'GET /v1/agent/xds/proxy-status': { path: '/v1/agent/xds/proxy-status' },
      'GET /v1/agent/xds/proxy-status/:proxyId': { path: '/v1/agent/xds/proxy-status/web-sidecar-proxy' },
      'GET /v1/agent/xds/config/:proxyId': { path: '/v1/agent/xds/config/web-sidecar-proxy' },
      'GET /v1/status/leader': { path: '/v1/status/leader' },
      'GET /v1/status/peers': { path: '/v1/status/peers' },
      'GET /v1/agent/metrics': { path: '/v1/agent/metrics' },
      'GET /v1/agent/self': { path: '/v1/agent/self' },
      'GET /v1/agent/members': { path: '/v1/agent/members' },
      'GET /v1/agent/host': { path: '/v1/agent/host' },
      'GET /v1/agent/health/service/id/:id': { path: '/v1/agent/health/service/id/web' },
      'GET /v1/agent/health/service/name/:name': { path: '/v1/agent/health/service/name/web' },
      'GET /v1/catalog/connect/:name': { path: '/v1/catalog/connect/web' },
      'GET /v1/catalog/gateway-services/:gateway': { path: '/v1/catalog/gateway-services/gw' },
      'GET /v1/health/checks/:service': { path: '/v1/health/checks/web' },
      'GET /v1/health/ingress/:name': { path: '/v1/health/ingress/web' },
      'GET /v1/internal/replication/config-entries': { path: '/v1/internal/replication/config-entries' },
      'GET /v1/internal/federation-states': { path: '/v1/internal/federation-states' },
      'GET /v1/internal/federation-state/:dc': { path: '/v1/internal/federation-state/dc1' },
      'PUT /v1/internal/federation-state/:dc': { path: '/v1/internal/federation-state/dc2', body: { State: { Datacenter: 'dc2', MeshGateways: [] } } },
      'GET /v1/catalog/datacenters': { path: '/v1/catalog/datacenters' },
      'GET /v1/internal/federation/status': { path: '/v1/internal/federation/status' },
      'PUT /v1/acl/bootstrap': { path: '/v1/acl/bootstrap' },
      'PUT /v1/acl/token': { path: '/v1/acl/token', body: { Policies: [{ ID: GLOBAL_MANAGEMENT_ID }] } },
      'GET /v1/acl/token/self': { path: '/v1/acl/token/self' },
      'GET /v1/acl/token/:accessor': { path: `/v1/acl/token/${ANONYMOUS}` },
      'PUT /v1/acl/token/:accessor': { path: `/v1/acl/token/${ANONYMOUS}`, body: { Policies: [{ ID: GLOBAL_MANAGEMENT_ID }] } },
      'DELETE /v1/acl/token/:accessor': { path: `/v1/acl/token/${ANONYMOUS}` },
      'GET /v1/acl/tokens': { path: '/v1/acl/tokens' },
      'PUT /v1/acl/policy': { path: '/v1/acl/policy', body: { Name: 'mine', Rules: 'acl = "write"' } },
      'GET /v1/acl/policy/name/:name': { path: '/v1/acl/policy/name/global-management' },
      'GET /v1/acl/policy/:id': { path: `/v1/acl/policy/${policyId}` },
      'PUT /v1/acl/policy/:id': { path: `/v1/acl/policy/${policyId}`, body: { Name: 'p', Rules: 'acl = "write"' } },
      'DELETE /v1/acl/policy/:id': { path: `/v1/acl/policy/${policyId}` },
      'GET /v1/acl/policies': { path: '/v1/acl/policies' },
      'PUT /v1/acl/role': { path: '/v1/acl/role', body: { Name: 'r', Policies: [{ ID: GLOBAL_MANAGEMENT_ID }] } },
      'GET /v1/acl/role/name/:name': { path: '/v1/acl/role/name/r' },
      'GET /v1/acl/role/:id': { path: '/v1/acl/role/00000000-0000-0000-0000-00000000abcd' },
      'PUT /v1/acl/role/:id': { path: '/v1/acl/role/00000000-0000-0000-0000-00000000abcd', body: { Name: 'r' } },
      'DELETE /v1/acl/role/:id': { path: '/v1/acl/role/00000000-0000-0000-0000-00000000abcd' },
      'GET /v1/acl/roles': { path: '/v1/acl/roles' },
    };
    return table[`${r.method} ${r.pattern}`];
  };

  test('the anonymous token is refused (Consul\'s 403 naming the permission) or filtered on every route that is not public, and nothing changes', async () => {
    const routes = agent.agent.http.registered();
    const missing = routes.filter((r) => !sample(r)).map((r) => `${r.method} ${r.pattern}`);
    assert.deepEqual(missing, [], 'a route without a sample here: add one, with the request that reaches its ACL check');
    const STATE = ['/v1/internal/replication/config-entries', '/v1/agent/services', '/v1/agent/checks', '/v1/catalog/nodes', '/v1/connect/intentions', '/v1/connect/ca/configuration', '/v1/acl/tokens', '/v1/acl/policies', '/v1/acl/roles'];
    const state = async () => Promise.all(STATE.map(async (p) => (await ok(agent, 'GET', p, root)).json));
    const before = await state();
    for (const r of routes) {
      const s = sample(r)!;
      const what = `${r.method} ${r.pattern} (${r.acl.kind})`;
      const reply = await call(agent, r.method, s.path, undefined, s.body);
      switch (r.acl.kind) {
        case 'none':
          assert.doesNotMatch(reply.text, /Permission denied|ACL not found/, what);
          break;
        case 'need':
          assert.equal(reply.status, 403, `${what}: ${reply.text}`);
          assert.ok(reply.text.startsWith(denied(ANONYMOUS, `${r.acl.resource}:${r.acl.want}`)), `${what}: ${reply.text}`);
          break;
        case 'handler':
          assert.equal(reply.status, 403, `${what}: ${reply.text}`);
          assert.match(reply.text, /^Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission '[a-z]+:(read|write)'/, what);
          break;
        case 'filter': {
          // Filtered, not refused: less than the management token sees; said so only to a request with a token.
          assert.equal(reply.status, 200, `${what}: ${reply.text}`);
          assert.notDeepEqual(reply.json, (await ok(agent, r.method, s.path, root)).json, what);
          assert.equal(reply.headers.get(FILTERED_HEADER), null, what);
          const withToken = await call(agent, r.method, s.path, nothing);
          assert.deepEqual(withToken.json, reply.json, what);
          assert.equal(withToken.headers.get(FILTERED_HEADER), 'true', what);
          break;
        }
      }
    }
    // Every write above was refused: entries, intentions, services, checks, nodes, the CA and ACLs are as they were.
    assert.deepEqual(await state(), before);
  });

  test('only the routes Consul leaves open require nothing', () => {
    const open = agent.agent.http.registered().filter((r) => r.acl.kind === 'none').map((r) => `${r.method} ${r.pattern}`);
    assert.deepEqual(open.sort(), ['GET /v1/acl/token/self', 'GET /v1/agent/connect/ca/roots', 'GET /v1/catalog/datacenters', 'GET /v1/connect/ca/roots', 'GET /v1/status/leader', 'GET /v1/status/peers', 'PUT /v1/acl/bootstrap']);
  });

  test('an unknown token is 403 "ACL not found" on every route that is not public', async () => {
    for (const r of agent.agent.http.registered()) {
      if (r.acl.kind === 'none') continue;
      const s = sample(r)!;
      const reply = await call(agent, r.method, s.path, 'a2b9a6a4-0000-4000-8000-00000000dead', s.body);
      assert.equal(reply.status, 403, `${r.method} ${r.pattern}: ${reply.text}`);
      assert.equal(reply.text.trim(), 'ACL not found', `${r.method} ${r.pattern}`);
    }
  });

  test('the anonymous token sees an empty catalog (not told it is filtered, as Consul); the management token sees it all', async () => {
    const anon = await call(agent, 'GET', '/v1/catalog/services');
    assert.deepEqual(anon.json, {});
    assert.equal(anon.headers.get(FILTERED_HEADER), null);
    assert.deepEqual(await call(agent, 'GET', '/v1/health/service/web').then((r) => r.json), []);
    assert.deepEqual(await call(agent, 'GET', '/v1/catalog/nodes').then((r) => r.json), []);
    const all = await ok(agent, 'GET', '/v1/catalog/services', root);
    assert.deepEqual(Object.keys(all.json as object).sort(), ['consul', 'web', 'web-sidecar-proxy']);
    assert.equal(all.headers.get(FILTERED_HEADER), null);
  });
});

describe('a token for service A (service identity web), ACLs on, default deny', () => {
  let agent: TestAgent;
  let root: string;
  let web: { secret: string; accessor: string };

  before(async () => {
    ({ agent, root } = await startWithAcls());
    web = await serviceToken(agent, root, 'web');
    await ok(agent, 'PUT', '/v1/agent/service/register', root, { Name: 'db', Port: 5432, Connect: { SidecarService: {} } });
  });
  after(() => agent.close());

  test('gets its own leaf, not B\'s', async () => {
    const own = await ok(agent, 'GET', '/v1/agent/connect/ca/leaf/web', web.secret);
    assert.equal((own.json as { Service: string }).Service, 'web');
    const other = await call(agent, 'GET', '/v1/agent/connect/ca/leaf/db', web.secret);
    assert.equal(other.status, 403);
    assert.equal(other.text.trim(), denied(web.accessor, 'service:write', 'db'));
    // Not even for a name nobody registered.
    assert.equal((await call(agent, 'GET', '/v1/agent/connect/ca/leaf/payments', web.secret)).status, 403);
  });

  test('registers itself and its sidecar, never an instance of B nor a proxy for B', async () => {
    await ok(agent, 'PUT', '/v1/agent/service/register', web.secret, { Name: 'web', Port: 8080, Connect: { SidecarService: {} } });
    const rogue = await call(agent, 'PUT', '/v1/agent/service/register', web.secret, { ID: 'db-2', Name: 'db', Port: 6666 });
    assert.equal(rogue.status, 403);
    assert.equal(rogue.text.trim(), denied(web.accessor, 'service:write', 'db'));
    // A proxy under its own name fronting B: Consul's rule wants service:write on the destination too.
    const proxy = await call(agent, 'PUT', '/v1/agent/service/register', web.secret, { ID: 'web-proxy-for-db', Name: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21001, Proxy: { DestinationServiceName: 'db' } });
    assert.equal(proxy.status, 403);
    assert.equal(proxy.text.trim(), denied(web.accessor, 'service:write', 'db'));
    const viaCatalog = await call(agent, 'PUT', '/v1/catalog/register', web.secret, { Node: 'evil', Address: '10.6.6.6', Service: { Service: 'db', Port: 6666 } });
    assert.equal(viaCatalog.status, 403);
    const dbs = (await ok(agent, 'GET', '/v1/health/service/db', root)).json as { Service: { ID: string } }[];
    assert.deepEqual(dbs.map((e) => e.Service.ID), ['db']);
    // Through the catalog: its own service on a node it re-posts unchanged, as Consul allows; changing the node needs node:write.
    await ok(agent, 'PUT', '/v1/catalog/register', root, { Node: 'ext', Address: '10.0.0.7' });
    await ok(agent, 'PUT', '/v1/catalog/register', web.secret, { Node: 'ext', Address: '10.0.0.7', Service: { Service: 'web', ID: 'web-ext', Port: 80 } });
    const moved = await call(agent, 'PUT', '/v1/catalog/register', web.secret, { Node: 'ext', Address: '10.6.6.6', Service: { Service: 'web', ID: 'web-ext', Port: 80 } });
    assert.equal(moved.text.trim(), denied(web.accessor, 'node:write', 'ext'));
    const nodeCheck = await call(agent, 'PUT', '/v1/catalog/register', web.secret, { Node: 'ext', Address: '10.0.0.7', Check: { Name: 'down', Status: 'critical' } });
    assert.equal(nodeCheck.text.trim(), denied(web.accessor, 'node:write', 'ext'));
    assert.equal(((await ok(agent, 'GET', '/v1/catalog/node/ext', root)).json as { Node: { Address: string } }).Node.Address, '10.0.0.7');
    assert.equal((await call(agent, 'PUT', '/v1/agent/service/deregister/db', web.secret)).status, 403);
    const db = await ok(agent, 'GET', '/v1/agent/service/db', root);
    // A blocking read is refused at once, not after its wait.
    const started = Date.now();
    const blocked = await call(agent, 'GET', `/v1/agent/service/db?index=${db.headers.get('x-consul-index')}&wait=30s`, 'a2b9a6a4-0000-4000-8000-00000000beef');
    assert.equal(blocked.status, 403);
    const policy = (await ok(agent, 'PUT', '/v1/acl/policy', root, { Name: 'web-only', Rules: 'service "web" { policy = "read" }' })).json as { ID: string };
    const webOnly = ((await ok(agent, 'PUT', '/v1/acl/token', root, { Policies: [{ ID: policy.ID }] })).json as { SecretID: string }).SecretID;
    const denied2 = await call(agent, 'GET', `/v1/agent/service/db?index=${db.headers.get('x-consul-index')}&wait=30s`, webOnly);
    assert.equal(denied2.status, 403);
    assert.ok(Date.now() - started < 10_000, 'answered without waiting');
  });

  test('cannot write an intention to B, the CA configuration, proxy-defaults or read ACL tokens', async () => {
    const ixn = await call(agent, 'PUT', '/v1/connect/intentions/exact?source=*&destination=db', web.secret, { Action: 'deny' });
    assert.equal(ixn.status, 403);
    assert.equal(ixn.text.trim(), denied(web.accessor, 'intention:write', 'db'));
    const legacy = await call(agent, 'POST', '/v1/connect/intentions', web.secret, { SourceName: '*', DestinationName: 'db', Action: 'deny' });
    assert.equal(legacy.text.trim(), denied(web.accessor, 'intention:write', 'db'));
    assert.deepEqual((await ok(agent, 'GET', '/v1/connect/intentions', root)).json, []);

    const ca = await call(agent, 'PUT', '/v1/connect/ca/configuration', web.secret, { Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 } });
    assert.equal(ca.status, 403);
    assert.equal(ca.text.trim(), denied(web.accessor, 'operator:write'));
    assert.equal((await call(agent, 'GET', '/v1/connect/ca/configuration', web.secret)).text.trim(), denied(web.accessor, 'operator:read'));

    const pd = await call(agent, 'PUT', '/v1/config', web.secret, { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } });
    assert.equal(pd.status, 403);
    assert.equal(pd.text.trim(), denied(web.accessor, 'mesh:write'));
    assert.equal((await call(agent, 'PUT', '/v1/config?dry-run', web.secret, { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } })).status, 403);
    assert.equal((await call(agent, 'GET', '/v1/config/proxy-defaults/global', root)).status, 404);

    const tokens = await call(agent, 'GET', '/v1/acl/tokens', web.secret);
    assert.equal(tokens.status, 403);
    assert.equal(tokens.text.trim(), denied(web.accessor, 'acl:read'));
  });

  test('sees the agent\'s checks of the services it may read, and the node\'s checks only with node:read', async () => {
    await ok(agent, 'PUT', '/v1/agent/check/register', root, { CheckID: 'disk', Name: 'disk', TTL: '600s' });
    await ok(agent, 'PUT', '/v1/agent/check/register', root, { CheckID: 'db-ttl', Name: 'db ttl', TTL: '600s', ServiceID: 'db' });
    const policy = (await ok(agent, 'PUT', '/v1/acl/policy', root, { Name: 'db-reader', Rules: 'service "db" { policy = "read" }' })).json as { ID: string };
    const reader = ((await ok(agent, 'PUT', '/v1/acl/token', root, { Policies: [{ ID: policy.ID }] })).json as { SecretID: string }).SecretID;
    const checks = await ok(agent, 'GET', '/v1/agent/checks', reader);
    assert.deepEqual(Object.keys(checks.json as object), ['db-ttl'], 'a service check needs only service:read (Consul\'s agent filter)');
    assert.ok(!Object.keys(checks.json as object).includes('disk'), 'the node check is hidden without node:read');
    assert.equal(checks.headers.get(FILTERED_HEADER), 'true');
    assert.ok(Object.keys((await ok(agent, 'GET', '/v1/agent/checks', web.secret)).json as object).includes('disk'), 'a service identity reads nodes');
  });

  test('reads what its identity grants: the whole catalog, its own service-defaults; an operator token sets the CA', async () => {
    const services = await ok(agent, 'GET', '/v1/catalog/services', web.secret);
    assert.ok('db' in (services.json as object));
    assert.equal(services.headers.get(FILTERED_HEADER), null);
    await ok(agent, 'PUT', '/v1/config', web.secret, { Kind: 'service-defaults', Name: 'web', Protocol: 'http' });
    assert.equal((await call(agent, 'PUT', '/v1/config', web.secret, { Kind: 'service-defaults', Name: 'db', Protocol: 'http' })).status, 403);
    const policy = (await ok(agent, 'PUT', '/v1/acl/policy', root, { Name: 'ops', Rules: 'operator = "write"' })).json as { ID: string };
    const ops = ((await ok(agent, 'PUT', '/v1/acl/token', root, { Policies: [{ ID: policy.ID }] })).json as { SecretID: string }).SecretID;
    const cfg = (await ok(agent, 'GET', '/v1/connect/ca/configuration', ops)).json as { Provider: string };
    assert.equal(cfg.Provider, 'consul');
    await ok(agent, 'PUT', '/v1/config', ops, { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } });
  });
});

test('acl.tokens.default (config file) is the token of a request that carries none; a request\'s own token still wins', async () => {
  const secret = '6c1f3b0e-5d8a-4c1e-9f00-000000000def';
  const dir = mkdtempSync(join(tmpdir(), 'sy-acl-tokens-'));
  const file = (content: unknown) => {
    const p = join(dir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify(content));
    return p;
  };
  const config = resolveConfig({ dev: true, 'config-file': file({ acl: { enabled: true, default_policy: 'deny', tokens: { default: secret, agent: 'a-secret' } } }) });
  assert.deepEqual(config.acl?.tokens, { default: secret, agent: 'a-secret' });
  assert.throws(() => resolveConfig({ dev: true, 'config-file': file({ acl: { tokens: { agent: '' } } }) }), /acl\.tokens\.agent/);
  assert.throws(() => resolveConfig({ dev: true, 'config-file': file({ acl: { tokens: { replication: 'x' } } }) }), /acl\.tokens/);
  rmSync(dir, { recursive: true, force: true });
  const { agent, root } = await startWithAcls({ acl: config.acl });
  try {
    // Before the token exists, a request without one is "ACL not found" (Consul's answer for a default token it cannot resolve).
    assert.equal((await call(agent, 'GET', '/v1/catalog/services')).text.trim(), 'ACL not found');
    await ok(agent, 'PUT', '/v1/acl/token', root, { SecretID: secret, ServiceIdentities: [{ ServiceName: 'web' }] });
    await ok(agent, 'PUT', '/v1/agent/service/register', root, { Name: 'web', Port: 8080 });
    const leaf = await call(agent, 'GET', '/v1/agent/connect/ca/leaf/web');
    assert.equal(leaf.status, 200, leaf.text);
    assert.deepEqual(Object.keys((await call(agent, 'GET', '/v1/catalog/services')).json as object), ['consul', 'web']);
    assert.equal((await call(agent, 'GET', '/v1/acl/tokens')).status, 403);
    assert.equal((await call(agent, 'GET', '/v1/acl/tokens', root)).status, 200);
  } finally {
    await agent.close();
  }
});

test('the CLI\'s client commands send -token, else $CONSUL_HTTP_TOKEN', async () => {
  const { agent, root } = await startWithAcls();
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { CONSUL_HTTP_ADDR: agent.agent.httpAddress, ...env } });
    return { code, stdout, stderr };
  };
  try {
    await ok(agent, 'PUT', '/v1/agent/service/register', root, { Name: 'web', Port: 8080 });
    const anon = await run(['catalog', 'services']);
    assert.equal(anon.code, 0, anon.stderr);
    assert.doesNotMatch(anon.stdout, /web/);
    assert.match((await run(['catalog', 'services', '-token', root])).stdout, /web/);
    assert.match((await run(['catalog', 'services'], { CONSUL_HTTP_TOKEN: root })).stdout, /web/);
    const denied = await run(['ca', 'get-config']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /lacks permission 'operator:read'/);
    assert.equal((await run(['ca', 'get-config', '-token', root])).code, 0);
    assert.equal((await run(['intention', 'create', '-deny', 'web', 'db'])).code, 1);
    const created = await run(['intention', 'create', '-deny', '-token', root, 'web', 'db']);
    assert.equal(created.code, 0, created.stderr);
    assert.match((await run(['proxy', 'status', '-token', 'nonsense'])).stderr, /ACL not found/);
    assert.equal((await run(['proxy', 'status'], { CONSUL_HTTP_TOKEN: root })).code, 0);
  } finally {
    await agent.close();
  }
});
