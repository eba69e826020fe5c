// Registrations are checked strictly, as config entries are (issue 14 item 1): a field Consul's
// structs do not have is a 400 naming it with its path, and nothing is stored; every field they
// do have is taken, in any case, in snake_case in service definitions, null as absent; the fields
// Switchyard does not act on are ignored (consul-fields.ts lists them), or refused when set when
// ignoring them would register something that does not work as asked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

describe('registration fields', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(async () => a?.close());

  /** A write refused with 400 and the given pattern, storing nothing. */
  async function refused(path: string, body: unknown, pattern: RegExp): Promise<void> {
    const before = a.agent.store.currentIndex();
    const r = await a.put(path, body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, pattern);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
  }

  it('refuses an unknown top-level field of a service registration, naming it', async () => {
    await refused('/v1/agent/service/register', { Name: 'web', Port: 80, Colour: 'blue' }, /invalid service registration: Colour: unknown field/);
    assert.equal((await a.get('/v1/agent/service/web')).status, 404);
  });

  it('refuses an unknown nested field with its path (a sidecar\'s proxy, an upstream, a check)', async () => {
    await refused('/v1/agent/service/register', { Name: 'web', Port: 80, Connect: { SidecarService: { Proxy: { Foo: 1 } } } }, /Connect\.SidecarService\.Proxy\.Foo: unknown field/);
    await refused('/v1/agent/service/register', { Name: 'web', Port: 80, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191, Bind: 1 }] } } } }, /Connect\.SidecarService\.Proxy\.Upstreams\[0\]\.Bind: unknown field/);
    await refused('/v1/agent/service/register', { Name: 'web', Port: 80, Checks: [{ TTL: '10s', Threshold: 3 }] }, /Checks\[0\]\.Threshold: unknown field/);
    await refused('/v1/agent/check/register', { Name: 'disk', TTL: '10s', Severity: 'high' }, /invalid check registration: Severity: unknown field/);
    await refused('/v1/catalog/register', { Node: 'ext', Address: '192.0.2.9', Service: { Service: 'ext', Port: 80, Owner: 'x' } }, /Service\.Owner: unknown field/);
    await refused('/v1/catalog/register', { Node: 'ext', Address: '192.0.2.9', Checks: [{ Name: 'up', Status: 'passing', Definition: { HTTP: 'http://x', Retries: 2 } }] }, /Checks\[0\]\.Definition\.Retries: unknown field/);
    await refused('/v1/catalog/register', { Node: 'ext', Address: '192.0.2.9', Zone: 'a' }, /invalid catalog registration: Zone: unknown field/);
    await refused('/v1/catalog/deregister', { Node: 'ext', Reason: 'x' }, /Reason: unknown field/);
  });

  it('takes snake_case fields in a service definition, in nested objects too', async () => {
    const body = {
      name: 'api',
      port: 8081,
      enable_tag_override: true,
      tagged_addresses: { lan: { address: '10.0.0.1', port: 8081 } },
      connect: { sidecar_service: { port: 21081, proxy: { local_service_port: 8081, upstreams: [{ destination_name: 'db', local_bind_port: 9292 }] }, checks: [{ tcp: '127.0.0.1:21081', interval: '10s', deregister_critical_service_after: '1m' }] } },
    };
    const r = await a.put('/v1/agent/service/register', body);
    assert.equal(r.status, 200, r.text);
    const svc = (await a.get('/v1/agent/service/api')).json as { EnableTagOverride: boolean; TaggedAddresses: Record<string, { Address: string }> };
    assert.equal(svc.EnableTagOverride, true);
    assert.equal(svc.TaggedAddresses.lan?.Address, '10.0.0.1');
    const sidecar = (await a.get('/v1/agent/service/api-sidecar-proxy')).json as { Port: number; Proxy: { LocalServicePort: number; Upstreams: { DestinationName: string; LocalBindPort: number }[] } };
    assert.equal(sidecar.Port, 21081);
    assert.deepEqual(sidecar.Proxy.Upstreams.map((u) => [u.DestinationName, u.LocalBindPort]), [['db', 9292]]);
  });

  it("takes real fields Switchyard does not act on (Weights, Token, a check's thresholds, ParsedFromCheck) and registers the service", async () => {
    const body = {
      Name: 'billing',
      Port: 9000,
      Weights: { Passing: 3, Warning: 1 },
      Token: 'not-the-request-token',
      Partition: 'default',
      Check: { HTTP: 'http://127.0.0.1:9000/health', Interval: '10s', TLSServerName: 'billing', SuccessBeforePassing: 2, FailuresBeforeCritical: 3, OutputMaxSize: 1024 },
      Connect: { SidecarService: { Proxy: { Expose: { Paths: [{ ListenerPort: 21500, Path: '/metrics', LocalPathPort: 9000, ParsedFromCheck: false }] }, Upstreams: [{ DestinationName: 'db', LocalBindPort: 9393, CentrallyConfigured: false }] } } },
    };
    const r = await a.put('/v1/agent/service/register', body);
    assert.equal(r.status, 200, r.text);
    assert.equal((await a.get('/v1/agent/service/billing')).status, 200);
    assert.equal((await a.get('/v1/agent/service/billing-sidecar-proxy')).status, 200);
    const checks = (await a.get('/v1/agent/checks')).json as Record<string, { ServiceID: string }>;
    assert.ok(Object.values(checks).some((c) => c.ServiceID === 'billing'), 'its check is registered');
  });

  it('refuses a real field of a feature not built when it is set, saying so, and takes its zero value', async () => {
    await refused('/v1/agent/service/register', { Name: 'sock', SocketPath: '/tmp/sock.sock' }, /SocketPath: is not supported: services and upstreams on unix sockets are not built/);
    await refused('/v1/agent/check/register', { Name: 'alias', AliasService: 'web' }, /AliasService: is not supported: alias checks are not built/);
    const sidecar = (proxy: Record<string, unknown>) => ({ Name: 'tp', Port: 80, Connect: { SidecarService: { Proxy: proxy } } });
    await refused('/v1/agent/service/register', sidecar({ TransparentProxy: { OutboundListenerPort: 15001 } }), /Proxy\.TransparentProxy: is not supported: transparent proxying is not built/);
    const zeroProxy = await a.put('/v1/agent/service/register', sidecar({ TransparentProxy: { OutboundListenerPort: 0, DialedDirectly: false }, Expose: { Checks: false } }));
    assert.equal(zeroProxy.status, 200, zeroProxy.text);
    const zero = await a.put('/v1/agent/service/register', { Name: 'zero', Port: 1, SocketPath: '', Ports: null, Check: { TTL: '10s', ScriptArgs: null, UDP: '' } });
    assert.equal(zero.status, 200, zero.text);
  });

  it('takes Expose.Checks and gives the registration back as sent: Checks true and only the listed paths (the check paths are not stored)', async () => {
    const path = { LocalPathPort: 8080, ListenerPort: 21500, Path: '/metrics', Protocol: 'http2', ParsedFromCheck: false };
    const reg = { Kind: 'connect-proxy', Name: 'expose-proxy', Address: '10.1.2.3', Port: 8443, Proxy: { DestinationServiceName: 'expose', Expose: { Checks: true, Paths: [path] } } };
    const r = await a.put('/v1/agent/service/register', reg);
    assert.equal(r.status, 200, r.text);
    await a.put('/v1/agent/service/register', { Name: 'expose', Port: 8080, Check: { HTTP: 'http://127.0.0.1:8080/health', Interval: '10s' } });
    const svc = (await a.get('/v1/agent/service/expose-proxy')).json as { Proxy: { Expose: { Checks: boolean; Paths: unknown[] } } };
    assert.equal(svc.Proxy.Expose.Checks, true);
    assert.deepEqual(svc.Proxy.Expose.Paths, [path]);
    const sidecar = await a.put('/v1/agent/service/register', { Name: 'checked', Port: 80, Connect: { SidecarService: { Proxy: { Expose: { Checks: true } } } } });
    assert.equal(sidecar.status, 200, sidecar.text);
    const back = (await a.get('/v1/agent/service/checked-sidecar-proxy')).json as { Proxy: { Expose: { Checks: boolean; Paths?: unknown[] } } };
    assert.equal(back.Proxy.Expose.Checks, true);
    assert.deepEqual(back.Proxy.Expose.Paths ?? [], []);
    await refused('/v1/agent/service/register', { ...reg, Proxy: { ...reg.Proxy, Expose: { Checks: 'yes' } } }, /Proxy\.Expose\.Checks: Invalid input: expected boolean/);
  });

  it("takes a catalog registration as Consul's Go client sends it: an AgentService and checks with every zero value", async () => {
    const definition = { HTTP: '', Header: null, Method: '', Body: '', TLSServerName: '', TLSSkipVerify: false, TCP: '', TCPUseTLS: false, UDP: '', GRPC: '', OSService: '', GRPCUseTLS: false, Interval: '0s', Timeout: '0s', DeregisterCriticalServiceAfter: '0s' };
    const body = {
      ID: '',
      Node: 'external',
      Address: '192.0.2.10',
      TaggedAddresses: null,
      NodeMeta: null,
      Datacenter: '',
      Service: { ID: 'redis1', Service: 'redis', Tags: null, Meta: null, Port: 6379, Address: '', Weights: { Passing: 0, Warning: 0 }, EnableTagOverride: false, CreateIndex: 0, ModifyIndex: 0, Datacenter: 'dc1' },
      Check: { Node: 'external', CheckID: 'service:redis1', Name: 'Redis health', Status: 'passing', Notes: '', Output: '', ServiceID: 'redis1', ServiceName: 'redis', Type: '', ExposedPort: 0, Definition: definition },
      Checks: null,
      SkipNodeUpdate: false,
    };
    const r = await a.put('/v1/catalog/register', body);
    assert.equal(r.status, 200, r.text);
    const nodes = (await a.get('/v1/catalog/service/redis')).json as { Node: string; ServicePort: number }[];
    assert.deepEqual(nodes.map((n) => [n.Node, n.ServicePort]), [['external', 6379]]);
  });
});
