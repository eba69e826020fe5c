// The agent's xDS port through the real composition (catalog -> proxycfg -> generators -> ADS
// server) and the HTTP status: a proxy whose configuration cannot be generated keeps its stream
// and its last good config, and shows why; a stream for a proxy that is not registered shows that
// it waits; the configured stream limit holds.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { TestAgent } from '../support/agent.js';
import { DeltaClient, node } from '../support/ads-client.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';

const { Cluster, Listener } = TypeUrl;
const PROXY = 'web-sidecar-proxy';

interface XdsStatus {
  readonly ConnectedStreams: number;
  readonly Waiting: { Reason: string; Since: string } | null;
  readonly GenerationError: { Error: string; Time: string } | null;
}

const agents: TestAgent[] = [];
const clients: DeltaClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const a of agents) await a.close();
});

async function start(over: Parameters<typeof TestAgent.start>[0] = {}): Promise<TestAgent> {
  const a = await TestAgent.start(over);
  agents.push(a);
  return a;
}

function open(a: TestAgent, id = PROXY): DeltaClient {
  const c = DeltaClient.open(a.agent.xds.port, node(id));
  clients.push(c);
  return c;
}

async function xdsStatus(a: TestAgent, id = PROXY): Promise<XdsStatus> {
  const r = await a.get(`/v1/agent/xds/status/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json as XdsStatus;
}

describe('the agent xDS port', () => {
  it('keeps the stream and the last good config of a proxy whose configuration cannot be generated, and shows why until it can', async () => {
    const a = await start();
    const register = (port: number) => a.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: port, Connect: { SidecarService: {} } });
    assert.equal((await register(8080)).status, 200);
    const c = open(a);
    c.subscribe(Cluster);
    const cds = await c.expect('CDS', 20_000);
    c.ack(cds);
    c.subscribe(Listener);
    const lds = await c.expect('LDS');
    c.ack(lds);
    // A registration stored by an older version, before transparent proxying was refused at
    // registration: the snapshot has an issue and no configuration can be generated from it.
    const key = `${a.agent.config.node}/${PROXY}`;
    await a.agent.store.write((tx) => {
      const row = tx.get<{ Proxy: Record<string, unknown> }>('services', key);
      assert.ok(row, 'the sidecar registration');
      tx.put('services', key, { ...row.value, Proxy: { ...row.value.Proxy, Mode: 'transparent' } });
    });
    const failed = await waitFor('the generation error in the xDS status', async () => (await xdsStatus(a)).GenerationError ?? undefined);
    assert.match(failed.Error, new RegExp(`generating resources for proxy ${PROXY} failed: .*Proxy\\.Mode: transparent proxying is not supported`));
    await c.expectNothing();
    assert.equal(c.ended, undefined, 'the stream stays open');
    assert.equal((await xdsStatus(a)).ConnectedStreams, 1);
    // Fixed (registered again, on another port): the next config is delivered and the status clears.
    assert.equal((await register(8081)).status, 200);
    const next = await c.expect('the configuration for port 8081', 10_000);
    assert.equal(next.typeUrl, Cluster, 'local_app now points at 8081');
    assert.ok(next.resources.some((r) => r.name === 'local_app'));
    await waitFor('the status to clear', async () => (await xdsStatus(a)).GenerationError === null);
  });

  it('shows a stream for a proxy that is not registered as waiting, "proxy not registered"', async () => {
    const a = await start();
    const c = open(a, 'nobody-sidecar-proxy');
    c.subscribe(Cluster);
    const st = await waitFor('the waiting stream in status', async () => {
      const r = await a.get('/v1/agent/xds/status');
      return (r.json as Array<XdsStatus & { ProxyID: string }>).find((p) => p.ProxyID === 'nobody-sidecar-proxy');
    });
    assert.equal(st.Waiting?.Reason, 'proxy not registered');
    assert.equal((await xdsStatus(a, 'nobody-sidecar-proxy')).Waiting?.Reason, 'proxy not registered');
  });

  it('shows a stream for a registration that is no proxy as waiting, in the status and once in the log', async () => {
    const logger = recordingLogger();
    const a = await TestAgent.start({}, { logger });
    agents.push(a);
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'api', Name: 'api', Port: 8080 })).status, 200);
    const api = open(a, 'api');
    api.subscribe(Cluster);
    const typical = await waitFor('the typical service waiting in the status', async () => (await xdsStatus(a, 'api')).Waiting ?? undefined);
    assert.match(typical.Reason, /not a proxy/);
    await api.expectNothing();
    assert.equal(api.ended, undefined, 'the stream stays open and waits');
    const logged = logger.entries.filter((e) => e.fields.proxy === 'api' && /not a proxy/.test(e.msg));
    assert.equal(logged.length, 1, 'logged once');
    assert.equal(logged[0]?.level, 'info');
  });

  it('serves a registered mesh gateway: a cluster and filter chain per local service, no certificates', async () => {
    const a = await start();
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'mgw', Name: 'mgw', Kind: 'mesh-gateway', Port: 8443, Address: '127.0.0.1' })).status, 200);
    assert.equal((await a.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: 8080, Connect: { SidecarService: {} } })).status, 200);
    const c = open(a, 'mgw');
    c.subscribe(Cluster);
    const cds = await c.expect('the gateway clusters', 20_000);
    assert.deepEqual(
      cds.resources.map((r) => r.name.split('.').slice(0, 3).join('.')),
      ['web.default.dc1'],
      'one cluster, for the local service web',
    );
    c.ack(cds);
    assert.equal((await xdsStatus(a, 'mgw')).Waiting, null);
  });

  it('holds at most xdsMaxStreams streams (limits.xds_max_streams)', async () => {
    const a = await start({ xdsMaxStreams: 1 });
    const first = open(a, 'one');
    first.subscribe(Cluster);
    await waitFor('the first stream in status', async () => (await a.get('/v1/agent/xds/status/one')).status === 200);
    const second = open(a, 'two');
    second.subscribe(Cluster);
    const end = await second.expectEnd();
    assert.equal(end.code, status.RESOURCE_EXHAUSTED);
    assert.match(end.details, /^the xDS server is at its limit of open streams \(1: limits\.xds_max_streams, -xds-max-streams\); retry later$/);
  });
});
