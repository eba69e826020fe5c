// The connect-proxy snapshot pipeline in virtual time (rxjs TestScheduler marbles): the
// readiness gate, coalescing (a change after a quiet window goes out at once; the rest of a burst
// becomes one more snapshot; constant churn emits once a window), upstreams
// added and removed, no upstreams, deregistration releasing every watch, shared watches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map, take, timer } from 'rxjs';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';
import { ProxyConfigManager, proxySnapshots } from '../../src/proxycfg/manager.js';
import type { ProxySnapshot } from '../../src/proxycfg/snapshot.js';
import { testLeaf, testRoots } from '../support/fixed-ca.js';
import { MarbleSources, instances, intention, proxy, type Watches } from './marble-sources.js';

const WINDOW = 10;

/** A compact, comparable view of a snapshot. */
function summary(s: ProxySnapshot): string {
  assert.equal(s.kind, 'connect-proxy');
  const ups = s.upstreams.map((u) => `${u.id}:${u.endpoints.flatMap((t) => t.endpoints).map((e) => e.port).join('+')}`).join(',');
  return `[${ups}] intentions=${s.intentions.map((i) => i.sourceName).join('+')}`;
}

function run(watches: (h: RunHelpers) => Watches, body: (src: MarbleSources, h: RunHelpers) => void): MarbleSources {
  let sources: MarbleSources | undefined;
  new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run((h) => {
    sources = new MarbleSources(h, watches(h));
    body(sources, h);
  });
  return sources!;
}

function snapshotsOf(src: MarbleSources, id = 'web-proxy') {
  return proxySnapshots(id, { catalog: src, ca: src, coalesceMs: WINDOW });
}

