import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { TestAgent } from '../support/agent.js';

const pairs = (n: number, key = (i: number) => `k${i}`, value = () => 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), value()]));
/** The most Consul takes: 64 pairs, 128-byte keys, 512-byte values. */
const fullest = pairs(64, (i) => `${i}`.padEnd(128, 'k'), () => 'v'.repeat(512));

describe('Meta, as Consul bounds it, everywhere it appears', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  const refused = async (method: 'PUT', path: string, body: unknown, expected: RegExp) => {
    const before = a.agent.store.currentIndex();
    const r = await a.call(method, path, body);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body).slice(0, 200)}: ${r.text}`);
    assert.match(r.text, expected);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing stored');
  };

  it('service Meta: at most 64 pairs, keys of letters, digits, "-" and "_" up to 128 bytes, values up to 512 bytes, no "consul-" keys', async () => {
    assert.equal((await a.put('/v1/agent/service/register', { Name: 'web', Meta: fullest })).status, 200);
    const reg = (meta: unknown, extra = {}) => ({ Name: 'web', Meta: meta, ...extra });
    await refused('PUT', '/v1/agent/service/register', reg(pairs(65)), /Meta: must hold at most 64 key\/value pairs \(it has 65\)/);
    await refused('PUT', '/v1/agent/service/register', reg({ ['k'.repeat(129)]: 'v' }), /Meta\.k{129}: key is longer than 128 bytes/);
    await refused('PUT', '/v1/agent/service/register', reg({ k: 'é'.repeat(257) }), /Meta\.k: value is longer than 512 bytes/);
    await refused('PUT', '/v1/agent/service/register', reg({ 'a b': 'v' }), /Meta\.a b: key may contain only letters, digits, "-" and "_"/);
    await refused('PUT', '/v1/agent/service/register', reg({ '': 'v' }), /Meta\.: key cannot be blank/);
    await refused('PUT', '/v1/agent/service/register', reg({ 'consul-version': '1' }), /Meta\.consul-version: key prefix "consul-" is reserved for internal use/);
    await refused('PUT', '/v1/agent/service/register', reg({ k: 1 }), /Meta\.k: must be a string/);
    await refused('PUT', '/v1/agent/service/register', { Name: 'web', Port: 80, Connect: { SidecarService: { Meta: pairs(65) } } }, /Connect\.SidecarService\.Meta: must hold at most 64/);
  });

  it('lets only a mesh gateway carry Consul\'s "consul-wan-federation" key', async () => {
    const gw = { Name: 'gw', Kind: 'mesh-gateway', Port: 8443, Meta: { 'consul-wan-federation': '1' } };
    assert.equal((await a.put('/v1/agent/service/register', gw)).status, 200);
    await refused('PUT', '/v1/agent/service/register', { Name: 'web', Meta: { 'consul-wan-federation': '1' } }, /Meta\.consul-wan-federation: key prefix "consul-" is reserved/);
  });

  it('config entry Meta: 64 pairs, 128-byte keys, 512-byte values (Consul checks no key format here)', async () => {
    assert.equal((await a.put('/v1/config', { Kind: 'service-defaults', Name: 'web', Meta: { ...pairs(63), 'any key': 'v' } })).status, 200);
    await refused('PUT', '/v1/config', { Kind: 'service-defaults', Name: 'web', Meta: pairs(65) }, /Meta: must hold at most 64/);
    await refused('PUT', '/v1/config', { Kind: 'mesh', Name: 'mesh', Meta: { k: 'v'.repeat(513) } }, /Meta\.k: value is longer than 512 bytes/);
    await refused('PUT', '/v1/config', { Kind: 'service-intentions', Name: 'web', Sources: [{ Name: 'api', Action: 'allow', LegacyMeta: pairs(65) }] }, /Sources\[0\]\.LegacyMeta: must hold at most 64/);
    await refused('PUT', '/v1/config', { Kind: 'service-intentions', Name: 'web', Sources: [{ Name: 'api', Action: 'allow', Description: 'd'.repeat(513) }] }, /Sources\[0\]\.Description: is longer than 512 bytes/);
  });

  it('intention Meta and Description through the legacy API', async () => {
    assert.equal((await a.put('/v1/connect/intentions/exact?source=api&destination=db', { Action: 'allow', Meta: fullest, Description: 'd'.repeat(512) })).status, 200);
    await refused('PUT', '/v1/connect/intentions/exact?source=api&destination=db', { Action: 'allow', Meta: pairs(65) }, /Meta: must hold at most 64/);
    await refused('PUT', '/v1/connect/intentions/exact?source=api&destination=db', { Action: 'allow', Meta: { ['k'.repeat(129)]: 'v' } }, /Meta\.k+: key is longer than 128 bytes/);
    await refused('PUT', '/v1/connect/intentions/exact?source=api&destination=db', { Action: 'allow', Description: 'd'.repeat(513) }, /Description: is longer than 512 bytes/);
  });
});

describe('node_meta in the agent configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-meta-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const withMeta = (meta: unknown) => {
    const path = join(dir, 'agent.json');
    writeFileSync(path, JSON.stringify({ node_meta: meta }));
    return () => resolveConfig({ dev: true, 'config-file': path });
  };

  it("keeps Consul's rules for node metadata", () => {
    assert.deepEqual(withMeta(fullest)().nodeMeta, fullest);
    assert.throws(withMeta(pairs(65)), /node_meta: must hold at most 64 key\/value pairs/);
    assert.throws(withMeta({ 'consul-network-segment': 'x' }), /node_meta\.consul-network-segment: key prefix "consul-" is reserved/);
    assert.throws(withMeta({ 'rack/1': 'a' }), /node_meta\.rack\/1: key may contain only letters/);
    assert.throws(withMeta({ rack: 'a'.repeat(513) }), /node_meta\.rack: value is longer than 512 bytes/);
  });
});
