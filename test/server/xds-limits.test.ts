// The xDS port's limits, seen by real grpc-js clients: a node id and node metadata within bounds,
// undecodable requests refused as InvalidArgument, and bounded streams (in all, per node id,
// waiting for a registration) refused with ResourceExhausted so that clients back off and retry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, credentials, status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ApiRequest } from '../../src/api/route.js';
import { xdsStatusRoutes } from '../../src/api/xds-status.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { MAX_NODE_ID_BYTES, MAX_NODE_METADATA_BYTES, MAX_NODE_METADATA_DEPTH } from '../../src/server/request-bounds.js';
import { node, type DeltaClient, type StreamEnd } from '../support/ads-client.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';
import { cluster, resourceSet } from './fixtures.js';
import { assertDelta, startHarness, type Harness } from './harness.js';

const { Cluster } = TypeUrl;
const api = cluster('api');

/** A delta client whose first request carries `n` as its node. */
function withNode(h: Harness, n: ReturnType<typeof node>): DeltaClient {
  const c = h.delta('placeholder');
  c.node = n;
  return c;
}

/** Metadata nested `depth` levels deep as JSON: {"l":{"l":...{}}}. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { l: value };
  return value;
}

async function expectInvalid(c: DeltaClient, field: RegExp): Promise<StreamEnd> {
  c.subscribe(Cluster);
  const end = await c.expectEnd();
  assert.equal(end.code, status.INVALID_ARGUMENT, end.details);
  assert.match(end.details, field);
  return end;
}

/** Opens streams for `ids` and waits until the server holds them all (each waits or is served). */
async function openStreams(h: Harness, ids: string[]): Promise<DeltaClient[]> {
  const clients = ids.map((id) => h.delta(id));
  for (const c of clients) c.subscribe(Cluster);
  const count = (id: string) => ids.filter((x) => x === id).length;
  await waitFor('the streams in status', () => ids.every((id) => h.server.status.get(id)?.ConnectedStreams === count(id)));
  return clients;
}

function get(params: Record<string, string> = {}): ApiRequest {
  return { method: 'GET', params, query: new URLSearchParams(), body: undefined, headers: {}, signal: new AbortController().signal };
}

