// The proxyless view: one snapshot object per service, kept while that service does not change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BehaviorSubject, defer, type Observable } from 'rxjs';
import type { CheckServiceNode } from '../../src/catalog/types.js';
import { proxylessSnapshots, type ProxylessCatalog, type ProxylessServiceSnapshot } from '../../src/proxycfg/proxyless.js';
import { fixedCASource } from '../support/fixed-ca.js';
import { instances } from './marble-sources.js';

class FakeProxylessCatalog implements ProxylessCatalog {
  readonly names = new BehaviorSubject<readonly string[]>([]);
  readonly health = new Map<string, BehaviorSubject<readonly CheckServiceNode[]>>();
  /** Health watches opened per service, over the test. */
  readonly opened = new Map<string, number>();

  watchServiceNames(): Observable<readonly string[]> {
    return this.names;
  }
  watchServiceHealth(service: string): Observable<readonly CheckServiceNode[]> {
    return defer(() => {
      this.opened.set(service, (this.opened.get(service) ?? 0) + 1);
      let s = this.health.get(service);
      if (!s) this.health.set(service, (s = new BehaviorSubject<readonly CheckServiceNode[]>(instances(service, 1))));
      return s;
    });
  }
}

describe('proxyless view', () => {
  it('keeps the other services\' watches and snapshot objects when a service is added or removed', () => {
    const catalog = new FakeProxylessCatalog();
    const views: (readonly ProxylessServiceSnapshot[])[] = [];
    const sub = proxylessSnapshots(catalog, fixedCASource(), { datacenter: 'dc1' }).subscribe((v) => views.push(v));
    catalog.names.next(['a', 'b']);
    const before = views.at(-1);
    catalog.names.next(['a', 'b', 'c']);
    const added = views.at(-1);
    assert.deepEqual(added?.map((s) => s.service), ['a', 'b', 'c']);
    assert.equal(added?.[0], before?.[0], 'a is the same snapshot object: not re-encoded');
    assert.equal(added?.[1], before?.[1], 'b is the same snapshot object: not re-encoded');
    catalog.names.next(['b', 'c']);
    const removed = views.at(-1);
    assert.deepEqual(removed?.map((s) => s.service), ['b', 'c']);
    assert.equal(removed?.[0], added?.[1]);
    assert.equal(removed?.[1], added?.[2]);
    assert.deepEqual(Object.fromEntries(catalog.opened), { a: 1, b: 1, c: 1 }, 'each health watch opened once');
    sub.unsubscribe();
  });

  it('leaves out instances registered at a host name, which gRPC cannot take as an endpoint', () => {
    const catalog = new FakeProxylessCatalog();
    const [atIp, atName] = instances('db', 2);
    catalog.health.set('db', new BehaviorSubject<readonly CheckServiceNode[]>([atIp!, { ...atName!, Service: { ...atName!.Service, Address: 'db-2.internal' } }]));
    const views: (readonly ProxylessServiceSnapshot[])[] = [];
    const sub = proxylessSnapshots(catalog, fixedCASource(), { datacenter: 'dc1' }).subscribe((v) => views.push(v));
    catalog.names.next(['db']);
    assert.deepEqual(views.at(-1)?.[0]?.instances.map((i) => i.address), ['10.9.0.1']);
    sub.unsubscribe();
  });
});
