// `switchyard proxy status` / `proxy config` against a real in-process agent and a scripted
// delta ADS client standing in for Envoy: an unregistered proxy, an upstream with no instance,
// sent versus acknowledged per type, a NACK, and the resources Switchyard would send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { DeltaClient, node } from '../support/ads-client.js';
import { TestAgent } from '../support/agent.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';

describe('switchyard proxy status / proxy config', () => {
  let agent: TestAgent;
  const logger = recordingLogger();
  const clients: DeltaClient[] = [];
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { CONSUL_HTTP_ADDR: agent.agent.httpAddress } });
    return { code, out, err };
  };
  const envoy = (id: string) => {
    const c = DeltaClient.open(agent.agent.xds.port, node(id));
    clients.push(c);
    return c;
  };

  before(async () => {
    agent = await TestAgent.start({}, { logger });
  });
  after(async () => {
    for (const c of clients) c.close();
    await agent.close();
  });

  it('explains an Envoy whose proxy is not registered, and logs it once at info', async () => {
    const ghost = envoy('ghost-sidecar-proxy');
    ghost.subscribe(TypeUrl.Cluster);
    ghost.subscribe(TypeUrl.Listener);
    await waitFor('the waiting stream', async () => (await agent.get('/v1/agent/xds/status/ghost-sidecar-proxy')).status === 200);
    const r = await run('proxy', 'status', 'ghost-sidecar-proxy');
    assert.equal(r.code, 2, r.err);
    assert.match(r.out, /Registered: {2}no/);
    assert.match(r.out, /not registered: no service with this ID is registered/);
    const list = await run('proxy', 'status');
    assert.match(list.out, /^ghost-sidecar-proxy +NO +1 /m);
    const logged = logger.entries.filter((e) => e.level === 'info' && e.fields.proxy === 'ghost-sidecar-proxy' && /not registered/.test(e.msg));
    assert.equal(logged.length, 1, JSON.stringify(logged));
  });

  it('shows sent vs acknowledged per type, an upstream with no instance, and a NACK', async () => {
    const reg = await agent.put('/v1/agent/service/register', {
      ID: 'web', Name: 'web', Port: 8080,
      Connect: { SidecarService: { Port: 21555, Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }] } } },
    });
    assert.equal(reg.status, 200, reg.text);
    const idle = await run('proxy', 'status', 'web-sidecar-proxy');
    assert.match(idle.out, /^ {2}- no Envoy is connected for it: start one with `switchyard connect envoy -proxy-id web-sidecar-proxy`$/m);
    assert.match((await run('proxy', 'status')).out, /^web-sidecar-proxy +yes +0 +- +- +- +- +- +2 /m, 'registered, no stream: two problems (no Envoy, an upstream without instances)');
    const web = envoy('web-sidecar-proxy');
    web.subscribe(TypeUrl.Cluster);
    const clusters = await web.expect('clusters');
    assert.equal(clusters.typeUrl, TypeUrl.Cluster);
    let r = await run('proxy', 'status', 'web-sidecar-proxy');
    assert.match(r.out, /CDS +\S+ +- +STALE/, r.out);
    web.ack(clusters);
    await waitFor('the ACK in status', async () => /CDS +(\S+) +\1 +SYNCED/.test((await run('proxy', 'status', 'web-sidecar-proxy')).out));
    r = await run('proxy', 'status', 'web-sidecar-proxy');
    assert.match(r.out, /Registered: {2}yes \(connect-proxy for web\)/);
    assert.match(r.out, /- db: db in dc1 has no instance/);
    assert.equal(r.code, 2, 'an upstream with no instance is a problem');
    assert.equal(logger.entries.filter((e) => e.fields.proxy === 'web-sidecar-proxy' && /upstream db has no healthy instance/.test(e.msg)).length, 1);

    web.subscribe(TypeUrl.Listener);
    const listeners = await web.expect('listeners');
    web.nack(listeners, 'invalid listener: port taken');
    await waitFor('the NACK in status', async () => /LDS +\S+ +- +NACKED/.test((await run('proxy', 'status', 'web-sidecar-proxy')).out));
    r = await run('proxy', 'status', 'web-sidecar-proxy');
    assert.match(r.out, /Last NACK: {3}type\.googleapis\.com\/envoy\.config\.listener\.v3\.Listener nonce \d+ at .*: invalid listener: port taken/);
    assert.match(r.out, /^ {2}- Envoy rejected its last Listener update \(nonce \d+\), keeping its previous one: invalid listener: port taken$/m);
    // A new listener (an intention to web changes its RBAC) that Envoy takes: the NACK no longer stands.
    assert.equal((await agent.put('/v1/connect/intentions/exact?source=ops&destination=web', { Action: 'deny' })).status, 200);
    const fixed = await web.expect('the new listener');
    assert.equal(fixed.typeUrl, TypeUrl.Listener);
    web.ack(fixed);
    await waitFor('the listener synced', async () => /LDS +\S+ +\S+ +SYNCED/.test((r = await run('proxy', 'status', 'web-sidecar-proxy')).out));
    assert.doesNotMatch(r.out, /Envoy rejected/);
    assert.match(r.out, /Last NACK: {3}\S+Listener nonce/, 'the last NACK is still shown');

    // db gets an instance with a sidecar: the upstream has a healthy instance again.
    await agent.put('/v1/agent/service/register', { ID: 'db', Name: 'db', Port: 5432, Connect: { SidecarService: { Port: 21556 } } });
    await waitFor('db upstream healthy', async () => !/no healthy instance: +-/.test((r = await run('proxy', 'status', 'web-sidecar-proxy')).out) && /no healthy instance: none/.test(r.out));
    const json = JSON.parse((await run('proxy', 'status', '-format', 'json', 'web-sidecar-proxy')).out) as { Registered: boolean; UpstreamsWithoutHealthyInstances: unknown[] };
    assert.equal(json.Registered, true);
    assert.deepEqual(json.UpstreamsWithoutHealthyInstances, []);
  });

  it('prints the resources Switchyard would send, private keys redacted', async () => {
    const r = await run('proxy', 'config', 'web-sidecar-proxy');
    assert.equal(r.code, 0, r.err);
    const dump = JSON.parse(r.out) as { ProxyID: string; Kind: string; Resources: Record<string, { Name: string; Version: string; Resource: Record<string, unknown> }[]> };
    assert.equal(dump.Kind, 'connect-proxy');
    const clusters = dump.Resources[TypeUrl.Cluster]?.map((c) => c.Name) ?? [];
    assert.ok(clusters.includes('local_app'), clusters.join());
    assert.ok(clusters.some((n) => n.startsWith('db.default.dc1.internal.')), clusters.join());
    assert.equal(dump.Resources[TypeUrl.Cluster]?.[0]?.Resource['@type'], TypeUrl.Cluster);
    assert.ok(!r.out.includes('PRIVATE KEY'), 'no private key in the dump');
    assert.match(r.out, /\[redacted\]/);
    const missing = await run('proxy', 'config', 'nobody');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /404: .*not registered/);
  });
});
