// The mesh end to end with ACLs on and default deny: a real agent process, real Envoy sidecars,
// each bootstrapped by `connect envoy -token` with its own service-identity token, passing mTLS
// traffic; an Envoy with client's token claiming server's sidecar node id is refused
// (PermissionDenied) and receives nothing; deleting client's token ends its Envoy's stream; a
// grpc-js proxyless client whose token may read only `greeter` resolves greeter and nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../../src/cli/http-client.js';
import { AgentProcess } from '../support/agent-process.js';
import { call, startNamedHttpServer, type NamedServer } from '../support/apps.js';
import { EnvoyProcess } from '../support/envoy.js';
import { grpcBootstrap, grpcJsXdsClient, startGreeter, type GreeterServer } from '../support/grpc-peers.js';
import { freePort, waitFor } from '../support/wait.js';

interface Token {
  readonly AccessorID: string;
  readonly SecretID: string;
}

describe('mesh with ACLs on (default deny), real Envoys presenting their tokens', { concurrency: false }, () => {
  let agent: AgentProcess;
  let api: ApiClient;
  let app: NamedServer;
  let greeters: GreeterServer[] = [];
  const envoys: EnvoyProcess[] = [];
  let clientEnvoy: EnvoyProcess;
  let upstreamPort: number;
  const tokens: Record<'client' | 'server', Token> = {} as Record<'client' | 'server', Token>;
  let js: Awaited<ReturnType<typeof grpcJsXdsClient>>[] = [];

  const streamsOf = async (proxyId: string): Promise<number> => {
    const r = await fetch(`http://${agent.httpAddr}/v1/agent/xds/status/${proxyId}`, { headers: { 'X-Consul-Token': management } });
    return r.status === 200 ? ((await r.json()) as { Streams: unknown[] }).Streams.length : 0;
  };
  let management = '';

  before(async () => {
    agent = await AgentProcess.start({ extraArgs: ['-acl-enabled', '-acl-default-policy', 'deny'] });
    management = ((await agent.api.put('/v1/acl/bootstrap')) as Token).SecretID;
    api = new ApiClient(agent.httpAddr, management);
    app = await startNamedHttpServer('server-1');
    await api.put('/v1/agent/service/register', { ID: 'server-1', Name: 'server', Port: app.port, Address: '127.0.0.1', Connect: { SidecarService: { Port: await freePort() } } });
    upstreamPort = await freePort();
    await api.put('/v1/agent/service/register', {
      ID: 'client',
      Name: 'client',
      Port: await freePort(),
      Connect: { SidecarService: { Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: 'server', LocalBindPort: upstreamPort }] } } },
    });
    await api.put('/v1/connect/intentions/exact?source=client&destination=server', { Action: 'allow' });
    for (const name of ['client', 'server'] as const) tokens[name] = (await api.put('/v1/acl/token', { Description: `${name} sidecar`, ServiceIdentities: [{ ServiceName: name }] })) as Token;
    envoys.push(await EnvoyProcess.start(agent.bootstrap(['-sidecar-for', 'server-1', '-token', tokens.server.SecretID]), { logLevel: 'warn' }));
    clientEnvoy = await EnvoyProcess.start(agent.bootstrap(['-sidecar-for', 'client', '-token', tokens.client.SecretID]), { logLevel: 'warn' });
    envoys.push(clientEnvoy);
  });

  after(async () => {
    for (const c of js) c.close();
    for (const e of envoys) await e.stop();
    await app?.close();
    for (const g of greeters) await g.close();
    await agent?.dispose();
  });

  it('carries a call from client to server through both sidecars, each served on its own token', async () => {
    await waitFor('server-1 to answer through both sidecars', async () => {
      const r = await call(upstreamPort);
      return r.ok && r.body === 'server-1';
    }, { timeoutMs: 30_000 });
    const handshakes = [...(await envoys[0]!.stats('ssl\\.handshake$')).entries()].filter(([k]) => k.startsWith('listener.'));
    assert.ok(handshakes.some(([, v]) => v > 0), `the server sidecar's public listener terminated mTLS: ${JSON.stringify(handshakes)}`);
    assert.equal(await streamsOf('client-sidecar-proxy'), 1);
    assert.equal(await streamsOf('server-1-sidecar-proxy'), 1);
  });

  it("refuses an Envoy with client's token claiming server's sidecar node id, and sends it nothing", async () => {
    const intruder = await EnvoyProcess.start(agent.bootstrap(['-proxy-id', 'server-1-sidecar-proxy', '-token', tokens.client.SecretID]), { logLevel: 'warn', readyTimeoutMs: 0 });
    envoys.push(intruder);
    // The log line as JSON (quotes escaped) or for a terminal.
    const refusal = new RegExp(`refusing stream: Permission denied: token with AccessorID '${tokens.client.AccessorID}' lacks permission 'service:write' on \\\\?"server\\\\?"`);
    await waitFor('the agent to refuse the claim', () => refusal.test(agent.output()), { timeoutMs: 20_000 });
    const stats = await intruder.stats('^cluster_manager\\.cds\\.update_success$|^listener_manager\\.lds\\.update_success$');
    assert.deepEqual([...stats.values()], [0, 0], `the intruder accepted configuration: ${JSON.stringify([...stats])}`);
    const certs = await intruder.adminJson<{ certificates: unknown[] }>('/certs');
    assert.deepEqual(certs.certificates, [], "the intruder holds no certificate (no server's leaf, no roots)");
    assert.ok(!agent.output().includes(tokens.client.SecretID), 'the SecretID is never logged');
    await intruder.stop();
    // The real server sidecar keeps its one stream.
    assert.equal(await streamsOf('server-1-sidecar-proxy'), 1);
  });

  it("ends client's Envoy's stream when its token is deleted", async () => {
    assert.equal((await clientEnvoy.stats('^control_plane\\.connected_state$')).get('control_plane.connected_state'), 1);
    await api.delete(`/v1/acl/token/${tokens.client.AccessorID}`);
    await waitFor('the stream to end', async () => (await streamsOf('client-sidecar-proxy')) === 0, { timeoutMs: 10_000 });
    await waitFor('the agent to log the end', () => /client-sidecar-proxy.*unauthenticated: ACL not found|unauthenticated: ACL not found.*client-sidecar-proxy/.test(agent.output()), { timeoutMs: 10_000 });
    assert.equal(await streamsOf('server-1-sidecar-proxy'), 1, "server's stream is untouched");
  });

  it('gives a grpc-js proxyless client whose token reads only greeter that service, and not another', async () => {
    greeters = [await startGreeter('greeter'), await startGreeter('hidden')];
    await api.put('/v1/agent/service/register', { ID: 'greeter-1', Name: 'greeter', Address: '127.0.0.1', Port: greeters[0]!.port });
    await api.put('/v1/agent/service/register', { ID: 'hidden-1', Name: 'hidden', Address: '127.0.0.1', Port: greeters[1]!.port });
    const policy = (await api.put('/v1/acl/policy', { Name: 'reads-greeter', Rules: 'service "greeter" { policy = "read" }' })) as { ID: string };
    const token = (await api.put('/v1/acl/token', { Description: 'proxyless', Policies: [{ ID: policy.ID }] })) as Token;
    const bootstrap = (id: string) => {
      const b = grpcBootstrap(agent.grpcPort, id) as { node: Record<string, unknown> };
      return { ...b, node: { ...b.node, metadata: { 'x-consul-token': token.SecretID } } };
    };
    const greeter = await grpcJsXdsClient('xds:///greeter', bootstrap('grpc-js-acl'));
    const hidden = await grpcJsXdsClient('xds:///hidden', bootstrap('grpc-js-acl-2'));
    js = [greeter, hidden];
    const reply = await waitFor('grpc-js to reach greeter', async () => greeter.hello().catch(() => undefined), { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(reply, 'hello from greeter');
    // What the token may not read is never sent (the in-process tests show the response's contents).
    await assert.rejects(hidden.hello(3000), (err: { code?: number }) => err.code !== undefined, 'hidden is not resolvable with this token');
  });
});
