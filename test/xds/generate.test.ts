// The generators as a user of the ADS server sees them: deterministic versions, identical
// resources shared between proxies, parent -> child names, configuration issues named instead
// of generated, intentions enforced as an operator would expect, stats tags decoding names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import type { CheckServiceNode, ConfigEntry, ConfigEntryOf, Intention, ServiceInstance } from '../../src/catalog/types.js';
import { ValidationError } from '../../src/core/errors.js';
import { encode, unpack } from '../../src/core/proto.js';
import { OWN_LEAF_SECRET } from '../../src/core/names.js';
import { TypeUrl } from '../../src/core/type-urls.js';
import { Listener } from '../../src/gen/envoy/config/listener/v3/listener.js';
import type { Principal } from '../../src/gen/envoy/config/rbac/v3/rbac.js';
import { RBAC_Action } from '../../src/gen/envoy/config/rbac/v3/rbac.js';
import { RBAC } from '../../src/gen/envoy/extensions/filters/network/rbac/v3/rbac.js';
import { buildConnectProxySnapshot, type ConnectProxyInputs } from '../../src/proxycfg/connect-proxy.js';
import { defaultTargetInputs } from '../../src/proxycfg/upstreams.js';
import { ResourceInterner } from '../../src/xds/encode.js';
import { generateResources, tryGenerateResources } from '../../src/xds/generate.js';
import { publicListener, upstreamListener } from '../../src/xds/listeners.js';
import { statsTags } from '../../src/xds/stats-tags.js';
import { upstreamStatPrefix } from '../../src/core/names.js';
import { intention, instances, proxy } from '../proxycfg/marble-sources.js';
import { TEST_TRUST_DOMAIN, testLeaf, testRoots } from '../support/fixed-ca.js';

/** As the shared watch gives every proxy of a service the same intentions array. */
const NO_INTENTIONS: readonly Intention[] = Object.freeze([]);

function inputs(p: ServiceInstance, over: Partial<ConnectProxyInputs> = {}, health: Record<string, CheckServiceNode[]> = {}): ConnectProxyInputs {
  return {
    proxy: p,
    roots: testRoots(),
    leaf: testLeaf(p.Proxy!.DestinationServiceName),
    intentions: NO_INTENTIONS,
    defaultIntentionPolicy: 'deny',
    proxyDefaults: undefined,
    serviceDefaults: undefined,
    upstreams: (p.Proxy?.Upstreams ?? []).map((upstream, index) => ({ upstream, index, serviceDefaults: undefined, ...defaultTargetInputs(upstream.DestinationName, 'dc1', health[upstream.DestinationName] ?? instances(upstream.DestinationName, 2)) })),
    ...over,
  };
}

/** A stored entry as a test writes it (fields not checked against the kind's schema: some are bad on purpose). */
function entry<K extends ConfigEntry['Kind']>(kind: K, name: string, fields: Record<string, unknown>): ConfigEntryOf<K> {
  return { Kind: kind, Name: name, CreateIndex: 1, ModifyIndex: 1, ...fields } as unknown as ConfigEntryOf<K>;
}

