// Consul's own CLI (v1.14.11, built from its sources by scripts/consul-cli.mjs) pointed at a real
// Switchyard agent with CONSUL_HTTP_ADDR, as an operator would: services, catalog, config entries
// of every kind (HCL and JSON), intentions, the CA configuration, `connect envoy -bootstrap`
// (whose bootstrap a real Envoy then runs on), `watch` and `members` do what they do against
// Consul. Each command's effect is checked through the HTTP API, not only its exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';
import { EnvoyProcess } from '../support/envoy.js';
import { freePort, waitFor } from '../support/wait.js';

const REPO = new URL('../../../', import.meta.url).pathname;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("Consul's CLI against Switchyard", () => {
  let agent: AgentProcess;
  let bin: string;
  let dir: string;

  before(async () => {
    const script = (await import(join(REPO, 'scripts/consul-cli.mjs'))) as { buildConsulCli(): string };
    bin = script.buildConsulCli();
    dir = mkdtempSync(join(tmpdir(), 'sy-consul-cli-'));
    agent = await AgentProcess.start();
  });
  after(async () => {
    await agent?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `consul ARGS` with CONSUL_HTTP_ADDR naming the agent (no -http-addr flag). */
  function consul(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(bin, args, { env: { ...process.env, CONSUL_HTTP_ADDR: agent.httpAddr }, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(...args: string[]): Promise<string> {
    const r = await consul(...args);
    assert.equal(r.code, 0, `consul ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  const get = async <T>(path: string): Promise<T> => (await agent.api.get(path)) as T;

  it('services register (HCL and JSON, with a sidecar) and deregister', async () => {
    const hcl = file('web.hcl', 'service {\n  name = "web"\n  id = "web"\n  port = 8080\n  connect { sidecar_service {} }\n}\n');
    const json = file('api.json', JSON.stringify({ service: { name: 'api', id: 'api', port: 9090, connect: { sidecar_service: { proxy: { upstreams: [{ destination_name: 'web', local_bind_port: 9191 }] } } } } }));
    assert.match(await ok('services', 'register', hcl), /Registered service: web/);
    assert.match(await ok('services', 'register', json), /Registered service: api/);
    assert.match(await ok('services', 'register', '-name=scratch', '-port=7000'), /Registered service: scratch/);
    const services = await get<Record<string, { Service: string; Kind?: string; Proxy?: { Upstreams?: { DestinationName: string; LocalBindPort: number }[] } }>>('/v1/agent/services');
    assert.deepEqual(Object.keys(services).sort(), ['api', 'api-sidecar-proxy', 'scratch', 'web', 'web-sidecar-proxy']);
    assert.equal(services['api-sidecar-proxy']?.Kind, 'connect-proxy');
    assert.deepEqual(services['api-sidecar-proxy']?.Proxy?.Upstreams?.map((u) => [u.DestinationName, u.LocalBindPort]), [['web', 9191]]);

    assert.match(await ok('services', 'deregister', '-id=scratch'), /Deregistered service: scratch/);
    assert.equal((await get<Record<string, unknown>>('/v1/agent/services')).scratch, undefined);
  });

  it('catalog services, nodes and datacenters; members', async () => {
    const services = await ok('catalog', 'services');
    for (const name of ['api', 'api-sidecar-proxy', 'web', 'web-sidecar-proxy']) assert.match(services, new RegExp(`^${name}$`, 'm'));
    assert.match(await ok('catalog', 'nodes'), /^e2e\s+[0-9a-f]{8}\s+127\.0\.0\.1\s+dc1\s*$/m);
    assert.match(await ok('catalog', 'nodes', '-service=web'), /^e2e\s/m);
    assert.equal((await ok('catalog', 'datacenters')).trim(), 'dc1');
    assert.match(await ok('members'), /^e2e\s+127\.0\.0\.1:\d+\s+alive\s+server\s/m);
  });

  const ENTRIES: readonly { readonly kind: string; readonly name: string; readonly file: string; readonly text: string; readonly expect: Record<string, unknown> }[] = [
    { kind: 'service-defaults', name: 'web', file: 'sd.hcl', text: 'Kind = "service-defaults"\nName = "web"\nProtocol = "http"\n', expect: { Protocol: 'http' } },
    { kind: 'proxy-defaults', name: 'global', file: 'pd.json', text: JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: { local_connect_timeout_ms: 2000 } }), expect: { Config: { local_connect_timeout_ms: 2000 } } },
    { kind: 'service-resolver', name: 'web', file: 'resolver.hcl', text: 'Kind = "service-resolver"\nName = "web"\nConnectTimeout = "5s"\nSubsets = { v1 = { Filter = "Service.Meta.version == v1" } }\n', expect: { ConnectTimeout: '5s' } },
    { kind: 'service-splitter', name: 'web', file: 'splitter.json', text: JSON.stringify({ Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 100, ServiceSubset: 'v1' }] }), expect: { Splits: [{ Weight: 100, ServiceSubset: 'v1' }] } },
    { kind: 'service-router', name: 'web', file: 'router.hcl', text: 'Kind = "service-router"\nName = "web"\nRoutes = [ { Match { HTTP { PathPrefix = "/admin" } }, Destination { Service = "web" } } ]\n', expect: { Routes: [{ Match: { HTTP: { PathPrefix: '/admin' } }, Destination: { Service: 'web' } }] } },
    { kind: 'service-intentions', name: 'web', file: 'ixn.hcl', text: 'Kind = "service-intentions"\nName = "web"\nSources = [ { Name = "api", Action = "allow" } ]\n', expect: { Sources: [{ Name: 'api', Action: 'allow' }] } },
    { kind: 'mesh', name: 'mesh', file: 'mesh.hcl', text: 'Kind = "mesh"\nTransparentProxy { MeshDestinationsOnly = true }\n', expect: { TransparentProxy: { MeshDestinationsOnly: true } } },
    { kind: 'ingress-gateway', name: 'ingress', file: 'ingress.json', text: JSON.stringify({ Kind: 'ingress-gateway', Name: 'ingress', Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: 'web' }] }] }), expect: { Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: 'web' }] }] } },
    { kind: 'terminating-gateway', name: 'term', file: 'term.hcl', text: 'Kind = "terminating-gateway"\nName = "term"\nServices = [ { Name = "legacy" } ]\n', expect: { Services: [{ Name: 'legacy' }] } },
  ];

  /** Whether `want`'s fields are all in `got` (objects by key, arrays element by element). */
  function contains(got: unknown, want: unknown): boolean {
    if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((w, i) => contains(got[i], w));
    if (want && typeof want === 'object') return !!got && typeof got === 'object' && Object.entries(want).every(([k, v]) => contains((got as Record<string, unknown>)[k], v));
    return got === want;
  }

  it('config write, read, list and delete for every kind, HCL and JSON', async () => {
    for (const e of ENTRIES) {
      assert.match(await ok('config', 'write', file(e.file, e.text)), new RegExp(`Config entry written: ${e.kind}/${e.name}`), e.kind);
      const stored = await get<Record<string, unknown>>(`/v1/config/${e.kind}/${e.name}`);
      assert.ok(contains(stored, e.expect), `${e.kind} as stored: ${JSON.stringify(stored)}`);
      const read = JSON.parse(await ok('config', 'read', '-kind', e.kind, '-name', e.name)) as Record<string, unknown>;
      assert.equal(read.Kind, e.kind);
      assert.ok(contains(read, e.expect), `${e.kind} as read by the CLI: ${JSON.stringify(read)}`);
      assert.match(await ok('config', 'list', '-kind', e.kind), new RegExp(`^${e.name}$`, 'm'));
    }
    // Deleting in the reverse order of the graph: a router before the splitter and resolver it uses.
    for (const e of [...ENTRIES].reverse().filter((x) => x.kind !== 'service-intentions')) {
      assert.match(await ok('config', 'delete', '-kind', e.kind, '-name', e.name), /Config entry deleted/, e.kind);
      assert.equal((await consul('config', 'read', '-kind', e.kind, '-name', e.name)).code, 1, `${e.kind} is gone`);
    }
  });

  it('config write of a bad entry fails naming the field, and stores nothing', async () => {
    const r = await consul('config', 'write', file('bad.hcl', 'Kind = "service-defaults"\nName = "web"\nMode = "sideways"\n'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Unexpected response code: 400 \(.*Mode/);
    assert.equal((await consul('config', 'read', '-kind', 'service-defaults', '-name', 'web')).code, 1);
  });

  it('intention create, get, check, list, match, -replace and delete', async () => {
    assert.match(await ok('intention', 'check', 'api', 'web'), /Allowed/, 'the service-intentions entry above allows it');
    assert.match(await ok('intention', 'create', '-deny', 'scratch', 'web'), /Created: scratch => web \(deny\)/);
    const dup = await consul('intention', 'create', '-allow', 'scratch', 'web');
    assert.equal(dup.code, 1, 'create refuses to overwrite without -replace');
    assert.match(dup.stderr, /duplicate intention/);
    const check = await consul('intention', 'check', 'scratch', 'web');
    assert.deepEqual([check.code, check.stdout.trim()], [1, 'Denied'], 'Consul exits 1 when denied (2 on an error)');

    const got = await ok('intention', 'get', 'scratch', 'web');
    assert.match(got, /Source:\s+scratch/);
    assert.match(got, /Action:\s+deny/);
    assert.match(got, /Created At:\s+\w+, \d\d-\w+-\d\d/);
    assert.doesNotMatch(got, /01-Jan-01/, 'a creation time, not the zero time');
    const list = await ok('intention', 'list');
    assert.match(list, /scratch\s+deny\s+web/);
    assert.match(list, /api\s+allow\s+web/);
    assert.match(await ok('intention', 'match', 'web'), /scratch => web \(deny\)/);
    assert.match(await ok('intention', 'match', '-source', 'scratch'), /scratch => web \(deny\)/);

    await ok('intention', 'create', '-replace', '-allow', 'scratch', 'web');
    assert.match(await ok('intention', 'check', 'scratch', 'web'), /Allowed/);
    assert.match(await ok('intention', 'delete', 'scratch', 'web'), /Intention deleted/);
    assert.equal((await consul('intention', 'get', 'scratch', 'web')).code, 1);
  });

  it('connect ca get-config and set-config', async () => {
    const before = JSON.parse(await ok('connect', 'ca', 'get-config')) as { Provider: string; Config: Record<string, unknown> };
    assert.equal(before.Provider, 'consul');
    const config = file('ca.json', JSON.stringify({ Provider: 'consul', Config: { LeafCertTTL: '48h', PrivateKeyType: before.Config.PrivateKeyType, PrivateKeyBits: before.Config.PrivateKeyBits } }));
    assert.match(await ok('connect', 'ca', 'set-config', '-config-file', config), /Configuration updated!/);
    const afterSet = JSON.parse(await ok('connect', 'ca', 'get-config')) as { Config: Record<string, unknown> };
    assert.equal(afterSet.Config.LeafCertTTL, '48h');
    const bad = await consul('connect', 'ca', 'set-config', '-config-file', file('bad-ca.json', JSON.stringify({ Provider: 'consul', Config: { LeafCertTTL: 'soon' } })));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /LeafCertTTL/);
  });

  it('connect envoy -bootstrap -sidecar-for, without -grpc-addr: a real Envoy runs on it and gets its config and leaf', async () => {
    const out = await ok('connect', 'envoy', '-bootstrap', '-sidecar-for', 'web', '-admin-bind', `127.0.0.1:${await freePort()}`);
    const bootstrap = JSON.parse(out) as Record<string, unknown>;
    assert.match(out, new RegExp(`"port_value": ${agent.grpcPort}\\b`), "the xDS port from the agent's self endpoint");
    const envoy = await EnvoyProcess.start(bootstrap, { logLevel: 'warn' });
    try {
      await waitFor("the web sidecar's public listener and leaf from Switchyard", async () => {
        const listeners = await envoy.admin('/listeners');
        const certs = await envoy.admin('/certs');
        return /public_listener/.test(listeners) && /svc\/web"/.test(certs);
      }, { timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      await envoy.stop();
    }
  });

  it('watch prints the current services and nodes', async () => {
    const services = JSON.parse(await ok('watch', '-type=services')) as Record<string, string[]>;
    assert.ok('web' in services && 'api-sidecar-proxy' in services, JSON.stringify(services));
    const web = JSON.parse(await ok('watch', '-type=service', '-service=web')) as { Service: { ID: string } }[];
    assert.deepEqual(web.map((e) => e.Service.ID), ['web']);
    const nodes = JSON.parse(await ok('watch', '-type=nodes')) as { Node: string }[];
    assert.deepEqual(nodes.map((n) => n.Node), ['e2e']);
  });
});
