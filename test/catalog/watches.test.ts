import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, skip, take, toArray } from 'rxjs';
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogSource } from '../../src/proxycfg/sources.js';
import { SqliteStore } from '../../src/store/sqlite.js';

function setup() {
  const store = new SqliteStore(':memory:');
  const catalog = new Catalog(store, { datacenter: 'dc1', node: 'n1' });
  return { store, catalog };
}

describe('Catalog watches (CatalogSource)', () => {
  it('watchProxies emits the current proxies, then on change, and shares one query', async () => {
    const { catalog, store } = setup();
    // Through the port the proxy layer consumes (the assignment is the type check).
    const source: CatalogSource = catalog;
    await catalog.registerNode('127.0.0.1');
    const seen = firstValueFrom(source.watchProxies().pipe(take(2), toArray()));
    assert.equal(source.watchProxies(), source.watchProxies(), 'the same shared observable');
    await catalog.registerService({ Name: 'web', Port: 80, Connect: { SidecarService: {} } });
    const [before, after] = await seen;
    assert.deepEqual(before, []);
    assert.deepEqual(after?.map((s) => s.ID), ['web-sidecar-proxy']);
    store.close();
  });

  it('watchMeshGateways follows the mesh gateways and their checks, and nothing else', async () => {
    const { catalog, store } = setup();
    await catalog.registerNode('127.0.0.1');
    const values: string[] = [];
    const sub = catalog.watchMeshGateways().subscribe((gws) => values.push(gws.map((g) => `${g.Service.ID}:${g.Checks.map((c) => c.Status).join('')}`).join(',')));
    await catalog.registerService({ Name: 'web', Port: 80 }); // not a gateway: no emission
    await catalog.registerService({ Name: 'gw', Kind: 'mesh-gateway', Port: 8443, Address: '10.0.0.1', Check: { TTL: '30s' } });
    await catalog.updateCheck('service:gw', 'passing');
    await catalog.deregisterService('gw');
    assert.deepEqual(values, ['', 'gw:critical', 'gw:passing', '']);
    sub.unsubscribe();
    store.close();
  });

  it('watchFederationStates emits what each datacenter told of itself, the latest per datacenter', async () => {
    const { catalog, store } = setup();
    const values: string[] = [];
    const sub = catalog.watchFederationStates().subscribe((states) => values.push(states.map((f) => `${f.Datacenter}@${f.UpdatedAt}`).join(',')));
    await catalog.putFederationState({ Datacenter: 'dc2', MeshGateways: [], UpdatedAt: 't1' });
    await catalog.putFederationState({ Datacenter: 'dc2', MeshGateways: [], UpdatedAt: 't2' });
    assert.deepEqual(values, ['', 'dc2@t1', 'dc2@t2']);
    sub.unsubscribe();
    store.close();
  });

  it('watchService follows one registration until it is deregistered', async () => {
    const { catalog, store } = setup();
    const values: (number | undefined)[] = [];
    const sub = catalog.watchService('web').subscribe((s) => values.push(s?.Port));
    await catalog.registerService({ Name: 'web', Port: 80 });
    await catalog.registerService({ Name: 'other', Port: 1 }); // unrelated: no emission
    await catalog.registerService({ Name: 'web', Port: 81 });
    await catalog.deregisterService('web');
    assert.deepEqual(values, [undefined, 80, 81, undefined]);
    sub.unsubscribe();
    store.close();
  });

  it('watchConnectHealth returns sidecars with node and checks, updated on check changes', async () => {
    const { catalog, store } = setup();
    await catalog.registerNode('10.0.0.1');
    await catalog.registerService({ Name: 'db', Port: 5432, Connect: { SidecarService: { Check: { TTL: '10s' } } } });
    const next = firstValueFrom(catalog.watchConnectHealth('db').pipe(skip(1)));
    const now = await firstValueFrom(catalog.watchConnectHealth('db'));
    assert.equal(now[0]?.Node.Address, '10.0.0.1');
    assert.equal(now[0]?.Checks[0]?.Status, 'critical');
    await catalog.updateCheck('service:db-sidecar-proxy', 'passing');
    assert.equal((await next)[0]?.Checks[0]?.Status, 'passing');
    store.close();
  });

  it('watchIntentions lists a destination\'s intentions and the wildcard\'s, highest precedence first', async () => {
    const { catalog, store } = setup();
    await catalog.setConfigEntry({ Kind: 'service-intentions', Name: '*', Sources: [{ Name: 'web', Action: 'deny' }] });
    await catalog.setConfigEntry({ Kind: 'service-intentions', Name: 'db', Sources: [{ Name: '*', Action: 'deny' }, { Name: 'web', Action: 'allow' }] });
    const list = await firstValueFrom(catalog.watchIntentions('db'));
    assert.deepEqual(list.map((i) => `${i.SourceName}->${i.DestinationName}`), ['web->db', '*->db', 'web->*']);
    assert.deepEqual(catalog.check('web', 'db'), { Allowed: true, Reason: 'Matched intention web => db (allow, precedence 9)', MatchedID: list[0]?.ID });
    store.close();
  });

  it('watchConfigEntry and watchDefaultIntentionPolicy emit distinct values', async () => {
    const { catalog, store } = setup();
    const entries: unknown[] = [];
    const sub = catalog.watchConfigEntry('service-defaults', 'web').subscribe((e) => entries.push(e?.Protocol));
    await catalog.setConfigEntry({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' });
    await catalog.setConfigEntry({ Kind: 'service-defaults', Name: 'api', Protocol: 'grpc' });
    await catalog.deleteConfigEntry('service-defaults', 'web');
    assert.deepEqual(entries, [undefined, 'http', undefined]);
    const policies: string[] = [];
    const p = catalog.watchDefaultIntentionPolicy().subscribe((v) => policies.push(v));
    catalog.setDefaultIntentionPolicy('allow');
    catalog.setDefaultIntentionPolicy('deny');
    assert.deepEqual(policies, ['allow', 'deny']);
    sub.unsubscribe();
    p.unsubscribe();
    store.close();
  });
  it('re-runs a health watch only for writes that can change it, and misses none that do', async () => {
    const store = new SqliteStore(':memory:');
    // Counts how often each watch's query runs.
    const runs = new Map<string, number>();
    const counting = Object.create(store) as SqliteStore;
    counting.watch = (key, tables, query, relevant) =>
      store.watch(key, tables, (tx) => (runs.set(key, (runs.get(key) ?? 0) + 1), query(tx)), relevant);
    const catalog = new Catalog(counting, { datacenter: 'dc1', node: 'n1' });
    await catalog.registerNode('10.0.0.1');
    await catalog.registerService({ Name: 'db', Port: 5432, Connect: { SidecarService: { Check: { TTL: '10s' } } } });
    const statuses: string[] = [];
    const sub = catalog.watchConnectHealth('db').subscribe((nodes) => statuses.push(nodes.map((n) => `${n.Service.Port}:${n.Checks.map((c) => c.Status).join('+')}`).join(',')));
    const key = [...runs.keys()].find((k) => k.includes('connect'))!;
    const ran = () => runs.get(key) ?? 0;
    const before = ran();

    // Another service, its sidecar and its checks: the db watch does not run.
    await catalog.registerService({ Name: 'web', Port: 80, Connect: { SidecarService: { Check: { TTL: '10s' } } } });
    await catalog.updateCheck('service:web-sidecar-proxy', 'passing');
    assert.equal(ran(), before, 'writes about web re-ran the db watch');

    // Each of these changes db's answer and is seen.
    await catalog.updateCheck('service:db-sidecar-proxy', 'passing');
    await catalog.registerService({ Name: 'db', ID: 'db-2', Port: 5433, Connect: { SidecarService: {} } });
    await catalog.deregisterService('db');
    await catalog.deregisterService('db-2');
    assert.deepEqual(statuses, ['21000:critical', '21000:passing', '21002:,21000:passing', '21002:', '']);
    assert.equal(ran() - before, 4, 'one run per relevant write');
    sub.unsubscribe();
    store.close();
  });
});