describe('generateResources', () => {
  it('versions each resource by a hash of its bytes and shares identical resources between proxies', () => {
    const interner = new ResourceInterner();
    const a = generateResources(buildConnectProxySnapshot(inputs(proxy('web-1', 'web', ['db']))), { interner });
    const b = generateResources(buildConnectProxySnapshot(inputs(proxy('web-2', 'web', ['db']))), { interner });
    const c = generateResources(buildConnectProxySnapshot(inputs(proxy('api-1', 'api', ['db']))), { interner });
    const dbName = `db.default.dc1.internal.${TEST_TRUST_DOMAIN}`;
    const clusterA = a.get(TypeUrl.Cluster)!.get(dbName)!;
    assert.equal(clusterA.version, createHash('sha256').update(clusterA.value).digest('hex').slice(0, 16));
    // Two instances of web: every resource is the same object.
    for (const [type, byName] of a) for (const [name, r] of byName) assert.equal(b.get(type)!.get(name), r, `${type} ${name} not shared`);
    // api's upstream db is web's: the cluster (its client certificate is each proxy's own leaf, by
    // one SDS name) and db's endpoints are the same objects; api's own leaf is not.
    assert.equal(c.get(TypeUrl.Cluster)!.get(dbName), clusterA);
    assert.equal(c.get(TypeUrl.Endpoint)!.get(dbName), a.get(TypeUrl.Endpoint)!.get(dbName));
    assert.notEqual(c.get(TypeUrl.Secret)!.get(OWN_LEAF_SECRET), a.get(TypeUrl.Secret)!.get(OWN_LEAF_SECRET));
  });

  it('builds a listener from its address and a rest shared between proxies, byte for byte the whole listener', () => {
    const interner = new ResourceInterner();
    const http = entry('proxy-defaults', 'global', { Config: { protocol: 'http' } });
    const web = { ...proxy('web-1', 'web', ['db', 'api']), Address: '10.0.1.1' };
    const other = { ...proxy('billing-1', 'billing', ['db', 'api']), Address: '10.0.1.2', Port: 21001 };
    const webSnap = buildConnectProxySnapshot(inputs(web, { proxyDefaults: http }));
    const otherSnap = buildConnectProxySnapshot(inputs(other, { proxyDefaults: http }));
    const a = generateResources(webSnap, { interner });
    const b = generateResources(otherSnap, { interner });
    const wholes = [publicListener(webSnap), ...webSnap.upstreams.map((u) => upstreamListener(webSnap, u))];
    assert.deepEqual([...a.get(TypeUrl.Listener)!.keys()], wholes.map((l) => l.name).sort());
    for (const whole of wholes) {
      const res = a.get(TypeUrl.Listener)!.get(whole.name)!;
      assert.deepEqual(Buffer.from(res.value), Buffer.from(encode(Listener, whole)), `${whole.name} differs from its whole encoding`);
    }
    // The public listener fetches its route, each upstream listener its upstream's.
    assert.deepEqual(a.get(TypeUrl.Listener)!.get('public_listener:10.0.1.1:21000')!.children, ['public_listener']);
    assert.deepEqual(a.get(TypeUrl.Listener)!.get('db:127.0.0.1:9000')!.children, ['db']);
    // Another service with the same upstreams: its listeners are its own, the upstreams' clusters and routes are web's.
    assert.notEqual(b.get(TypeUrl.Listener)!.get('db:127.0.0.1:9000'), undefined);
    for (const type of [TypeUrl.Cluster, TypeUrl.Route]) {
      for (const [name, r] of a.get(type)!) if (name !== 'local_app' && name !== 'public_listener') assert.equal(b.get(type)!.get(name), r, `${type} ${name} not shared`);
    }
  });

  describe('an endpoint or certificate change reaching many proxies', () => {
    const p = proxy('web-1', 'web', ['db', 'api']);
    const dbBefore = instances('db', 2);
    const dbAfter = [...instances('db', 2), ...instances('db', 3).slice(2)];
    const before = buildConnectProxySnapshot(inputs(p, {}, { db: dbBefore }));
    const after = buildConnectProxySnapshot(inputs(p, {}, { db: dbAfter }));
    const db = `db.default.dc1.internal.${TEST_TRUST_DOMAIN}`;

    it('gives exactly what a full generation gives, keeping every resource but the changed assignment', () => {
      const interner = new ResourceInterner();
      const first = generateResources(before, { interner });
      const incremental = generateResources(after, { interner });
      for (const type of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.Route]) assert.equal(incremental.get(type), first.get(type), `${type} was rebuilt`);
      const full = generateResources(after, { interner: new ResourceInterner() });
      assert.deepEqual(
        [...incremental].map(([t, m]) => [t, [...m].map(([n, r]) => [n, r.version])]),
        [...full].map(([t, m]) => [t, [...m].map(([n, r]) => [n, r.version])]),
      );
      for (const [type, byName] of first) {
        for (const [name, r] of byName) {
          if (type === TypeUrl.Endpoint && name === db) assert.notEqual(incremental.get(type)!.get(name)!.version, r.version);
          else assert.equal(incremental.get(type)!.get(name), r, `${type} ${name} was rebuilt`);
        }
      }
    });

    it('builds an assignment once per health result and cluster, shared by every proxy', () => {
      const interner = new ResourceInterner();
      const health = { db: dbAfter };
      const a = generateResources(buildConnectProxySnapshot(inputs(proxy('web-1', 'web', ['db']), {}, health)), { interner });
      const b = generateResources(buildConnectProxySnapshot(inputs(proxy('api-1', 'api', ['db']), {}, health)), { interner });
      assert.equal(a.get(TypeUrl.Endpoint)!.get(db), b.get(TypeUrl.Endpoint)!.get(db));
      assert.equal(a.get(TypeUrl.Endpoint)!.get(db)!.value.length > 0, true);
    });

    it('after a roots rotation rebuilds only Secrets, the roots Secret once for every proxy', () => {
      const interner = new ResourceInterner();
      const first = generateResources(before, { interner });
      const old = testRoots();
      // A second root (the same certificate under a new ID is enough to change the bundle).
      const rotated = { ...old, ActiveRootID: 'test-root-2', Index: 2, Roots: [...old.Roots, { ...old.Roots[0]!, ID: 'test-root-2' }] };
      const next = (id: string, service: string) => buildConnectProxySnapshot(inputs(proxy(id, service, ['db', 'api']), { roots: rotated }, { db: dbBefore }));
      const web = generateResources(next('web-1', 'web'), { interner });
      const api = generateResources(next('api-1', 'api'), { interner });
      for (const type of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.Route]) assert.equal(web.get(type), first.get(type), `${type} was rebuilt`);
      const roots = [...web.get(TypeUrl.Secret)!.keys()].find((n) => n.startsWith('roots'))!;
      assert.equal(web.get(TypeUrl.Secret)!.get(roots), api.get(TypeUrl.Secret)!.get(roots));
      assert.notEqual(web.get(TypeUrl.Secret)!.get(roots)!.version, first.get(TypeUrl.Secret)!.get(roots)!.version);
      const full = generateResources(next('web-1', 'web'), { interner: new ResourceInterner() });
      for (const [type, byName] of full) for (const [name, r] of byName) assert.equal(web.get(type)!.get(name)!.version, r.version, `${type} ${name}`);
    });

    it('regenerates everything when anything but endpoints and certificates changed', () => {
      const interner = new ResourceInterner();
      const first = generateResources(before, { interner });
      const allowed = buildConnectProxySnapshot(inputs(p, { intentions: [intention('api', 'web')] }, { db: dbAfter }));
      const next = generateResources(allowed, { interner });
      const full = generateResources(allowed, { interner: new ResourceInterner() });
      for (const [type, byName] of full) for (const [name, r] of byName) assert.equal(next.get(type)!.get(name)!.version, r.version, `${type} ${name}`);
      assert.notEqual(next.get(TypeUrl.Listener), first.get(TypeUrl.Listener));
      const publicListener = [...first.get(TypeUrl.Listener)!.keys()].find((n) => n.startsWith('public_listener'))!;
      assert.notEqual(next.get(TypeUrl.Listener)!.get(publicListener)!.version, first.get(TypeUrl.Listener)!.get(publicListener)!.version);
    });
  });

  it('builds Clusters, Listeners and Routes once for instances whose snapshots have the same shape', () => {
    const interner = new ResourceInterner();
    const intentions = [intention('api', 'web')];
    // Instances at one address (the public listener binds it, as Consul's does): another address is another listener.
    const snap = (id: string, port = 21000) => buildConnectProxySnapshot(inputs({ ...proxy(id, 'web', ['db']), Port: port }, { intentions }));
    const a = generateResources(snap('web-1'), { interner });
    const b = generateResources(snap('web-22'), { interner });
    for (const type of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.Route]) assert.equal(b.get(type), a.get(type), `${type} built again`);
    // Another public port is another shape: its listener differs, and what is equal is still one object.
    const c = generateResources(snap('web-3', 21001), { interner });
    const db = `db.default.dc1.internal.${TEST_TRUST_DOMAIN}`;
    assert.equal(c.get(TypeUrl.Cluster)!.get(db), a.get(TypeUrl.Cluster)!.get(db));
    // Equal intentions in another array are another shape (compared by identity), with the same bytes.
    const d = generateResources(buildConnectProxySnapshot(inputs(proxy('web-4', 'web', ['db']), { intentions: [intention('api', 'web')] })), { interner });
    for (const [type, byName] of a) for (const [name, r] of byName) assert.equal(d.get(type)!.get(name)!.version, r.version, `${type} ${name}`);
  });

  it('is deterministic: the same snapshot gives the same bytes with a fresh interner', () => {
    const snap = buildConnectProxySnapshot(inputs(proxy('web-1', 'web', ['db', 'api'])));
    const one = generateResources(snap, { interner: new ResourceInterner() });
    const two = generateResources(snap, { interner: new ResourceInterner() });
    for (const [type, byName] of one) for (const [name, r] of byName) assert.equal(two.get(type)!.get(name)!.version, r.version);
  });

  it('names the children Envoy must be sent again when a parent changes, in name order', () => {
    const snap = buildConnectProxySnapshot(
      inputs(proxy('web-1', 'web', ['db', 'api']), {}, {}),
    );
    const withHttpApi = buildConnectProxySnapshot({
      ...inputs(proxy('web-1', 'web', ['db', 'api'])),
      upstreams: inputs(proxy('web-1', 'web', ['db', 'api'])).upstreams.map((u) => (u.upstream.DestinationName === 'api' ? { ...u, serviceDefaults: entry('service-defaults', 'api', { Protocol: 'http' }) } : u)),
    });
    const set = generateResources(withHttpApi);
    const clusters = set.get(TypeUrl.Cluster)!;
    assert.deepEqual([...clusters.keys()], [...clusters.keys()].sort());
    assert.deepEqual(clusters.get('local_app')!.children, undefined);
    const db = `db.default.dc1.internal.${TEST_TRUST_DOMAIN}`;
    assert.deepEqual(clusters.get(db)!.children, [db]);
    const listeners = set.get(TypeUrl.Listener)!;
    assert.deepEqual(listeners.get('api:127.0.0.1:9001')!.children, ['api']);
    assert.equal(listeners.get('db:127.0.0.1:9000')!.children, undefined);
    assert.deepEqual([...set.get(TypeUrl.Route)!.keys()], ['api']);
    assert.equal(generateResources(snap).get(TypeUrl.Route)!.size, 0);
  });

  it('refuses a snapshot with configuration issues, naming every field', () => {
    const p = proxy('web-1', 'web', ['db']);
    const bad: ServiceInstance = {
      ...p,
      Proxy: { ...p.Proxy!, Mode: 'transparent', Config: { protocol: 'htp', bind_port: 70000 }, Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, Config: { protocol: 'tcpp' } }] },
    };
    const snap = buildConnectProxySnapshot(inputs(bad));
    const result = tryGenerateResources(snap);
    assert.equal(result.ok, false);
    const paths = result.ok ? [] : result.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['Proxy.Config.bind_port', 'Proxy.Config.protocol', 'Proxy.Mode', 'Proxy.Upstreams[0].Config.protocol']);
    assert.throws(() => generateResources(snap), (err: unknown) => err instanceof ValidationError && /proxy web-1: .*Proxy\.Config\.protocol/.test(err.message));
  });

  it('resolves protocol: proxy Config, then service-defaults, then proxy-defaults, then tcp', () => {
    const p = proxy('web-1', 'web', []);
    const entries = (sd?: string, pd?: string) => ({
      proxyDefaults: pd ? entry('proxy-defaults', 'global', { Config: { protocol: pd } }) : undefined,
      serviceDefaults: sd ? entry('service-defaults', 'web', { Protocol: sd }) : undefined,
    });
    const protocol = (px: ServiceInstance, e: ReturnType<typeof entries>) => buildConnectProxySnapshot(inputs(px, e)).publicListener.protocol;
    assert.equal(protocol(p, entries()), 'tcp');
    assert.equal(protocol(p, entries(undefined, 'grpc')), 'grpc');
    assert.equal(protocol(p, entries('http', 'grpc')), 'http');
    assert.equal(protocol({ ...p, Proxy: { ...p.Proxy!, Config: { protocol: 'http2' } } }, entries('http', 'grpc')), 'http2');
  });
});

