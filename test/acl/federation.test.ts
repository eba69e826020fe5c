// ACLs across two federated datacenters, each a real agent with ACLs on and default deny: the
// secondary's link to the primary authenticates with acl.tokens.agent (replication, federation
// states, the CA's intermediate), and a request forwarded to the other datacenter carries its
// caller's token, never the agent's, so the other datacenter refuses or filters it by its own ACLs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FILTERED_HEADER } from '../../src/api/acl-guard.js';
import { TestAgent } from '../support/agent.js';
import { callWithToken } from '../support/acl-http.js';
import { recordingLogger } from '../support/recording-logger.js';
import { waitFor } from '../support/wait.js';

const AGENT_SECRET = '3f1c9a52-7b1e-4d0a-9c55-0000000a6e47';
const WRITER_SECRET = '3f1c9a52-7b1e-4d0a-9c55-0000000017e5';
const AGENT_RULES = 'operator = "write"\nservice_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }';
const KEYS_SECRET = '3f1c9a52-7b1e-4d0a-9c55-00000000c0de';
const KEYS_RULES = 'key_prefix "" { policy = "read" }';
const WRITER_RULES = 'service_prefix "" {\n  policy = "write"\n  intentions = "write"\n}\nnode_prefix "" { policy = "read" }';

const call = callWithToken;

/** Bootstraps the agent's ACLs and creates the agent's and the writer's tokens (with fixed secrets: ACLs are not replicated). */
async function withTokens(agent: TestAgent): Promise<string> {
  const root = ((await call(agent, 'PUT', '/v1/acl/bootstrap')).json as { SecretID: string }).SecretID;
  for (const [name, rules, secret] of [['agent', AGENT_RULES, AGENT_SECRET], ['writer', WRITER_RULES, WRITER_SECRET], ['keys', KEYS_RULES, KEYS_SECRET]] as const) {
    const p = await call(agent, 'PUT', '/v1/acl/policy', root, { Name: name, Rules: rules });
    assert.equal(p.status, 200, p.text);
    const t = await call(agent, 'PUT', '/v1/acl/token', root, { SecretID: secret, Policies: [{ Name: name }] });
    assert.equal(t.status, 200, t.text);
  }
  return root;
}

describe('two datacenters with ACLs: the agent token on the link, the caller\'s token on forwarded requests', () => {
  let dc1: TestAgent;
  let dc2: TestAgent;
  let root1: string;
  let root2: string;
  before(async () => {
    dc1 = await TestAgent.start({ datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny' } });
    root1 = await withTokens(dc1);
    dc2 = await TestAgent.start(
      { datacenter: 'dc2', node: 'node2', primaryDatacenter: 'dc1', retryJoinWan: [dc1.agent.httpAddress], acl: { enabled: true, defaultPolicy: 'deny', tokens: { agent: AGENT_SECRET } } },
      { wanBackoff: { initialMs: 20, maxMs: 200 } },
    );
    root2 = await withTokens(dc2);
  });
  after(async () => {
    await dc2?.close();
    await dc1?.close();
  });

  it('replicates from the primary with the agent token', async () => {
    assert.equal((await call(dc1, 'PUT', '/v1/config', root1, { Kind: 'service-defaults', Name: 'web', Protocol: 'http' })).status, 200);
    await waitFor('the entry replicated to dc2', async () => (await call(dc2, 'GET', '/v1/config/service-defaults/web', root2)).status === 200);
    const status = (await call(dc2, 'GET', '/v1/internal/federation/status', root2)).json as { Link: { Reachable: boolean; LastError: string | null } };
    assert.equal(status.Link.Reachable, true);
    assert.equal(status.Link.LastError, null);
    // The primary refuses the same reads without a token.
    assert.equal((await call(dc1, 'GET', '/v1/internal/replication/config-entries')).status, 403);
  });

  it('a secondary without acl.tokens.agent is warned at startup, and the primary refuses its link', async () => {
    const logger = recordingLogger();
    const dc3 = await TestAgent.start(
      { datacenter: 'dc3', node: 'node3', primaryDatacenter: 'dc1', retryJoinWan: [dc1.agent.httpAddress], acl: { enabled: true, defaultPolicy: 'deny' } },
      { wanBackoff: { initialMs: 20, maxMs: 200 }, logger },
    );
    try {
      assert.ok(logger.entries.some((e) => e.level === 'warn' && e.msg.includes('acl.tokens.agent is not set')), 'the startup warning');
      const root3 = ((await call(dc3, 'PUT', '/v1/acl/bootstrap')).json as { SecretID: string }).SecretID;
      const error = await waitFor('the refusal in the link status', async () => {
        const s = (await call(dc3, 'GET', '/v1/internal/federation/status', root3)).json as { Link: { LastError: string | null } };
        return s.Link.LastError ?? false;
      });
      assert.match(String(error), /403|Permission denied/);
    } finally {
      await dc3.close();
    }
  });

  it('forwards a write with its caller\'s token: the writer\'s is allowed, the anonymous one refused by the primary', async () => {
    const denied = await call(dc2, 'PUT', '/v1/connect/intentions/exact?source=api&destination=db', undefined, { Action: 'deny' });
    assert.equal(denied.status, 403);
    assert.equal(denied.text.trim(), 'Permission denied: token with AccessorID \'00000000-0000-0000-0000-000000000002\' lacks permission \'intention:write\' on "db"');
    assert.deepEqual((await call(dc1, 'GET', '/v1/connect/intentions', root1)).json, [], 'nothing was written');
    const allowed = await call(dc2, 'PUT', '/v1/connect/intentions/exact?source=api&destination=db', WRITER_SECRET, { Action: 'deny' });
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal((await call(dc1, 'GET', '/v1/connect/intentions/exact?source=api&destination=db', root1)).status, 200);
  });

  it('answers ?dc= reads with the caller\'s token in the other datacenter: filtered for the anonymous token', async () => {
    assert.equal((await call(dc1, 'PUT', '/v1/agent/service/register', root1, { Name: 'db', Port: 5432 })).status, 200);
    const anon = await call(dc2, 'GET', '/v1/catalog/services?dc=dc1');
    assert.equal(anon.status, 200, anon.text);
    assert.deepEqual(anon.json, {});
    assert.equal(anon.headers.get(FILTERED_HEADER), null, 'not told to an unauthenticated request');
    const keys = await call(dc2, 'GET', '/v1/catalog/services?dc=dc1', KEYS_SECRET);
    assert.deepEqual(keys.json, {});
    assert.equal(keys.headers.get(FILTERED_HEADER), 'true', 'the primary\'s header is passed on');
    const writer = await call(dc2, 'GET', '/v1/health/service/db?dc=dc1', WRITER_SECRET);
    assert.deepEqual((writer.json as { Service: { Service: string } }[]).map((e) => e.Service.Service), ['db']);
  });
});
