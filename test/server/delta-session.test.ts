// The delta session state and diff, without I/O.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceSet } from '../../src/core/resources.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/core/type-urls.js';
import { nextDeltaResponse, type DeltaPlan } from '../../src/server/delta/diff.js';
import { DeltaSession } from '../../src/server/delta/session.js';
import { cluster, endpoints, listener, resourceSet, route, secret } from './fixtures.js';

const { Cluster, Endpoint, Listener, Route, Secret } = TypeUrl;

/** Sends every response the diff decides now, as the stream loop does; returns them. */
function pass(desired: ResourceSet, session: DeltaSession, nonces: { n: number }): Array<DeltaPlan & { nonce: string }> {
  const out: Array<DeltaPlan & { nonce: string }> = [];
  for (let plan = nextDeltaResponse(desired, session); plan; plan = nextDeltaResponse(desired, session)) {
    const nonce = String(++nonces.n);
    session.sent({ typeUrl: plan.typeUrl, nonce, upserts: new Map(plan.upserts.map((r) => [r.name, r.version])), removals: plan.removals }, plan.forcedChildren);
    out.push({ ...plan, nonce });
  }
  return out;
}

const summary = (plans: DeltaPlan[]) => plans.map((p) => `${p.typeUrl.split('.').pop()}:${p.upserts.map((r) => r.name).join(',')}${p.removals.length ? ` -${p.removals.join(',')}` : ''}`);

function subscribeAll(session: DeltaSession): void {
  for (const t of [Secret, Cluster, Endpoint, Listener, Route] as XdsTypeUrl[]) session.subscribe(t, t === Cluster || t === Listener ? [] : ['*'], []);
}

describe('delta session and diff', () => {
  const set = resourceSet(secret('leaf'), cluster('api'), endpoints('api', 1), listener('l', 1, 'r'), route('r'));

  it('sends in order Secrets, Clusters, Endpoints and holds Listeners and Routes until those are acknowledged', () => {
    const s = new DeltaSession();
    const nonces = { n: 0 };
    subscribeAll(s);
    const first = pass(set, s, nonces);
    assert.deepEqual(summary(first), ['Secret:leaf', 'Cluster:api', 'ClusterLoadAssignment:api']);
    assert.equal(s.answer(Cluster, '2', false).kind, 'ack');
    assert.deepEqual(summary(pass(set, s, nonces)), []);
    assert.equal(s.answer(Endpoint, '3', false).kind, 'ack');
    assert.deepEqual(summary(pass(set, s, nonces)), ['Listener:l', 'RouteConfiguration:r']);
  });

  it('keeps subscriptions, acknowledged versions and pending updates apart', () => {
    const s = new DeltaSession();
    s.subscribe(Endpoint, ['api'], []);
    const [plan] = pass(set, s, { n: 0 });
    const state = s.peek(Endpoint);
    assert.ok(plan && state);
    assert.equal(state.subscription.covers('api'), true);
    assert.equal(state.acked.size, 0, 'subscribed and sent but not yet acknowledged');
    assert.equal(s.isPending(Endpoint), true);
    assert.equal(s.answer(Endpoint, 'other', false).kind, 'stale');
    assert.equal(s.answer(Cluster, plan.nonce, false).kind, 'stale', 'a nonce answers only its own type');
    assert.equal(s.answer(Endpoint, plan.nonce, false).kind, 'ack');
    assert.equal(state.acked.get('api'), endpoints('api', 1).version);
    s.subscribe(Endpoint, [], ['api']);
    assert.equal(state.acked.size, 0, 'unsubscribed: the client forgot it');
  });

  it('marks children of a sent parent for resend, and a NACKed version is not retried', () => {
    const s = new DeltaSession();
    const nonces = { n: 0 };
    subscribeAll(s);
    for (const p of pass(set, s, nonces)) s.answer(p.typeUrl, p.nonce, false);
    for (const p of pass(set, s, nonces)) s.answer(p.typeUrl, p.nonce, false);
    const changed = resourceSet(secret('leaf'), cluster('api', 2), endpoints('api', 1), listener('l', 1, 'r'), route('r'));
    const plans = pass(changed, s, nonces);
    assert.deepEqual(summary(plans), ['Cluster:api', 'ClusterLoadAssignment:api']);
    for (const p of plans) assert.equal(s.answer(p.typeUrl, p.nonce, true).kind, 'nack');
    assert.deepEqual(summary(pass(changed, s, nonces)), [], 'no resend loop after a NACK');
  });

  it('does not retry a NACKed removal', () => {
    const s = new DeltaSession();
    const nonces = { n: 0 };
    s.subscribe(Cluster, [], []);
    for (const p of pass(resourceSet(cluster('api'), cluster('db')), s, nonces)) s.answer(p.typeUrl, p.nonce, false);
    const onlyApi = resourceSet(cluster('api'));
    const [removal] = pass(onlyApi, s, nonces);
    assert.deepEqual(summary(removal ? [removal] : []), ['Cluster: -db']);
    assert.equal(s.answer(Cluster, removal?.nonce ?? '', true).kind, 'nack');
    assert.deepEqual(summary(pass(onlyApi, s, nonces)), [], 'no removal loop');
  });

  it('counts initial_resource_versions only on the first request of a type', () => {
    const s = new DeltaSession();
    s.subscribe(Cluster, [], [], { api: cluster('api').version });
    s.subscribe(Cluster, [], [], { api: 'ignored' });
    assert.equal(s.peek(Cluster)?.acked.get('api'), cluster('api').version);
    assert.deepEqual(summary(pass(set, s, { n: 0 })), [], 'nothing differs');
  });

  it('takes an empty first request as the legacy wildcard only for Clusters and Listeners', () => {
    const s = new DeltaSession();
    s.subscribe(Cluster, [], []);
    s.subscribe(Endpoint, [], []);
    assert.equal(s.peek(Cluster)?.subscription.isWildcard, true);
    assert.equal(s.peek(Endpoint)?.subscription.isWildcard, false);
    assert.deepEqual(summary(pass(set, s, { n: 0 })), ['Cluster:api']);
  });

  it('answers again a name unsubscribed explicitly while the wildcard still covers it', () => {
    const s = new DeltaSession();
    const nonces = { n: 0 };
    s.subscribe(Cluster, ['*', 'api'], []);
    for (const p of pass(set, s, nonces)) s.answer(p.typeUrl, p.nonce, false);
    s.subscribe(Cluster, [], ['api']);
    assert.deepEqual(summary(pass(set, s, nonces)), ['Cluster:api']);
  });
});