/** A small interpreter of Envoy's RBAC principals over one peer's URI SAN. */
function matches(p: Principal, uri: string): boolean {
  const id = p.identifier;
  switch (id?.$case) {
    case 'any':
      return id.value;
    case 'authenticated': {
      const m = id.value.principalName?.matchPattern;
      if (m?.$case === 'exact') return m.value === uri;
      if (m?.$case === 'safeRegex') return new RegExp(m.value.regex).test(uri);
      throw new Error(`unexpected matcher ${m?.$case}`);
    }
    case 'andIds':
      return id.value.ids.every((x) => matches(x, uri));
    case 'orIds':
      return id.value.ids.some((x) => matches(x, uri));
    case 'notId':
      return !matches(id.value, uri);
    default:
      throw new Error(`unexpected principal ${id?.$case}`);
  }
}

/** The public listener's RBAC rules for these intentions. */
function rbacRules(intentions: Intention[], defaultPolicy: 'allow' | 'deny') {
  const set = generateResources(buildConnectProxySnapshot(inputs(proxy('web-1', 'web', []), { intentions, defaultIntentionPolicy: defaultPolicy })));
  const listener = unpack(Listener, { typeUrl: TypeUrl.Listener, value: set.get(TypeUrl.Listener)!.get('public_listener:10.0.1.1:21000')!.value });
  const filter = listener.filterChains[0]!.filters[0]!;
  assert.equal(filter.name, 'envoy.filters.network.rbac');
  return unpack(RBAC, (filter.configType as { value: Parameters<typeof unpack>[1] }).value).rules!;
}

