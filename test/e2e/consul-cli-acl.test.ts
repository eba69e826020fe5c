// Consul's own CLI (v1.14.11) against a real Switchyard agent process with ACLs on and default
// deny, as an operator would use it: the token from -token or CONSUL_HTTP_TOKEN; a token for
// service web registers web but not db, writes no intention to db, cannot read the CA
// configuration or write proxy-defaults; the anonymous token sees an empty catalog; an unknown token
// is "ACL not found". Each refusal is checked to have changed nothing, through the HTTP API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';

const REPO = new URL('../../../', import.meta.url).pathname;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("Consul's CLI against Switchyard with ACLs on", () => {
  let agent: AgentProcess;
  let bin: string;
  let dir: string;
  let root: string;
  let web: string;

  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`http://${agent.httpAddr}${path}`, { method, headers: { 'X-Consul-Token': token }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.equal(res.status, 200, `${method} ${path}: ${text}`);
    return JSON.parse(text) as unknown;
  };

  before(async () => {
    const script = (await import(join(REPO, 'scripts/consul-cli.mjs'))) as { buildConsulCli(): string };
    bin = script.buildConsulCli();
    dir = mkdtempSync(join(tmpdir(), 'sy-consul-cli-acl-'));
    agent = await AgentProcess.start({ extraArgs: ['-acl-enabled', '-acl-default-policy', 'deny'] });
    const boot = await fetch(`http://${agent.httpAddr}/v1/acl/bootstrap`, { method: 'PUT' });
    root = ((await boot.json()) as { SecretID: string }).SecretID;
    web = ((await api('PUT', '/v1/acl/token', root, { ServiceIdentities: [{ ServiceName: 'web' }] })) as { SecretID: string }).SecretID;
  });
  after(async () => {
    await agent?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function consul(env: Record<string, string>, ...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(bin, args, { env: { ...process.env, CONSUL_HTTP_TOKEN: '', CONSUL_HTTP_ADDR: agent.httpAddr, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  it('registers web with its token, is refused db with Consul\'s message, and db is nowhere', async () => {
    const own = await consul({}, 'services', 'register', `-token=${web}`, file('web.json', JSON.stringify({ Service: { Name: 'web', Port: 8080 } })));
    assert.equal(own.code, 0, own.stderr);
    const rogue = await consul({ CONSUL_HTTP_TOKEN: web }, 'services', 'register', file('db.json', JSON.stringify({ Service: { Name: 'db', Port: 6666 } })));
    assert.equal(rogue.code, 1);
    assert.match(rogue.stderr, /Permission denied: token with AccessorID '[0-9a-f-]{36}' lacks permission 'service:write' on "db"/);
    assert.deepEqual(Object.keys((await api('GET', '/v1/catalog/services', root)) as object).sort(), ['consul', 'web']);
  });

  it('lists the catalog only to a token that may read it', async () => {
    const anon = await consul({}, 'catalog', 'services');
    assert.equal(anon.code, 0, anon.stderr);
    assert.doesNotMatch(anon.stdout, /web/);
    const withToken = await consul({ CONSUL_HTTP_TOKEN: root }, 'catalog', 'services');
    assert.equal(withToken.code, 0, withToken.stderr);
    assert.match(withToken.stdout, /^web$/m);
    const unknown = await consul({}, 'catalog', 'services', '-token=0b8c7a1e-0000-4000-8000-00000000dead');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /ACL not found/);
  });

  it('refuses web\'s token an intention to db, the CA configuration and proxy-defaults', async () => {
    const ixn = await consul({ CONSUL_HTTP_TOKEN: web }, 'intention', 'create', '-deny', 'web', 'db');
    assert.notEqual(ixn.code, 0);
    assert.match(ixn.stderr, /lacks permission 'intention:write' on "db"/);
    assert.deepEqual(await api('GET', '/v1/connect/intentions', root), []);
    const ca = await consul({ CONSUL_HTTP_TOKEN: web }, 'connect', 'ca', 'get-config');
    assert.notEqual(ca.code, 0);
    assert.match(ca.stderr, /lacks permission 'operator:read'/);
    const pd = await consul({ CONSUL_HTTP_TOKEN: web }, 'config', 'write', file('pd.hcl', 'Kind = "proxy-defaults"\nName = "global"\nConfig {\n  protocol = "http"\n}\n'));
    assert.notEqual(pd.code, 0);
    assert.match(pd.stderr, /lacks permission 'mesh:write'/);
    assert.deepEqual(await api('GET', '/v1/config/proxy-defaults', root), []);
    const created = await consul({ CONSUL_HTTP_TOKEN: root }, 'intention', 'create', '-deny', 'web', 'db');
    assert.equal(created.code, 0, created.stderr);
  });
});
