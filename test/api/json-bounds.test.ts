import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestAgent } from '../support/agent.js';

/** `{"a":{"a":...1}}` with `levels` objects, as text (JSON.stringify itself would overflow on deep values). */
function nestedText(levels: number, inner = '1'): string {
  return '{"a":'.repeat(levels) + inner + '}'.repeat(levels);
}

describe('bounds on every JSON value at the edge', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  const refused = async (path: string, body: string, expected: RegExp) => {
    const before = a.agent.store.currentIndex();
    const r = await a.put(path, body);
    assert.equal(r.status, 400, `${path}: ${r.text.slice(0, 300)}`);
    assert.match(r.text, expected);
    assert.equal(a.agent.store.currentIndex(), before, 'nothing stored');
    return r;
  };

  it('refuses a proxy-defaults Config nested deeper than 64 levels, naming where, and stores nothing', async () => {
    // The body is level 1: a Config of 63 levels fits, one of 64 does not.
    const fits = `{"Kind":"proxy-defaults","Name":"global","Config":${nestedText(63)}}`;
    assert.equal((await a.put('/v1/config', fits)).status, 200);
    const r = await refused('/v1/config', `{"Kind":"proxy-defaults","Name":"global","Config":${nestedText(64)}}`, /nested deeper than 64 levels/);
    assert.match(r.text, new RegExp(`: Config${'\\.a'.repeat(63)}: is nested`));
    // What once killed the agent on the next read (4,150 levels) and what answered 500 (10,000).
    await refused('/v1/config', `{"Kind":"proxy-defaults","Name":"global","Config":${nestedText(4150)}}`, /Config(\.a){63}: is nested deeper than 64/);
    await refused('/v1/config', `{"Kind":"proxy-defaults","Name":"global","Config":${nestedText(10_000)}}`, /nested deeper than 64/);
    assert.equal((await a.get('/v1/config/proxy-defaults/global')).status, 200);
  });

  it("refuses a registration's Proxy.Config nested too deep", async () => {
    const body = `{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Config":${nestedText(4150)}}}`;
    await refused('/v1/agent/service/register', body, /Proxy\.Config(\.a)+: is nested deeper than 64/);
    const arrays = `{"Name":"web","Tags":${'['.repeat(100)}${']'.repeat(100)}}`;
    await refused('/v1/agent/service/register', arrays, /Tags(\[0\])+: is nested deeper than 64/);
  });

  it('refuses strings, keys, arrays and objects past their limits, and too many values in one body', async () => {
    await refused('/v1/agent/service/register', JSON.stringify({ Name: 'web', Tags: ['x'.repeat(512 * 1024 + 1)] }), /Tags\[0\]: is longer than 524288 characters/);
    await refused('/v1/config', JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: { ['k'.repeat(257)]: 1 } }), /Config\.k{64}…: is a key longer than 256 characters/);
    await refused('/v1/agent/service/register', JSON.stringify({ Name: 'web', Tags: Array(10_001).fill('t') }), /Tags: has more than 10000 elements/);
    const keys = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, 1]));
    await refused('/v1/config', JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: keys }), /Config: has more than 10000 keys/);
    const many = { Kind: 'proxy-defaults', Name: 'global', Config: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, Array(9_999).fill(0)])) };
    await refused('/v1/config', JSON.stringify(many), /holds more than 100000 JSON values/);
  });

  it('bounds every opaque map (Config, Arguments) to 128 Ki characters of JSON', async () => {
    const big = { blob: 'x'.repeat(128 * 1024) };
    const proxy = (config: unknown, upstream?: unknown) => ({ Name: 'p', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web', Config: config, Upstreams: upstream ? [{ DestinationName: 'db', LocalBindPort: 9000, Config: upstream }] : undefined } });
    assert.equal((await a.put('/v1/agent/service/register', proxy({ blob: 'x'.repeat(100 * 1024) }))).status, 200);
    await refused('/v1/agent/service/register', JSON.stringify(proxy(big)), /Proxy\.Config: is larger than 131072 characters of JSON/);
    await refused('/v1/agent/service/register', JSON.stringify(proxy({}, big)), /Proxy\.Upstreams\[0\]\.Config: is larger than 131072/);
    await refused('/v1/config', JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: big }), /Config: is larger than 131072/);
    await refused('/v1/config', JSON.stringify({ Kind: 'service-defaults', Name: 'web', EnvoyExtensions: [{ Name: 'builtin/lua', Arguments: big }] }), /EnvoyExtensions\[0\]\.Arguments: is larger than 131072/);
    // JWT is refused whatever its size (JWT authentication is not built).
    await refused('/v1/config', JSON.stringify({ Kind: 'service-intentions', Name: 'web', JWT: big }), /JWT: is not supported yet/);
  });

  it('refuses a number JSON cannot carry instead of storing null', async () => {
    await refused('/v1/config', '{"Kind":"proxy-defaults","Name":"global","Config":{"x":1e400}}', /Config\.x: is a number out of range/);
    await refused('/v1/agent/service/register', '{"Name":"web","Port":-1e999}', /Port: is a number out of range/);
  });

  it('keeps refusing "__proto__" keys at any depth', async () => {
    await refused('/v1/config', '{"Kind":"proxy-defaults","Name":"global","Config":{"a":[{"__proto__":{}}]}}', /Config\.a\[0\]\.__proto__: cannot be used as a key/);
  });
});