describe('xDS port limits', () => {
  it('refuses a node id that is too long or has control characters with InvalidArgument naming node.id', async () => {
    const h = await startHarness();
    await expectInvalid(h.delta('x'.repeat(MAX_NODE_ID_BYTES + 1)), /^node\.id: must be at most 256 bytes, got 257$/);
    // Bytes, not characters: 129 two-byte characters are 258 bytes.
    await expectInvalid(h.delta('é'.repeat(129)), /node\.id: must be at most 256 bytes, got 258/);
    await expectInvalid(h.delta('web\nsidecar'), /node\.id: must not contain control characters \(U\+000A at offset 3\)/);
    await expectInvalid(h.delta('web\u0085'), /node\.id: must not contain control characters/);
    // At the limit is fine: the stream waits for its registration.
    const ok = h.delta('y'.repeat(MAX_NODE_ID_BYTES));
    ok.subscribe(Cluster);
    await waitFor('the stream in status', () => h.server.status.get('y'.repeat(MAX_NODE_ID_BYTES))?.ConnectedStreams === 1);
    assert.equal(ok.ended, undefined);
  });

  it('refuses node metadata over 64 KiB encoded or nested deeper than 32 with InvalidArgument naming node.metadata', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api));
    const big = { ...node('web-sidecar'), metadata: { blob: 'x'.repeat(MAX_NODE_METADATA_BYTES) } };
    await expectInvalid(withNode(h, big), /^node\.metadata: must be at most 65536 bytes encoded, got 655\d\d$/);
    const deep = { ...node('web-sidecar'), metadata: nested(MAX_NODE_METADATA_DEPTH + 1) };
    await expectInvalid(withNode(h, deep), /^node\.metadata: must be nested at most 32 levels deep$/);
    const deepList = { ...node('web-sidecar'), metadata: { a: [[[[nested(MAX_NODE_METADATA_DEPTH - 4)]]]] } };
    await expectInvalid(withNode(h, deepList), /node\.metadata: must be nested at most 32 levels deep/);
    // Within both bounds the proxy is served.
    const fine = withNode(h, { ...node('web-sidecar'), metadata: { blob: 'x'.repeat(60_000), deep: nested(MAX_NODE_METADATA_DEPTH - 1) } });
    fine.subscribe(Cluster);
    assertDelta(await fine.expect('CDS'), Cluster, [api]);
  });

  it('refuses bytes that are not a request with InvalidArgument, not Internal', async () => {
    const h = await startHarness();
    const client = new Client(`127.0.0.1:${h.server.port}`, credentials.createInsecure());
    const raw = (b: Buffer) => b;
    const ends: StreamEnd[] = [];
    const streams: ClientDuplexStream<Buffer, Buffer>[] = [];
    for (const method of ['DeltaAggregatedResources', 'StreamAggregatedResources']) {
      const stream = client.makeBidiStreamRequest(`/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`, raw, raw);
      stream.on('error', (err: StreamEnd) => ends.push({ code: err.code, details: err.details }));
      // Field 1 (length-delimited) claiming 127 bytes, followed by 2.
      stream.write(Buffer.from([0x0a, 0x7f, 0x01, 0x02]));
      streams.push(stream);
    }
    try {
      await waitFor('both streams to end', () => ends.length === 2);
      for (const end of ends) {
        assert.equal(end.code, status.INVALID_ARGUMENT, end.details);
        assert.match(end.details, /^the request is not a valid (Delta)?DiscoveryRequest: /);
      }
    } finally {
      for (const s of streams) s.cancel();
      client.close();
    }
  });

  it('holds at most 4 streams per node id (a hot restart needs 2); gRPC clients are held only to the total', async () => {
    const logger = recordingLogger();
    const h = await startHarness(logger);
    h.source.set('web-sidecar', resourceSet(api));
    const four = await openStreams(h, ['web-sidecar', 'web-sidecar', 'web-sidecar', 'web-sidecar']);
    const refused = [h.delta(), h.delta()];
    for (const c of refused) {
      c.subscribe(Cluster);
      const end = await c.expectEnd();
      assert.equal(end.code, status.RESOURCE_EXHAUSTED);
      assert.equal(end.details, 'node "web-sidecar" already has the most open xDS streams one node id may have (4); retry once one has closed');
    }
    assert.equal(logger.entries.filter((e) => /^refusing stream/.test(e.msg) && e.fields.proxy === 'web-sidecar').length, 1, 'logged once, not per retry');
    assert.equal(h.server.status.get('web-sidecar')?.ConnectedStreams, 4);
    four[0]?.close();
    await waitFor('the closed stream gone', () => h.server.status.get('web-sidecar')?.ConnectedStreams === 3);
    const again = h.delta();
    again.subscribe(Cluster);
    assertDelta(await again.expect('CDS'), Cluster, [api]);
    // Proxyless replicas share a bootstrap, hence a node id.
    h.source.set('billing-client', resourceSet(api));
    const grpc = Array.from({ length: 6 }, () => h.sotw('billing-client'));
    for (const c of grpc) c.send({ typeUrl: Cluster, resourceNames: ['api'] });
    for (const c of grpc) assert.equal((await c.expect('CDS')).resources.length, 1);
  });

  it('refuses streams beyond limits.xds_max_streams with ResourceExhausted, logged once per run of refusals', async () => {
    const logger = recordingLogger();
    const h = await startHarness(logger, { limits: { maxStreams: 3 } });
    h.source.set('a', resourceSet(api));
    const open = await openStreams(h, ['a', 'b', 'c']);
    for (const id of ['d', 'e']) {
      const c = h.delta(id);
      c.subscribe(Cluster);
      const end = await c.expectEnd();
      assert.equal(end.code, status.RESOURCE_EXHAUSTED);
      assert.equal(end.details, 'the xDS server is at its limit of open streams (3: limits.xds_max_streams, -xds-max-streams); retry later');
    }
    assert.equal(logger.entries.filter((e) => e.level === 'warn' && /^refusing new xDS streams/.test(e.msg)).length, 1);
    assert.equal(h.server.status.get('d'), undefined);
    open[1]?.close();
    await waitFor('the closed stream gone', () => h.server.status.get('b') === undefined);
    h.source.set('d', resourceSet(api));
    const d = h.delta('d');
    d.subscribe(Cluster);
    assertDelta(await d.expect('CDS'), Cluster, [api]);
    assert.ok(logger.entries.some((e) => e.level === 'info' && e.msg === 'accepting xDS streams again, after refusing 2'));
  });

  it('bounds the streams waiting for a proxy that is not registered, shows why they wait and logs it once per proxy', async () => {
    const logger = recordingLogger();
    const h = await startHarness(logger, { limits: { maxWaitingStreams: 2 } });
    const [a] = await openStreams(h, ['a', 'b']);
    assert.ok(a);
    await a.expectNothing();
    const [all, one] = xdsStatusRoutes(h.server.status);
    const waitingA = (await one?.handler(get({ proxyId: 'a' })))?.body as { Waiting: { Reason: string; Since: string } | null };
    assert.equal(waitingA.Waiting?.Reason, 'proxy not registered');
    assert.match(waitingA.Waiting?.Since ?? '', /^\d{4}-\d\d-\d\dT/);
    const listed = (await all?.handler(get()))?.body as Array<{ ProxyID: string; Waiting: { Reason: string } | null }>;
    assert.deepEqual(listed.map((p) => [p.ProxyID, p.Waiting?.Reason]), [['a', 'proxy not registered'], ['b', 'proxy not registered']]);
    // A third proxy that is not registered is refused, every retry, and logged once.
    for (let retry = 0; retry < 2; retry++) {
      const c = h.delta('c');
      c.subscribe(Cluster);
      const end = await c.expectEnd();
      assert.equal(end.code, status.RESOURCE_EXHAUSTED);
      assert.equal(end.details, 'proxy "c" is not registered, and the most streams that may wait for a registration (2) already do; register it, then retry');
    }
    const about = (proxy: string, msg: RegExp) => logger.entries.filter((e) => e.level === 'info' && e.fields.proxy === proxy && msg.test(e.msg));
    assert.equal(about('c', /^refusing stream/).length, 1);
    assert.equal(h.server.status.get('c'), undefined);
    // A waiting client that reconnects is not logged again.
    a.close();
    await waitFor('a gone', () => h.server.status.get('a') === undefined);
    const [a2] = await openStreams(h, ['a']);
    assert.ok(a2);
    assert.equal(about('a', /^proxy not registered/).length, 1);
    // Registered: the stream stops waiting and is served, which makes room for another to wait.
    h.source.set('a', resourceSet(api));
    assertDelta(await a2.expect('CDS after registration'), Cluster, [api]);
    assert.equal(h.server.status.get('a')?.Waiting, null);
    await openStreams(h, ['c']);
    assert.equal(h.server.status.get('c')?.Waiting?.Reason, 'proxy not registered');
  });
});
