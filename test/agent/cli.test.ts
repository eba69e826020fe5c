import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { main } from '../../src/cli/main.js';
import { TestAgent } from '../support/agent.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} });
  return { code, out, err };
}

describe('agent configuration', () => {
  it('applies defaults, then the config file, then flags', () => {
    const cfg = resolveConfig({ dev: true, node: 'n1' });
    assert.deepEqual([cfg.datacenter, cfg.bind, cfg.httpPort, cfg.grpcPort, cfg.dataDir, cfg.defaultIntentionPolicy], ['dc1', '127.0.0.1', 8500, 8502, undefined, 'allow']);
    const path = file('agent.json', { datacenter: 'east', node_name: 'fromfile', data_dir: '/tmp/x', ports: { http: 9500 }, default_intention_policy: 'deny' });
    const merged = resolveConfig({ 'config-file': path, 'http-port': 9600 });
    assert.deepEqual([merged.datacenter, merged.node, merged.dataDir, merged.httpPort, merged.defaultIntentionPolicy], ['east', 'fromfile', '/tmp/x', 9600, 'deny']);
  });

  it('rejects bad configuration naming the field', async () => {
    assert.throws(() => resolveConfig({}), /-data-dir: is required unless -dev is set/);
    assert.throws(() => resolveConfig({ dev: true, 'data-dir': '/x' }), /-dev: keeps state in memory/);
    assert.throws(() => resolveConfig({ 'config-file': file('bad.json', { ports: { http: 'x' }, colour: 1 }) }), /ports\.http: .*expected number.*colour: unknown field/);
    assert.throws(() => resolveConfig({ 'config-file': file('broken.json', '{') }), /-config-file: cannot read .* as JSON/);
    const r = await run('agent', '-dev', '-http-port', '99999');
    assert.equal(r.code, 1);
    assert.match(r.err, /-http-port: must be at most 65535/);
  });

  it("takes Expose.Checks' listener ports from ports.expose_min_port and expose_max_port (Consul's 21500-21755 by default)", () => {
    assert.deepEqual(resolveConfig({ dev: true }).exposeCheckPorts, { min: 21500, max: 21755 });
    const path = file('expose-ports.json', { ports: { expose_min_port: 30000, expose_max_port: 30009 } });
    assert.deepEqual(resolveConfig({ dev: true, 'config-file': path }).exposeCheckPorts, { min: 30000, max: 30009 });
    assert.throws(() => resolveConfig({ dev: true, 'config-file': file('expose-ports-bad.json', { ports: { expose_min_port: 30000, expose_max_port: 29999 } }) }), /ports\.expose_max_port: must not be below expose_min_port \(30000\)/);
    assert.throws(() => resolveConfig({ dev: true, 'config-file': file('expose-ports-zero.json', { ports: { expose_min_port: 0 } }) }), /ports\.expose_min_port: must be between 1 and 65535/);
  });
});

