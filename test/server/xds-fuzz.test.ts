// A bounded run of the xDS fuzzer in `npm test` (bench/fuzz.bench.ts runs 1,000+ streams):
// hostile Delta, SotW and undecodable streams never end with INTERNAL or UNKNOWN, and a
// well-behaved proxy is configured after every batch of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runXdsFuzz } from '../support/xds-fuzz.js';
import { cluster, resourceSet } from './fixtures.js';
import { startHarness } from './harness.js';

describe('xDS fuzz (bounded)', () => {
  it('120 hostile streams: only client errors or limits end them, and the probe proxy is served throughout', async () => {
    const h = await startHarness();
    h.source.set('web-sidecar', resourceSet(cluster('api')));
    const stats = await runXdsFuzz(h.server.port, 7, 120, 'web-sidecar');
    assert.equal(stats.streams, 120);
    assert.equal(stats.probes, 6);
    assert.deepEqual(stats.unacceptable, []);
    assert.ok((stats.ends.get('INVALID_ARGUMENT') ?? 0) > 0, `some streams were refused: ${JSON.stringify(Object.fromEntries(stats.ends))}`);
  });
});
