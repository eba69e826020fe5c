// The operator's CLI against a real in-process agent (and one real agent process for the banner
// and logs): intention list/get/delete and create's refusal without -replace, catalog and
// members, Consul's `connect ca` spelling, CONSUL_HTTP_ADDR / SWITCHYARD_HTTP_ADDR, -help on
// command groups, -log-level, and connect envoy resolving host names to IPs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { main } from '../../src/cli/main.js';
import { BIN, killAgents, spawnAgent } from '../support/agent-process.js';
import { TestAgent } from '../support/agent.js';

describe('the operator CLI', () => {
  let agent: TestAgent;
  let env: Record<string, string>;
  const run = async (argv: string[], over: Record<string, string> = env) => {
    let out = '';
    let err = '';
    const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: over });
    return { code, out, err };
  };

  before(async () => {
    agent = await TestAgent.start({ node: 'op-node' });
    env = { CONSUL_HTTP_ADDR: `http://${agent.agent.httpAddress}` };
  });
  after(async () => {
    killAgents();
    await agent.close();
  });

  it('intention create refuses to overwrite without -replace; get, list and delete as Consul prints them', async () => {
    assert.equal((await run(['intention', 'create', 'web', 'db'])).code, 0);
    const again = await run(['intention', 'create', '-deny', 'web', 'db']);
    assert.equal(again.code, 1);
    assert.match(again.err, /intention with source "web" and destination "db" already exists; use -replace/);
    assert.match((await run(['intention', 'get', 'web', 'db'])).out, /^Action: +allow$/m, 'the refused create changed nothing');
    const replaced = await run(['intention', 'create', '-deny', '-replace', 'web', 'db']);
    assert.equal(replaced.code, 0, replaced.err);
    const got = await run(['intention', 'get', 'web', 'db']);
    assert.match(got.out, /^Source: +web$/m);
    assert.match(got.out, /^Destination: +db$/m);
    assert.match(got.out, /^Action: +deny$/m);
    const id = /^ID: +(\S+)$/m.exec(got.out)?.[1] ?? '';
    assert.match((await run(['intention', 'get', id])).out, /^Action: +deny$/m, 'get by ID');
    assert.equal((await run(['intention', 'create', 'api', 'db'])).code, 0);
    const list = await run(['intention', 'list']);
    assert.match(list.out, /^ID +Source +Action +Destination +Precedence$/m);
    assert.match(list.out, new RegExp(`^${id} +web +deny +db +\\d+$`, 'm'));
    assert.match(list.out, /^\S+ +api +allow +db +\d+$/m);
    assert.equal((await run(['intention', 'delete', 'web', 'db'])).out, 'Intention deleted.\n');
    const gone = await run(['intention', 'get', 'web', 'db']);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /no intention for web => db/);
    const apiId = /^(\S+) +api +allow/m.exec((await run(['intention', 'list'])).out)?.[1] ?? '';
    assert.equal((await run(['intention', 'delete', apiId])).code, 0, 'delete by ID');
    assert.equal((await run(['intention', 'list'])).out, 'There are no intentions.\n');
    assert.equal((await run(['intention', 'delete', 'nobody', 'db'])).code, 1, 'deleting nothing is an error');
  });

  it('catalog services/nodes/datacenters and members, found through $CONSUL_HTTP_ADDR alone', async () => {
    assert.equal((await agent.put('/v1/agent/service/register', { ID: 'web', Name: 'web', Port: 80, Tags: ['v1'] })).status, 200);
    assert.match((await run(['catalog', 'services'])).out, /^web$/m);
    assert.match((await run(['catalog', 'services', '-tags'])).out, /^web +v1$/m);
    const nodes = await run(['catalog', 'nodes']);
    assert.match(nodes.out, /^Node +ID +Address +DC$/m);
    assert.match(nodes.out, /^op-node +[0-9a-f]{8} +127\.0\.0\.1 +dc1$/m);
    assert.equal((await run(['catalog', 'datacenters'])).out, 'dc1\n');
    const members = await run(['members']);
    assert.match(members.out, /^Node +Address +Status +Type +Build +Protocol +DC$/m);
    assert.match(members.out, /^op-node +127\.0\.0\.1:\d+ +alive +server +0\.1\.0 +2 +dc1$/m);
    // $SWITCHYARD_HTTP_ADDR is asked first; a wrong one is the address tried.
    const wrong = await run(['catalog', 'services'], { ...env, SWITCHYARD_HTTP_ADDR: '127.0.0.1:1' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /cannot reach the agent at http:\/\/127\.0\.0\.1:1/);
  });

  it("answers Consul's `connect ca get-config` as `ca get-config`", async () => {
    const consul = await run(['connect', 'ca', 'get-config']);
    assert.equal(consul.code, 0, consul.err);
    assert.equal(JSON.parse(consul.out).Provider, 'consul');
    assert.equal(consul.out, (await run(['ca', 'get-config'])).out);
  });

  it('-help on a command group lists its subcommands', async () => {
    for (const [group, sub] of [['intention', 'create'], ['catalog', 'datacenters'], ['connect ca', 'set-config'], ['proxy', 'status']] as const) {
      const r = await run([...group.split(' '), '-help']);
      assert.equal(r.code, 0, `${group} -help`);
      assert.match(r.out, new RegExp(`^Usage: switchyard ${group} <subcommand>`));
      assert.match(r.out, new RegExp(`^  ${sub} `, 'm'));
    }
    const bare = await run(['intention']);
    assert.equal(bare.code, 1);
    assert.match(bare.err, /Subcommands:/);
  });

  it('connect envoy resolves -admin-bind and -grpc-addr host names to IPs, and finds the gRPC port from the agent', async () => {
    await agent.put('/v1/agent/service/register', { ID: 'api', Name: 'api', Port: 81, Connect: { SidecarService: { Port: 21800 } } });
    // A child process (not spawnSync: the agent answering it runs in this process's event loop).
    const boot = async (extra: string[]) => {
      const r = await promisify(execFile)(process.execPath, [BIN, 'connect', 'envoy', '-sidecar-for', 'api', '-bootstrap', ...extra], { encoding: 'utf8', env: { ...process.env, ...env, SWITCHYARD_HTTP_ADDR: '' } });
      return JSON.parse(r.stdout) as { admin: { address: { socketAddress: { address: string; portValue: number } } }; staticResources: { clusters: { loadAssignment: { endpoints: { lbEndpoints: { endpoint: { address: { socketAddress: { address: string; portValue: number } } } }[] }[] } }[] } };
    };
    const xds = (b: Awaited<ReturnType<typeof boot>>) => b.staticResources.clusters[0]?.loadAssignment.endpoints[0]?.lbEndpoints[0]?.endpoint.address.socketAddress;
    const named = await boot(['-admin-bind', 'localhost:19555', '-grpc-addr', `localhost:${agent.agent.xds.port}`]);
    assert.deepEqual(named.admin.address.socketAddress, { address: '127.0.0.1', portValue: 19555 });
    assert.deepEqual(xds(named), { address: '127.0.0.1', portValue: agent.agent.xds.port });
    // No -grpc-addr: the agent's host and the gRPC port it reports, as `consul connect envoy` does.
    assert.deepEqual(xds(await boot([])), { address: '127.0.0.1', portValue: agent.agent.xds.port });
  });

  it('agent -log-level, a startup banner, and human-readable logs with -log-format text', async () => {
    assert.equal(resolveConfig({ dev: true, 'log-level': 'debug' }).logLevel, 'debug');
    assert.throws(() => resolveConfig({ dev: true, 'log-level': 'loud' }), /-log-level: /);
    const text = await spawnAgent(['-dev', '-grpc-port', '0', '-log-level', 'debug', '-log-format', 'text']);
    assert.match(text.stdout(), /^ +Version: 0\.1\.0$/m);
    assert.match(text.stdout(), /^ +Data dir: in memory \(-dev\)$/m);
    assert.match(text.stdout(), /^ +HTTP API: http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(text.stdout(), /^ +gRPC \(xDS\): 127\.0\.0\.1:\d+$/m);
    assert.match(text.stdout(), /^Default intention policy: allow$/m);
    assert.match(text.stderr(), /^\d\d:\d\d:\d\d\.\d{3} INFO  agent started {2}version=0\.1\.0 /m);
    text.child.kill('SIGTERM');
    await text.exited;
    // Not a terminal and no -log-format: JSON lines for collectors.
    const json = await spawnAgent(['-dev', '-grpc-port', '0']);
    const started = json.stderr().split('\n').find((l) => l.includes('agent started')) ?? '';
    assert.equal((JSON.parse(started) as { defaultIntentionPolicy: string }).defaultIntentionPolicy, 'allow');
    json.child.kill('SIGTERM');
    await json.exited;
  });
});
