// The shared rows of every kind that holds a leaf and has upstreams (a sidecar, an ingress
// gateway): the ClusterLoadAssignments of its upstreams' chain targets and its two Secrets, each
// built once per input object (health result, leaf, roots) and name, for every proxy.
import { OWN_LEAF_SECRET, rootsSecretName } from '../core/names.js';
import { encode } from '../core/proto.js';
import type { EncodedResource } from '../core/resources.js';
import { TypeUrl } from '../core/type-urls.js';
import { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint.js';
import { Secret } from '../gen/envoy/extensions/transport_sockets/tls/v3/secret.js';
import type { ConnectProxySnapshot, UpstreamEndpoint } from '../proxycfg/snapshot.js';
import { chainEdsClusters } from './chain-clusters.js';
import type { ResourceInterner } from './encode.js';
import { clusterLoadAssignment } from './endpoints.js';
import { byKey } from './resource-table.js';
import { leafSecret, rootsSecret } from './secrets.js';

const NO_ENDPOINTS: readonly UpstreamEndpoint[] = Object.freeze([]);

/** The ClusterLoadAssignments, each built once per (health result's endpoints, cluster name). */
export function endpointResources(snap: Pick<ConnectProxySnapshot, 'upstreams' | 'trustDomain'>, interner: ResourceInterner): Map<string, EncodedResource> {
  const byName = new Map<string, EncodedResource>();
  const targets = snap.upstreams.flatMap((u) => {
    const byTarget = new Map(u.endpoints.map((te) => [te.targetId, te.endpoints]));
    return chainEdsClusters(u.chain, snap.trustDomain).map((c) => [c.name, byTarget.get(c.target.id) ?? NO_ENDPOINTS] as const);
  });
  for (const [name, endpoints] of byKey(targets)) {
    if (byName.has(name)) continue;
    byName.set(name, interner.memo(endpoints, name, () => interner.intern(TypeUrl.Endpoint, name, encode(ClusterLoadAssignment, clusterLoadAssignment(name, endpoints)))));
  }
  return byName;
}

/** A Secret named `name`, encoded once per (input object, name) for every proxy holding that input. */
export function sharedSecret(interner: ResourceInterner, input: object, name: string, build: () => Secret): readonly [string, EncodedResource] {
  return [name, interner.memo(input, name, () => interner.intern(TypeUrl.Secret, name, encode(Secret, build())))];
}

/** The leaf Secret once per (leaf, name) and the roots Secret once per (roots, name). */
export function secretResources(snap: Pick<ConnectProxySnapshot, 'leaf' | 'roots' | 'trustDomain'>, interner: ResourceInterner): Map<string, EncodedResource> {
  return new Map(
    byKey([
      sharedSecret(interner, snap.leaf, OWN_LEAF_SECRET, () => leafSecret(snap)),
      sharedSecret(interner, snap.roots, rootsSecretName(snap.trustDomain), () => rootsSecret(snap)),
    ]),
  );
}
