// GET /v1/agent/metrics on a real in-process agent, driven by a scripted delta ADS client: the
// figures an operator graphs move with what happened (streams, pushes, bytes, NACKs, latency,
// waiting proxies, leaves signed, CSR waits, expiry, store commits), in Consul's JSON and as
// Prometheus text.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { TypeUrl } from '../../src/core/type-urls.js';
import { DeltaClient, node } from '../support/ads-client.js';
import { TestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

interface Series { Name: string; Labels: Record<string, string>; Count?: number; Sum?: number; Value?: number }
interface MetricsJson { Timestamp: string; Gauges: Series[]; Points: unknown[]; Counters: Series[]; Samples: Series[] }

const find = (list: Series[], name: string, labels: Record<string, string> = {}) => list.find((s) => s.Name === name && Object.entries(labels).every(([k, v]) => s.Labels[k] === v));

describe('GET /v1/agent/metrics', () => {
  let agent: TestAgent;
  const clients: DeltaClient[] = [];
  const metrics = async () => (await agent.get('/v1/agent/metrics')).json as MetricsJson;

  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    for (const c of clients) c.close();
    await agent.close();
  });

  it('counts streams, pushes, bytes, NACKs, push latency and waiting proxies', async () => {
    const reg = await agent.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: 8080, Connect: { SidecarService: { Port: 21600 } } });
    assert.equal(reg.status, 200, reg.text);
    const web = DeltaClient.open(agent.agent.xds.port, node('web-sidecar-proxy'));
    const ghost = DeltaClient.open(agent.agent.xds.port, node('ghost'));
    clients.push(web, ghost);
    ghost.subscribe(TypeUrl.Cluster);
    web.subscribe(TypeUrl.Cluster);
    const clusters = await web.expect('clusters');
    web.ack(clusters);
    web.subscribe(TypeUrl.Listener);
    const listeners = await web.expect('listeners');
    web.nack(listeners, 'bad listener');
    const m = await waitFor('the NACK counted', async () => {
      const v = await metrics();
      return (find(v.Counters, 'switchyard.xds.nacks', { type: 'Listener' })?.Sum ?? 0) === 1 && v;
    });
    assert.match(m.Timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    assert.deepEqual(m.Points, []);
    assert.equal(find(m.Gauges, 'switchyard.xds.streams', { kind: 'delta' })?.Value, 2);
    assert.equal(find(m.Gauges, 'switchyard.xds.streams', { kind: 'sotw' })?.Value, 0);
    assert.equal(find(m.Gauges, 'switchyard.xds.proxies_waiting')?.Value, 1, 'the unregistered proxy waits');
    assert.ok((find(m.Counters, 'switchyard.xds.pushes', { type: 'Cluster' })?.Sum ?? 0) >= 1);
    assert.ok((find(m.Counters, 'switchyard.xds.push_bytes', { type: 'Cluster' })?.Sum ?? 0) > 100, 'bytes of the clusters sent');
    assert.equal(find(m.Counters, 'switchyard.xds.nacks', { type: 'Cluster' })?.Sum, 0);
    assert.ok((find(m.Samples, 'switchyard.xds.push_latency')?.Count ?? 0) >= 1);
    assert.ok((find(m.Samples, 'switchyard.xds.snapshot_generate')?.Count ?? 0) >= 1);
    assert.ok((find(m.Samples, 'switchyard.store.commit')?.Count ?? 0) >= 1, 'the registration was committed');
    assert.ok((find(m.Counters, 'switchyard.ca.leaves_signed')?.Sum ?? 0) >= 1, "the sidecar's leaf");
    const leafExpiry = find(m.Gauges, 'switchyard.ca.leaf_expiry_seconds')?.Value ?? 0;
    assert.ok(leafExpiry > 3600 && leafExpiry <= 72 * 3600, `leaf expiry ${leafExpiry} s`);
    assert.ok((find(m.Gauges, 'switchyard.ca.root_expiry_seconds')?.Value ?? 0) > 365 * 86400);
  });

  it("carries Consul's runtime gauges under its names (consul.<hostname>.runtime.*), which Consul's clients look for", async () => {
    const m = await metrics();
    assert.ok((find(m.Gauges, `consul.${hostname()}.runtime.alloc_bytes`)?.Value ?? 0) > 0, 'heap bytes in use');
    assert.ok((find(m.Gauges, `consul.${hostname()}.runtime.sys_bytes`)?.Value ?? 0) > 0, 'bytes got from the system');
  });

  it('counts CSRs that wait for their turn under the CA rate limit', async () => {
    const cfg = await agent.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { CSRMaxConcurrent: 1 } });
    assert.equal(cfg.status, 200, cfg.text);
    const before = find((await metrics()).Counters, 'switchyard.ca.csr_rate_limit_waits')?.Sum ?? 0;
    const replies = await Promise.all(['a', 'b', 'c', 'd'].map((s) => agent.get(`/v1/agent/connect/ca/leaf/${s}`)));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200]);
    const m = await metrics();
    assert.ok((find(m.Counters, 'switchyard.ca.csr_rate_limit_waits')?.Sum ?? 0) > before, 'some CSRs waited for their turn');
    assert.ok((find(m.Samples, 'switchyard.ca.csr_wait')?.Count ?? 0) >= 4);
  });

  it('answers ?format=prometheus in the text exposition format, and refuses an unknown format', async () => {
    const r = await agent.get('/v1/agent/metrics?format=prometheus');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^# TYPE switchyard_xds_pushes_total counter$/m);
    assert.match(r.text, /^switchyard_xds_pushes_total\{type="Cluster"\} [1-9]\d*$/m);
    assert.match(r.text, /^switchyard_xds_streams\{kind="delta"\} 2$/m);
    assert.match(r.text, /^# TYPE switchyard_xds_push_latency histogram$/m);
    assert.match(r.text, /^switchyard_xds_push_latency_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    assert.match(r.text, /^switchyard_store_commit_count [1-9]\d*$/m);
    const bad = await agent.get('/v1/agent/metrics?format=xml');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /format: must be prometheus/);
  });
});
