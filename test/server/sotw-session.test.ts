// The state-of-the-world session and its decisions, without I/O.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrl } from '../../src/core/type-urls.js';
import { nextSotwResponse, SotwSession, type SotwRequestFacts } from '../../src/server/sotw/session.js';
import { cluster, endpoints, listener, resourceSet } from './fixtures.js';

const { Cluster, Endpoint, Listener } = TypeUrl;
const req = (names: string[], more: Partial<SotwRequestFacts> = {}): SotwRequestFacts => ({ names, nonce: '', versionInfo: '', error: false, grpcClient: true, ...more });

describe('SotW session', () => {
  const set = resourceSet(cluster('a'), cluster('b'), endpoints('a', 1));

  it('answers requested names, waits for the ACK, then sends only a different version', () => {
    const s = new SotwSession();
    assert.equal(s.request(Endpoint, req(['a', 'missing'])), 'none');
    const first = nextSotwResponse(set, s);
    assert.deepEqual(first?.resources.map((r) => r.name), ['a']);
    s.sent(Endpoint, '1', first?.versionInfo ?? '', first?.resources ?? []);
    const changed = resourceSet(cluster('a'), endpoints('a', 2));
    assert.equal(nextSotwResponse(changed, s), undefined, 'one unacknowledged response per type');
    assert.equal(s.request(Endpoint, req(['a', 'missing'], { nonce: '1', versionInfo: first?.versionInfo })), 'ack');
    assert.equal(nextSotwResponse(set, s), undefined, 'same version: nothing');
    assert.deepEqual(nextSotwResponse(changed, s)?.resources.map((r) => r.version), [endpoints('a', 2).version]);
  });

  it('ignores stale nonces entirely and records a repeated NACK once', () => {
    const s = new SotwSession();
    s.request(Cluster, req(['a']));
    const first = nextSotwResponse(set, s);
    s.sent(Cluster, '1', first?.versionInfo ?? '', first?.resources ?? []);
    assert.equal(s.request(Cluster, req(['a', 'b'], { nonce: '0' })), 'stale');
    assert.deepEqual([...(s.peek(Cluster)?.names ?? [])], ['a'], 'a stale request changes nothing');
    assert.equal(s.request(Cluster, req(['a'], { nonce: '1', error: true })), 'nack');
    assert.equal(s.request(Cluster, req(['a'], { nonce: '1', error: true })), 'repeated-nack');
    assert.equal(nextSotwResponse(set, s), undefined, 'the rejected version is not resent');
  });

  it('on a new stream, sends nothing for a type the client already holds at the current version', () => {
    const first = new SotwSession();
    first.request(Cluster, req([], { grpcClient: false }));
    const held = nextSotwResponse(set, first);
    assert.ok(held, 'the first stream is answered');
    // The client reconnects (an agent restart) holding that version.
    const again = new SotwSession();
    again.request(Cluster, req([], { grpcClient: false, versionInfo: held.versionInfo }));
    assert.equal(nextSotwResponse(set, again), undefined, 'the same set is not resent');
    const changed = resourceSet(cluster('a'), cluster('b', 7), endpoints('a', 1));
    assert.deepEqual(nextSotwResponse(changed, again)?.resources.map((r) => r.version), [cluster('a').version, cluster('b', 7).version], 'a change is sent whole, as always');
    const stale = new SotwSession();
    stale.request(Cluster, req([], { grpcClient: false, versionInfo: 'from-another-server' }));
    assert.deepEqual(nextSotwResponse(set, stale)?.versionInfo, held.versionInfo, 'any other version gets the current set');
  });

  it('distinguishes the legacy wildcard (Envoy, CDS/LDS, first request empty) from an unsubscribe', () => {
    const envoy = new SotwSession();
    envoy.request(Cluster, req([], { grpcClient: false }));
    assert.deepEqual(nextSotwResponse(set, envoy)?.resources.map((r) => r.name), ['a', 'b']);
    const grpc = new SotwSession();
    grpc.request(Cluster, req([]));
    assert.equal(nextSotwResponse(set, grpc), undefined);
    const later = new SotwSession();
    later.request(Cluster, req(['a'], { grpcClient: false }));
    later.request(Cluster, req([], { grpcClient: false }));
    assert.equal(later.peek(Cluster)?.active, false, 'empty after names is an unsubscribe, for Envoy too');
  });
  it('removes a cluster only after the listener that used it is replaced (make before break)', () => {
    const s = new SotwSession();
    // An Envoy on state of the world: legacy wildcard CDS and LDS.
    const envoy = (names: string[], more: Partial<SotwRequestFacts> = {}) => req(names, { grpcClient: false, ...more });
    const exchange = (typeUrl: typeof Cluster | typeof Listener, desired: ReturnType<typeof resourceSet>, beforeAck: () => void = () => undefined) => {
      const plan = nextSotwResponse(desired, s);
      assert.equal(plan?.typeUrl, typeUrl);
      s.sent(typeUrl, `${typeUrl}-${plan!.versionInfo}`, plan!.versionInfo, plan!.resources);
      beforeAck();
      s.request(typeUrl, envoy([], { nonce: `${typeUrl}-${plan!.versionInfo}`, versionInfo: plan!.versionInfo }));
      return plan!.resources.map((r) => r.name);
    };
    s.request(Cluster, envoy([]));
    s.request(Listener, envoy([]));
    const before = resourceSet(cluster('old'), listener('to-old', 9000, 'r-old'));
    assert.deepEqual(exchange(Cluster, before), ['old']);
    assert.deepEqual(exchange(Listener, before), ['to-old']);
    // The listener moves to a new cluster: the new cluster is added while the old one stays...
    const after = resourceSet(cluster('new'), listener('to-new', 9001, 'r-new'));
    const listenersHeld = () => assert.equal(nextSotwResponse(after, s), undefined, 'no Listener while Clusters are unacknowledged');
    assert.deepEqual(exchange(Cluster, after, listenersHeld), ['new', 'old']);
    assert.deepEqual(exchange(Listener, after), ['to-new', 'to-old']);
    // ...then the old listener goes, and only then the old cluster.
    assert.deepEqual(exchange(Listener, after), ['to-new']);
    assert.deepEqual(exchange(Cluster, after), ['new']);
    assert.equal(nextSotwResponse(after, s), undefined);
  });
});
