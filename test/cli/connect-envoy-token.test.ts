// `connect envoy` and ACL tokens, as Consul's CLI takes them (-token, -token-file,
// $CONSUL_HTTP_TOKEN, $CONSUL_HTTP_TOKEN_FILE, in that order): the token goes into the bootstrap as
// the ADS gRPC service's initial metadata `x-consul-token`, and the command's own calls to the
// agent (finding the sidecar) send it as X-Consul-Token. Seen through a recording HTTP relay in
// front of a real agent with ACLs on; an unreadable token file is refused naming it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { TestAgent } from '../support/agent.js';
import { freePort } from '../support/wait.js';

interface Seen {
  readonly path: string;
  readonly token: string | undefined;
}

/** An HTTP relay to the agent that records each request's path and X-Consul-Token. */
async function recordingRelay(target: string, seen: Seen[]): Promise<Server> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server = createServer((req, res) => {
    const token = req.headers['x-consul-token'];
    seen.push({ path: req.url ?? '', token: typeof token === 'string' ? token : undefined });
    const out = request({ host, port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('connect envoy with an ACL token', () => {
  let agent: TestAgent;
  let relay: Server;
  let addr: string;
  const seen: Seen[] = [];
  /** Real tokens with web's service identity (the agent may check them), by name. */
  const tok: Record<'flag' | 'file' | 'env' | 'envFile', string> = { flag: '', file: '', env: '', envFile: '' };
  const dir = mkdtempSync(join(tmpdir(), 'sy-token-'));

  const bootstrap = async (args: string[], env: Record<string, string> = {}) => {
    seen.length = 0;
    let out = '';
    let err = '';
    const code = await main(['connect', 'envoy', '-sidecar-for', 'web', '-bootstrap', '-http-addr', addr, '-grpc-addr', '127.0.0.1:8502', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t), env });
    return { code, out, err };
  };
  const metadataOf = (out: string) => {
    const json = JSON.parse(out) as { dynamicResources: { adsConfig: { grpcServices: { initialMetadata?: { key: string; value: string }[] }[] } } };
    return json.dynamicResources.adsConfig.grpcServices[0]?.initialMetadata ?? [];
  };

  before(async () => {
    agent = await TestAgent.start({ acl: { enabled: true, defaultPolicy: 'deny' } });
    const boot = await agent.put('/v1/acl/bootstrap');
    const management = (boot.json as { SecretID: string }).SecretID;
    const reg = await fetch(`${agent.base}/v1/agent/service/register`, {
      method: 'PUT',
      headers: { 'X-Consul-Token': management },
      body: JSON.stringify({ ID: 'web', Name: 'web', Port: await freePort(), Connect: { SidecarService: { Port: await freePort() } } }),
    });
    assert.equal(reg.status, 200, await reg.text());
    for (const name of Object.keys(tok) as (keyof typeof tok)[]) {
      const r = await fetch(`${agent.base}/v1/acl/token`, { method: 'PUT', headers: { 'X-Consul-Token': management }, body: JSON.stringify({ Description: name, ServiceIdentities: [{ ServiceName: 'web' }] }) });
      tok[name] = ((await r.json()) as { SecretID: string }).SecretID;
    }
    // The anonymous token may read services (as operators allow discovery), so a lookup without a token finds web's sidecar.
    const policy = await fetch(`${agent.base}/v1/acl/policy`, { method: 'PUT', headers: { 'X-Consul-Token': management }, body: JSON.stringify({ Name: 'anonymous-read', Rules: 'service_prefix "" { policy = "read" }' }) });
    const { ID } = (await policy.json()) as { ID: string };
    const anon = await fetch(`${agent.base}/v1/acl/token/00000000-0000-0000-0000-000000000002`, { method: 'PUT', headers: { 'X-Consul-Token': management }, body: JSON.stringify({ Policies: [{ ID }] }) });
    assert.equal(anon.status, 200, await anon.text());
    relay = await recordingRelay(agent.agent.httpAddress, seen);
    addr = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
  });
  after(async () => {
    relay.close();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts -token into the bootstrap as x-consul-token and sends it on its calls to the agent', async () => {
    const r = await bootstrap(['-token', tok.flag]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(metadataOf(r.out), [{ key: 'x-consul-token', value: tok.flag }]);
    assert.ok(seen.some((s) => s.path === '/v1/agent/services'), JSON.stringify(seen));
    assert.deepEqual(seen.filter((s) => s.token !== tok.flag), [], 'every call carries the token');
  });

  it('takes the token from -token-file, $CONSUL_HTTP_TOKEN, $CONSUL_HTTP_TOKEN_FILE, in that order after -token', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${tok.file}\n`);
    const envFile = join(dir, 'env-token');
    writeFileSync(envFile, tok.envFile);
    const cases: [string[], Record<string, string>, string][] = [
      [['-token', tok.flag, '-token-file', file], { CONSUL_HTTP_TOKEN: tok.env }, tok.flag],
      [['-token-file', file], { CONSUL_HTTP_TOKEN: tok.env }, tok.file],
      [[], { CONSUL_HTTP_TOKEN: tok.env, CONSUL_HTTP_TOKEN_FILE: envFile }, tok.env],
      [[], { CONSUL_HTTP_TOKEN_FILE: envFile }, tok.envFile],
    ];
    for (const [args, env, want] of cases) {
      const r = await bootstrap(args, env);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(metadataOf(r.out), [{ key: 'x-consul-token', value: want }], JSON.stringify({ args, env }));
      assert.deepEqual([...new Set(seen.map((s) => s.token))], [want]);
    }
  });

  it('sends no token and no metadata when none is given', async () => {
    const r = await bootstrap([]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(metadataOf(r.out), []);
    assert.deepEqual([...new Set(seen.map((s) => s.token))], [undefined]);
  });

  it('refuses a -token-file it cannot read, naming the flag, and prints no bootstrap', async () => {
    const r = await bootstrap(['-token-file', join(dir, 'missing')]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /-token-file: cannot read the token from ".*missing"/);
    assert.equal(r.out, '');
    assert.deepEqual(seen, [], 'nothing was asked of the agent');
  });
});
