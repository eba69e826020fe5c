// `switchyard connect envoy -gateway mesh` against a real agent process: -register registers the
// gateway through the agent API in Consul's shape and prints its bootstrap (or runs Envoy with
// it); without -register it finds a registered gateway; a bad flag is refused naming it, and
// nothing is registered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { AgentProcess, BIN } from '../support/agent-process.js';
import { spawnConnectEnvoy } from '../support/connect-envoy.js';
import { freePort, waitFor } from '../support/wait.js';

type Bootstrap = { node: { id: string; cluster: string }; admin: unknown; dynamicResources: { adsConfig: { apiType: string } } };
type Service = { Kind?: string; ID: string; Service: string; Address: string; Port: number; TaggedAddresses?: unknown; Proxy?: { Config?: unknown } };

/** A TEST-NET-2 address: never one of this host's, and never dialled (it is only registered). */
const PUBLIC_WAN = '198.51.100.7:443';

describe('switchyard connect envoy -gateway mesh', () => {
  let agent: AgentProcess;
  let lanPort: number;
  before(async () => {
    agent = await AgentProcess.start();
    lanPort = await freePort();
  });
  after(async () => agent?.dispose());

  const common = () => ['-http-addr', agent.httpAddr, '-grpc-addr', agent.grpcAddr];

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['connect', 'envoy', ...argv], { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} });
    return { code, out, err };
  }

  const services = () => agent.api.get<Record<string, Service>>('/v1/agent/services');

  it('registers the gateway through the agent API in Consul\'s shape and prints its bootstrap', async () => {
    const r = spawnSync(BIN, ['connect', 'envoy', '-gateway', 'mesh', '-register', '-service', 'gw-east', '-address', `127.0.0.1:${lanPort}`, '-wan-address', PUBLIC_WAN, '-admin-bind', '127.0.0.1:19500', '-bootstrap', ...common()], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const boot = JSON.parse(r.stdout) as Bootstrap; // stdout is the bootstrap alone
    assert.deepEqual(boot.node, { id: 'gw-east', cluster: 'gw-east' });
    assert.equal(boot.dynamicResources.adsConfig.apiType, 'DELTA_GRPC');
    assert.deepEqual(boot.admin, { address: { socketAddress: { address: '127.0.0.1', portValue: 19500 } } });

    const gw = (await services())['gw-east'] as Service;
    assert.deepEqual([gw.Kind, gw.ID, gw.Service, gw.Address, gw.Port], ['mesh-gateway', 'gw-east', 'gw-east', '127.0.0.1', lanPort]);
    const lan = { Address: '127.0.0.1', Port: lanPort };
    assert.deepEqual(gw.TaggedAddresses, { lan, wan: { Address: '198.51.100.7', Port: 443 }, lan_ipv4: lan, wan_ipv4: lan });
    assert.equal(gw.Proxy, undefined, 'the WAN address is not this host\'s: Envoy binds the service address');
    const checks = await agent.api.get<Record<string, { Name: string; Type: string; ServiceID: string; Definition: Record<string, unknown> }>>('/v1/agent/checks');
    const check = Object.values(checks).find((c) => c.ServiceID === 'gw-east');
    assert.deepEqual(check && [check.Name, check.Type, check.Definition.TCP, check.Definition.Interval, check.Definition.DeregisterCriticalServiceAfter], ['mesh-gateway listening', 'tcp', `127.0.0.1:${lanPort}`, '10s', '6h']);

    // Both addresses this host's own: listeners on the tagged addresses, none on the service address (as Consul).
    const west = await run('-gateway', 'mesh', '-register', '-service', 'gw-west', '-proxy-id', 'gw-west-1', '-address', `127.0.0.1:${lanPort + 1}`, '-wan-address', `[::1]:${lanPort + 2}`, '-deregister-after-critical', '90m', '-bootstrap', ...common());
    assert.equal(west.code, 0, west.err);
    assert.deepEqual((JSON.parse(west.out) as Bootstrap).node, { id: 'gw-west-1', cluster: 'gw-west' });
    const westSvc = (await services())['gw-west-1'] as Service;
    assert.deepEqual((westSvc.TaggedAddresses as Record<string, unknown>).wan, { Address: '::1', Port: lanPort + 2 });
    assert.deepEqual(westSvc.Proxy?.Config, { envoy_gateway_no_default_bind: true, envoy_gateway_bind_tagged_addresses: true });
  });

  it('finds a registered gateway without -register, by -service, -proxy-id or as the only one', async () => {
    const byName = await run('-gateway', 'mesh', '-service', 'gw-east', '-bootstrap', ...common());
    assert.equal(byName.code, 0, byName.err);
    assert.deepEqual((JSON.parse(byName.out) as Bootstrap).node, { id: 'gw-east', cluster: 'gw-east' });
    const byId = await run('-gateway', 'mesh', '-proxy-id', 'gw-west-1', '-bootstrap', ...common());
    assert.deepEqual((JSON.parse(byId.out) as Bootstrap).node, { id: 'gw-west-1', cluster: 'gw-west' });
    // The proxy-id path that sidecars use takes a gateway too.
    const plainId = await run('-proxy-id', 'gw-east', '-bootstrap', ...common());
    assert.deepEqual((JSON.parse(plainId.out) as Bootstrap).node, { id: 'gw-east', cluster: 'gw-east' });

    const several = await run('-gateway', 'mesh', '-bootstrap', ...common());
    assert.equal(several.code, 1);
    assert.match(several.err, /-gateway: several mesh-gateways are registered \(gw-east, gw-west-1\); pick one with -proxy-id/);
    const none = await run('-gateway', 'mesh', '-service', 'gw-nope', '-bootstrap', ...common());
    assert.match(none.err, /-service: no mesh-gateway named "gw-nope" is registered with this agent/);
    await agent.api.put('/v1/agent/service/register', { Name: 'web', Port: 8080 });
    const notGateway = await run('-gateway', 'mesh', '-proxy-id', 'web', '-bootstrap', ...common());
    assert.match(notGateway.err, /-proxy-id: service "web" is not a mesh-gateway/);
    const otherName = await run('-gateway', 'mesh', '-proxy-id', 'gw-east', '-service', 'gw-west', '-bootstrap', ...common());
    assert.match(otherName.err, /-service: the mesh-gateway "gw-east" is service "gw-east", not "gw-west"/);
    for (const r of [several, none, notGateway, otherName]) assert.equal(r.out, '', 'no bootstrap printed');
  });

  it("names the registered gateway mesh-gateway without -service, as Consul does", async () => {
    const r = await run('-gateway', 'mesh', '-register', '-address', `127.0.0.1:${lanPort + 4}`, '-bootstrap', ...common());
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as Bootstrap).node, { id: 'mesh-gateway', cluster: 'mesh-gateway' });
    const gw = (await services())['mesh-gateway'] as Service;
    assert.deepEqual([gw.Kind, gw.Service, gw.Port], ['mesh-gateway', 'mesh-gateway', lanPort + 4]);
    await agent.api.put('/v1/agent/service/deregister/mesh-gateway', {});
  });

  it('registers a terminating gateway named terminating-gateway without -service, as Consul does', async () => {
    const r = await run('-gateway', 'terminating', '-register', '-address', `127.0.0.1:${lanPort + 5}`, '-bootstrap', ...common());
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as Bootstrap).node, { id: 'terminating-gateway', cluster: 'terminating-gateway' });
    const gw = (await services())['terminating-gateway'] as Service;
    assert.deepEqual([gw.Kind, gw.Service, gw.Address, gw.Port], ['terminating-gateway', 'terminating-gateway', '127.0.0.1', lanPort + 5]);
    // Without -register it finds the registered one, and refuses to take a mesh gateway for it.
    const found = await run('-gateway', 'terminating', '-bootstrap', ...common());
    assert.equal(found.code, 0, found.err);
    assert.deepEqual((JSON.parse(found.out) as Bootstrap).node, { id: 'terminating-gateway', cluster: 'terminating-gateway' });
    await agent.api.put('/v1/agent/service/deregister/terminating-gateway', {});
  });

  it('registers an ingress gateway as Consul does (Kind ingress-gateway, no check) and bootstraps it', async () => {
    const r = await run('-gateway', 'ingress', '-register', '-address', `0.0.0.0:${lanPort + 6}`, '-bootstrap', ...common());
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as Bootstrap).node, { id: 'ingress-gateway', cluster: 'ingress-gateway' });
    const gw = (await services())['ingress-gateway'] as Service;
    assert.deepEqual([gw.Kind, gw.Service, gw.Address, gw.Port], ['ingress-gateway', 'ingress-gateway', '0.0.0.0', lanPort + 6]);
    const checks = await agent.api.get<Record<string, unknown>>('/v1/agent/checks');
    assert.deepEqual(Object.values(checks).filter((c) => (c as { ServiceID: string }).ServiceID === 'ingress-gateway'), [], 'no check on a port nothing listens on');
    const again = await run('-gateway', 'ingress', '-bootstrap', ...common());
    assert.equal(again.code, 0, again.err);
    assert.equal((JSON.parse(again.out) as Bootstrap).node.id, 'ingress-gateway', 'found without -register');
    await agent.api.put('/v1/agent/service/deregister/ingress-gateway', {});
  });

  it('refuses bad flags with an error naming the flag, and registers nothing', async () => {
    const before = await services();
    const reg = (...extra: string[]) => ['-gateway', 'mesh', '-register', '-service', 'gw-bad', '-address', `127.0.0.1:${lanPort + 3}`, ...extra];
    const cases: [string[], RegExp][] = [
      [['-gateway', 'gateway', '-register', '-service', 'gw-bad', '-address', '127.0.0.1:8443'], /-gateway: must be one of "mesh", "terminating", "ingress" .*got "gateway"/],
      [['-gateway', 'api', '-register', '-service', 'gw-bad', '-address', '127.0.0.1:8443'], /-gateway: "api" gateways are not supported yet/],
      [['-register', '-service', 'gw-bad', '-address', '127.0.0.1:8443'], /-register: is only valid with -gateway/],
      [['-gateway', 'mesh', '-register', '-service', 'gw-bad'], /-address: is required with -register/],
      [['-gateway', 'mesh', '-register', '-service', 'gw bad', '-address', '127.0.0.1:8443'], /-service: must contain only letters.*got "gw bad"/],
      [reg().map((a) => (a.startsWith('127.0.0.1:') ? '127.0.0.1' : a)), /-address: must be IP:PORT .*got "127\.0\.0\.1"/],
      [reg().map((a) => (a.startsWith('127.0.0.1:') ? 'localhost:8443' : a)), /-address: must be IP:PORT .*got "localhost:8443"/],
      [reg().map((a) => (a.startsWith('127.0.0.1:') ? '127.0.0.1:0' : a)), /-address: the port must be between 1 and 65535/],
      [reg().map((a) => (a.startsWith('127.0.0.1:') ? '127.0.0.1:65536' : a)), /-address: the port must be between 1 and 65535/],
      [reg().map((a) => (a.startsWith('127.0.0.1:') ? '::1:8443' : a)), /-address: must be IP:PORT \(an IPv6 address in brackets\)/],
      [reg().map((a) => (a.startsWith('127.0.0.1:') ? PUBLIC_WAN : a)), /-address: 198\.51\.100\.7 is not an address of this host/],
      [reg('-wan-address', 'gw.example.com:443'), /-wan-address: must be IP:PORT/],
      [reg('-deregister-after-critical', 'soon'), /-deregister-after-critical: "soon" is not a duration/],
      [reg('-proxy-id', 'a/b'), /-proxy-id: must be a service ID/],
      [reg('-sidecar-for', 'web'), /-sidecar-for: cannot be combined with -gateway/],
      [reg('-admin-bind', 'nonsense'), /-admin-bind: must be ADDRESS:PORT/],
      [reg('-ads-mode', 'push'), /-ads-mode: must be delta or sotw/],
      [reg('-expose-servers'), /-expose-servers: unknown flag/],
      [['-gateway', 'mesh', '-service', 'gw-east', '-address', '127.0.0.1:8443'], /-address: is only valid with -register/],
      [['-sidecar-for', 'web', '-wan-address', PUBLIC_WAN], /-wan-address: is only valid with -gateway/],
      [['-gateway', 'ingress', '-register', '-service', 'gw-bad'], /-address: is required with -register/],
      [['-gateway', 'ingress', '-register', '-service', 'gw-bad', '-address', '127.0.0.1:8443', '-wan-address', PUBLIC_WAN], /-wan-address: is only valid with -gateway mesh/],
      [['-gateway', 'ingress', '-register', '-service', 'gw-bad', '-address', PUBLIC_WAN], /-address: 198\.51\.100\.7 is not an address of this host/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv, '-bootstrap', ...common());
      assert.equal(r.code, 1, `${argv.join(' ')}: ${r.out}`);
      assert.match(r.err, message, argv.join(' '));
      assert.equal(r.out, '', argv.join(' '));
    }
    assert.deepEqual(await services(), before, 'nothing was registered');
  });

  it('without -bootstrap runs Envoy with the gateway\'s bootstrap, and SIGTERM stops it', async () => {
    const admin = await freePort();
    const { cli, output, kill } = await spawnConnectEnvoy(['-gateway', 'mesh', '-register', '-service', 'gw-run', '-address', `127.0.0.1:${lanPort + 4}`, '-admin-bind', `127.0.0.1:${admin}`, ...common(), '--', '--log-level', 'warn']);
    try {
      const info = await waitFor('Envoy to serve its admin API with the gateway as its node', async () => {
        if (cli.exitCode !== null) throw new Error(`connect envoy exited: ${output()}`);
        const res = await fetch(`http://127.0.0.1:${admin}/server_info`).catch(() => undefined);
        return res?.ok ? ((await res.json()) as { node: { id: string; cluster: string } }) : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      assert.deepEqual([info.node.id, info.node.cluster], ['gw-run', 'gw-run']);
      assert.match(output(), /Registered service: gw-run/);
      assert.equal(((await services())['gw-run'] as Service).Kind, 'mesh-gateway');
      cli.kill('SIGTERM');
      await waitFor('connect envoy to exit on SIGTERM', () => cli.exitCode !== null || cli.signalCode !== null, { timeoutMs: 10_000 });
      await assert.rejects(fetch(`http://127.0.0.1:${admin}/ready`), 'Envoy is gone with the command');
    } finally {
      kill();
    }
  });
});
