// End to end across two datacenters: two real agents (dc1 primary, dc2 secondary joined over
// -retry-join-wan), a real mesh-gateway Envoy in each, a server in dc1 and a client in dc2 whose
// upstream is the server in dc1. The client's calls go client sidecar -> dc2 gateway -> dc1
// gateway -> server sidecar, with mTLS between the two sidecars end to end: the server sees the
// client's dc2 SPIFFE ID, both gateways count the connections, and neither holds a certificate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';
import { call, CallLoop, startNamedHttpServer, type NamedServer } from '../support/apps.js';
import { EnvoyProcess } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';

interface Gateway {
  readonly id: string;
  readonly agent: AgentProcess;
  readonly lan: number;
  readonly wan: number;
  envoy: EnvoyProcess;
}

/** Connections a gateway's tcp_proxy chains with this stat prefix have taken. */
async function connections(gw: Gateway, statPrefix: string): Promise<number> {
  const stats = await gw.envoy.stats(`^tcp\\.${statPrefix.replace(/\./g, '\\.')}\\.downstream_cx_total$`);
  return [...stats.values()].reduce((a, b) => a + b, 0);
}

describe('two federated datacenters through mesh gateways', { concurrency: false }, () => {
  let dc1: AgentProcess;
  let dc2: AgentProcess;
  const apps: NamedServer[] = [];
  const envoys: EnvoyProcess[] = [];
  const gateways: Gateway[] = [];
  let api: NamedServer;
  let toApi: number;
  let toLocal: number;

  async function startGateway(agent: AgentProcess, id: string): Promise<Gateway> {
    const lan = await freePort();
    const wan = await freePort();
    await agent.api.put('/v1/agent/service/register', {
      ID: id,
      Name: 'mesh-gateway',
      Kind: 'mesh-gateway',
      Address: '127.0.0.1',
      Port: lan,
      TaggedAddresses: { lan: { Address: '127.0.0.1', Port: lan }, wan: { Address: '127.0.0.1', Port: wan } },
      Proxy: { Config: { envoy_gateway_bind_tagged_addresses: true } },
    });
    const envoy = await EnvoyProcess.start(agent.bootstrap(['-gateway', 'mesh', '-proxy-id', id]), { logLevel: 'warn' });
    const gw: Gateway = { id, agent, lan, wan, envoy };
    gateways.push(gw);
    return gw;
  }

  async function startSidecar(agent: AgentProcess, id: string): Promise<EnvoyProcess> {
    const envoy = await EnvoyProcess.start(agent.bootstrapFor(id), { logLevel: 'warn' });
    envoys.push(envoy);
    return envoy;
  }

  /** Registers (or re-registers) the dc2 client with its upstreams: api in dc1 in `mode`, and local in dc2. */
  async function registerClient(mode: 'local' | 'remote' | 'none'): Promise<void> {
    await dc2.api.put('/v1/agent/service/register', {
      ID: 'web',
      Name: 'web',
      Port: 1,
      Connect: {
        SidecarService: {
          Port: webSidecarPort,
          Proxy: {
            Upstreams: [
              { DestinationName: 'api', Datacenter: 'dc1', LocalBindPort: toApi, MeshGateway: { Mode: mode } },
              { DestinationName: 'local', LocalBindPort: toLocal },
            ],
          },
        },
      },
    });
  }
  let webSidecarPort: number;

  before(async () => {
    dc1 = await AgentProcess.start({ extraArgs: ['-datacenter', 'dc1'] });
    dc2 = await AgentProcess.start({ extraArgs: ['-datacenter', 'dc2', '-primary-datacenter', 'dc1', '-retry-join-wan', dc1.httpAddr] });
    // Written in the primary, replicated to dc2 (the client's upstream protocol comes from it).
    await dc1.api.put('/v1/config', { Kind: 'service-defaults', Name: 'api', Protocol: 'http' });
    await dc1.api.put('/v1/connect/intentions/exact?source=web&destination=api', { Action: 'allow' });
    await dc2.api.put('/v1/connect/intentions/exact?source=web&destination=local', { Action: 'allow' });

    api = await startNamedHttpServer('api-1');
    const local = await startNamedHttpServer('local-1');
    apps.push(api, local);
    await dc1.api.put('/v1/agent/service/register', { ID: 'api', Name: 'api', Port: api.port, Address: '127.0.0.1', Connect: { SidecarService: { Port: await freePort() } } });
    await dc2.api.put('/v1/agent/service/register', { ID: 'local', Name: 'local', Port: local.port, Address: '127.0.0.1', Connect: { SidecarService: { Port: await freePort() } } });
    await startGateway(dc1, 'gw-dc1');
    await startGateway(dc2, 'gw-dc2');
    [toApi, toLocal, webSidecarPort] = [await freePort(), await freePort(), await freePort()];
    await registerClient('local');
    await startSidecar(dc1, 'api');
    await startSidecar(dc2, 'local');
    await startSidecar(dc2, 'web');
  });

  after(async () => {
    for (const e of [...envoys, ...gateways.map((g) => g.envoy)]) await e.stop();
    for (const a of apps) await a.close();
    await dc2?.dispose();
    await dc1?.dispose();
  });

  const [gw1, gw2] = [() => gateways[0]!, () => gateways[1]!];
  const callApi = async () => {
    const r = await call(toApi);
    return r.ok && r.body === 'api-1' ? r : undefined;
  };

  it('carries a dc2 client call to the dc1 server through both gateways, mTLS end to end', async () => {
    await waitFor('a call from dc2 to dc1 through the gateways', callApi, { timeoutMs: 60_000, intervalMs: 250 });
    const xfcc = String(api.lastHeaders()?.['x-forwarded-client-cert'] ?? '');
    assert.match(xfcc, /URI=spiffe:\/\/[^/;]+\.consul\/ns\/default\/dc\/dc2\/svc\/web/, `the server's sidecar saw the client's dc2 identity: ${xfcc}`);
    assert.ok((await connections(gw2(), 'mesh_gateway_remote.default.dc1')) > 0, 'the dc2 gateway forwarded to dc1');
    assert.ok((await connections(gw1(), 'mesh_gateway_local.api.default.dc1')) > 0, 'the dc1 gateway forwarded to api');
    for (const gw of gateways) {
      const certs = await gw.envoy.adminJson<{ certificates: unknown[] }>('/certs');
      assert.deepEqual(certs.certificates, [], `${gw.id} holds no certificate`);
    }
  });

  it('a deny intention written in dc1 stops the calls, and removing it restores them', async () => {
    await dc1.api.put('/v1/connect/intentions/exact?source=web&destination=api', { Action: 'deny' });
    await waitFor('calls to be denied', async () => !(await call(toApi)).ok, { timeoutMs: 15_000 });
    await dc1.api.put('/v1/connect/intentions/exact?source=web&destination=api', { Action: 'allow' });
    await waitFor('calls to be allowed again', callApi, { timeoutMs: 15_000 });
  });

  /** The ports of the client sidecar's endpoints for api in dc1 (gateways or sidecars, by mode). */
  const apiEndpointPorts = async () =>
    (await envoys[2]!.admin('/clusters'))
      .split('\n')
      .filter((l) => l.startsWith('api.default.dc1.internal.') && l.includes('::health_flags::'))
      .map((l) => Number(/::127\.0\.0\.1:(\d+)::/.exec(l)?.[1]))
      .sort();

  /** Switches the client's mode and waits until its sidecar dials `ports` for api. */
  async function switchMode(mode: 'local' | 'remote' | 'none', ports: number[]): Promise<void> {
    await registerClient(mode);
    await waitFor(`the client sidecar to dial ${ports.join(',')} for api (mode ${mode})`, async () => JSON.stringify(await apiEndpointPorts()) === JSON.stringify(ports.sort()), { timeoutMs: 20_000, intervalMs: 250 });
  }

  it('passes traffic in modes remote (dc1 gateway only) and none (straight to the dc1 sidecar)', async () => {
    const apiSidecarPort = ((await dc1.api.get('/v1/agent/service/api-sidecar-proxy')) as { Port: number }).Port;
    assert.deepEqual(await apiEndpointPorts(), [gw2().lan], 'mode local: the dc2 gateway');

    await switchMode('remote', [gw1().wan]);
    const [via2, via1] = [await connections(gw2(), 'mesh_gateway_remote.default.dc1'), await connections(gw1(), 'mesh_gateway_local.api.default.dc1')];
    await waitFor('a call through the dc1 gateway alone', async () => (await callApi()) && (await connections(gw1(), 'mesh_gateway_local.api.default.dc1')) > via1, { timeoutMs: 20_000, intervalMs: 250 });
    assert.equal(await connections(gw2(), 'mesh_gateway_remote.default.dc1'), via2, 'mode remote bypasses the local gateway');

    await switchMode('none', [apiSidecarPort]);
    const [n2, n1, hits] = [await connections(gw2(), 'mesh_gateway_remote.default.dc1'), await connections(gw1(), 'mesh_gateway_local.api.default.dc1'), api.hits()];
    await waitFor('calls straight to the dc1 sidecar', async () => (await callApi()) && api.hits() >= hits + 3, { timeoutMs: 20_000, intervalMs: 100 });
    const direct = (await envoys[2]!.admin('/clusters')).split('\n').find((l) => l.startsWith('api.default.dc1.internal.') && l.includes(`::127.0.0.1:${apiSidecarPort}::cx_total::`));
    assert.ok(Number(direct?.split('::').pop()) > 0, `the client sidecar connected to the dc1 sidecar itself: ${direct}`);
    assert.equal(await connections(gw1(), 'mesh_gateway_local.api.default.dc1'), n1, 'mode none uses no gateway in dc1');
    assert.equal(await connections(gw2(), 'mesh_gateway_remote.default.dc1'), n2, 'nor in dc2');

    await switchMode('local', [gw2().lan]);
    await waitFor('calls through both gateways again', callApi, { timeoutMs: 20_000, intervalMs: 250 });
  });

  it('stopping the dc1 gateway fails only the cross-datacenter calls; they resume when it is back', async () => {
    const gw = gw1();
    await gw.envoy.stop();
    await waitFor('cross-datacenter calls to fail', async () => !(await call(toApi)).ok, { timeoutMs: 15_000 });
    const localCall = await call(toLocal);
    assert.ok(localCall.ok && localCall.body === 'local-1', `a call within dc2 still works: ${JSON.stringify(localCall)}`);
    gw.envoy = await EnvoyProcess.start(gw.agent.bootstrap(['-gateway', 'mesh', '-proxy-id', gw.id]), { logLevel: 'warn' });
    await waitFor('cross-datacenter calls to resume', callApi, { timeoutMs: 30_000, intervalMs: 250 });
  });

  it('a root rotation in dc1 reaches dc2 and causes no failed call', async () => {
    const loop = new CallLoop(toApi);
    try {
      const before = ((await dc2.api.get('/v1/connect/ca/roots')) as { ActiveRootID: string }).ActiveRootID;
      await dc1.api.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384 } });
      await waitFor('dc2 to see the new active root', async () => ((await dc2.api.get('/v1/connect/ca/roots')) as { ActiveRootID: string }).ActiveRootID !== before, { timeoutMs: 30_000, intervalMs: 250 });
      const n = loop.results.length;
      await waitFor('calls after the rotation', () => loop.results.length >= n + 20, { timeoutMs: 30_000 });
    } finally {
      await loop.stop();
    }
    assert.deepEqual(loop.failures(), [], `calls failed during the rotation (${loop.failures().length} of ${loop.results.length})`);
  });
});
