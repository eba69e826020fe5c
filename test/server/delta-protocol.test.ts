// The delta ADS protocol, driven by a scripted client over a real socket (XDS-NOTES.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ResourceSet } from '../../src/core/resources.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import type { DeltaClient } from '../support/ads-client.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';
import { cluster, endpoints, listener, resourceSet, route, secret } from './fixtures.js';
import { assertDelta, startHarness } from './harness.js';

const { Cluster, Endpoint, Listener, Route, Secret } = TypeUrl;

const leaf = secret('web-leaf');
const roots = secret('roots');
const api = cluster('api');
const apiEndpoints = endpoints('api', 8080);
const pub = listener('public', 20000, 'public-route');
const pubRoute = route('public-route');
const base = [leaf, roots, api, apiEndpoints, pub, pubRoute];

/** Brings a client up the way Envoy does, ACKing each response; returns when all types are acknowledged. */
async function bringUp(c: DeltaClient): Promise<void> {
  c.subscribe(Cluster);
  c.subscribe(Listener);
  const cds = await c.expect('CDS');
  assertDelta(cds, Cluster, [api]);
  await c.expectNothing(); // LDS is held while CDS is unacknowledged
  c.subscribe(Endpoint, ['api']);
  c.ack(cds);
  const eds = await c.expect('EDS');
  assertDelta(eds, Endpoint, [apiEndpoints]);
  c.subscribe(Secret, ['web-leaf', 'roots']);
  assertDelta(await c.expect('SDS'), Secret, [roots, leaf]);
  await c.expectNothing(); // still held: EDS is unacknowledged
  c.ack(eds);
  const lds = await c.expect('LDS');
  assertDelta(lds, Listener, [pub]);
  c.ack(lds, { resourceNamesSubscribe: [] });
  c.subscribe(Route, ['public-route']);
  const rds = await c.expect('RDS');
  assertDelta(rds, Route, [pubRoute]);
  c.ack(rds);
}

/** A server with the base set for web-sidecar and one client brought all the way up. */
async function running() {
  const h = await startHarness();
  h.source.set('web-sidecar', resourceSet(...base));
  const c = h.delta();
  await bringUp(c);
  return { h, c };
}

