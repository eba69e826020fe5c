// Responses built from shared, encoded-once pieces are byte for byte what the generated encoders produce.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeltaDiscoveryResponse, DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery.js';
import { encodeDeltaResponse, encodedResource, encodeSotwResponse } from '../../src/server/encoding.js';
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

  it('encodes each resource once and shares its bytes', () => {
    assert.equal(encodedResource(a), encodedResource(a));
  });
});