/** Would a peer with this SPIFFE ID get through? */
function admits(rules: ReturnType<typeof rbacRules>, uri: string): boolean {
  const hit = Object.values(rules.policies).some((pol) => pol.principals.some((p) => matches(p, uri)));
  return rules.action === RBAC_Action.ALLOW ? hit : !hit;
}

function allowedSources(intentions: Intention[], defaultPolicy: 'allow' | 'deny', sources: string[]): string[] {
  const rules = rbacRules(intentions, defaultPolicy);
  return sources.filter((s) => admits(rules, `spiffe://${TEST_TRUST_DOMAIN}/ns/default/dc/dc1/svc/${s}`));
}

describe('intentions -> RBAC', () => {
  const everyone = ['api', 'billing', 'cache', 'db'];

  it('default deny admits exactly the allowed sources', () => {
    assert.deepEqual(allowedSources([intention('api', 'web'), intention('cache', 'web', 'deny')], 'deny', everyone), ['api']);
    assert.deepEqual(allowedSources([], 'deny', everyone), []);
  });

  it('default allow refuses exactly the denied sources', () => {
    assert.deepEqual(allowedSources([intention('billing', 'web', 'deny'), intention('api', 'web')], 'allow', everyone), ['api', 'cache', 'db']);
    assert.deepEqual(allowedSources([], 'allow', everyone), everyone);
  });

  it('matches a source service in any datacenter of the trust domain', () => {
    const dc2 = (svc: string) => `spiffe://${TEST_TRUST_DOMAIN}/ns/default/dc/dc2/svc/${svc}`;
    const rules = rbacRules([intention('*', 'web'), intention('billing', 'web', 'deny')], 'deny');
    const allowed = (uri: string) => admits(rules, uri);
    assert.equal(allowed(dc2('api')), true);
    assert.equal(allowed(dc2('billing')), false, 'billing from another datacenter got past the exclusion');
    assert.equal(allowed(`spiffe://other.consul/ns/default/dc/dc1/svc/api`), false, 'another trust domain was allowed');
  });

  it('an exact intention outranks a wildcard of the opposite action', () => {
    assert.deepEqual(allowedSources([intention('*', 'web'), intention('billing', 'web', 'deny')], 'deny', everyone), ['api', 'cache', 'db']);
    assert.deepEqual(allowedSources([intention('*', 'web', 'deny'), intention('api', 'web')], 'allow', everyone), ['api']);
  });
});

