// The per-proxy xDS status and its HTTP routes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiRequest } from '../../src/api/route.js';
import { xdsStatusRoutes } from '../../src/api/xds-status.js';
import { ManualClock } from '../../src/core/clock.js';
import { NotFoundError } from '../../src/core/errors.js';
import { XdsStatusRegistry } from '../../src/server/status.js';
import { clientErrorText } from '../../src/server/stream-host.js';

function get(params: Record<string, string> = {}): ApiRequest {
  return { method: 'GET', params, query: new URLSearchParams(), body: undefined, headers: {}, signal: new AbortController().signal };
}

describe('xDS status', () => {
  it('shows connected streams, acknowledged state per type and the last NACK', async () => {
    const reg = new XdsStatusRegistry(new ManualClock(Date.UTC(2026, 0, 1)));
    const s = reg.openStream('web', 'delta-1', 'delta');
    s.acked('t/Cluster', '1', 3);
    s.nacked('t/Listener', '2', 'bad listener');
    const [all, one] = xdsStatusRoutes(reg);
    assert.equal(all?.pattern, '/v1/agent/xds/status');
    assert.equal(one?.pattern, '/v1/agent/xds/status/:proxyId');
    const expected = {
      ProxyID: 'web',
      ConnectedStreams: 1,
      Streams: [{ ID: 'delta-1', Kind: 'delta', Types: { 't/Cluster': { AckedVersions: 3, Nonce: '1' } } }],
      LastNack: { TypeUrl: 't/Listener', Nonce: '2', Error: 'bad listener', Time: '2026-01-01T00:00:00.000Z' },
    };
    assert.deepEqual((await all?.handler(get()))?.body, [expected]);
    assert.deepEqual((await one?.handler(get({ proxyId: 'web' })))?.body, expected);
    s.close();
    assert.equal(reg.get('web')?.ConnectedStreams, 0, 'kept while it has a NACK to show');
    assert.throws(() => one?.handler(get({ proxyId: 'nobody' })), NotFoundError);
  });

  it('removes PEM bodies from client error text', () => {
    const text = clientErrorText('bad cert -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE----- end');
    assert.equal(text, 'bad cert [PEM removed] end');
  });
});
