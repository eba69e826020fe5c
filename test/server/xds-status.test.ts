// The per-proxy xDS status and its HTTP routes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiRequest } from '../../src/api/route.js';
import { xdsStatusRoutes } from '../../src/api/xds-status.js';
import { ManualClock } from '../../src/core/clock.js';
import { NotFoundError } from '../../src/core/errors.js';
import { DEFAULT_MAX_DISCONNECTED, XdsStatusRegistry } from '../../src/server/status.js';
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
      Waiting: null,
      GenerationError: null,
      LastDenied: null,
    };
    assert.deepEqual((await all?.handler(get()))?.body, [expected]);
    assert.deepEqual((await one?.handler(get({ proxyId: 'web' })))?.body, expected);
    s.close();
    assert.equal(reg.get('web')?.ConnectedStreams, 0, 'kept while it has a NACK to show');
    assert.throws(() => one?.handler(get({ proxyId: 'nobody' })), NotFoundError);
  });

  it('keeps a bounded number of disconnected proxies for their NACK, oldest disconnect dropped first', () => {
    const reg = new XdsStatusRegistry(new ManualClock(Date.UTC(2026, 0, 1)));
    const live = reg.openStream('live', 'delta-0', 'delta');
    live.nacked('t/Cluster', '1', 'bad cluster');
    // Proxy ids churn: every new instance of a service connects under its own id.
    const churn = DEFAULT_MAX_DISCONNECTED + 50;
    for (let i = 0; i < churn; i++) {
      const s = reg.openStream(`web-${i}`, `delta-${i + 1}`, 'delta');
      s.nacked('t/Listener', '1', 'bad listener');
      s.close();
    }
    const listed = reg.list();
    assert.equal(listed.length, DEFAULT_MAX_DISCONNECTED + 1, 'the connected proxy and the most recent disconnected ones');
    assert.equal(reg.get('live')?.ConnectedStreams, 1);
    assert.equal(reg.get('web-0'), undefined, 'the oldest disconnected proxy is forgotten');
    assert.equal(reg.get(`web-${churn - 1}`)?.LastNack?.Error, 'bad listener');
    // Reconnecting takes a proxy off the disconnected list: it is not evicted while connected.
    const back = reg.openStream(`web-${churn - 1}`, 'delta-again', 'delta');
    for (let i = 0; i < DEFAULT_MAX_DISCONNECTED; i++) {
      const s = reg.openStream(`api-${i}`, `delta-api-${i}`, 'delta');
      s.nacked('t/Listener', '1', 'bad listener');
      s.close();
    }
    assert.equal(reg.get(`web-${churn - 1}`)?.ConnectedStreams, 1);
    back.close();
    assert.equal(reg.list().length, DEFAULT_MAX_DISCONNECTED + 1);
  });

  it('shows a waiting stream and its reason, and a generation error until generation succeeds', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const reg = new XdsStatusRegistry(clock);
    const first = reg.openStream('web', 'delta-1', 'delta');
    first.waiting('proxy not registered');
    clock.advance(5000);
    const second = reg.openStream('web', 'delta-2', 'delta');
    second.waiting('proxy not registered');
    assert.deepEqual(reg.get('web')?.Waiting, { Reason: 'proxy not registered', Since: '2026-01-01T00:00:00.000Z' }, 'since the longest-waiting stream');
    first.waiting(null);
    assert.equal(reg.get('web')?.Waiting?.Since, '2026-01-01T00:00:05.000Z');
    second.waiting(null);
    assert.equal(reg.get('web')?.Waiting, null);
    first.generationFailed('generating resources for proxy web failed: Proxy.Mode: transparent');
    assert.deepEqual(reg.get('web')?.GenerationError, { Error: 'generating resources for proxy web failed: Proxy.Mode: transparent', Time: '2026-01-01T00:00:05.000Z' });
    second.generated();
    assert.equal(reg.get('web')?.GenerationError, null);
    // A proxy with no stream left stays listed while it has a generation error to show.
    first.generationFailed('still broken');
    first.close();
    second.close();
    assert.equal(reg.get('web')?.GenerationError?.Error, 'still broken');
  });

  it('removes PEM bodies from client error text', () => {
    const text = clientErrorText('bad cert -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE----- end');
    assert.equal(text, 'bad cert [PEM removed] end');
  });
});
