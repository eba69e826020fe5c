// Two federated datacenters, each a real agent in this process with its own store, talking over
// real HTTP: replication of config entries and intentions, forwarded writes, federation states,
// `?dc=` both ways, and the link surviving its loss and both agents' restarts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestAgent, type Reply } from '../support/agent.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { freePort, waitFor } from '../support/wait.js';

const FAST = { wanBackoff: { initialMs: 20, maxMs: 200 } };

function secondaryOf(primaryAddress: string, over: Parameters<typeof TestAgent.start>[0] = {}): Promise<TestAgent> {
  return TestAgent.start({ datacenter: 'dc2', node: 'node2', primaryDatacenter: 'dc1', retryJoinWan: [primaryAddress], ...over }, FAST);
}

function meshGateway(port: number) {
  return { Kind: 'mesh-gateway', Name: 'mesh-gateway', Port: port, Address: '127.0.0.1', TaggedAddresses: { lan: { Address: '127.0.0.1', Port: port }, wan: { Address: '192.0.2.1', Port: port } } };
}

async function status(agent: TestAgent): Promise<{ Link: { Reachable: boolean; ReplicatedIndex: number; LastError: string | null; LastContact: string | null } | null; Primary: boolean }> {
  return (await agent.get('/v1/internal/federation/status')).json as never;
}

const ok = (r: Reply) => r.status === 200;