describe('connect-proxy snapshots', () => {
  it('emits nothing until roots, leaf and intentions are all known (readiness gate)', () => {
    run(
      (h) => ({
        'service/web-proxy': h.cold('a', { a: proxy('web-proxy', 'web', ['db']) }),
        roots: h.cold('----r', { r: testRoots() }),
        'leaf/web': h.cold('--l', { l: testLeaf('web') }),
        'intentions/web': h.cold('------i', { i: [intention('api', 'web')] }),
      }),
      (src, h) => {
        // Intentions arrive last, at frame 6; nothing was sent before, so the snapshot goes at once.
        h.expectObservable(snapshotsOf(src).pipe(map(summary))).toBe('6ms s', { s: '[db:21000] intentions=api' });
      },
    );
  });

  it('stays silent for as long as one part (the leaf) never arrives', () => {
    run(
      (h) => ({
        'service/web-proxy': h.cold('a', { a: proxy('web-proxy', 'web', []) }),
        'leaf/web': h.cold('-'),
      }),
      (src, h) => h.expectObservable(snapshotsOf(src), '^ 100ms !').toBe(''),
    );
  });

  it('sends the first change of a burst at once and the rest as one snapshot with the latest values', () => {
    run(
      (h) => ({
        'service/web-proxy': h.cold('a', { a: proxy('web-proxy', 'web', ['db']) }),
        'intentions/web': h.cold('a-b-c-d', { a: [], b: [intention('a', 'web')], c: [intention('b', 'web')], d: [intention('c', 'web')] }),
      }),
      (src, h) => h.expectObservable(snapshotsOf(src).pipe(map(summary))).toBe('s 9ms t', { s: '[db:21000] intentions=', t: '[db:21000] intentions=c' }),
    );
  });

  it('keeps emitting the latest snapshot once a window under constant churn (throttle, not debounce)', () => {
    run(
      () => ({}),
      (src, h) => {
        // db's health changes every 7 frames for 60 frames (never on a window's end, so no value
        // ties with the throttle's timer): a debounce would stay silent until it stopped; the
        // throttle emits the first value, then the newest one at every window's end.
        const churn = timer(0, 7).pipe(
          take(9),
          map((i) => instances('db', 1, 30000 + i)),
        );
        src.opened['service/web-proxy'] = h.cold('a', { a: proxy('web-proxy', 'web', ['db']) });
        src.opened['health/db'] = churn;
        h.expectObservable(snapshotsOf(src).pipe(map(summary))).toBe('a 9ms b 9ms c 9ms d 9ms e 9ms f 9ms g', {
          a: '[db:30000] intentions=',
          b: '[db:30001] intentions=',
          c: '[db:30002] intentions=',
          d: '[db:30004] intentions=',
          e: '[db:30005] intentions=',
          f: '[db:30007] intentions=',
          g: '[db:30008] intentions=',
        });
      },
    );
  });

  it('emits for a proxy with no upstreams (combineLatest of none would never emit)', () => {
    run(
      (h) => ({ 'service/web-proxy': h.cold('a', { a: proxy('web-proxy', 'web', []) }) }),
      (src, h) => h.expectObservable(snapshotsOf(src).pipe(map(summary))).toBe('s', { s: '[] intentions=' }),
    );
  });

  it('follows upstreams added and removed, opening and closing their health watches', () => {
    run(
      (h) => ({
        'service/web-proxy': h.cold('a 19ms b 19ms c', {
          a: proxy('web-proxy', 'web', ['db'], 1),
          b: proxy('web-proxy', 'web', ['db', 'api'], 2),
          c: proxy('web-proxy', 'web', ['api'], 3),
        }),
        'health/db': h.cold('a', { a: instances('db', 2) }),
        'health/api': h.cold('a', { a: instances('api', 1, 22000) }),
      }),
      (src, h) => {
        h.expectObservable(snapshotsOf(src).pipe(map(summary))).toBe('a 19ms b 19ms c', {
          a: '[db:21000+21001] intentions=',
          b: '[api:22000,db:21000+21001] intentions=',
          c: '[api:22000] intentions=',
        });
        // A re-registration re-resolves every watch (switchMap); db's closes for good at frame 40.
        h.expectSubscriptions(src.subscriptions('health/db')).toBe(['^ 19ms !', '20ms ^ 19ms !']);
        h.expectSubscriptions(src.subscriptions('health/api')).toBe(['20ms ^ 19ms !', '40ms ^']);
      },
    );
  });

  it('completes on deregistration and releases every watch it opened', () => {
    const src = run(
      (h) => ({ 'service/web-proxy': h.cold('a 29ms u', { a: proxy('web-proxy', 'web', ['db', 'api']), u: undefined }) }),
      (src, h) => {
        h.expectObservable(snapshotsOf(src).pipe(map(summary))).toBe('s 29ms |', { s: '[api:21000,db:21000] intentions=' });
      },
    );
    const keys = Object.keys(src.opened).sort();
    assert.deepEqual(keys, [
      'default-policy',
      'entry/mesh/mesh',
      'entry/proxy-defaults/global',
      'entry/service-defaults/api',
      'entry/service-defaults/db',
      'entry/service-defaults/web',
      // Each upstream's discovery chain: its resolver, router and splitter.
      'entry/service-resolver/api',
      'entry/service-resolver/db',
      'entry/service-router/api',
      'entry/service-router/db',
      'entry/service-splitter/api',
      'entry/service-splitter/db',
      'health/api',
      'health/db',
      'intentions/web',
      'leaf/web',
      'roots',
      'service/web-proxy',
      // The terminating gateways that might stand in for an upstream (none here).
      'terminating-gateways',
    ]);
    for (const key of keys) {
      const logs = src.subscriptions(key);
      assert.ok(logs.length > 0 && logs.every((l) => l.unsubscribedFrame === 30), `${key} still subscribed: ${JSON.stringify(logs)}`);
    }
  });

  it('shares one watch between proxies that need the same data, and closes it when both leave', () => {
    let manager: ProxyConfigManager | undefined;
    const src = run(
      (h) => ({
        'service/web-proxy': h.cold('a 29ms u', { a: proxy('web-proxy', 'web', ['db']), u: undefined }),
        'service/api-proxy': h.cold('a 49ms u', { a: proxy('api-proxy', 'api', ['db']), u: undefined }),
        'health/db': h.cold('a', { a: instances('db', 1) }),
        roots: h.cold('a', { a: testRoots() }),
        'leaf/web': h.cold('a', { a: testLeaf('web') }),
      }),
      (src, h) => {
        manager = new ProxyConfigManager({ catalog: src, ca: src, coalesceMs: WINDOW });
        h.expectObservable(manager.snapshots('web-proxy').pipe(map(summary))).toBe('s 29ms |', { s: '[db:21000] intentions=' });
        h.expectObservable(manager.snapshots('api-proxy').pipe(map(summary))).toBe('s 49ms |', { s: '[db:21000] intentions=' });
        // Two proxies, one subscription each to db's health and to the roots; one combination
        // of db's inputs for both, and one of each service's own inputs.
        h.expectSubscriptions(src.subscriptions('health/db')).toBe('^ 49ms !');
        timer(10).subscribe(() => assert.deepEqual(manager!.openWatches().filter((k) => k.includes('-inputs/')), ['destination-inputs/db', 'service-inputs/api', 'service-inputs/web']));
        h.expectSubscriptions(src.subscriptions('roots')).toBe('^ 49ms !');
        h.expectSubscriptions(src.subscriptions('leaf/web')).toBe('^ 29ms !');
      },
    );
    assert.deepEqual(manager!.openWatches(), []);
    assert.ok(src.opened['leaf/api']);
  });

  it('serves the ADS view: undefined while unregistered, snapshots while registered, undefined after', () => {
    run(
      (h) => ({ 'service/web-proxy': h.cold('u 19ms a 29ms u 19ms b', { u: undefined, a: proxy('web-proxy', 'web', ['db'], 1), b: proxy('web-proxy', 'web', [], 2) }) }),
      (src, h) => {
        const manager = new ProxyConfigManager({ catalog: src, ca: src, coalesceMs: WINDOW });
        h.expectObservable(manager.watch('web-proxy').pipe(map((s) => (s.state === 'snapshot' ? summary(s.snapshot) : s.state)))).toBe('n 19ms a 29ms n 19ms b', {
          n: 'unregistered',
          a: '[db:21000] intentions=',
          b: '[] intentions=',
        });
      },
    );
  });
});
