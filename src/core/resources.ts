// The contract between the generators (src/xds) and the ADS server (src/server): a proxy's
// desired resources, each encoded once, versioned by a hash of its bytes, and shared.
import type { XdsTypeUrl } from './type-urls.js';

export interface EncodedResource {
  readonly typeUrl: XdsTypeUrl;
  readonly name: string;
  /** Hash of `value`: deterministic across restarts and replicas. */
  readonly version: string;
  /** The encoded resource message (the `value` of its Any). Never re-encoded, shared by streams. */
  readonly value: Uint8Array;
  /**
   * Names of child resources this resource references and that Envoy must receive again when
   * this one changes: a Cluster's ClusterLoadAssignment, a Listener's RouteConfigurations.
   */
  readonly children?: readonly string[];
}

/** Desired resources of one proxy, by type URL then by name. */
export type ResourceSet = ReadonlyMap<XdsTypeUrl, ReadonlyMap<string, EncodedResource>>;

/** Groups resources into a ResourceSet by type (only the types present). */
export function resourceSetOf(resources: Iterable<EncodedResource>): ResourceSet {
  const out = new Map<XdsTypeUrl, Map<string, EncodedResource>>();
  for (const r of resources) {
    let byName = out.get(r.typeUrl);
    if (!byName) out.set(r.typeUrl, (byName = new Map()));
    byName.set(r.name, r);
  }
  return out;
}
