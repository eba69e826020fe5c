import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/agent-config.js';
import { TestAgent } from '../support/agent.js';
import { RawConnection, request } from '../support/raw-http.js';

describe('identifiers and labels', () => {
  let a: TestAgent;
  before(async () => {
    a = await TestAgent.start();
  });
  after(() => a.close());

  /** Registers `body` and expects a 400 naming `field`, with nothing stored. */
  async function refused(body: unknown, field: string, message: RegExp): Promise<void> {
    const before = a.agent.store.currentIndex();
    const r = await a.put('/v1/agent/service/register', body);
    assert.equal(r.status, 400, r.text);
    assert.ok(r.text.includes(field), `${field} in ${r.text}`);
    assert.match(r.text, message);
    assert.equal(a.agent.store.currentIndex(), before);
  }

  const control = /must not contain control characters/;
  it('refuses service IDs with NUL, other control characters, or 100,000 characters', async () => {
    await refused({ Name: 'web', ID: 'web\u0000x', Port: 80 }, 'ID', control);
    await refused({ Name: 'web', ID: 'web\nx', Port: 80 }, 'ID', control);
    await refused({ Name: 'web', ID: 'web\u0085', Port: 80 }, 'ID', control);
    await refused({ Name: 'web', ID: 'w'.repeat(100_000), Port: 80 }, 'ID', /at most 256 characters/);
  });

  it('refuses service names with NUL or 100,000 characters', async () => {
    await refused({ Name: 'web\u0000' }, 'Name', /must contain only letters/);
    await refused({ Name: 'w'.repeat(100_000) }, 'Name', /at most 128 characters/);
  });

  it('refuses check IDs, check names, a sidecar ID, tags and a destination service ID with control characters', async () => {
    await refused({ Name: 'web', Check: { CheckID: 'c\u0000', TTL: '10s' } }, 'Check.CheckID', control);
    await refused({ Name: 'web', Checks: [{ ID: 'c'.repeat(300), TTL: '10s' }] }, 'Checks[0].ID', /at most 256/);
    await refused({ Name: 'web', Check: { Name: 'n\u0007', TTL: '10s' } }, 'Check.Name', control);
    await refused({ Name: 'web', Tags: ['ok', 'bad\u0000'] }, 'Tags[1]', control);
    await refused({ Name: 'web', Port: 80, Connect: { SidecarService: { ID: 'side\tcar' } } }, 'Connect.SidecarService.ID', control);
    await refused({ Name: 'web-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web\r\n' } }, 'Proxy.DestinationServiceID', control);
  });

  it('still takes the IDs Consul users write: dots, colons, spaces and non-ASCII letters', async () => {
    const r = await a.put('/v1/agent/service/register', { Name: 'web', ID: 'web:1 (primär)', Port: 80, Tags: ['v1.2', 'zone a'], Check: { CheckID: 'service:web:1', TTL: '10s' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await a.get(`/v1/agent/service/${encodeURIComponent('web:1 (primär)')}`)).status, 200);
  });
});

describe('request paths with dot segments', () => {
  let a: TestAgent;
  let port: number;
  before(async () => {
    a = await TestAgent.start();
    port = Number(a.agent.httpAddress.split(':').pop());
  });
  after(() => a.close());

  for (const path of ['/v1/agent/../status/leader', '/v1/agent/%2e%2e/status/leader', '/v1/agent/%2E./status/leader', '/v1/./status/leader', '/v1/status/leader/..', '/v1/agent/..?x=1']) {
    it(`refuses ${path} instead of routing what it resolves to`, async () => {
      const c = await RawConnection.open(port);
      try {
        await c.send(request('GET', path));
        const r = await c.response();
        assert.equal(r.status, 400);
        assert.match(r.body, /segment is not allowed/);
      } finally {
        c.destroy();
      }
    });
  }

  it('keeps a protocol-relative looking path a path, and still routes dots inside a segment', async () => {
    const c = await RawConnection.open(port);
    try {
      await c.send(request('GET', '//evil/v1/status/leader'));
      assert.equal((await c.response()).status, 404);
      await c.send(request('GET', '/v1/agent/service/a..b'));
      const r = await c.response();
      assert.equal(r.status, 404);
      assert.match(r.body, /a\.\.b/);
    } finally {
      c.destroy();
    }
  });
});

describe('the agent node name', () => {
  it('is refused with control characters or 100,000 characters, naming the flag', () => {
    assert.throws(() => resolveConfig({ dev: true, node: 'n\u0000' }), /-node: must be letters/);
    assert.throws(() => resolveConfig({ dev: true, node: 'n'.repeat(100_000) }), /-node: must be at most 128 characters/);
  });
});
