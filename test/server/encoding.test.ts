// Responses built from shared, encoded-once pieces are byte for byte what the generated encoders produce.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeltaDiscoveryResponse, DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery.js';
import { encodeDeltaResponse, encodeSotwResponse } from '../../src/server/encoding.js';
import { cluster, endpoints } from './fixtures.js';

describe('response encoding', () => {
  const a = cluster('api');
  const b = endpoints('api', 1);

  it('encodes a delta response exactly as DeltaDiscoveryResponse.encode would', () => {
    const bytes = encodeDeltaResponse({ typeUrl: a.typeUrl, nonce: '7', upserts: [a], removals: ['old'] });
    const expected = DeltaDiscoveryResponse.fromPartial({
      typeUrl: a.typeUrl,
      nonce: '7',
      resources: [{ name: a.name, version: a.version, resource: { typeUrl: a.typeUrl, value: a.value } }],
      removedResources: ['old'],
    });
    assert.deepEqual(Buffer.from(bytes), Buffer.from(DeltaDiscoveryResponse.encode(expected).finish()));
  });

  it('encodes a SotW response exactly as DiscoveryResponse.encode would', () => {
    const bytes = encodeSotwResponse({ typeUrl: b.typeUrl, versionInfo: 'v1', nonce: '3', resources: [b] });
    const expected = DiscoveryResponse.fromPartial({ typeUrl: b.typeUrl, versionInfo: 'v1', nonce: '3', resources: [{ typeUrl: b.typeUrl, value: b.value }] });
    assert.deepEqual(Buffer.from(bytes), Buffer.from(DiscoveryResponse.encode(expected).finish()));
  });

  it('writes multi-byte lengths, UTF-8 names and several resources as the generated encoders do', () => {
    // 300 ports make a value over 16 KiB long enough for a three-byte length; the name is not ASCII.
    const big = endpoints('caf\u00e9-\u670d\u52a1', ...Array.from({ length: 3000 }, (_, i) => 1000 + i));
    assert.ok(big.value.byteLength > 0x4000);
    const upserts = [a, big, endpoints('web', 8080)];
    const delta = encodeDeltaResponse({ typeUrl: big.typeUrl, nonce: '12345', upserts, removals: ['gone-\u00e9', 'x'] });
    const expectedDelta = DeltaDiscoveryResponse.fromPartial({
      typeUrl: big.typeUrl,
      nonce: '12345',
      resources: upserts.map((r) => ({ name: r.name, version: r.version, resource: { typeUrl: r.typeUrl, value: r.value } })),
      removedResources: ['gone-\u00e9', 'x'],
    });
    assert.deepEqual(Buffer.from(delta), Buffer.from(DeltaDiscoveryResponse.encode(expectedDelta).finish()));
    const sotw = encodeSotwResponse({ typeUrl: big.typeUrl, versionInfo: '', nonce: '', resources: upserts });
    const expectedSotw = DiscoveryResponse.fromPartial({ typeUrl: big.typeUrl, resources: upserts.map((r) => ({ typeUrl: r.typeUrl, value: r.value })) });
    // The generated encoder leaves out empty strings; the response always writes its version and nonce.
    const reencoded = DiscoveryResponse.encode(DiscoveryResponse.decode(sotw)).finish();
    assert.deepEqual(Buffer.from(reencoded), Buffer.from(DiscoveryResponse.encode(expectedSotw).finish()));
  });
});
