// /v1/acl/* against a real agent with ACLs enabled: bootstrap once, then Consul's 403; policies,
// roles and tokens validated strictly (400 naming the field, nothing written); acl:read/acl:write
// enforced with Consul's messages; SecretIDs redacted for readers and never logged; durable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TestAgent } from '../support/agent.js';
import { recordingLogger } from '../support/recording-logger.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The fields of Consul's ACL replies the tests read (a list reply is an array of them). */
interface Json extends Array<Json> {
  readonly AccessorID: string;
  readonly SecretID: string;
  readonly CreateIndex: number;
  readonly ID: string;
  readonly Name: string;
  readonly Rules: string;
  readonly ExpirationTime: string;
  readonly Policies: { ID: string; Name: string }[];
}
interface R {
  status: number;
  text: string;
  json: Json;
}

async function call(agent: TestAgent, method: string, path: string, token?: string, body?: unknown, how: 'header' | 'bearer' | 'query' = 'header'): Promise<R> {
  const headers: Record<string, string> = {};
  let url = agent.base + path;
  if (token !== undefined && how === 'header') headers['X-Consul-Token'] = token;
  if (token !== undefined && how === 'bearer') headers['Authorization'] = `Bearer ${token}`;
  if (token !== undefined && how === 'query') url += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  // Errors are plain text; only JSON replies are parsed.
  const json: unknown = (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
  return { status: res.status, text, json: json as R['json'] };
}

async function start(defaultPolicy: 'allow' | 'deny' = 'deny', dataDir?: string, logger = recordingLogger()) {
  return TestAgent.start({ acl: { enabled: true, defaultPolicy }, ...(dataDir ? { dataDir } : {}) }, { logger });
}

test('bootstrap once, then 403 with the reset index; the token manages ACLs, anonymous does not', async () => {
  const agent = await start();
  try {
    const boot = await call(agent, 'PUT', '/v1/acl/bootstrap');
    assert.equal(boot.status, 200, boot.text);
    assert.deepEqual(boot.json.Policies, [{ ID: '00000000-0000-0000-0000-000000000001', Name: 'global-management' }]);
    assert.match(boot.json.SecretID, /^[0-9a-f-]{36}$/);
    const again = await call(agent, 'PUT', '/v1/acl/bootstrap');
    assert.equal(again.status, 403);
    assert.equal(again.text.trim(), `ACL bootstrap no longer allowed (reset index: ${boot.json.CreateIndex})`);

    const secret = boot.json.SecretID;
    for (const how of ['header', 'bearer', 'query'] as const) {
      const self = await call(agent, 'GET', '/v1/acl/token/self', secret, undefined, how);
      assert.equal(self.status, 200, how);
      assert.equal(self.json.AccessorID, boot.json.AccessorID);
    }
    const anon = await call(agent, 'GET', '/v1/acl/token/self');
    assert.equal(anon.json.AccessorID, '00000000-0000-0000-0000-000000000002');
    assert.equal(anon.json.SecretID, 'anonymous');

    const denied = await call(agent, 'GET', '/v1/acl/tokens');
    assert.equal(denied.status, 403);
    assert.equal(denied.text.trim(), "Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'acl:read'");
    const unknown = await call(agent, 'GET', '/v1/acl/tokens', '11111111-1111-1111-1111-111111111111');
    assert.equal(unknown.status, 403);
    assert.equal(unknown.text.trim(), 'ACL not found');
  } finally {
    await agent.close();
  }
});

test('policies, roles and tokens: strict validation naming the field, links by ID or Name, redaction for acl:read', async () => {
  const agent = await start();
  try {
    const root = (await call(agent, 'PUT', '/v1/acl/bootstrap')).json.SecretID;
    const bad = await call(agent, 'PUT', '/v1/acl/policy', root, { Name: 'readers', Rules: 'acl = "read"\nservice "x" {\n  policy = "raed"\n}' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Rules: service "x"\.policy: invalid access level "raed"/);
    const syntax = await call(agent, 'PUT', '/v1/acl/policy', root, { Name: 'readers', Rules: 'acl = \n' });
    assert.equal(syntax.status, 400);
    assert.match(syntax.text, /Rules: cannot be parsed: line 2/);
    assert.equal((await call(agent, 'PUT', '/v1/acl/policy', root, { Name: 'bad name!' })).status, 400);
    assert.match((await call(agent, 'PUT', '/v1/acl/policy', root, { Name: 'p', Rulez: '' })).text, /Rulez: unknown field/);
    const list0 = await call(agent, 'GET', '/v1/acl/policies', root);
    assert.deepEqual(list0.json.map((p) => p.Name), ['global-management'], 'bad policies wrote nothing');

    const pol = await call(agent, 'PUT', '/v1/acl/policy', root, { Name: 'readers', Description: 'read ACLs', Rules: 'acl = "read"' });
    assert.equal(pol.status, 200, pol.text);
    assert.equal((await call(agent, 'GET', '/v1/acl/policy/name/readers', root)).json.ID, pol.json.ID);
    assert.equal((await call(agent, 'GET', `/v1/acl/policy/${pol.json.ID}`, root)).json.Rules, 'acl = "read"');
    assert.match((await call(agent, 'PUT', '/v1/acl/policy', root, { Name: 'readers' })).text, /Name: a policy named "readers" already exists/);

    const unknownPolicy = await call(agent, 'PUT', '/v1/acl/token', root, { Policies: [{ Name: 'nope' }] });
    assert.equal(unknownPolicy.status, 400);
    assert.match(unknownPolicy.text, /Policies\[0\]\.Name: no ACL policy named "nope"/);
    assert.match((await call(agent, 'PUT', '/v1/acl/token', root, { Roles: [{ ID: '22222222-2222-2222-2222-222222222222' }] })).text, /Roles\[0\]\.ID: no ACL role with ID/);
    assert.match((await call(agent, 'PUT', '/v1/acl/token', root, { ServiceIdentities: [{ ServiceName: 'Web!' }] })).text, /ServiceIdentities\[0\]\.ServiceName/);
    assert.match((await call(agent, 'PUT', '/v1/acl/token', root, { ExpirationTTL: 'soon' })).text, /ExpirationTTL/);

    const role = await call(agent, 'PUT', '/v1/acl/role', root, { Name: 'reader-role', Policies: [{ Name: 'readers' }] });
    assert.equal(role.status, 200, role.text);
    assert.deepEqual(role.json.Policies, [{ ID: pol.json.ID, Name: 'readers' }]);
    const tok = await call(agent, 'PUT', '/v1/acl/token', root, { Description: 'reader', Roles: [{ Name: 'reader-role' }], ServiceIdentities: [{ ServiceName: 'web' }], ExpirationTTL: '1h' });
    assert.equal(tok.status, 200, tok.text);
    assert.ok(Date.parse(tok.json.ExpirationTime) > Date.now());
    const reader = tok.json.SecretID;

    // acl:read may list and read, sees no secrets, and may not write.
    const list = await call(agent, 'GET', '/v1/acl/tokens', reader);
    assert.equal(list.status, 200, list.text);
    assert.ok(list.json.every((t) => t.SecretID === '<hidden>'));
    assert.equal((await call(agent, 'GET', `/v1/acl/token/${tok.json.AccessorID}`, reader)).json.SecretID, '<hidden>');
    assert.equal((await call(agent, 'GET', `/v1/acl/token/${tok.json.AccessorID}`, root)).json.SecretID, reader);
    const write = await call(agent, 'PUT', '/v1/acl/policy', reader, { Name: 'x' });
    assert.equal(write.status, 403);
    assert.match(write.text, /lacks permission 'acl:write'/);

    // Renaming a policy shows in the links; deleting the token ends it at once.
    await call(agent, 'PUT', `/v1/acl/policy/${pol.json.ID}`, root, { Name: 'acl-readers', Rules: 'acl = "read"' });
    assert.deepEqual((await call(agent, 'GET', `/v1/acl/role/${role.json.ID}`, root)).json.Policies, [{ ID: pol.json.ID, Name: 'acl-readers' }]);
    assert.equal((await call(agent, 'DELETE', `/v1/acl/token/${tok.json.AccessorID}`, root)).status, 200);
    assert.equal((await call(agent, 'GET', '/v1/acl/tokens', reader)).text.trim(), 'ACL not found');
    assert.equal((await call(agent, 'DELETE', '/v1/acl/policy/00000000-0000-0000-0000-000000000001', root)).status, 400);
  } finally {
    await agent.close();
  }
});

test('ACL state is durable across a restart, and SecretIDs never reach the log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acl-'));
  dirs.push(dir);
  const logger = recordingLogger();
  let agent = await start('deny', dir, logger);
  let secret: string;
  try {
    secret = (await call(agent, 'PUT', '/v1/acl/bootstrap')).json.SecretID;
    // A failing request with ?token= in its URL is logged: the secret must not be.
    await call(agent, 'PUT', '/v1/acl/policy', secret, { Name: 'ok', Rules: 'acl = "read"' }, 'query');
  } finally {
    await agent.close();
  }
  agent = await start('deny', dir, logger);
  try {
    const self = await call(agent, 'GET', '/v1/acl/token/self', secret);
    assert.equal(self.status, 200);
    assert.deepEqual(self.json.Policies.map((p) => p.Name), ['global-management']);
    assert.equal((await call(agent, 'PUT', '/v1/acl/bootstrap')).status, 403);
    assert.equal((await call(agent, 'GET', '/v1/acl/policy/name/ok', secret)).status, 200);
    assert.ok(logger.entries.length > 0);
    assert.ok(!JSON.stringify(logger.entries).includes(secret), 'a SecretID was logged');
  } finally {
    await agent.close();
  }
});

test('with ACLs disabled the ACL endpoints answer without a token and bootstrap says so', async () => {
  const agent = await TestAgent.start();
  try {
    assert.equal((await call(agent, 'PUT', '/v1/acl/bootstrap')).status, 401);
    const pol = await call(agent, 'PUT', '/v1/acl/policy', undefined, { Name: 'p', Rules: 'service_prefix "" { policy = "read" }' });
    assert.equal(pol.status, 200, pol.text);
  } finally {
    await agent.close();
  }
});
