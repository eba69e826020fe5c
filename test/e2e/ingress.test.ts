// An ingress gateway end to end: a real agent, an ingress gateway registered and bootstrapped by
// `switchyard connect envoy -gateway ingress -register` and configured only over ADS, and two
// services (alpha, beta) behind real sidecars that take mTLS only. Before its ingress-gateway
// entry exists the gateway has no listeners and proxy status says why; once written, a request
// for alpha's host (a.ingress.example) reaches alpha's app, one for beta's default host
// (beta.ingress.<anything>) reaches beta's, a host no service claims gets Envoy's 404, and a deny
// intention from the gateway's service to beta turns beta's requests into 403 while alpha's pass.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';
import { startNamedHttpServer, type NamedServer } from '../support/apps.js';
import { EnvoyProcess } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** GET / on `port` with this Host header, on a new connection; a failed call is status 0. */
function get(port: number, host: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000, headers: { host, connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ status: 0, body: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

const GATEWAY = 'ingress-gateway';

describe('an ingress gateway configured over ADS routes hosts to services behind sidecars', { concurrency: false }, () => {
  let agent: AgentProcess;
  const apps: NamedServer[] = [];
  const envoys: EnvoyProcess[] = [];
  let port = 0;

  before(async () => {
    agent = await AgentProcess.start();
    for (const name of ['alpha', 'beta']) {
      await agent.api.put('/v1/config', { Kind: 'service-defaults', Name: name, Protocol: 'http' });
      const app = await startNamedHttpServer(name);
      apps.push(app);
      await agent.api.put('/v1/agent/service/register', { ID: name, Name: name, Port: app.port, Address: '127.0.0.1', Connect: { SidecarService: { Port: await freePort() } } });
      envoys.push(await EnvoyProcess.start(agent.bootstrapFor(name), { logLevel: 'warn' }));
    }
    port = await freePort();
    // Registers the gateway (Kind ingress-gateway, its listeners on 127.0.0.1) and prints its bootstrap.
    const bootstrap = agent.bootstrap(['-gateway', 'ingress', '-register', '-service', GATEWAY, '-address', `127.0.0.1:${await freePort()}`]);
    envoys.push(await EnvoyProcess.start(bootstrap, { logLevel: 'warn' }));
  });

  after(async () => {
    for (const e of envoys) await e.stop();
    for (const a of apps) await a.close();
    await agent?.dispose();
  });

  it('without an ingress-gateway entry it listens nowhere, and proxy status says why', async () => {
    const report = await agent.api.get<{ Kind: string; Problems: string[] }>(`/v1/agent/xds/proxy-status/${GATEWAY}`);
    assert.equal(report.Kind, 'ingress-gateway');
    assert.ok(report.Problems.some((p) => p.includes('no ingress-gateway config entry')), report.Problems.join('\n'));
    assert.equal((await get(port, 'a.ingress.example')).status, 0, 'nothing listens on the port yet');
  });

  it("routes each service's host to that service's app, through its sidecar's mTLS", async () => {
    await agent.api.put('/v1/config', {
      Kind: 'ingress-gateway',
      Name: GATEWAY,
      Listeners: [{ Port: port, Protocol: 'http', Services: [{ Name: 'alpha', Hosts: ['a.ingress.example'] }, { Name: 'beta' }] }],
    });
    await waitFor('alpha answers through the gateway', async () => (await get(port, 'a.ingress.example')).body === 'alpha', { timeoutMs: 30_000 });
    assert.deepEqual(await get(port, 'a.ingress.example'), { status: 200, body: 'alpha' });
    assert.deepEqual(await get(port, `a.ingress.example:${port}`), { status: 200, body: 'alpha' });
    await waitFor('beta answers on its default host', async () => (await get(port, 'beta.ingress.example')).body === 'beta', { timeoutMs: 10_000 });
    assert.deepEqual(await get(port, `beta.ingress.consul:${port}`), { status: 200, body: 'beta' });
    // The sidecars saw the gateway's identity: the apps answered calls that came over mTLS.
    assert.ok(apps.every((a) => a.hits() > 0));
  });

  it('answers 404 for a host no service claims', async () => {
    assert.equal((await get(port, 'nobody.example.com')).status, 404);
    assert.equal((await get(port, 'alpha.ingress.example')).status, 404, "alpha's Hosts replace its default host");
  });

  it('a deny intention from the gateway to beta makes its requests 403, and alpha still answers', async () => {
    await agent.api.put('/v1/config', { Kind: 'service-intentions', Name: 'beta', Sources: [{ Name: GATEWAY, Action: 'deny' }] });
    await waitFor('beta refused at its sidecar', async () => (await get(port, 'beta.ingress.example')).status === 403, { timeoutMs: 20_000 });
    assert.deepEqual(await get(port, 'a.ingress.example'), { status: 200, body: 'alpha' });
  });
});
