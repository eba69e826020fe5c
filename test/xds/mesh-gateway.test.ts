// The mesh gateway's resources from its snapshot: forwarded by SNI without certificates, and an
// endpoint change (a sidecar or a remote gateway comes or goes) rebuilds only the assignments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrl } from '../../src/core/type-urls.js';
import type { MeshGatewaySnapshot, UpstreamEndpoint } from '../../src/proxycfg/snapshot.js';
import { ResourceInterner } from '../../src/xds/encode.js';
import { generateResources } from '../../src/xds/generate.js';

const TD = '11111111-2222-3333-4444-555555555555.consul';
const endpoints = (...ports: number[]): readonly UpstreamEndpoint[] => Object.freeze(ports.map((port) => ({ node: `n${port}`, address: '10.0.0.1', port, health: 'passing' as const })));

function gateway(web: readonly UpstreamEndpoint[], dc2: readonly UpstreamEndpoint[]): MeshGatewaySnapshot {
  return {
    kind: 'mesh-gateway',
    proxyId: 'mesh-gateway',
    service: 'mesh-gateway',
    namespace: 'default',
    datacenter: 'dc1',
    trustDomain: TD,
    listeners: [{ name: 'default', address: '10.0.0.10', port: 8443 }],
    services: [{ name: 'web', subset: '', namespace: 'default', endpoints: web }],
    datacenters: [{ datacenter: 'dc2', endpoints: dc2 }],
    connectTimeoutMs: 5000,
    issues: [],
  };
}

describe('mesh gateway resources', () => {
  it('holds no Secrets and no Routes: it forwards mesh TLS untouched', () => {
    const set = generateResources(gateway(endpoints(21000), endpoints(443)), { interner: new ResourceInterner() });
    assert.deepEqual([...set.keys()].sort(), [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener].sort());
    assert.deepEqual([...set.get(TypeUrl.Cluster)!.keys()], [`dc2.internal.${TD}`, `web.default.dc1.internal.${TD}`]);
  });

  it('rebuilds only the assignments when endpoints change, sharing its clusters and listeners', () => {
    const interner = new ResourceInterner();
    const before = generateResources(gateway(endpoints(21000), endpoints(443)), { interner });
    const after = generateResources(gateway(endpoints(21000, 21001), endpoints(443)), { interner });
    assert.equal(after.get(TypeUrl.Cluster), before.get(TypeUrl.Cluster), 'the same clusters');
    assert.equal(after.get(TypeUrl.Listener), before.get(TypeUrl.Listener), 'the same listeners');
    const web = `web.default.dc1.internal.${TD}`;
    assert.notEqual(after.get(TypeUrl.Endpoint)!.get(web)!.version, before.get(TypeUrl.Endpoint)!.get(web)!.version);
    assert.equal(after.get(TypeUrl.Endpoint)!.get(`dc2.internal.${TD}`), before.get(TypeUrl.Endpoint)!.get(`dc2.internal.${TD}`));
  });
});
