import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { TestAgent } from '../support/agent.js';
import { healthServer } from '../support/grpc-peers.js';
import { freePort, waitFor } from '../support/wait.js';

async function status(a: TestAgent, service: string): Promise<{ Status: string; Output: string } | undefined> {
  // The service's own check (the node's serfHealth is listed too, as in Consul).
  const r = (await a.get(`/v1/health/service/${service}`)).json as { Checks: { Status: string; Output: string; ServiceID: string }[] }[];
  return r[0]?.Checks.find((c) => c.ServiceID !== '');
}

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe('health checks run by the agent', () => {
  const clock = new ManualClock();
  let a: TestAgent;
  before(async () => (a = await TestAgent.start({}, { clock })));
  after(() => a.close());

  it('turns a TTL check critical when not updated within its TTL, and back on pass', async () => {
    await a.put('/v1/agent/service/register', { Name: 'ttl', Port: 1, Check: { TTL: '10s' } });
    await a.put('/v1/agent/check/pass/service:ttl?note=alive');
    await waitFor('the TTL timer', () => a.agent.checks.size > 0 && clock.pendingTimers() > 0);
    clock.advance(9_000);
    assert.equal((await status(a, 'ttl'))?.Status, 'passing');
    await a.put('/v1/agent/check/pass/service:ttl?note=still');
    clock.advance(9_000);
    assert.equal((await status(a, 'ttl'))?.Status, 'passing', 'the update restarted the TTL');
    clock.advance(1_000);
    const expired = await waitFor('TTL expiry', async () => ((await status(a, 'ttl'))?.Status === 'critical' ? status(a, 'ttl') : undefined));
    assert.match(expired?.Output ?? '', /TTL expired \(last output: still\)/);
  });

  it('keeps a TTL check passing while the same heartbeat (same note, or none) keeps coming', async () => {
    await a.put('/v1/agent/service/register', { Name: 'beat', Port: 1, Check: { TTL: '10s' } });
    await a.put('/v1/agent/check/pass/service:beat');
    await waitFor('the TTL timer', () => a.agent.checks.size > 0 && clock.pendingTimers() > 0);
    for (let i = 0; i < 3; i++) {
      clock.advance(9_000);
      // Nothing changes in the catalog, but the heartbeat must still restart the TTL.
      await a.put('/v1/agent/check/pass/service:beat');
    }
    clock.advance(9_000);
    assert.equal((await status(a, 'beat'))?.Status, 'passing', 'each heartbeat restarted the TTL');
    clock.advance(1_000);
    await waitFor('TTL expiry', async () => (await status(a, 'beat'))?.Status === 'critical');
  });

  it('runs HTTP checks every interval: 2xx passing, 429 warning, 5xx critical', async () => {
    let code = 200;
    const server = createHttpServer((_req, res) => res.writeHead(code).end(`code ${code}`));
    const port = await listen(server);
    try {
      await a.put('/v1/agent/service/register', { Name: 'h', Port: port, Check: { HTTP: `http://127.0.0.1:${port}/health`, Interval: '5s', Timeout: '1s' } });
      await waitFor('passing', async () => (await status(a, 'h'))?.Status === 'passing');
      assert.match((await status(a, 'h'))?.Output ?? '', /HTTP GET http:\/\/127\.0\.0\.1:\d+\/health: 200 OK Output: code 200/);
      code = 429;
      clock.advance(5_000);
      await waitFor('warning', async () => (await status(a, 'h'))?.Status === 'warning');
      code = 503;
      clock.advance(5_000);
      await waitFor('critical', async () => (await status(a, 'h'))?.Status === 'critical');
    } finally {
      server.close();
    }
  });

  it('runs TCP checks: passing while the port accepts, critical once it is closed', async () => {
    const server = createTcpServer((s) => s.end());
    const port = await listen(server);
    await a.put('/v1/agent/service/register', { Name: 't', Port: port, Check: { TCP: `127.0.0.1:${port}`, Interval: '5s', Timeout: '1s' } });
    await waitFor('passing', async () => (await status(a, 't'))?.Status === 'passing');
    await new Promise((r) => server.close(r));
    clock.advance(5_000);
    await waitFor('critical', async () => (await status(a, 't'))?.Status === 'critical');
    assert.match((await status(a, 't'))?.Output ?? '', /dial tcp 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('runs gRPC health checks: SERVING is passing, NOT_SERVING critical', async () => {
    let serving = 1;
    const server = healthServer(() => serving);
    const port = await freePort();
    await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    try {
      await a.put('/v1/agent/service/register', { Name: 'g', Port: port, Check: { GRPC: `127.0.0.1:${port}/g`, Interval: '5s', Timeout: '2s' } });
      await waitFor('passing', async () => (await status(a, 'g'))?.Status === 'passing');
      serving = 2;
      clock.advance(5_000);
      await waitFor('critical', async () => (await status(a, 'g'))?.Status === 'critical');
      assert.match((await status(a, 'g'))?.Output ?? '', /NOT_SERVING/);
    } finally {
      server.forceShutdown();
    }
  });

  it('deregisters a service whose check stays critical longer than DeregisterCriticalServiceAfter', async () => {
    await a.put('/v1/agent/service/register', { Name: 'flaky', Port: 1, Check: { TTL: '1h', DeregisterCriticalServiceAfter: '90s' } });
    await waitFor('the reaper', () => a.agent.checks.size > 0 && clock.pendingTimers() > 0);
    clock.advance(60_000);
    await a.put('/v1/agent/check/pass/service:flaky');
    await a.put('/v1/agent/check/fail/service:flaky');
    clock.advance(60_000);
    assert.equal((await a.get('/v1/agent/service/flaky')).status, 200, 'critical again for only 60s');
    clock.advance(30_000);
    await waitFor('deregistration', async () => (await a.get('/v1/agent/service/flaky')).status === 404);
  });

  it('stops probing a check once its service is deregistered', async () => {
    const before = a.agent.checks.size;
    await a.put('/v1/agent/service/deregister/h');
    await waitFor('the check unscheduled', () => a.agent.checks.size === before - 1);
  });
});
