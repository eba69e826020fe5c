import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CARoots, LeafCert } from '../../src/ca/types.js';
import { RateLimitError, ValidationError } from '../../src/core/errors.js';
import { opensslVerify } from '../ca/support.js';
import { TestAgent } from '../support/agent.js';
import { ApiServer } from '../../src/api/server.js';
import { caFixture, request, route } from './ca-fixture.js';

describe('CA HTTP API', () => {
  it('GET /v1/connect/ca/roots answers Consul\'s shape, and the PEM bundle with ?pem=true', async () => {
    const { ca, routes } = await caFixture();
    const res = await route(routes, 'GET', '/v1/connect/ca/roots').handler(request('GET'));
    const body = res.body as CARoots;
    assert.equal(body.TrustDomain, ca.trustDomain);
    assert.equal(body.Roots.length, 1);
    const root = body.Roots[0]!;
    for (const k of ['ID', 'Name', 'SerialNumber', 'SigningKeyID', 'NotBefore', 'NotAfter', 'RootCert', 'IntermediateCerts', 'Active', 'PrivateKeyType', 'PrivateKeyBits', 'CreateIndex', 'ModifyIndex']) {
      assert.ok(k in root, k);
    }
    assert.equal(body.ActiveRootID, root.ID);
    assert.match(root.NotBefore, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Number(res.headers?.['X-Consul-Index']) >= 1);
    const pem = await route(routes, 'GET', '/v1/connect/ca/roots').handler(request('GET', 'pem=true'));
    assert.equal(pem.text, root.RootCert);
    assert.match(pem.text ?? '', /^-----BEGIN CERTIFICATE-----/);
  });

  it('GET /v1/agent/connect/ca/roots blocks until the roots change', async () => {
    const { ca, routes } = await caFixture();
    const index = ca.roots().Index;
    const pending = route(routes, 'GET', '/v1/agent/connect/ca/roots').handler(request('GET', `index=${index}&wait=1m`));
    await ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, CSRMaxPerSecond: 0 } });
    const res = await pending;
    assert.equal((res.body as CARoots).Roots.length, 2);
    assert.ok(Number(res.headers?.['X-Consul-Index']) > index);
  });

  it('GET /v1/agent/connect/ca/leaf/:service issues on demand and serves the cached leaf after', async () => {
    const { ca, clock, routes } = await caFixture();
    const leafRoute = route(routes, 'GET', '/v1/agent/connect/ca/leaf/:service');
    const res = await leafRoute.handler(request('GET', '', undefined, { service: 'web' }));
    const leaf = res.body as LeafCert;
    assert.equal(leaf.Service, 'web');
    assert.equal(leaf.ServiceURI, `spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/web`);
    assert.match(leaf.PrivateKeyPEM, /BEGIN PRIVATE KEY/);
    assert.match(leaf.SerialNumber, /^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    assert.equal(res.headers?.['X-Consul-Index'], String(leaf.ModifyIndex));
    const v = opensslVerify(ca.roots().Roots.map((r) => r.RootCert).join(''), leaf.CertPEM, '', clock.now());
    assert.ok(v.ok, v.output);
    const same = await leafRoute.handler(request('GET', '', undefined, { service: 'web' }));
    assert.equal((same.body as LeafCert).SerialNumber, leaf.SerialNumber, 'cached, not signed again');
    await assert.rejects(Promise.resolve().then(() => leafRoute.handler(request('GET', '', undefined, { service: 'bad/name' }))), ValidationError);
  });

  it('GET /v1/agent/connect/ca/leaf/:service refuses a name no service can have, and signs nothing', async () => {
    const a = await TestAgent.start();
    try {
      // The catalog registers none of these, so a leaf for one is an identity no service has
      // ("..." makes spiffe://<td>/ns/default/dc/dc1/svc/...).
      for (const name of ['...', '.web', 'web.', '-web', 'a'.repeat(129)]) {
        const r = await a.get(`/v1/agent/connect/ca/leaf/${name}`);
        assert.equal(r.status, 400, `${name}: ${r.text}`);
        assert.match(r.text, /service/);
      }
      assert.deepEqual(a.agent.leaves.cachedServices(), []);
    } finally {
      await a.close();
    }
  });

  it('GET /v1/agent/connect/ca/leaf/:service waits for its turn in the CSR queue up to 10 s; beyond, 429 with Retry-After at once', async () => {
    const { ca, clock, leaves, routes } = await caFixture([], 'deny', { CSRMaxPerSecond: 1 });
    const leafRoute = route(routes, 'GET', '/v1/agent/connect/ca/leaf/:service');
    await leafRoute.handler(request('GET', '', undefined, { service: 'a' }));
    // Over the limit (one a second), the next request waits for its turn rather than being refused.
    const b = Promise.resolve(leafRoute.handler(request('GET', '', undefined, { service: 'b' })));
    assert.equal(ca.csrQueue().waiting, 1);
    clock.advance(1000);
    assert.equal(((await b).body as LeafCert).Service, 'b');
    // Twelve sidecars' leaves queued: a request now would wait 13 s.
    const subs = Array.from({ length: 12 }, (_, i) => leaves.watchLeaf(`sidecar-${i}`).subscribe());
    const api = new ApiServer({ routes: [routes] });
    const addr = await api.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${addr.port}/v1/agent/connect/ca/leaf/c`);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '13');
      assert.match(await res.text(), /^rate limit reached: 12 certificate signing requests are waiting for their turn/);
      assert.equal(ca.csrQueue().waiting, 12, 'the refused request queued nothing');
      await assert.rejects(Promise.resolve(leafRoute.handler(request('GET', '', undefined, { service: 'd' }))), RateLimitError);
    } finally {
      subs.forEach((sub) => sub.unsubscribe());
      await api.close({ graceMs: 0 });
    }
  });

  it('GET /v1/agent/connect/ca/leaf/:service whose client goes away while it waits takes its CSR out of the queue', async () => {
    const { ca, routes } = await caFixture([], 'deny', { CSRMaxPerSecond: 1 });
    const leafRoute = route(routes, 'GET', '/v1/agent/connect/ca/leaf/:service');
    await leafRoute.handler(request('GET', '', undefined, { service: 'a' }));
    const gone = new AbortController();
    const pending = Promise.resolve(leafRoute.handler({ ...request('GET', '', undefined, { service: 'b' }), signal: gone.signal }));
    assert.equal(ca.csrQueue().waiting, 1);
    gone.abort(new Error('client closed the connection'));
    const res = await pending;
    assert.equal(res.status, 503);
    assert.equal(ca.csrQueue().waiting, 0);
  });

  describe('POST /v1/agent/connect/authorize', () => {
    const table = [
      { source: 'web', destination: 'db', action: 'allow' },
      { source: '*', destination: 'db', action: 'deny' },
      { source: 'admin', destination: '*', action: 'allow' },
      { source: '*', destination: 'cache', action: 'allow' },
      { source: 'evil', destination: 'cache', action: 'deny' },
    ] as const;
    const cases: [string, string, string, 'allow' | 'deny', boolean, RegExp][] = [
      ['exact allow', 'web', 'db', 'deny', true, /web => db/],
      ['wildcard source deny', 'api', 'db', 'allow', false, /\* => db/],
      ['exact deny beats wildcard allow', 'evil', 'cache', 'allow', false, /evil => cache/],
      ['exact destination wildcard source beats wildcard destination', 'admin', 'db', 'allow', false, /\* => db/],
      ['wildcard destination exact source', 'admin', 'search', 'deny', true, /admin => \*/],
      ['default deny', 'web', 'search', 'deny', false, /Default/],
      ['default allow', 'web', 'search', 'allow', true, /Default/],
    ];
    for (const [name, source, target, policy, allowed, reason] of cases) {
      it(name, async () => {
        const { ca, routes } = await caFixture(table, policy);
        const res = await route(routes, 'POST', '/v1/agent/connect/authorize').handler(
          request('POST', '', { Target: target, ClientCertURI: `spiffe://${ca.trustDomain}/ns/default/dc/dc1/svc/${source}`, ClientCertSerial: '01:02' }),
        );
        const body = res.body as { Authorized: boolean; Reason: string };
        assert.equal(body.Authorized, allowed);
        assert.match(body.Reason, reason);
      });
    }

    it('rejects bad input naming the field, and denies other trust domains', async () => {
      const { routes } = await caFixture(table, 'allow');
      const h = route(routes, 'POST', '/v1/agent/connect/authorize').handler;
      await assert.rejects(Promise.resolve().then(() => h(request('POST', '', { ClientCertURI: 'spiffe://x/ns/default/dc/dc1/svc/web' }))), /Target/);
      await assert.rejects(Promise.resolve().then(() => h(request('POST', '', { Target: 'db', ClientCertURI: 'https://nope' }))), /ClientCertURI: not a valid service identity/);
      const res = await h(request('POST', '', { Target: 'db', ClientCertURI: 'spiffe://other.consul/ns/default/dc/dc1/svc/web' }));
      assert.deepEqual((res.body as { Authorized: boolean }).Authorized, false);
    });
  });

  it('GET and PUT /v1/connect/ca/configuration', async () => {
    const { ca, routes } = await caFixture();
    const get = await route(routes, 'GET', '/v1/connect/ca/configuration').handler(request('GET'));
    const cfg = get.body as { Provider: string; ClusterID: string; Config: Record<string, unknown> };
    assert.equal(cfg.Provider, 'consul');
    assert.equal(cfg.ClusterID, ca.clusterId);
    assert.equal(cfg.Config.LeafCertTTL, '72h');
    assert.equal(cfg.Config.PrivateKeyType, 'ec');
    const put = route(routes, 'PUT', '/v1/connect/ca/configuration').handler;
    await assert.rejects(Promise.resolve().then(() => put(request('PUT', '', { Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 1024 } }))), /Config\.PrivateKeyBits/);
    await put(request('PUT', '', { Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 } }));
    assert.equal(ca.roots().Roots.length, 2);
    assert.equal(ca.configuration().Config.PrivateKeyType, 'rsa');
  });

  it('GET /v1/connect/ca/configuration shows the CSR rate limits only when they are not the defaults, as Consul does', async () => {
    const { routes } = await caFixture([], 'deny', {});
    const get = async () => ((await route(routes, 'GET', '/v1/connect/ca/configuration').handler(request('GET'))).body as { Config: Record<string, unknown> }).Config;
    const defaults = await get();
    assert.deepEqual([defaults.LeafCertTTL, defaults.IntermediateCertTTL, defaults.RootCertTTL], ['72h', '8760h', '87600h']);
    assert.ok(!('CSRMaxPerSecond' in defaults) && !('CSRMaxConcurrent' in defaults), JSON.stringify(defaults));
    await route(routes, 'PUT', '/v1/connect/ca/configuration').handler(request('PUT', '', { Provider: 'consul', Config: { ...defaults, CSRMaxPerSecond: 0, CSRMaxConcurrent: 2 } }));
    const set = await get();
    assert.deepEqual([set.CSRMaxPerSecond, set.CSRMaxConcurrent], [0, 2]);
  });

  it("PUT /v1/connect/ca/configuration takes TTLs as Go's JSON encodes a time.Duration (whole nanoseconds), kept as duration strings", async () => {
    const { routes } = await caFixture([], 'deny', {});
    const HOUR_NS = 3_600_000_000_000;
    await route(routes, 'PUT', '/v1/connect/ca/configuration').handler(request('PUT', '', { Provider: 'consul', Config: { IntermediateCertTTL: 300 * 24 * HOUR_NS, RootCertTTL: 11 * 365 * 24 * HOUR_NS } }));
    const cfg = ((await route(routes, 'GET', '/v1/connect/ca/configuration').handler(request('GET'))).body as { Config: Record<string, unknown> }).Config;
    assert.deepEqual([cfg.IntermediateCertTTL, cfg.RootCertTTL], ['7200h', '96360h']);
    const put = route(routes, 'PUT', '/v1/connect/ca/configuration').handler;
    await assert.rejects(Promise.resolve().then(() => put(request('PUT', '', { Provider: 'consul', Config: { IntermediateCertTTL: HOUR_NS } }))), /Config\.IntermediateCertTTL: must be at least three times LeafCertTTL/);
  });

  it('PUT /v1/connect/ca/configuration refuses a RootCertTTL no certificate can carry, naming it, and keeps the root', async () => {
    const a = await TestAgent.start();
    try {
      const before = await a.get('/v1/connect/ca/roots');
      // 70 million hours from now is past the year 9999, the last an X.509 time can spell.
      const r = await a.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 384, RootCertTTL: '70000000h' } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, /Config\.RootCertTTL: must be at most/);
      assert.deepEqual((await a.get('/v1/connect/ca/roots')).json, before.json);
    } finally {
      await a.close();
    }
  });

  it('PUT /v1/connect/ca/configuration with an empty body is refused, not a reset to the defaults', async () => {
    const a = await TestAgent.start();
    try {
      assert.equal((await a.put('/v1/connect/ca/configuration', { Provider: 'consul', Config: { LeafCertTTL: '24h' } })).status, 200);
      const before = await a.get('/v1/connect/ca/configuration');
      const r = await a.put('/v1/connect/ca/configuration');
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, /body: .*empty/);
      const after = await a.get('/v1/connect/ca/configuration');
      assert.deepEqual(after.json, before.json);
      assert.equal((after.json as { Config: { LeafCertTTL: string } }).Config.LeafCertTTL, '24h');
    } finally {
      await a.close();
    }
  });
});
