// The discovery chain live: a real agent, real Envoy sidecars configured only through delta ADS,
// and config entries written over the HTTP API while calls flow. Writing a resolver and a
// splitter moves every call to one subset; rewriting the splitter moves them to the other; a
// refused write (a split to a subset that does not exist) changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/cli/http-client.js';
import { AgentProcess } from '../support/agent-process.js';
import { call, startNamedHttpServer, type NamedServer } from '../support/apps.js';
import { EnvoyProcess } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';

describe('discovery chain entries take effect on running Envoys over ADS', { concurrency: false }, () => {
  let agent: AgentProcess;
  const apps: NamedServer[] = [];
  const envoys: EnvoyProcess[] = [];
  let upstreamPort = 0;

  /** The answers of `n` calls in a row (a failed call counts as "failed"). */
  async function answers(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await call(upstreamPort);
      seen.add(r.ok ? r.body : 'failed');
    }
    return seen;
  }

  before(async () => {
    agent = await AgentProcess.start();
    await agent.api.put('/v1/config', { Kind: 'service-defaults', Name: 'server', Protocol: 'http' });
    for (const version of ['1', '2']) {
      const app = await startNamedHttpServer(`server-${version}`);
      apps.push(app);
      // The sidecar carries its service's Meta, which the resolver's subsets filter on.
      await agent.api.put('/v1/agent/service/register', {
        ID: `server-${version}`, Name: 'server', Port: app.port, Address: '127.0.0.1', Meta: { version }, Connect: { SidecarService: { Port: await freePort() } },
      });
      envoys.push(await EnvoyProcess.start(agent.bootstrapFor(`server-${version}`), { logLevel: 'warn' }));
    }
    upstreamPort = await freePort();
    await agent.api.put('/v1/agent/service/register', {
      ID: 'client', Name: 'client', Port: await freePort(),
      Connect: { SidecarService: { Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: 'server', LocalBindPort: upstreamPort }] } } },
    });
    envoys.push(await EnvoyProcess.start(agent.bootstrapFor('client'), { logLevel: 'warn' }));
    await waitFor('both instances to answer', async () => {
      const seen = await answers(4);
      return seen.has('server-1') && seen.has('server-2');
    }, { timeoutMs: 30_000 });
  });

  after(async () => {
    for (const e of envoys) await e.stop();
    for (const a of apps) await a.close();
    await agent?.dispose();
  });

  it('a splitter sending everything to subset v2 moves every call there, and rewriting it to v1 moves them back', async () => {
    await agent.api.put('/v1/config', { Kind: 'service-resolver', Name: 'server', Subsets: { v1: { Filter: 'Service.Meta.version == 1' }, v2: { Filter: 'Service.Meta.version == 2' } } });
    await agent.api.put('/v1/config', { Kind: 'service-splitter', Name: 'server', Splits: [{ Weight: 100, ServiceSubset: 'v2' }] });
    await waitFor('every call on v2', async () => JSON.stringify([...(await answers(10))]) === '["server-2"]', { timeoutMs: 20_000 });
    await agent.api.put('/v1/config', { Kind: 'service-splitter', Name: 'server', Splits: [{ Weight: 100, ServiceSubset: 'v1' }] });
    await waitFor('every call on v1', async () => JSON.stringify([...(await answers(10))]) === '["server-1"]', { timeoutMs: 20_000 });
  });

  it('a refused write leaves the running chain as it was', async () => {
    await assert.rejects(agent.api.put('/v1/config', { Kind: 'service-splitter', Name: 'server', Splits: [{ Weight: 100, ServiceSubset: 'v3' }] }), (e: unknown) => {
      assert.ok(e instanceof ApiError && e.status === 400, String(e));
      assert.match(e.message, /Splits\[0\]\.ServiceSubset: subset "v3" of service "server" does not exist/);
      return true;
    });
    assert.deepEqual([...(await answers(10))], ['server-1']);
  });
});