describe('delta ADS', () => {
  it('ends a stream whose first request has no node with InvalidArgument', async () => {
    const h = await startHarness();
    const c = h.delta(null);
    c.subscribe(Cluster);
    const end = await c.expectEnd();
    assert.equal(end.code, status.INVALID_ARGUMENT);
    assert.match(end.details, /node/);
  });

  it('ends a stream asking for an unknown type URL with InvalidArgument', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(...base));
    const c = h.delta();
    c.subscribe('type.googleapis.com/envoy.config.core.v3.Nonsense');
    const end = await c.expectEnd();
    assert.equal(end.code, status.INVALID_ARGUMENT);
    assert.match(end.details, /Nonsense/);
  });

  it('sends nothing to a proxy that is not registered until it is, then brings it up in order', async () => {
    const h = await startHarness();
    const c = h.delta();
    c.subscribe(Cluster);
    c.subscribe(Listener);
    await c.expectNothing();
    h.source.set('web-sidecar', resourceSet(...base));
    const cds = await c.expect('CDS after registration');
    assertDelta(cds, Cluster, [api]);
    await c.expectNothing();
    c.ack(cds);
    assertDelta(await c.expect('LDS once CDS is acknowledged'), Listener, [pub]);
  });

  it('brings a sidecar up: Secrets and Clusters first, Listeners held until Clusters and Endpoints are acknowledged', async () => {
    const { h, c } = await running();
    await c.expectNothing();
    const st = h.server.status.get('web-sidecar');
    assert.equal(st?.ConnectedStreams, 1);
    assert.equal(st?.Streams[0]?.Types[Cluster]?.AckedVersions, 1);
    assert.equal(st?.LastNack, null);
  });

  it('answers an empty wildcard type once, so a gateway with no listeners can finish warming', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api, apiEndpoints));
    const c = h.delta();
    c.subscribe(Listener);
    const lds = await c.expect('an empty LDS');
    assertDelta(lds, Listener, []);
    c.ack(lds);
    await c.expectNothing();
  });

  it('keeps at most one unacknowledged response per type and then sends only the latest', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api));
    const c = h.delta();
    c.subscribe(Cluster);
    const first = await c.expect();
    assertDelta(first, Cluster, [api]);
    h.source.set('web-sidecar', resourceSet(cluster('api', 6)));
    h.source.set('web-sidecar', resourceSet(cluster('api', 7)));
    await c.expectNothing();
    c.ack(first);
    assertDelta(await c.expect(), Cluster, [cluster('api', 7)]);
  });

  it('resends the ClusterLoadAssignment after a Cluster update even though it did not change', async () => {
    const { h, c } = await running();
    const changed = cluster('api', 9);
    h.source.set('web-sidecar', resourceSet(leaf, roots, changed, apiEndpoints, pub, pubRoute));
    const cds = await c.expect('the changed cluster');
    assertDelta(cds, Cluster, [changed]);
    // Envoy dropped the cluster's endpoints and does not ask again: the server must resend them.
    assertDelta(await c.expect('the same ClusterLoadAssignment again'), Endpoint, [apiEndpoints]);
  });

  it('resends the RouteConfiguration after a Listener update', async () => {
    const { h, c } = await running();
    const moved = listener('public', 20001, 'public-route');
    h.source.set('web-sidecar', resourceSet(leaf, roots, api, apiEndpoints, moved, pubRoute));
    const lds = await c.expect();
    assertDelta(lds, Listener, [moved]);
    assertDelta(await c.expect('the same RouteConfiguration again'), Route, [pubRoute]);
  });

  it('does not lose an endpoint update that races a cluster ACK (pending updates are kept per nonce)', async () => {
    const { h, c } = await running();
    const changed = cluster('api', 9);
    h.source.set('web-sidecar', resourceSet(leaf, roots, changed, apiEndpoints, pub, pubRoute));
    const cds = await c.expect();
    const eds = await c.expect();
    assertDelta(eds, Endpoint, [apiEndpoints]);
    // New endpoints arrive while both are in flight; the ACK of the cluster must not acknowledge them.
    const moved = endpoints('api', 8080, 8081);
    h.source.set('web-sidecar', resourceSet(leaf, roots, changed, moved, pub, pubRoute));
    c.ack(cds);
    await c.expectNothing();
    c.ack(eds);
    assertDelta(await c.expect('the new endpoints'), Endpoint, [moved]);
  });

  it('sends removals for wildcard types, listeners before the clusters they used', async () => {
    const { h, c } = await running();
    h.source.set('web-sidecar', resourceSet(leaf, roots));
    const lds = await c.expect();
    assertDelta(lds, Listener, [], ['public']);
    await c.expectNothing(); // the cluster stays until the listener removal is acknowledged
    // As Envoy does, the client drops the route the removed listener used.
    c.send({ typeUrl: Route, resourceNamesUnsubscribe: ['public-route'] });
    c.ack(lds);
    const cds = await c.expect();
    assertDelta(cds, Cluster, [], ['api']);
    c.send({ typeUrl: Endpoint, resourceNamesUnsubscribe: ['api'] });
    c.ack(cds);
    await c.expectNothing();
  });

  it('follows subscribe, unsubscribe and * later in the stream', async () => {
    const h = await startHarness();
    const other = endpoints('db', 5432);
    h.source.set('web-sidecar', resourceSet(apiEndpoints, other));
    const c = h.delta();
    c.subscribe(Endpoint, ['api']);
    const first = await c.expect();
    assertDelta(first, Endpoint, [apiEndpoints]);
    c.ack(first);
    c.send({ typeUrl: Endpoint, resourceNamesUnsubscribe: ['api'] });
    await c.expectNothing();
    c.subscribe(Endpoint, ['api']);
    const again = await c.expect('the resubscribed name');
    assertDelta(again, Endpoint, [apiEndpoints]);
    c.ack(again);
    c.subscribe(Endpoint, ['*']);
    const all = await c.expect('the rest with *');
    assertDelta(all, Endpoint, [other]);
    c.ack(all);
    c.send({ typeUrl: Endpoint, resourceNamesUnsubscribe: ['*'] });
    await c.expectNothing(); // an unsubscribe is not answered (and has reached the server)
    h.source.set('web-sidecar', resourceSet(apiEndpoints, endpoints('db', 5433)));
    await c.expectNothing(); // db is no longer subscribed
  });

  it('sends the wildcard set again when * is subscribed after an unsubscribe (the client dropped it)', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api, cluster('db')));
    const c = h.delta();
    c.subscribe(Cluster, ['*', 'api']);
    const cds = await c.expect();
    assertDelta(cds, Cluster, [api, cluster('db')]);
    c.ack(cds);
    // Envoy drops what it held only through the wildcard when it unsubscribes *.
    c.send({ typeUrl: Cluster, resourceNamesUnsubscribe: ['*'] });
    await c.expectNothing();
    c.subscribe(Cluster, ['*']);
    const again = await c.expect('db again');
    assertDelta(again, Cluster, [cluster('db')]);
    c.ack(again);
    await c.expectNothing();
  });

  it('answers a subscribe to a name the client already holds: it may have forgotten it', async () => {
    const { c } = await running();
    // Envoy re-subscribes when a new watch for the name replaces one it dropped (the xDS protocol:
    // the server must still provide such resources, even at the version it last sent).
    c.subscribe(Endpoint, ['api']);
    const eds = await c.expect('the ClusterLoadAssignment again');
    assertDelta(eds, Endpoint, [apiEndpoints]);
    c.ack(eds);
    await c.expectNothing();
  });

  it('tells the client an explicitly subscribed resource it held is gone; a never-held absent name gets nothing', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(apiEndpoints, endpoints('db', 5432)));
    const c = h.delta();
    c.subscribe(Endpoint, ['api', 'db', 'missing']);
    const first = await c.expect();
    assertDelta(first, Endpoint, [apiEndpoints, endpoints('db', 5432)]);
    c.ack(first);
    await c.expectNothing(); // 'missing' is not answered: the client keeps waiting for it
    h.source.set('web-sidecar', resourceSet(apiEndpoints));
    assertDelta(await c.expect('the removal of db'), Endpoint, [], ['db']);
  });

  it('never sends a Secret that is not in the proxy\'s own set, whatever it subscribes to', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(leaf, roots));
    h.source.set('db-sidecar', resourceSet(secret('db-leaf')));
    const c = h.delta();
    c.subscribe(Secret, ['db-leaf', 'roots']);
    assertDelta(await c.expect(), Secret, [roots]);
    await c.expectNothing();
  });

  it('on NACK keeps the last good state, records the error, does not resend, then sends the fix', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api));
    const c = h.delta();
    c.subscribe(Cluster);
    const good = await c.expect();
    c.ack(good);
    const bad = cluster('api', 10);
    h.source.set('web-sidecar', resourceSet(bad));
    const rejected = await c.expect();
    assertDelta(rejected, Cluster, [bad]);
    c.nack(rejected, 'Proto constraint validation failed: connect_timeout too large');
    await c.expectNothing(); // no resend loop
    h.source.set('web-sidecar', resourceSet(bad, cluster('other')));
    assertDelta(await c.expect('only the new cluster'), Cluster, [cluster('other')]);
    const nack = h.server.status.get('web-sidecar')?.LastNack;
    assert.equal(nack?.TypeUrl, Cluster);
    assert.equal(nack?.Nonce, rejected.nonce);
    assert.match(nack?.Error ?? '', /connect_timeout too large/);
  });

  it('removes a cluster that came in a NACKed response (Envoy applies the valid ones) once it is gone', async () => {
    const { h, c } = await running();
    const bad = cluster('bad', 10);
    const db = cluster('db');
    h.source.set('web-sidecar', resourceSet(...base, bad, db));
    const rejected = await c.expect();
    assertDelta(rejected, Cluster, [bad, db]);
    // Envoy adds db and rejects bad: "Error adding/updating cluster(s) bad: ...".
    c.nack(rejected, 'Error adding/updating cluster(s) bad: connect_timeout too large');
    await c.expectNothing();
    h.source.set('web-sidecar', resourceSet(...base));
    assertDelta(await c.expect('the removal of what the client may hold'), Cluster, [], ['bad', 'db']);
  });

  it('sends a fixed version after a NACK once the desired set changes, and logs the NACK at warn', async () => {
    const logger = recordingLogger();
    const h = await startHarness(logger);
    h.source.set('web-sidecar', resourceSet(api));
    const c = h.delta();
    c.subscribe(Cluster);
    c.ack(await c.expect());
    h.source.set('web-sidecar', resourceSet(cluster('api', 10)));
    const rejected = await c.expect();
    c.nack(rejected, 'bad -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----');
    await c.expectNothing();
    const warn = logger.entries.find((e) => e.level === 'warn');
    assert.equal(warn?.fields.proxy, 'web-sidecar');
    assert.equal(warn?.fields.type, 'envoy.config.cluster.v3.Cluster');
    assert.equal(warn?.fields.nonce, rejected.nonce);
    assert.equal(warn?.fields.error, 'bad [PEM removed]');
    assert.match(String(warn?.fields.stream), /^delta-/);
    const fixed = cluster('api', 11);
    h.source.set('web-sidecar', resourceSet(fixed));
    const resp = await c.expect('the fix');
    assertDelta(resp, Cluster, [fixed]);
    c.ack(resp);
    await waitFor('the ACK in status', () => h.server.status.get('web-sidecar')?.Streams[0]?.Types[Cluster]?.Nonce === resp.nonce);
  });

  it('resends a ClusterLoadAssignment after its Cluster changes even though a NACKed response carried it', async () => {
    const h = await startHarness();
    const db = cluster('db');
    const dbEndpoints = endpoints('db', 5432);
    h.source.set('web-sidecar', resourceSet(api, apiEndpoints, db, dbEndpoints));
    const c = h.delta();
    c.subscribe(Cluster);
    const cds = await c.expect('CDS');
    assertDelta(cds, Cluster, [api, db]);
    c.subscribe(Endpoint, ['api', 'db']);
    c.ack(cds);
    c.ack(await c.expect('EDS'));
    // api's cluster changes while db's endpoints become something the client rejects: the EDS
    // response carries api's unchanged assignment (resent for its cluster) and db's, and is NACKed.
    const api2 = cluster('api', 6);
    const badDb = endpoints('db', 0);
    h.source.set('web-sidecar', resourceSet(api2, apiEndpoints, db, badDb));
    const cds2 = await c.expect('the changed cluster');
    assertDelta(cds2, Cluster, [api2]);
    const eds2 = await c.expect('api resent with the new db');
    assertDelta(eds2, Endpoint, [apiEndpoints, badDb]);
    c.ack(cds2);
    c.nack(eds2, 'db: invalid port 0');
    await c.expectNothing();
    // api's cluster changes again: Envoy drops its endpoints again and waits for them.
    const api3 = cluster('api', 7);
    h.source.set('web-sidecar', resourceSet(api3, apiEndpoints, db, badDb));
    assertDelta(await c.expect('the changed cluster'), Cluster, [api3]);
    assertDelta(await c.expect('api\'s ClusterLoadAssignment again'), Endpoint, [apiEndpoints]);
  });

  it('ignores a stale nonce: no resend, no acknowledgement', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api));
    const c = h.delta();
    c.subscribe(Cluster);
    const first = await c.expect();
    c.send({ typeUrl: Cluster, responseNonce: 'not-a-nonce-we-sent' });
    await c.expectNothing();
    h.source.set('web-sidecar', resourceSet(cluster('api', 8)));
    await c.expectNothing(); // still one unacknowledged response
    c.ack(first);
    assertDelta(await c.expect(), Cluster, [cluster('api', 8)]);
  });

  it('sends only the differences to a client reconnecting with initial_resource_versions', async () => {
    const h = await startHarness();
    const changed = endpoints('api', 9090);
    h.source.set('web-sidecar', resourceSet(api, changed, pub, pubRoute));
    const c = h.delta();
    c.subscribe(Cluster, [], { api: api.version, gone: 'v0' });
    c.subscribe(Endpoint, ['api'], { api: apiEndpoints.version });
    const cds = await c.expect('the removal of what the client still holds');
    assertDelta(cds, Cluster, [], ['gone']);
    c.ack(cds);
    const eds = await c.expect('the changed endpoints only');
    assertDelta(eds, Endpoint, [changed]);
    c.ack(eds);
    c.subscribe(Listener, [], { public: pub.version });
    c.subscribe(Route, ['public-route'], { 'public-route': pubRoute.version });
    await c.expectNothing();
  });

  it('ends the stream with Aborted when the proxy is deregistered; a reconnect waits until it is back', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(api));
    const c = h.delta();
    c.subscribe(Cluster);
    c.ack(await c.expect());
    h.source.set('web-sidecar', undefined);
    const end = await c.expectEnd();
    assert.equal(end.code, status.ABORTED);
    assert.match(end.details, /deregistered/);
    const again = h.delta();
    again.subscribe(Cluster, [], { api: api.version });
    await again.expectNothing();
    h.source.set('web-sidecar', resourceSet(api, cluster('db')));
    assertDelta(await again.expect(), Cluster, [cluster('db')]);
  });

  it('computes a pending set only when it gets to the stream: a superseded one never', async () => {
    const { h, c } = await running();
    const computed: string[] = [];
    const pending = (label: string, set: ResourceSet) => () => (computed.push(label), set);
    const slower = cluster('api', 7);
    // Two changes before the server gets to the stream (its pushes wait for the next turn).
    h.source.set('web-sidecar', pending('superseded', resourceSet(leaf, roots, cluster('api', 6), apiEndpoints, pub, pubRoute)));
    h.source.set('web-sidecar', pending('latest', resourceSet(leaf, roots, slower, apiEndpoints, pub, pubRoute)));
    const cds = await c.expect('CDS');
    assertDelta(cds, Cluster, [slower]);
    assert.deepEqual(computed, ['latest']);
  });

  it('keeps the stream and the last good config when generation fails, shows the error in status, and delivers the fix', async () => {
    const logger = recordingLogger();
    const h = await startHarness(logger);
    h.source.set('web-sidecar', resourceSet(...base));
    const c = h.delta();
    await bringUp(c);
    const failing = () => {
      throw new Error('Proxy.Upstreams[0].Config.protocol: must be one of tcp, http, http2, grpc');
    };
    h.source.set('web-sidecar', failing);
    const failed = await waitFor('the generation error in status', () => h.server.status.get('web-sidecar')?.GenerationError ?? undefined);
    assert.match(failed.Error, /generating resources for proxy web-sidecar failed: Proxy\.Upstreams\[0\]\.Config\.protocol: must be one of/);
    assert.match(failed.Time, /^\d{4}-\d\d-\d\dT/);
    // The stream stays open and nothing is sent, also in answer to a request.
    c.subscribe(Endpoint, ['db']);
    await c.expectNothing();
    assert.equal(c.ended, undefined, 'the stream is still open');
    assert.equal(h.server.status.get('web-sidecar')?.ConnectedStreams, 1);
    // The same failure again (another change of the inputs) is logged once.
    h.source.set('web-sidecar', failing);
    await c.expectNothing();
    const warns = logger.entries.filter((e) => e.level === 'warn' && /generation failed/.test(e.msg));
    assert.equal(warns.length, 1);
    assert.equal(warns[0]?.fields.proxy, 'web-sidecar');
    assert.match(String(warns[0]?.fields.err), /Config\.protocol/);
    // Fixed: the next config is delivered and the status clears.
    const fixed = endpoints('api', 8081);
    h.source.set('web-sidecar', () => resourceSet(leaf, roots, api, fixed, pub, pubRoute));
    assertDelta(await c.expect('EDS with the fix'), Endpoint, [fixed]);
    assert.equal(h.server.status.get('web-sidecar')?.GenerationError, null);
  });

  it('keeps a stream whose first generation fails: nothing is sent until a set is generated', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', () => {
      throw new Error('no leaf certificate');
    });
    const c = h.delta();
    c.subscribe(Cluster);
    c.subscribe(Listener);
    await waitFor('the generation error in status', () => h.server.status.get('web-sidecar')?.GenerationError ?? undefined);
    await c.expectNothing();
    h.source.set('web-sidecar', () => resourceSet(api));
    assertDelta(await c.expect('CDS'), Cluster, [api]);
    assert.equal(h.server.status.get('web-sidecar')?.GenerationError, null);
  });

  it('ends the stream with Unavailable when the source fails and Aborted when the source is gone', async () => {
    const h = await startHarness();
    h.source.set('a', resourceSet(api));
    h.source.set('b', resourceSet(api));
    const a = h.delta('a');
    const b = h.delta('b');
    a.subscribe(Cluster);
    b.subscribe(Cluster);
    await a.expect();
    await b.expect();
    h.source.fail('a', new Error('watch broken'));
    h.source.complete('b');
    const end = await a.expectEnd();
    assert.equal(end.code, status.UNAVAILABLE);
    assert.match(end.details, /resource source for proxy a failed: watch broken/);
    assert.equal((await b.expectEnd()).code, status.ABORTED);
    await waitForNoStreams(h.server.status, ['a', 'b']);
  });
});

async function waitForNoStreams(registry: { get(id: string): { ConnectedStreams: number } | undefined }, ids: string[]): Promise<void> {
  await waitFor('streams closed in status', () => ids.every((id) => (registry.get(id)?.ConnectedStreams ?? 0) === 0));
}
