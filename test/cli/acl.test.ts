// `switchyard acl ...` against a real agent with ACLs enabled: bootstrap, policies from HCL,
// tokens linking them by name and with service identities, the token from -token or
// $CONSUL_HTTP_TOKEN, and Consul's errors passed through.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { TestAgent } from '../support/agent.js';

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

test('acl bootstrap, policy and token commands with Consul\'s flags', async () => {
  const agent = await TestAgent.start({ acl: { enabled: true, defaultPolicy: 'deny' } });
  const dir = mkdtempSync(join(tmpdir(), 'sy-acl-cli-'));
  const addr = agent.agent.httpAddress;
  try {
    const boot = await run(['acl', 'bootstrap', '-http-addr', addr, '-format', 'json']);
    assert.equal(boot.code, 0, boot.stderr);
    const root = JSON.parse(boot.stdout) as { SecretID: string };
    const again = await run(['acl', 'bootstrap', '-http-addr', addr]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ACL bootstrap no longer allowed \(reset index: \d+\)/);

    const env = { CONSUL_HTTP_ADDR: addr, CONSUL_HTTP_TOKEN: root.SecretID };
    const rules = join(dir, 'web.hcl');
    writeFileSync(rules, 'service "web" {\n  policy = "write"\n}\nacl = "read"\n');
    const pol = await run(['acl', 'policy', 'create', '-name', 'web-writer', '-description', 'web', '-rules', `@${rules}`], env);
    assert.equal(pol.code, 0, pol.stderr);
    assert.match(pol.stdout, /Name:\s+web-writer/);
    writeFileSync(rules, 'service "web" {\n  policy = "wrte"\n}\n');
    const bad = await run(['acl', 'policy', 'create', '-name', 'bad', '-rules', `@${rules}`], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /-rules: .*service "web"\.policy: invalid access level "wrte"/);

    const tok = await run(['acl', 'token', 'create', '-description', 'for web', '-policy-name', 'web-writer', '-service-identity', 'api:dc1', '-format', 'json'], env);
    assert.equal(tok.code, 0, tok.stderr);
    const web = JSON.parse(tok.stdout) as { AccessorID: string; SecretID: string; Policies: { Name: string }[]; ServiceIdentities: unknown[] };
    assert.deepEqual(web.Policies.map((p) => p.Name), ['web-writer']);
    assert.deepEqual(web.ServiceIdentities, [{ ServiceName: 'api', Datacenters: ['dc1'] }]);

    const self = await run(['acl', 'token', 'read', '-self', '-http-addr', addr, '-token', web.SecretID]);
    assert.equal(self.code, 0, self.stderr);
    assert.match(self.stdout, new RegExp(`AccessorID:\\s+${web.AccessorID}`));
    assert.match(self.stdout, /api \(Datacenters: dc1\)/);

    // The web token reads ACLs (acl = "read") but may not write them.
    const denied = await run(['acl', 'policy', 'create', '-name', 'x', '-http-addr', addr, '-token', web.SecretID]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /403: Permission denied: token with AccessorID '.*' lacks permission 'acl:write'/);
    const list = await run(['acl', 'token', 'list', '-http-addr', addr, '-token', web.SecretID]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /SecretID:\s+<hidden>/);

    const read = await run(['acl', 'policy', 'read', '-name', 'web-writer'], env);
    assert.match(read.stdout, /service "web"/);
    assert.equal((await run(['acl', 'policy', 'list'], env)).stdout.includes('global-management:'), true);
    assert.equal((await run(['acl', 'token', 'delete', '-id', web.AccessorID], env)).code, 0);
    const gone = await run(['acl', 'token', 'read', '-id', web.AccessorID], env);
    assert.equal(gone.code, 1);
    assert.equal((await run(['acl', 'policy', 'delete', '-name', 'web-writer'], env)).code, 0);
    assert.equal((await run(['acl', 'policy', 'read', '-name', 'web-writer'], env)).code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await agent.close();
  }
});
