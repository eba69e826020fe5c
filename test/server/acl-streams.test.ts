// ACLs on xDS streams against a real in-process agent (ACLs on, default deny) and scripted ADS
// clients presenting tokens as gRPC metadata `x-consul-token`: a sidecar's token needs
// service:write on its destination, checked before anything is sent and again when the token,
// its policies or the registration change; an unknown token is Unauthenticated; a proxyless
// client sees only what its token may read; a stream never receives another identity's Secret.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { leafSecretName, OWN_LEAF_SECRET } from '../../src/core/names.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { Listener as ListenerMessage } from '../../src/gen/envoy/config/listener/v3/listener.js';
import { DeltaClient, node, SotwClient } from '../support/ads-client.js';
import { callWithToken } from '../support/acl-http.js';
import { TestAgent } from '../support/agent.js';
import { recordingLogger } from '../support/recording-logger.js';
import { freePort, waitFor } from '../support/wait.js';

const { Cluster, Listener, Secret } = TypeUrl;

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: { readonly SecretID: string; readonly AccessorID: string; readonly ID: string };
}

async function api(agent: TestAgent, method: string, path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  const res = await fetch(agent.base + path, { method, headers: token ? { 'X-Consul-Token': token } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
  return { status: res.status, text, json };
}

async function ok(agent: TestAgent, method: string, path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  const r = await api(agent, method, path, token, body);
  assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
  return r;
}

/** Registers `name` with a sidecar (`<name>-sidecar-proxy`) and returns the sidecar's id. */
async function registerWithSidecar(agent: TestAgent, token: string | undefined, name: string): Promise<string> {
  await ok(agent, 'PUT', '/v1/agent/service/register', token, { ID: name, Name: name, Port: await freePort(), Connect: { SidecarService: { Port: await freePort() } } });
  return `${name}-sidecar-proxy`;
}

describe('ACLs on xDS streams (default deny)', () => {
  let agent: TestAgent;
  let management: string;
  const logger = recordingLogger();
  const clients: Array<{ close(): void }> = [];
  const envoy = (proxyId: string, token: string | undefined) => {
    const c = DeltaClient.open(agent.agent.xds.port, node(proxyId), token);
    clients.push(c);
    return c;
  };
  const token = async (body: unknown) => (await ok(agent, 'PUT', '/v1/acl/token', management, body)).json;
  const streamsOf = async (proxyId: string) => {
    const r = await callWithToken(agent, 'GET', `/v1/agent/xds/status/${proxyId}`, management);
    return r.status === 200 ? ((r.json as { Streams: unknown[] }).Streams ?? []).length : 0;
  };

  before(async () => {
    agent = await TestAgent.start({ acl: { enabled: true, defaultPolicy: 'deny' } }, { logger });
    management = (await ok(agent, 'PUT', '/v1/acl/bootstrap', undefined)).json.SecretID;
    await registerWithSidecar(agent, management, 'web');
    await registerWithSidecar(agent, management, 'db');
  });
  after(async () => {
    for (const c of clients) c.close();
    await agent.close();
  });

  it("serves a sidecar whose token has its service's identity, and refuses a token for web claiming db's sidecar before sending anything", async () => {
    const web = await token({ ServiceIdentities: [{ ServiceName: 'web' }] });
    const own = envoy('web-sidecar-proxy', web.SecretID);
    own.subscribe(Cluster);
    const clusters = await own.expect('web sidecar clusters');
    assert.equal(clusters.typeUrl, Cluster);

    const claim = envoy('db-sidecar-proxy', web.SecretID);
    claim.subscribe(Cluster);
    claim.subscribe(Listener);
    claim.subscribe(Secret, [OWN_LEAF_SECRET]);
    const end = await claim.expectEnd();
    assert.equal(end.code, status.PERMISSION_DENIED);
    assert.equal(end.details, `Permission denied: token with AccessorID '${web.AccessorID}' lacks permission 'service:write' on "db"`);
    await assert.rejects(claim.expect('anything', 10), /ended/, 'the refused stream received nothing');
    assert.ok(logger.entries.some((e) => e.level === 'warn' && e.fields.proxy === 'db-sidecar-proxy' && /refusing stream: Permission denied/.test(e.msg)));
    assert.ok(!JSON.stringify(logger.entries).includes(web.SecretID), 'the SecretID is never logged');

    // The refusal shows in db's sidecar's xDS status and `proxy status` problems until a stream of it is served.
    const shown = await callWithToken(agent, 'GET', '/v1/agent/xds/status/db-sidecar-proxy', management);
    assert.deepEqual((shown.json as { LastDenied: unknown }).LastDenied, { Code: 'PERMISSION_DENIED', Error: end.details, Time: (shown.json as { LastDenied: { Time: string } }).LastDenied.Time });
    const report = await callWithToken(agent, 'GET', '/v1/agent/xds/proxy-status/db-sidecar-proxy', management);
    assert.ok((report.json as { Problems: string[] }).Problems.includes(`its last stream was refused (PERMISSION_DENIED): ${end.details}`), report.text);
    const db = await token({ ServiceIdentities: [{ ServiceName: 'db' }] });
    const real = envoy('db-sidecar-proxy', db.SecretID);
    real.subscribe(Cluster);
    await real.expect('db sidecar clusters');
    assert.equal(((await callWithToken(agent, 'GET', '/v1/agent/xds/status/db-sidecar-proxy', management)).json as { LastDenied: unknown }).LastDenied, null);
  });

  it('ends a stream with an unknown token Unauthenticated, and one without a token (anonymous, default deny) PermissionDenied', async () => {
    const unknown = envoy('web-sidecar-proxy', '00000000-1111-2222-3333-444444444444');
    unknown.subscribe(Cluster);
    const end = await unknown.expectEnd();
    assert.equal(end.code, status.UNAUTHENTICATED);
    assert.equal(end.details, 'unauthenticated: ACL not found');

    const anonymous = envoy('web-sidecar-proxy', undefined);
    anonymous.subscribe(Cluster);
    const denied = await anonymous.expectEnd();
    assert.equal(denied.code, status.PERMISSION_DENIED);
    assert.match(denied.details, /^Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'service:write' on "web"$/);
  });

  it("refuses an unknown token even while the proxy is not registered (nothing to wait for)", async () => {
    const ghost = envoy('ghost-sidecar-proxy', 'not-a-token');
    ghost.subscribe(Cluster);
    assert.equal((await ghost.expectEnd()).code, status.UNAUTHENTICATED);
  });

  it('ends a running stream when its token is deleted', async () => {
    const web = await token({ ServiceIdentities: [{ ServiceName: 'web' }] });
    const c = envoy('web-sidecar-proxy', web.SecretID);
    c.subscribe(Cluster);
    c.ack(await c.expect('clusters'));
    await waitFor('the stream in the xDS status', async () => (await streamsOf('web-sidecar-proxy')) >= 1);
    const before = await streamsOf('web-sidecar-proxy');
    await ok(agent, 'DELETE', `/v1/acl/token/${web.AccessorID}`, management);
    const end = await c.expectEnd();
    assert.equal(end.code, status.UNAUTHENTICATED);
    assert.equal(end.details, 'unauthenticated: ACL not found');
    await waitFor('the stream gone from the xDS status', async () => (await streamsOf('web-sidecar-proxy')) === before - 1);
  });

  it('ends a running stream when its token expires', async () => {
    const web = await token({ ServiceIdentities: [{ ServiceName: 'web' }], ExpirationTTL: '1s' });
    const c = envoy('web-sidecar-proxy', web.SecretID);
    c.subscribe(Cluster);
    c.ack(await c.expect('clusters'));
    const end = await c.expectEnd(10_000);
    assert.deepEqual(end, { code: status.UNAUTHENTICATED, details: 'unauthenticated: ACL not found' });
  });

  it('serves a mesh gateway on a token that may write its service name, and refuses one that may not', async () => {
    await ok(agent, 'PUT', '/v1/agent/service/register', management, { ID: 'gw-1', Name: 'gw', Kind: 'mesh-gateway', Address: '127.0.0.1', Port: await freePort() });
    const gw = await token({ ServiceIdentities: [{ ServiceName: 'gw' }] });
    const other = await token({ ServiceIdentities: [{ ServiceName: 'gw-1' }] });
    const served = envoy('gw-1', gw.SecretID);
    served.subscribe(Cluster);
    assert.equal((await served.expect('gateway clusters')).typeUrl, Cluster);
    const refused = envoy('gw-1', other.SecretID);
    refused.subscribe(Cluster);
    const end = await refused.expectEnd();
    assert.equal(end.code, status.PERMISSION_DENIED);
    assert.match(end.details, /lacks permission 'service:write' on "gw"$/);
  });

  it('ends a running stream when its policy stops granting service:write, and serves it again once it does', async () => {
    const policy = (await ok(agent, 'PUT', '/v1/acl/policy', management, { Name: 'web-writer', Rules: 'service "web" { policy = "write" }' })).json;
    const t = await token({ Policies: [{ ID: policy.ID }] });
    const c = envoy('web-sidecar-proxy', t.SecretID);
    c.subscribe(Cluster);
    c.ack(await c.expect('clusters'));
    await ok(agent, 'PUT', `/v1/acl/policy/${policy.ID}`, management, { Name: 'web-writer', Rules: 'service "web" { policy = "read" }' });
    const end = await c.expectEnd();
    assert.equal(end.code, status.PERMISSION_DENIED);
    assert.equal(end.details, `Permission denied: token with AccessorID '${t.AccessorID}' lacks permission 'service:write' on "web"`);

    await ok(agent, 'PUT', `/v1/acl/policy/${policy.ID}`, management, { Name: 'web-writer', Rules: 'service "web" { policy = "write" }' });
    const again = envoy('web-sidecar-proxy', t.SecretID);
    again.subscribe(Cluster);
    assert.equal((await again.expect('clusters again')).typeUrl, Cluster);
  });

  it("ends a running stream when its proxy is re-registered in front of a service the token may not write", async () => {
    const id = await registerWithSidecar(agent, management, 'pay');
    const pay = await token({ ServiceIdentities: [{ ServiceName: 'pay' }] });
    const c = envoy(id, pay.SecretID);
    c.subscribe(Cluster);
    c.ack(await c.expect('clusters'));
    await ok(agent, 'PUT', '/v1/agent/service/register', management, { ID: id, Name: id, Kind: 'connect-proxy', Port: await freePort(), Proxy: { DestinationServiceName: 'db' } });
    const end = await c.expectEnd();
    assert.equal(end.code, status.PERMISSION_DENIED);
    assert.match(end.details, /lacks permission 'service:write' on "db"$/);
  });

  it("sends a sidecar nothing for another service's leaf Secret name, and logs it", async () => {
    const web = await token({ ServiceIdentities: [{ ServiceName: 'web' }] });
    const c = envoy('web-sidecar-proxy', web.SecretID);
    c.subscribe(Secret, [leafSecretName('db')]);
    await waitFor('the foreign Secret request in the log', () =>
      logger.entries.some((e) => e.level === 'warn' && e.fields.proxy === 'web-sidecar-proxy' && e.fields.secret === leafSecretName('db')),
    );
    await c.expectNothing();
    c.subscribe(Secret, [OWN_LEAF_SECRET]);
    const own = await c.expect('its own leaf');
    assert.deepEqual(own.resources.map((r) => r.name), [OWN_LEAF_SECRET]);
  });

  it("gives a terminating gateway only the linked services whose leaf its token may hold (service:write), and the rest once it may", async () => {
    await ok(agent, 'PUT', '/v1/agent/service/register', management, { ID: 'tgw-1', Name: 'tgw', Kind: 'terminating-gateway', Address: '127.0.0.1', Port: await freePort() });
    await ok(agent, 'PUT', '/v1/config', management, { Kind: 'terminating-gateway', Name: 'tgw', Services: [{ Name: 'web' }, { Name: 'db' }] });
    const rules = (db: 'read' | 'write') => `service "tgw" { policy = "write" }\nservice "web" { policy = "write" }\nservice "db" { policy = "${db}" }`;
    const policy = (await ok(agent, 'PUT', '/v1/acl/policy', management, { Name: 'tgw-links', Rules: rules('read') })).json;
    const t = await token({ Policies: [{ ID: policy.ID }] });
    const c = envoy('tgw-1', t.SecretID);
    c.subscribe(Cluster);
    const clusters = await c.expect('gateway clusters');
    assert.deepEqual(clusters.resources.map((r) => r.name.split('.')[0]), ['web'], 'no cluster for db, which the token may only read');
    c.ack(clusters);
    c.subscribe(Secret, [leafSecretName('web'), leafSecretName('db')]);
    const secrets = await c.expect('the leaf the token may hold');
    assert.deepEqual(secrets.resources.map((r) => r.name), [leafSecretName('web')]);
    c.ack(secrets);
    await waitFor("the refused linked service in the log", () => logger.entries.some((e) => e.level === 'warn' && e.fields.proxy === 'tgw-1' && /lacks service:write on db/.test(e.msg)));

    await ok(agent, 'PUT', `/v1/acl/policy/${policy.ID}`, management, { Name: 'tgw-links', Rules: rules('write') });
    const got = new Set<string>();
    await waitFor("db's cluster and leaf once the token may write db", async () => {
      const r = await c.expect('more resources');
      c.ack(r);
      for (const x of r.resources) got.add(x.name);
      return got.has(leafSecretName('db')) && [...got].some((n) => n.startsWith('db.'));
    }, { timeoutMs: 10_000 });
    assert.equal(c.ended, undefined, 'the stream stays open');
  });

  it('gives a proxyless gRPC client only the services its token may read, and more when its policy grants more', async () => {
    const policy = (await ok(agent, 'PUT', '/v1/acl/policy', management, { Name: 'reads-web', Rules: 'service "web" { policy = "read" }' })).json;
    const t = await token({ Policies: [{ ID: policy.ID }] });
    const c = SotwClient.open(agent.agent.xds.port, node('grpc-client', 'gRPC Node'), t.SecretID);
    clients.push(c);
    c.send({ typeUrl: Listener, resourceNames: ['web', 'db'] });
    const first = await c.expect('listeners');
    assert.deepEqual(names(first.resources), ['web']);
    c.ack(first, ['web', 'db']);
    await ok(agent, 'PUT', `/v1/acl/policy/${policy.ID}`, management, { Name: 'reads-web', Rules: 'service_prefix "" { policy = "read" }' });
    const more = await c.expect('listeners once db is readable');
    assert.deepEqual(names(more.resources).sort(), ['db', 'web']);

    const unknown = SotwClient.open(agent.agent.xds.port, node('grpc-client', 'gRPC Node'), 'nope');
    clients.push(unknown);
    unknown.send({ typeUrl: Listener, resourceNames: ['web'] });
    assert.equal((await unknown.expectEnd()).code, status.UNAUTHENTICATED);
  });
});

describe('Secrets with ACLs disabled', () => {
  it("sends a sidecar nothing for another service's leaf Secret name, and logs it", async () => {
    const logger = recordingLogger();
    const agent = await TestAgent.start({}, { logger });
    const c = DeltaClient.open(agent.agent.xds.port, node('web-sidecar-proxy'));
    try {
      await registerWithSidecar(agent, undefined, 'web');
      await registerWithSidecar(agent, undefined, 'db');
      c.subscribe(Secret, [leafSecretName('db')]);
      await waitFor('the foreign Secret request in the log', () => logger.entries.some((e) => e.level === 'warn' && e.fields.secret === leafSecretName('db') && /not its own/.test(e.msg)));
      await c.expectNothing();
    } finally {
      c.close();
      await agent.close();
    }
  });
});

/** Listener names in a SotW response. */
function names(resources: readonly { value: Uint8Array }[]): string[] {
  return resources.map((r) => ListenerMessage.decode(r.value).name);
}