describe('two datacenters: replication, forwarded writes, federation states, ?dc=', () => {
  let dc1: TestAgent;
  let dc2: TestAgent;
  before(async () => {
    dc1 = await TestAgent.start({ datacenter: 'dc1' });
    dc2 = await secondaryOf(dc1.agent.httpAddress);
  });
  after(async () => {
    await dc2?.close();
    await dc1?.close();
  });

  it('replicates a config entry written in the primary, and its deletion', async () => {
    assert.equal((await dc1.put('/v1/config', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' })).status, 200);
    const seen = await waitFor('the entry in dc2', async () => {
      const r = await dc2.get('/v1/config/service-defaults/web');
      return ok(r) && r;
    });
    assert.equal((seen.json as { Protocol: string }).Protocol, 'http');
    const s = await status(dc2);
    assert.equal(s.Primary, false);
    assert.equal(s.Link?.Reachable, true);
    assert.ok((s.Link?.ReplicatedIndex ?? 0) > 0, 'the replicated index is shown');
    assert.equal((await dc1.delete('/v1/config/service-defaults/web')).status, 200);
    await waitFor('the deletion in dc2', async () => (await dc2.get('/v1/config/service-defaults/web')).status === 404);
  });

  it('forwards a write sent to the secondary to the primary and shows it at once', async () => {
    const w = await dc2.put('/v1/connect/intentions/exact?source=api&destination=db', { Action: 'deny' });
    assert.equal(w.status, 200, w.text);
    assert.equal(w.json, true);
    // Answered only once replication brought it here: no waiting needed.
    assert.equal((await dc2.get('/v1/connect/intentions/exact?source=api&destination=db')).status, 200);
    assert.equal(dc2.catalog.check('api', 'db').Allowed, false, "the secondary's proxies are denied api -> db");
    assert.equal((await dc1.get('/v1/connect/intentions/exact?source=api&destination=db')).status, 200, 'the primary holds it');
    const entry = await dc2.put('/v1/config', { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } });
    assert.equal(entry.status, 200, entry.text);
    assert.equal((await dc2.get('/v1/config/proxy-defaults/global')).status, 200);
    // The primary's refusal is the answer, and nothing is stored anywhere.
    const bad = await dc2.put('/v1/config', { Kind: 'service-defaults', Name: 'x', Protocol: 'carrier-pigeon' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Protocol/);
    assert.equal((await dc1.get('/v1/config/service-defaults/x')).status, 404);
    const del = await dc2.delete('/v1/connect/intentions/exact?source=api&destination=db');
    assert.equal(del.status, 200);
    assert.equal((await dc2.get('/v1/connect/intentions/exact?source=api&destination=db')).status, 404);
    assert.equal(dc2.catalog.check('api', 'db').Allowed, true);
  });

  it('puts every datacenter\'s mesh gateways in both agents\' federation states', async () => {
    assert.equal((await dc1.put('/v1/agent/service/register', meshGateway(8443))).status, 200);
    assert.equal((await dc2.put('/v1/agent/service/register', meshGateway(9443))).status, 200);
    for (const agent of [dc1, dc2]) {
      await waitFor(`both states in ${agent.catalog.datacenter}`, async () => {
        const r = await agent.get('/v1/internal/federation-states');
        const states = r.json as { Datacenter: string; MeshGateways: { Service: { Port: number } }[]; UpdatedAt: string }[];
        const ports = Object.fromEntries(states.map((s) => [s.Datacenter, s.MeshGateways.map((g) => g.Service.Port)]));
        return JSON.stringify(ports) === JSON.stringify({ dc1: [8443], dc2: [9443] });
      });
    }
    const one = await dc1.get('/v1/internal/federation-state/dc2');
    assert.equal(one.status, 200);
    const body = one.json as { State: { Datacenter: string; UpdatedAt: string } };
    assert.equal(body.State.Datacenter, 'dc2');
    assert.ok(!Number.isNaN(Date.parse(body.State.UpdatedAt)));
    assert.equal((await dc1.get('/v1/internal/federation-state/dc7')).status, 404);
    // The watch proxycfg uses holds both datacenters in each agent.
    for (const agent of [dc1, dc2]) {
      const states = await new Promise<readonly { Datacenter: string }[]>((resolve) => {
        const sub = agent.catalog.watchFederationStates().subscribe((v) => {
          resolve(v);
          queueMicrotask(() => sub.unsubscribe());
        });
      });
      assert.deepEqual(states.map((s) => s.Datacenter).sort(), ['dc1', 'dc2']);
    }
  });

  it('refuses a malformed federation state naming the field, storing nothing', async () => {
    const bad = await dc1.put('/v1/internal/federation-state/dc3', { State: { Datacenter: 'dc3', MeshGateways: [{ Node: {}, Service: {}, Checks: [] }], UpdatedAt: 'yesterday' }, HTTPAddress: '127.0.0.1:1' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /State\.MeshGateways\[0\]\.Service\.ID/);
    assert.match(bad.text, /State\.UpdatedAt/);
    const mismatch = await dc1.put('/v1/internal/federation-state/dc3', { State: { Datacenter: 'dc4', MeshGateways: [], UpdatedAt: '2026-12-03T12:00:00Z' }, HTTPAddress: '127.0.0.1:1' });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /State\.Datacenter/);
    const own = await dc1.put('/v1/internal/federation-state/dc1', { State: { Datacenter: 'dc1', MeshGateways: [], UpdatedAt: '2026-12-03T12:00:00Z' }, HTTPAddress: '127.0.0.1:1' });
    assert.equal(own.status, 400);
    const toSecondary = await dc2.put('/v1/internal/federation-state/dc3', { State: { Datacenter: 'dc3', MeshGateways: [], UpdatedAt: '2026-12-03T12:00:00Z' }, HTTPAddress: '127.0.0.1:1' });
    assert.equal(toSecondary.status, 400);
    assert.match(toSecondary.text, /primary/);
    assert.equal((await dc1.get('/v1/internal/federation-state/dc3')).status, 404, 'no state stored');
    assert.deepEqual((await dc1.get('/v1/catalog/datacenters')).json, ['dc1', 'dc2'], 'no address stored');
  });

  it('lists the datacenters, its own first', async () => {
    assert.deepEqual((await dc1.get('/v1/catalog/datacenters')).json, ['dc1', 'dc2']);
    assert.deepEqual((await dc2.get('/v1/catalog/datacenters')).json, ['dc2', 'dc1']);
  });

  it('answers ?dc= from the datacenter named, both ways', async () => {
    assert.equal((await dc1.put('/v1/agent/service/register', { Name: 'api', Port: 8080 })).status, 200);
    assert.equal((await dc2.put('/v1/agent/service/register', { Name: 'web', Port: 9090 })).status, 200);
    const fromPrimary = await dc1.get('/v1/catalog/service/web?dc=dc2');
    assert.equal(fromPrimary.status, 200, fromPrimary.text);
    assert.deepEqual((fromPrimary.json as { Datacenter: string; ServicePort: number }[]).map((s) => [s.Datacenter, s.ServicePort]), [['dc2', 9090]]);
    assert.ok(fromPrimary.index > 0, 'X-Consul-Index comes through');
    assert.deepEqual((await dc1.get('/v1/catalog/service/web')).json, [], 'without ?dc= the primary answers for itself');
    const health = await dc2.get('/v1/health/service/api?dc=dc1');
    assert.equal(health.status, 200, health.text);
    assert.deepEqual((health.json as { Service: { Service: string; Datacenter: string } }[]).map((e) => [e.Service.Service, e.Service.Datacenter]), [['api', 'dc1']]);
    const services = await dc2.get('/v1/catalog/services?dc=dc1');
    assert.ok('api' in (services.json as object));
    assert.equal((await dc2.get('/v1/catalog/service/api?dc=dc2')).text, '[]', 'its own name is answered here');
    for (const agent of [dc1, dc2]) {
      const unknown = await agent.get('/v1/catalog/nodes?dc=dc9');
      assert.equal(unknown.status, 400);
      assert.match(unknown.text, /^No path to datacenter "dc9" \(dc: known are (dc1, dc2|dc2, dc1)\)/);
    }
  });
});

describe('the WAN link lost and restored, the primary and the secondary restarted', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sy-fed-'));
    dirs.push(d);
    return d;
  };
  let dc1: TestAgent;
  let dc2: TestAgent;
  let relay: TcpRelay;
  let primaryPort: number;
  let primaryDir: string;
  let secondaryPort: number;
  let secondaryDir: string;
  // The test's own HTTP client may hold a keep-alive connection to the agent before a restart: a
  // GET (which it retries) clears it before the writes.
  const up = async (agent: TestAgent) => {
    await waitFor('the agent to answer', async () => ok(await agent.get('/v1/status/leader')));
    return agent;
  };
  const startPrimary = async () => up(await TestAgent.start({ datacenter: 'dc1', httpPort: primaryPort, dataDir: primaryDir }));
  const startSecondary = async () => up(await secondaryOf(relay.address, { httpPort: secondaryPort, dataDir: secondaryDir }));
  before(async () => {
    [primaryPort, secondaryPort, primaryDir, secondaryDir] = [await freePort(), await freePort(), dir(), dir()];
    dc1 = await startPrimary();
    relay = await TcpRelay.start(dc1.agent.httpAddress);
    dc2 = await startSecondary();
  });
  after(async () => {
    await dc2?.close();
    await dc1?.close();
    await relay?.cut();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses writes with 503 while the primary is unreachable, serves reads, and converges when the link is back', async () => {
    assert.equal((await dc1.put('/v1/config', { Kind: 'service-defaults', Name: 'kept', Protocol: 'grpc' })).status, 200);
    await waitFor('the entry in dc2', async () => ok(await dc2.get('/v1/config/service-defaults/kept')));
    await relay.cut();
    const refused = await dc2.put('/v1/config', { Kind: 'service-defaults', Name: 'lost', Protocol: 'http' });
    assert.equal(refused.status, 503);
    assert.match(refused.text, /cannot reach the primary datacenter "dc1".*nothing was written/);
    assert.equal((await dc2.put('/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' })).status, 503);
    const read = await dc2.get('/v1/config/service-defaults/kept');
    assert.equal(read.status, 200);
    assert.equal((read.json as { Protocol: string }).Protocol, 'grpc');
    const down = await waitFor('the link shown down', async () => {
      const s = await status(dc2);
      return s.Link?.Reachable === false && s.Link;
    });
    assert.match(down.LastError ?? '', /cannot reach the primary/);
    assert.ok(down.LastContact, 'the last contact is kept');
    // Written in the primary while the link is down: it arrives once the link is back.
    assert.equal((await dc1.put('/v1/config', { Kind: 'service-defaults', Name: 'during', Protocol: 'http2' })).status, 200);
    assert.equal((await dc1.delete('/v1/config/service-defaults/kept')).status, 200);
    await relay.restore();
    await waitFor('the write made during the cut in dc2', async () => ok(await dc2.get('/v1/config/service-defaults/during')));
    await waitFor('the deletion made during the cut in dc2', async () => (await dc2.get('/v1/config/service-defaults/kept')).status === 404);
    assert.equal((await status(dc2)).Link?.Reachable, true);
  });

  it('resumes after the primary restarts', async () => {
    await dc1.close();
    dc1 = await startPrimary();
    assert.equal((await dc1.put('/v1/config', { Kind: 'service-defaults', Name: 'after-primary-restart', Protocol: 'http' })).status, 200);
    await waitFor('the write made after the restart in dc2', async () => ok(await dc2.get('/v1/config/service-defaults/after-primary-restart')));
    const w = await dc2.put('/v1/config', { Kind: 'service-defaults', Name: 'forwarded-after-restart', Protocol: 'http' });
    assert.equal(w.status, 200, w.text);
  });

  it('keeps the replicated data across a restart of the secondary and resumes following', async () => {
    await dc2.close();
    await relay.cut();
    dc2 = await startSecondary();
    // Nothing can have come from the primary: what is served is what the secondary's store kept.
    for (const name of ['during', 'after-primary-restart', 'forwarded-after-restart']) assert.equal((await dc2.get(`/v1/config/service-defaults/${name}`)).status, 200, name);
    assert.equal((await dc1.delete('/v1/config/service-defaults/during')).status, 200);
    await relay.restore();
    await waitFor('the deletion in the restarted dc2', async () => (await dc2.get('/v1/config/service-defaults/during')).status === 404);
  });
});
