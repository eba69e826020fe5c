// State-of-the-world ADS as proxyless gRPC clients and older Envoys drive it (REAL-PEERS.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrl } from '../../src/core/type-urls.js';
import { waitFor } from '../support/wait.js';
import { cluster, endpoints, listener, resourceSet, route, secret } from './fixtures.js';
import { assertSotw, startHarness } from './harness.js';

const { Cluster, Endpoint, Listener, Route, Secret } = TypeUrl;

const lis = listener('greeter', 50051, 'greeter-route');
const rc = route('greeter-route', 'greeter');
const cl = cluster('greeter');
const cla = endpoints('greeter', 50051);
const all = [lis, rc, cl, cla, secret('greeter-leaf')];

/** A gRPC client of the full set that has received and acknowledged the greeter Cluster. */
async function clusterAcked() {
    const h = await startHarness();
    h.source.set('grpc-client', resourceSet(...all));
    const c = h.sotw('grpc-client');
    c.send({ typeUrl: Cluster, resourceNames: ['greeter'] });
    const good = await c.expect();
    c.ack(good, ['greeter']);
  return { h, c, good };
}

describe('state-of-the-world ADS', () => {
  it('serves a gRPC client LDS -> RDS -> CDS -> EDS with ACKs, then pushes a change', async () => {
    const h = await startHarness();
    h.source.set('grpc-client', resourceSet(...all));
    const c = h.sotw('grpc-client');
    // Strictly LDS -> RDS -> CDS -> EDS, each ACKed before the next, as gRPC clients do.
    const steps = [
      { typeUrl: Listener, name: 'greeter', expected: lis },
      { typeUrl: Route, name: 'greeter-route', expected: rc },
      { typeUrl: Cluster, name: 'greeter', expected: cl },
      { typeUrl: Endpoint, name: 'greeter', expected: cla },
    ];
    let eds = undefined as unknown as Awaited<ReturnType<typeof c.expect>>;
    for (const step of steps) {
      c.send({ typeUrl: step.typeUrl, resourceNames: [step.name] });
      eds = await c.expect(step.typeUrl);
      assertSotw(eds, step.typeUrl, [step.expected]);
      c.ack(eds, [step.name]);
    }
    await c.expectNothing();
    await waitFor('the ACK in status', () => h.server.status.get('grpc-client')?.Streams[0]?.Types[Endpoint]?.VersionInfo === eds.versionInfo);

    const moved = endpoints('greeter', 50052);
    h.source.set('grpc-client', resourceSet(lis, rc, cl, moved));
    const next = await c.expect();
    assertSotw(next, Endpoint, [moved]);
    assert.notEqual(next.versionInfo, eds.versionInfo);
  });

  it('keeps the stream and the last good set when generation fails, answering a request from it, then sends the fix', async () => {
    const { h, c } = await clusterAcked();
    h.source.set('grpc-client', () => {
      throw new Error('service-defaults/greeter.Protocol: bad');
    });
    await waitFor('the generation error in status', () => h.server.status.get('grpc-client')?.GenerationError ?? undefined);
    // A new subscription is answered from the last good set.
    c.send({ typeUrl: Endpoint, resourceNames: ['greeter'] });
    assertSotw(await c.expect('EDS from the last good set'), Endpoint, [cla]);
    await c.expectNothing();
    assert.equal(c.ended, undefined);
    const fixed = cluster('greeter', 7);
    h.source.set('grpc-client', resourceSet(lis, rc, fixed, cla));
    assertSotw(await c.expect('the fix'), Cluster, [fixed]);
    assert.equal(h.server.status.get('grpc-client')?.GenerationError, null);
  });

  it('after a NACK keeps quiet (also when grpc-js repeats the NACK), then sends the next version', async () => {
    const { h, c, good } = await clusterAcked();
    h.source.set('grpc-client', resourceSet(lis, rc, cluster('greeter', 99), cla));
    const bad = await c.expect();
    c.nack(bad, good.versionInfo, ['greeter'], 'xDS response validation errors: [greeter: bad timeout]');
    await c.expectNothing();
    // grpc-js repeats the same error and nonce on later requests of the type.
    c.nack(bad, good.versionInfo, ['greeter'], 'xDS response validation errors: [greeter: bad timeout]');
    await c.expectNothing();
    const nack = h.server.status.get('grpc-client')?.LastNack;
    assert.equal(nack?.Nonce, bad.nonce);
    assert.match(nack?.Error ?? '', /^xDS response validation errors/);
    const fixed = cluster('greeter', 7);
    h.source.set('grpc-client', resourceSet(lis, rc, fixed, cla));
    assertSotw(await c.expect('the fix'), Cluster, [fixed]);
  });

  it('resends the ClusterLoadAssignments after a Cluster update even though the client rejected that version', async () => {
    const h = await startHarness();
    const other = cluster('other');
    const otherCla = endpoints('other', 7000);
    h.source.set('envoy-sotw', resourceSet(cl, cla, other, otherCla));
    const c = h.sotw('envoy-sotw', 'envoy');
    c.send({ typeUrl: Cluster, resourceNames: [] });
    const cds = await c.expect('CDS');
    assertSotw(cds, Cluster, [cl, other]);
    c.send({ typeUrl: Endpoint, resourceNames: ['greeter', 'other'] });
    const eds = await c.expect('EDS');
    assertSotw(eds, Endpoint, [cla, otherCla]);
    c.ack(cds, []);
    c.ack(eds, ['greeter', 'other']);
    // greeter's cluster changes while other's endpoints become something the client rejects.
    const changed = cluster('greeter', 9);
    const badOther = endpoints('other', 0);
    h.source.set('envoy-sotw', resourceSet(changed, cla, other, badOther));
    const cds2 = await c.expect('the changed cluster');
    assertSotw(cds2, Cluster, [changed, other]);
    const eds2 = await c.expect('the assignments');
    assertSotw(eds2, Endpoint, [cla, badOther]);
    c.ack(cds2, []);
    c.nack(eds2, eds.versionInfo, ['greeter', 'other'], 'other: invalid port 0');
    await c.expectNothing();
    // greeter's cluster changes again: Envoy drops its endpoints again and waits for them.
    const again = cluster('greeter', 10);
    h.source.set('envoy-sotw', resourceSet(again, cla, other, badOther));
    assertSotw(await c.expect('the changed cluster'), Cluster, [again, other]);
    assertSotw(await c.expect('the assignments again'), Endpoint, [cla, badOther]);
  });

  it('does not answer a request carrying a stale nonce', async () => {
    const h = await startHarness();
    h.source.set('grpc-client', resourceSet(...all));
    const c = h.sotw('grpc-client');
    c.send({ typeUrl: Cluster, resourceNames: ['greeter'] });
    const first = await c.expect();
    c.send({ typeUrl: Cluster, resourceNames: ['greeter', 'other'], versionInfo: '', responseNonce: 'stale' });
    await c.expectNothing();
    c.ack(first, ['greeter']);
    await c.expectNothing();
  });

  it('treats an empty name list from a gRPC client as an unsubscribe, not a wildcard', async () => {
    const h = await startHarness();
    h.source.set('grpc-client', resourceSet(...all, cluster('other')));
    const c = h.sotw('grpc-client');
    c.send({ typeUrl: Cluster, resourceNames: ['greeter'] });
    const cds = await c.expect();
    assertSotw(cds, Cluster, [cl]);
    c.ack(cds, []); // grpc-js at shutdown
    await c.expectNothing();
    h.source.set('grpc-client', resourceSet(...all, cluster('other', 3), cluster('greeter', 4)));
    await c.expectNothing();
    c.send({ typeUrl: Cluster, resourceNames: ['greeter'], versionInfo: cds.versionInfo, responseNonce: cds.nonce });
    assertSotw(await c.expect('the resubscribed cluster'), Cluster, [cluster('greeter', 4)]);
  });

  it('treats an empty first CDS/LDS request from Envoy as the legacy wildcard (full set)', async () => {
    const h = await startHarness();
    const other = cluster('other');
    h.source.set('envoy-sotw', resourceSet(...all, other));
    const c = h.sotw('envoy-sotw', 'envoy');
    c.send({ typeUrl: Cluster, resourceNames: [] });
    const cds = await c.expect();
    assertSotw(cds, Cluster, [cl, other]);
    c.ack(cds, []);
    h.source.set('envoy-sotw', resourceSet(...all));
    assertSotw(await c.expect('the full set without the removed cluster'), Cluster, [cl]);
  });

  it('holds Listeners while Clusters are unacknowledged and never sends another proxy\'s Secret', async () => {
    const h = await startHarness();
    h.source.set('envoy-sotw', resourceSet(...all));
    const c = h.sotw('envoy-sotw', 'envoy');
    c.send({ typeUrl: Cluster, resourceNames: [] });
    c.send({ typeUrl: Listener, resourceNames: [] });
    c.send({ typeUrl: Secret, resourceNames: ['greeter-leaf', 'billing-leaf'] });
    const cds = await c.expect();
    assertSotw(cds, Cluster, [cl]);
    assertSotw(await c.expect(), Secret, [secret('greeter-leaf')]);
    await c.expectNothing();
    c.ack(cds, []);
    assertSotw(await c.expect(), Listener, [lis]);
  });

  it('resends the ClusterLoadAssignment after a Cluster update, and the RouteConfiguration after a Listener update', async () => {
    const h = await startHarness();
    h.source.set('envoy-sotw', resourceSet(...all));
    const c = h.sotw('envoy-sotw', 'envoy');
    c.send({ typeUrl: Cluster, resourceNames: [] });
    const cds = await c.expect('CDS');
    assertSotw(cds, Cluster, [cl]);
    c.send({ typeUrl: Endpoint, resourceNames: ['greeter'] });
    const eds = await c.expect('EDS');
    assertSotw(eds, Endpoint, [cla]);
    c.ack(cds, []);
    c.ack(eds, ['greeter']);
    c.send({ typeUrl: Listener, resourceNames: [] });
    const lds = await c.expect('LDS');
    assertSotw(lds, Listener, [lis]);
    c.send({ typeUrl: Route, resourceNames: ['greeter-route'] });
    const rds = await c.expect('RDS');
    assertSotw(rds, Route, [rc]);
    c.ack(lds, []);
    c.ack(rds, ['greeter-route']);
    await c.expectNothing();

    const changed = cluster('greeter', 9);
    h.source.set('envoy-sotw', resourceSet(lis, rc, changed, cla, secret('greeter-leaf')));
    const cds2 = await c.expect('the changed cluster');
    assertSotw(cds2, Cluster, [changed]);
    // Envoy dropped the cluster's endpoints and does not ask again: the server must resend them.
    const eds2 = await c.expect('the same ClusterLoadAssignment again');
    assertSotw(eds2, Endpoint, [cla]);
    c.ack(cds2, []);
    c.ack(eds2, ['greeter']);
    await c.expectNothing();

    const changedListener = listener('greeter', 50052, 'greeter-route');
    h.source.set('envoy-sotw', resourceSet(changedListener, rc, changed, cla, secret('greeter-leaf')));
    const lds2 = await c.expect('the changed listener');
    assertSotw(lds2, Listener, [changedListener]);
    assertSotw(await c.expect('the same RouteConfiguration again'), Route, [rc]);
  });
});
