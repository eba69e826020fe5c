// Two sidecars on one node cannot both bind an upstream on the same address and port: their
// Envoys share the host and the second listener would fail to bind. Refused at registration,
// naming the field and the other service, storing nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

const sidecarWith = (id: string, port: number, upstream: Record<string, unknown>) => ({
  ID: id, Name: id, Port: port, Connect: { SidecarService: { Proxy: { Upstreams: [upstream] } } },
});

describe('upstream bind addresses on one node', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await TestAgent.start();
    const web = await agent.put('/v1/agent/service/register', sidecarWith('web', 8080, { DestinationName: 'db', LocalBindPort: 9191 }));
    assert.equal(web.status, 200, web.text);
  });
  after(() => agent.close());

  it('refuses a second sidecar binding the same upstream address and port, naming the field and the other service', async () => {
    const r = await agent.put('/v1/agent/service/register', sidecarWith('api', 8081, { DestinationName: 'cache', LocalBindPort: 9191 }));
    assert.equal(r.status, 400);
    assert.match(r.text, /Connect\.SidecarService\.Proxy\.Upstreams\[0\]\.LocalBindPort: 127\.0\.0\.1:9191 is already bound on this node by upstream 0 of service "web-sidecar-proxy" \(the sidecar of web\)/);
    assert.equal((await agent.get('/v1/agent/service/api')).status, 404, 'nothing stored');
    assert.equal((await agent.get('/v1/agent/service/api-sidecar-proxy')).status, 404);
    const wildcard = await agent.put('/v1/agent/service/register', sidecarWith('api', 8081, { DestinationName: 'cache', LocalBindAddress: '0.0.0.0', LocalBindPort: 9191 }));
    assert.equal(wildcard.status, 400, '0.0.0.0 overlaps 127.0.0.1');
  });

  it('allows another address or port, and the same sidecar re-registered', async () => {
    assert.equal((await agent.put('/v1/agent/service/register', sidecarWith('api', 8081, { DestinationName: 'cache', LocalBindAddress: '127.0.0.2', LocalBindPort: 9191 }))).status, 200);
    assert.equal((await agent.put('/v1/agent/service/register', sidecarWith('batch', 8082, { DestinationName: 'cache', LocalBindPort: 9192 }))).status, 200);
    const again = await agent.put('/v1/agent/service/register', sidecarWith('web', 8080, { DestinationName: 'db', LocalBindPort: 9191 }));
    assert.equal(again.status, 200, again.text);
    // Services with addresses of their own (pods, each with its own loopback) may bind the same upstream port.
    const pod = await agent.put('/v1/agent/service/register', { ...sidecarWith('pod-a', 8080, { DestinationName: 'db', LocalBindPort: 9191 }), Address: '10.1.0.7' });
    assert.equal(pod.status, 200, pod.text);
    const samePod = await agent.put('/v1/agent/service/register', { ...sidecarWith('pod-a2', 8081, { DestinationName: 'cache', LocalBindPort: 9191 }), Address: '10.1.0.7' });
    assert.equal(samePod.status, 400, 'two sidecars at one address collide');
    assert.match(samePod.text, /service "pod-a-sidecar-proxy"/);
  });
});