describe('bootstrap stats tags', () => {
  /** Each regex tag applied to a stat name as Envoy applies it: the tag's value, and the name left without the first group. */
  function extract(stat: string): Record<string, { value: string; rest: string }> {
    const out: Record<string, { value: string; rest: string }> = {};
    for (const t of statsTags({ service: 'web', namespace: 'default', datacenter: 'dc1' })) {
      if (t.tagValue?.$case !== 'regex') continue;
      const m = new RegExp(t.tagValue.value).exec(stat);
      if (m?.[2] !== undefined) out[t.tagName] = { value: m[2], rest: stat.replace(m[1] as string, '') };
    }
    return out;
  }
  const values = (tags: Record<string, { value: string }>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, v.value]));
  const td = TEST_TRUST_DOMAIN.replace(/\.consul$/, '');

  it("decode an upstream cluster's stat name into Consul's destination tags (and the older consul.* ones)", () => {
    const tags = extract(`cluster.db.default.dc1.internal.${TEST_TRUST_DOMAIN}.upstream_cx_total`);
    assert.deepEqual(values(tags), {
      'consul.destination.service': 'db',
      'consul.destination.namespace': 'default',
      'consul.destination.datacenter': 'dc1',
      'consul.destination.routing_type': 'internal',
      'consul.destination.trust_domain': td,
      'consul.destination.target': 'db.default.dc1',
      'consul.destination.full_target': `db.default.dc1.internal.${td}`,
      'consul.service': 'db',
      'consul.namespace': 'default',
      'consul.datacenter': 'dc1',
      'consul.routing_type': 'internal',
      'consul.trust_domain': td,
      'consul.target': 'db.default.dc1',
      'consul.full_target': `db.default.dc1.internal.${td}`,
    });
    assert.equal(tags['consul.destination.service']?.rest, 'cluster.upstream_cx_total');
  });

  it('decode a subset cluster and a failover child', () => {
    assert.equal(extract(`cluster.v2.db.default.dc1.internal.${TEST_TRUST_DOMAIN}.upstream_rq_total`)['consul.destination.service_subset']?.value, 'v2');
    const child = extract(`cluster.failover-target~1~db.default.dc2.internal.${TEST_TRUST_DOMAIN}.upstream_rq_total`);
    assert.equal(child['consul.destination.custom_hash']?.value, 'failover-target~1');
    assert.equal(child['consul.destination.datacenter']?.value, 'dc2');
  });

  it("decode the upstream listeners' stat prefixes (upstream.<svc>.<ns>.<partition>.<dc>) into consul.upstream.*", () => {
    const prefix = upstreamStatPrefix('db', 'default', 'dc2');
    for (const kind of ['tcp', 'http']) {
      const tags = extract(`${kind}.${prefix}.downstream_cx_total`);
      assert.deepEqual(values(tags), { 'consul.upstream.service': 'db', 'consul.upstream.namespace': 'default', 'consul.upstream.partition': 'default', 'consul.upstream.datacenter': 'dc2' });
      assert.equal(tags['consul.upstream.service']?.rest, `${kind}.upstream.downstream_cx_total`);
    }
  });

  it("leave the public listener's stats untagged by the upstream and cluster regexes", () => {
    assert.deepEqual(extract('tcp.public_listener.downstream_cx_total'), {});
    assert.deepEqual(extract('http.public_listener.rbac.allowed'), {});
  });
});