describe('client commands', () => {
  let a: TestAgent;
  let addr: string;
  before(async () => {
    a = await TestAgent.start();
    addr = a.agent.httpAddress;
  });
  after(() => a.close());

  it('services register and deregister', async () => {
    const reg = await run('services', 'register', '-http-addr', addr, file('web.json', { Name: 'web', Port: 80, Connect: { SidecarService: {} } }));
    assert.equal(reg.code, 0, reg.err);
    assert.match(reg.out, /Registered service: web/);
    assert.ok(a.catalog.store.read((tx) => tx.get('services', 'node1/web-sidecar-proxy')));
    const bad = await run('services', 'register', '-http-addr', addr, file('bad.json', { Name: 'web', Port: 'x' }));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /400: invalid service registration: Port: /);
    const unknown = await run('services', 'register', '-http-addr', addr, file('unknown.json', { Name: 'web', Port: 80, Connect: { SidecarService: { Proxy: { Upstream: [] } } } }));
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /400: invalid service registration: Connect\.SidecarService\.Proxy\.Upstream: unknown field/);
    const dereg = await run('services', 'deregister', '-http-addr', addr, 'web');
    assert.equal(dereg.code, 0, dereg.err);
    // Only the server's own `consul` service is left, as in Consul's catalog.
    assert.deepEqual(a.catalog.store.read((tx) => tx.list('services').map((r) => r.key)), ['node1/consul']);
  });

  it('config write, read, list and delete', async () => {
    const w = await run('config', 'write', '-http-addr', addr, file('sd.json', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }));
    assert.equal(w.code, 0, w.err);
    const r = await run('config', 'read', '-http-addr', addr, '-kind', 'service-defaults', '-name', 'web');
    assert.equal((JSON.parse(r.out) as { Protocol: string }).Protocol, 'http');
    assert.equal((await run('config', 'list', '-http-addr', addr, '-kind', 'service-defaults')).out, 'web\n');
    assert.equal((await run('config', 'delete', '-http-addr', addr, '-kind', 'service-defaults', '-name', 'web')).code, 0);
    const missing = await run('config', 'read', '-http-addr', addr, '-kind', 'service-defaults', '-name', 'web');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /404: Config entry not found/);
    const noKind = await run('config', 'list', '-http-addr', addr);
    assert.match(noKind.err, /-kind: is required/);
  });

  it('intention create and check', async () => {
    assert.equal((await run('intention', 'create', '-http-addr', addr, '-deny', 'web', 'db')).code, 0);
    const denied = await run('intention', 'check', '-http-addr', addr, 'web', 'db');
    assert.deepEqual([denied.code, denied.out], [1, 'Denied\n'], "Consul's exit code for denied");
    assert.equal((await run('intention', 'create', '-http-addr', addr, '-replace', 'web', 'db')).code, 0);
    const allowed = await run('intention', 'check', '-http-addr', addr, 'web', 'db');
    assert.deepEqual([allowed.code, allowed.out], [0, 'Allowed\n']);
    const bad = await run('intention', 'create', '-http-addr', addr, 'web');
    assert.match(bad.err, /SRC DST: expected 2 argument/);
  });

  it('refuses flags named like members of every object (valueOf, constructor, __proto__) and does nothing', async () => {
    assert.equal((await a.put('/v1/config', { Kind: 'service-defaults', Name: 'kept', Protocol: 'http' })).status, 200);
    for (const flag of ['-valueOf', '-constructor', '-__proto__', '-toString=1']) {
      const r = await run('config', 'delete', '-kind', 'service-defaults', '-name', 'kept', flag, ...(flag.includes('=') ? [] : ['1']), '-http-addr', addr);
      assert.equal(r.code, 1, `${flag}: ${r.out}${r.err}`);
      assert.match(r.err, new RegExp(`${flag.split('=')[0]}: unknown flag`));
    }
    assert.equal((await a.get('/v1/config/service-defaults/kept')).status, 200, 'the entry is still there');
  });

  it('refuses arguments a command does not take (a flag missing its dash), and does nothing', async () => {
    assert.equal((await a.put('/v1/config', { Kind: 'service-defaults', Name: 'stays', Protocol: 'http' })).status, 200);
    const del = await run('config', 'delete', '-http-addr', addr, '-kind', 'service-defaults', 'name', 'stays');
    assert.equal(del.code, 1, del.out + del.err);
    assert.match(del.err, /"name": unexpected argument/);
    const cas = await run('config', 'delete', '-http-addr', addr, '-kind', 'service-defaults', '-name', 'stays', 'cas=0');
    assert.equal(cas.code, 1, cas.out + cas.err);
    assert.match(cas.err, /"cas=0": unexpected argument/);
    assert.equal((await a.get('/v1/config/service-defaults/stays')).status, 200, 'the entry is still there');
    const roots = await run('ca', 'roots', '-http-addr', addr, 'pem');
    assert.equal(roots.code, 1, roots.out + roots.err);
    assert.match(roots.err, /"pem": unexpected argument/);
    assert.equal(roots.out, '');
  });

  it('connect envoy -proxy-id refuses a service that is not a proxy or gateway', async () => {
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'plain', Port: 8080 })).status, 200);
    const r = await run('connect', 'envoy', '-proxy-id', 'plain', '-bootstrap', '-http-addr', addr);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /-proxy-id: service "plain" is not a proxy or gateway/);
    assert.equal(r.out, '', 'no bootstrap printed');
  });

  it('says clearly when the agent cannot be reached', async () => {
    const r = await run('intention', 'check', '-http-addr', '127.0.0.1:1', 'a', 'b');
    assert.equal(r.code, 2, 'an error, not a denial (1), as Consul tells them apart');
    assert.match(r.err, /cannot reach the agent at http:\/\/127\.0\.0\.1:1/);
  });

  it('takes the xDS stream limit from limits.xds_max_streams or -xds-max-streams (1 to 1,000,000, default 10,000)', async () => {
    assert.equal(resolveConfig({ dev: true }).xdsMaxStreams, 10_000);
    const path = file('xds-limits.json', { limits: { xds_max_streams: 20_000 } });
    assert.equal(resolveConfig({ dev: true, 'config-file': path }).xdsMaxStreams, 20_000);
    assert.equal(resolveConfig({ dev: true, 'config-file': path, 'xds-max-streams': 500 }).xdsMaxStreams, 500);
    assert.throws(() => resolveConfig({ dev: true, 'config-file': file('xds-limits-bad.json', { limits: { xds_max_streams: 0 } }) }), /limits\.xds_max_streams: must be at least 1/);
    assert.throws(() => resolveConfig({ dev: true, 'config-file': file('xds-limits-typo.json', { limits: { xds_max_stream: 5 } }) }), /limits\.xds_max_stream: unknown field/);
    const r = await run('agent', '-dev', '-xds-max-streams', '2000000');
    assert.equal(r.code, 1);
    assert.match(r.err, /-xds-max-streams: .*1000000/);
  });

  it('takes the shutdown grace period from shutdown_grace or -shutdown-grace (a duration, 0s to 10m)', async () => {
    assert.equal(resolveConfig({ dev: true }).shutdownGraceMs, 5000);
    const path = file('grace.json', { shutdown_grace: '1m30s' });
    assert.equal(resolveConfig({ dev: true, 'config-file': path }).shutdownGraceMs, 90_000);
    assert.equal(resolveConfig({ dev: true, 'config-file': path, 'shutdown-grace': '0s' }).shutdownGraceMs, 0);
    assert.throws(() => resolveConfig({ dev: true, 'config-file': file('grace-bad.json', { shutdown_grace: '1h' }) }), /shutdown_grace: must be a duration from 0s to 10m/);
    assert.throws(() => resolveConfig({ dev: true, 'shutdown-grace': 'soon' }), /-shutdown-grace: "soon" is not a duration/);
    const r = await run('agent', '-dev', '-shutdown-grace', '11m');
    assert.equal(r.code, 1);
    assert.match(r.err, /-shutdown-grace: must be at most 10m/);
  });
});
