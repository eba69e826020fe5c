import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

describe('/v1/agent', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  it('registers a service with a sidecar expanded the way Consul does', async () => {
    const r = await a.put('/v1/agent/service/register', {
      Name: 'web',
      Port: 8080,
      Tags: ['v1'],
      Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }] } } },
    });
    assert.equal(r.status, 200, r.text);
    const services = (await a.get('/v1/agent/services')).json as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(services).sort(), ['web', 'web-sidecar-proxy']);
    const sidecar = services['web-sidecar-proxy'] as Record<string, unknown>;
    assert.equal(sidecar.Kind, 'connect-proxy');
    assert.equal(sidecar.Service, 'web-sidecar-proxy');
    assert.equal(sidecar.Port, 21000);
    assert.deepEqual(sidecar.Tags, ['v1'], 'tags inherited from the parent');
    assert.deepEqual(sidecar.Proxy, {
      DestinationServiceName: 'web',
      DestinationServiceID: 'web',
      LocalServiceAddress: '127.0.0.1',
      LocalServicePort: 8080,
      Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }],
    });
  });

  it('gives the next sidecar the next free port and keeps a sidecar port on re-registration', async () => {
    await a.put('/v1/agent/service/register', { Name: 'api', Port: 9090, Connect: { SidecarService: {} } });
    await a.put('/v1/agent/service/register', { Name: 'web', Port: 8081, Connect: { SidecarService: {} } });
    const services = (await a.get('/v1/agent/services')).json as Record<string, { Port: number; Proxy?: { LocalServicePort: number } }>;
    assert.equal(services['api-sidecar-proxy']?.Port, 21001);
    assert.equal(services['web-sidecar-proxy']?.Port, 21000);
    assert.equal(services['web-sidecar-proxy']?.Proxy?.LocalServicePort, 8081);
  });

  it('registers a connect-proxy and gateways directly with Kind and Proxy', async () => {
    const proxy = {
      Kind: 'connect-proxy',
      Name: 'billing-proxy',
      Port: 20000,
      Proxy: { DestinationServiceName: 'billing', LocalServicePort: 7000, Mode: 'direct', Config: { protocol: 'http' }, Upstreams: [{ DestinationName: 'db', LocalBindAddress: '127.0.0.2', LocalBindPort: 5432, Config: { connect_timeout_ms: 1000 } }] },
    };
    assert.equal((await a.put('/v1/agent/service/register', proxy)).status, 200);
    for (const Kind of ['mesh-gateway', 'ingress-gateway', 'terminating-gateway']) {
      assert.equal((await a.put('/v1/agent/service/register', { Kind, Name: Kind, Port: 8443 })).status, 200);
    }
    const got = (await a.get('/v1/agent/service/billing-proxy')).json as Record<string, unknown>;
    assert.equal(got.Kind, 'connect-proxy');
    assert.deepEqual(got.Proxy, proxy.Proxy);
    assert.equal(((await a.get('/v1/agent/service/mesh-gateway')).json as { Kind: string }).Kind, 'mesh-gateway');
  });

  it("answers a service's ContentHash and blocks on ?hash= until the service changes, as Consul's agent does", async () => {
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'hashed', Port: 7000 })).status, 200);
    const first = await a.get('/v1/agent/service/hashed');
    const hash = (first.json as { ContentHash: string }).ContentHash;
    assert.match(hash, /^[0-9a-f]{16}$/);
    assert.equal(first.headers.get('x-consul-contenthash'), hash);
    assert.equal((await a.get('/v1/agent/service/hashed')).headers.get('x-consul-contenthash'), hash, 'the same service, the same hash');
    // Another hash answers at once; the current one waits for a change.
    assert.equal((await a.get('/v1/agent/service/hashed?hash=0000000000000000&wait=5m')).status, 200);
    const pending = a.get(`/v1/agent/service/hashed?hash=${hash}&wait=5m`);
    let answered = false;
    void pending.then(() => (answered = true));
    assert.equal((await a.get(`/v1/agent/service/hashed?hash=${hash}&wait=50ms`)).headers.get('x-consul-contenthash'), hash, 'unchanged when the wait passes');
    assert.equal(answered, false, 'still waiting while the service is unchanged');
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'hashed', Port: 7001 })).status, 200);
    const changed = await pending;
    assert.equal((changed.json as { Port: number }).Port, 7001);
    assert.notEqual(changed.headers.get('x-consul-contenthash'), hash);
  });

  it('answers 404 for an unknown service ID', async () => {
    const r = await a.get('/v1/agent/service/nope');
    assert.equal(r.status, 404);
    assert.match(r.text, /unknown service ID: nope/);
  });

  it('rejects bad registrations with 400 naming every field, storing nothing', async () => {
    const before = a.agent.store.currentIndex();
    const cases: [unknown, RegExp][] = [
      [{ Port: 80 }, /Name: /],
      [{ Name: 'bad name!', Port: 80 }, /Name: must contain only letters/],
      [{ Name: 'x', Port: 70000 }, /Port: must be between 0 and 65535/],
      [{ Name: 'x', Kind: 'sidecar' }, /Kind: Invalid option/],
      [{ Name: 'x', Kind: 'connect-proxy', Port: 1 }, /Proxy\.DestinationServiceName: must be set for a connect-proxy/],
      [{ Name: 'x', Kind: 'connect-proxy', Port: 1, Proxy: { DestinationServiceName: 'y', Upstreams: [{ DestinationName: 'db', LocalBindPort: 'nine' }] } }, /Proxy\.Upstreams\[0\]\.LocalBindPort: .*expected number/],
      [{ Name: 'x', Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000 }, { DestinationName: 'api', LocalBindPort: 9000 }] } } } }, /Connect\.SidecarService\.Proxy\.Upstreams\[1\]\.LocalBindPort: 9000 is already bound/],
      [{ Name: 'x', Check: { HTTP: 'http://127.0.0.1/' } }, /Check\.Interval: must be set for an HTTP check/],
      [{ Name: 'x', Check: { TTL: 'soon' } }, /Check\.TTL: invalid duration: must be a duration/],
      [{ Name: 'x', Check: { Notes: 'n' } }, /Check: must set one of TTL, HTTP, TCP or GRPC/],
      [{ Name: 'x', Tags: 'a' }, /Tags: /],
      ['[1,2]', /expected object/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    const malformed = await a.put('/v1/agent/service/register', '{"Name": ');
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /Request decode failed/);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('refuses a host name where Envoy needs an IP address, naming the field, and takes IPv6', async () => {
    const before = a.agent.store.currentIndex();
    const sidecar = (Proxy: unknown, extra: object = {}) => ({ Name: 'x', Port: 80, Connect: { SidecarService: { ...extra, Proxy } } });
    const cases: [unknown, RegExp][] = [
      [sidecar({ Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, LocalBindAddress: 'localhost' }] }), /Connect\.SidecarService\.Proxy\.Upstreams\[0\]\.LocalBindAddress: must be an IPv4 or IPv6 address/],
      [sidecar({ Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, LocalBindAddress: '127.1' }] }), /Upstreams\[0\]\.LocalBindAddress: must be an IPv4 or IPv6 address/],
      [sidecar({ LocalServiceAddress: 'app.internal' }), /Connect\.SidecarService\.Proxy\.LocalServiceAddress: must be an IPv4 or IPv6 address/],
      [sidecar({}, { Address: 'x.example.com' }), /Connect\.SidecarService\.Address: must be an IPv4 or IPv6 address/],
      [{ Kind: 'connect-proxy', Name: 'x-proxy', Port: 21000, Address: 'x.example.com', Proxy: { DestinationServiceName: 'x', LocalServicePort: 80 } }, /^[^\n]*Address: must be an IPv4 or IPv6 address/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
    // A plain service may still be known by a host name (Consul DNS); no Envoy connects to it.
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'ext', Port: 443, Address: 'ext.example.com' })).status, 200);
    const v6 = sidecar({ LocalServiceAddress: '::1', Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, LocalBindAddress: '::1' }] }, { Address: 'fd00::1' });
    const r = await a.put('/v1/agent/service/register', { ...v6, Name: 'v6' });
    assert.equal(r.status, 200, r.text);
  });

  it('refuses Proxy.Config and upstream Config values no Envoy configuration can be built from, keeping other keys', async () => {
    const before = a.agent.store.currentIndex();
    const proxy = (Proxy: object) => ({ Kind: 'connect-proxy', Name: 'x-proxy', Port: 21000, Proxy: { DestinationServiceName: 'x', LocalServicePort: 80, ...Proxy } });
    const upstream = (Config: object) => proxy({ Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, Config }] });
    const cases: [unknown, RegExp][] = [
      [proxy({ Config: { protocol: 'HTTP' } }), /Proxy\.Config\.protocol: Invalid option/],
      [proxy({ Config: { bind_address: 'localhost' } }), /Proxy\.Config\.bind_address: must be an IPv4 or IPv6 address/],
      [proxy({ Config: { bind_port: '20000' } }), /Proxy\.Config\.bind_port: .*expected number/],
      [proxy({ Config: { local_connect_timeout_ms: 1e13 } }), /Proxy\.Config\.local_connect_timeout_ms: must be at most 86400000/],
      [proxy({ Config: { local_request_timeout_ms: -1 } }), /Proxy\.Config\.local_request_timeout_ms: must not be negative/],
      [proxy({ Config: { local_idle_timeout_ms: 'soon' } }), /Proxy\.Config\.local_idle_timeout_ms: /],
      [proxy({ Config: { max_inbound_connections: 1.5 } }), /Proxy\.Config\.max_inbound_connections: must be an integer/],
      [proxy({ Config: { envoy_extra_static_clusters_json: '{"name": "sds"' } }), /Proxy\.Config\.envoy_extra_static_clusters_json: must be one or more JSON objects/],
      [proxy({ Config: { envoy_extra_static_clusters_json: '{"type": "STATIC"}' } }), /Proxy\.Config\.envoy_extra_static_clusters_json: must be one or more JSON objects .*each with a "name"/],
      [upstream({ protocol: 'tcpp' }), /Proxy\.Upstreams\[0\]\.Config\.protocol: Invalid option/],
      [upstream({ connect_timeout_ms: 0 }), /Proxy\.Upstreams\[0\]\.Config\.connect_timeout_ms: must be at least 1/],
      [{ Name: 'x', Connect: { SidecarService: { Proxy: { Config: { protocol: 'h2' } } } } }, /Connect\.SidecarService\.Proxy\.Config\.protocol: Invalid option/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
    const ok = proxy({ Config: { protocol: 'grpc', bind_address: '::', envoy_extra: { any: 1 } }, Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, Config: { connect_timeout_ms: 250, custom: 'kept' } }] });
    assert.equal((await a.put('/v1/agent/service/register', ok)).status, 200);
    assert.deepEqual(((await a.get('/v1/agent/service/x-proxy')).json as { Proxy: unknown }).Proxy, ok.Proxy);
  });

  it('refuses an upstream bound where another listener of the proxy already is', async () => {
    const before = a.agent.store.currentIndex();
    const ups = (...Upstreams: object[]) => Upstreams.map((u, i) => ({ DestinationName: `db${i}`, LocalBindPort: 9191, ...u }));
    const cases: [unknown, RegExp][] = [
      [{ Name: 'x', Port: 80, Connect: { SidecarService: { Port: 9191, Proxy: { Upstreams: ups({ LocalBindAddress: '0.0.0.0' }) } } } }, /Connect\.SidecarService\.Proxy\.Upstreams\[0\]\.LocalBindPort: 9191 on 0\.0\.0\.0 is the proxy's public listener/],
      [{ Kind: 'connect-proxy', Name: 'x-proxy', Port: 21000, Proxy: { DestinationServiceName: 'x', LocalServicePort: 80, Config: { bind_address: '127.0.0.1', bind_port: 9191 }, Upstreams: ups({}) } }, /Proxy\.Upstreams\[0\]\.LocalBindPort: 9191 on 127\.0\.0\.1 is the proxy's public listener/],
      [{ Name: 'x', Port: 80, Connect: { SidecarService: { Proxy: { Upstreams: ups({ LocalBindAddress: '::1' }, { LocalBindAddress: '0:0:0:0:0:0:0:1' }) } } } }, /Upstreams\[1\]\.LocalBindPort: 9191 is already bound by another upstream/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
    // A more specific address on the public port is a different listener, which Envoy takes.
    const ok = { Name: 'x', Port: 80, Connect: { SidecarService: { Port: 9191, Proxy: { Upstreams: ups({}) } } } };
    assert.equal((await a.put('/v1/agent/service/register', ok)).status, 200);
  });

  it('refuses what no configuration can be built for yet: prepared queries, transparent mode', async () => {
    const before = a.agent.store.currentIndex();
    const sidecar = (Proxy: object) => ({ Name: 'x', Port: 80, Connect: { SidecarService: { Proxy } } });
    const cases: [unknown, RegExp][] = [
      [sidecar({ Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000, DestinationType: 'prepared_query' }] }), /Upstreams\[0\]\.DestinationType: prepared_query upstreams are not supported/],
      [{ Kind: 'connect-proxy', Name: 'x-proxy', Port: 21000, Proxy: { DestinationServiceName: 'x', LocalServicePort: 80, Mode: 'transparent' } }, /Proxy\.Mode: transparent proxying is not supported/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
    assert.equal((await a.put('/v1/agent/service/register', sidecar({ Mode: 'direct', Upstreams: [{ DestinationName: 'db', LocalBindPort: 9001, Datacenter: 'dc1' }] }))).status, 200);
  });

  it('takes an upstream in another datacenter with its mesh gateway mode, and refuses an unknown mode naming it', async () => {
    const sidecar = (Proxy: object) => ({ Name: 'y', Port: 81, Connect: { SidecarService: { Proxy } } });
    const before = a.agent.store.currentIndex();
    const bad = await a.put('/v1/agent/service/register', sidecar({ Upstreams: [{ DestinationName: 'db', LocalBindPort: 9400, Datacenter: 'dc2', MeshGateway: { Mode: 'sideways' } }] }));
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /Upstreams\[0\]\.MeshGateway\.Mode/);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
    const body = sidecar({ MeshGateway: { Mode: 'local' }, Upstreams: [{ DestinationName: 'db', LocalBindPort: 9400, Datacenter: 'dc2', MeshGateway: { Mode: 'remote' } }] });
    assert.equal((await a.put('/v1/agent/service/register', body)).status, 200);
    const stored = (await a.get('/v1/agent/service/y-sidecar-proxy')).json as { Proxy: { MeshGateway: unknown; Upstreams: { Datacenter: string; MeshGateway: unknown }[] } };
    assert.deepEqual(stored.Proxy.MeshGateway, { Mode: 'local' });
    assert.deepEqual(stored.Proxy.Upstreams[0], { DestinationName: 'db', LocalBindPort: 9400, Datacenter: 'dc2', MeshGateway: { Mode: 'remote' } });
  });

  it('rejects HTTP checks the probe cannot send: a non-http(s) URL, a bad method or header name', async () => {
    const before = a.agent.store.currentIndex();
    const cases: [unknown, RegExp][] = [
      [{ Name: 'x', Check: { HTTP: 'ftp://127.0.0.1/x', Interval: '10s' } }, /Check\.HTTP: must be an http\(s\) URL/],
      [{ Name: 'x', Check: { HTTP: 'file:///etc/passwd', Interval: '10s' } }, /Check\.HTTP: must be an http\(s\) URL/],
      [{ Name: 'x', Check: { HTTP: 'http://127.0.0.1/', Interval: '10s', Method: 'GET POST' } }, /Check\.Method: must be an HTTP method token/],
      [{ Name: 'x', Check: { HTTP: 'http://127.0.0.1/', Interval: '10s', Header: { 'bad header': ['v'] } } }, /Check\.Header\.bad header: must be an HTTP header name/],
      [{ Name: 'x', Check: { TCP: '127.0.0.1:99999', Interval: '10s' } }, /Check\.TCP: must be host:port with a port up to 65535/],
      [{ Name: 'x', Check: { GRPC: '127.0.0.1:70000/svc', Interval: '10s' } }, /Check\.GRPC: must be host:port or host:port\/service with a port up to 65535/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('refuses a sidecar whose ID is its own service\'s ID, which would replace the service', async () => {
    const before = a.agent.store.currentIndex();
    const r = await a.put('/v1/agent/service/register', { Name: 'self', Port: 9000, Check: { TTL: '30s' }, Connect: { SidecarService: { ID: 'self' } } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /Connect\.SidecarService\.ID: "self" is the ID of the service itself/);
    assert.equal((await a.get('/v1/agent/service/self')).status, 404);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('refuses two checks with one ID in a registration, which would keep only the last', async () => {
    const before = a.agent.store.currentIndex();
    const cases: [unknown, RegExp][] = [
      [{ Name: 'twice', Checks: [{ CheckID: 'c1', TTL: '30s' }, { CheckID: 'c1', TTL: '10s' }] }, /Checks\[1\]\.CheckID: "c1" is already the ID of another check/],
      [{ Name: 'twice', Checks: [{ ID: 'c1', TTL: '30s' }, { CheckID: 'c1', TTL: '10s' }] }, /Checks\[1\]\.CheckID: "c1" is already the ID of another check/],
      [{ Name: 'twice', Check: { CheckID: 'c1', TTL: '30s' }, Connect: { SidecarService: { Check: { CheckID: 'c1', TTL: '10s' } } } }, /Connect\.SidecarService\.Check\.CheckID: "c1" is already the ID of another check/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal((await a.get('/v1/agent/service/twice')).status, 404);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('refuses a body that is not valid UTF-8 instead of storing replacement characters', async () => {
    const before = a.agent.store.currentIndex();
    const body = Buffer.concat([Buffer.from('{"Name":"bytes","Tags":["a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"]}')]);
    const res = await fetch(`${a.base}/v1/agent/service/register`, { method: 'PUT', body });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Request decode failed: .*not valid UTF-8/);
    assert.equal((await a.get('/v1/agent/service/bytes')).status, 404);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('refuses a "__proto__" key, which validation would otherwise drop without a word', async () => {
    const before = a.agent.store.currentIndex();
    const r = await a.put('/v1/agent/service/register', '{"Name":"proto","Meta":{"__proto__":"x","env":"prod"}}');
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /Request decode failed: Meta\.__proto__: cannot be used as a key/);
    assert.equal((await a.get('/v1/agent/service/proto')).status, 404);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('reports both problems when a body has two', async () => {
    const r = await a.put('/v1/agent/service/register', { Name: 'x', Port: -1, Meta: { a: 1 } });
    assert.equal(r.status, 400);
    assert.match(r.text, /Port: must be between 0 and 65535/);
    assert.match(r.text, /Meta\.a: /);
  });

  it('updates TTL checks with pass, warn and fail', async () => {
    await a.put('/v1/agent/service/register', { Name: 'ttl', Port: 1, Check: { TTL: '60s' } });
    for (const [verb, status] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
      const r = await a.put(`/v1/agent/check/${verb}/service:ttl?note=${verb}-note`);
      assert.equal(r.status, 200, r.text);
      const health = (await a.get('/v1/health/service/ttl')).json as { Checks: { Status: string; Output: string; ServiceID: string }[] }[];
      const own = health[0]?.Checks.find((c) => c.ServiceID !== '');
      assert.equal(own?.Status, status);
      assert.equal(own?.Output, `${verb}-note`);
    }
    const unknown = await a.put('/v1/agent/check/pass/nope');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /Unknown check ID "nope"/);
  });

  it('lists the agent\'s checks and updates one with a status and output', async () => {
    await a.put('/v1/agent/service/register', { Name: 'upd', Port: 1, Check: { CheckID: 'upd-ttl', TTL: '60s', Notes: 'n' } });
    const r = await a.put('/v1/agent/check/update/upd-ttl', { Status: 'warning', Output: 'slow' });
    assert.equal(r.status, 200, r.text);
    const checks = (await a.get('/v1/agent/checks')).json as Record<string, { Status: string; Output: string; ServiceID: string; Notes: string }>;
    assert.deepEqual(checks['upd-ttl'] && [checks['upd-ttl'].Status, checks['upd-ttl'].Output, checks['upd-ttl'].ServiceID, checks['upd-ttl'].Notes], ['warning', 'slow', 'upd', 'n']);
    const bad = await a.put('/v1/agent/check/update/upd-ttl', { Status: 'fine' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Status: Invalid option/);
  });

  it('refuses status updates for checks the agent runs itself (HTTP, TCP, gRPC), as Consul does', async () => {
    await a.put('/v1/agent/service/register', { Name: 'probed', Port: 1, Check: { CheckID: 'probed-tcp', TCP: '127.0.0.1:1', Interval: '1h' } });
    const checkOf = async () => ((await a.get('/v1/agent/checks')).json as Record<string, { Status: string; Output: string }>)['probed-tcp'];
    await waitFor('the TCP probe to report', async () => (await checkOf())?.Output !== '');
    const before = a.agent.store.currentIndex();
    for (const [path, body] of [['/v1/agent/check/pass/probed-tcp', undefined], ['/v1/agent/check/update/probed-tcp', { Status: 'passing', Output: 'fine' }]] as const) {
      const r = await a.put(path, body);
      assert.equal(r.status, 400, `${path} -> ${r.status} ${r.text}`);
      assert.match(r.text, /CheckID: "probed-tcp" is a tcp check/);
    }
    assert.equal((await checkOf())?.Status, 'critical', 'the probe\'s status stands');
    assert.deepEqual((await a.get('/v1/health/service/probed?passing')).json, []);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  });

  it('deregisters a service together with its sidecar and checks', async () => {
    await a.put('/v1/agent/service/register', { Name: 'gone', Port: 1, Check: { TTL: '10s' }, Connect: { SidecarService: {} } });
    const r = await a.put('/v1/agent/service/deregister/gone');
    assert.equal(r.status, 200, r.text);
    const services = (await a.get('/v1/agent/services')).json as Record<string, unknown>;
    assert.equal(services.gone, undefined);
    assert.equal(services['gone-sidecar-proxy'], undefined);
    assert.deepEqual((await a.get('/v1/health/service/gone')).json, []);
    const missing = await a.put('/v1/agent/service/deregister/gone');
    assert.equal(missing.status, 404);
  });
});
