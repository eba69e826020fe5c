// A connect-proxy snapshot -> its complete ResourceSet (the contract with the ADS server).
// Resource types are described generically: one row per type with its URL, message type, name
// and children; generation is one loop over the table.
//
// Most changes in a mesh are endpoint changes (an instance comes, goes or fails a check), and
// one such change reaches every proxy upstream of that service. Given the proxy's previous
// snapshot and set, a snapshot that differs only in upstream endpoints keeps every other type's
// resources as they were, and each ClusterLoadAssignment is built once per endpoints result and
// cluster name and shared by all proxies, so the per-proxy work is a comparison and lookups.
import { isDeepStrictEqual } from 'node:util';
import type { FieldIssue } from '../core/errors.js';
import { ValidationError } from '../core/errors.js';
import { encode, type ProtoType } from '../core/proto.js';
import type { EncodedResource, ResourceSet } from '../core/resources.js';
import { TypeUrl, type XdsTypeUrl } from '../core/type-urls.js';
import { Cluster, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster.js';
import { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import { Secret } from '../gen/envoy/extensions/transport_sockets/tls/v3/secret.js';
import type { ConnectProxySnapshot } from '../proxycfg/snapshot.js';
import { generateClusters } from './clusters.js';
import { sharedInterner, type ResourceInterner } from './encode.js';
import { generateEndpoints, loadAssignment } from './endpoints.js';
import { generateListeners, listenerRouteNames } from './listeners.js';
import { generateRoutes, upstreamCluster } from './routes.js';
import { generateSecrets } from './secrets.js';

export interface GenerateContext {
  /** Where identical resources are shared; defaults to the process-wide interner. */
  readonly interner?: ResourceInterner;
  /** This proxy's previous snapshot and the set generated from it (see the top of this file). */
  readonly previous?: { readonly snapshot: ConnectProxySnapshot; readonly resources: ResourceSet };
}

interface ResourceKind<T> {
  readonly typeUrl: XdsTypeUrl;
  readonly type: ProtoType<T>;
  generate(snap: ConnectProxySnapshot): T[];
  name(message: T): string;
  children(snap: ConnectProxySnapshot, message: T): readonly string[];
}

function kind<T>(k: ResourceKind<T>): ResourceKind<unknown> {
  return k as ResourceKind<unknown>;
}

/** Every type a sidecar receives, in xDS send order (Secrets, Clusters, Endpoints, Listeners, Routes). */
export const CONNECT_PROXY_KINDS: readonly ResourceKind<unknown>[] = [
  kind({ typeUrl: TypeUrl.Secret, type: Secret, generate: generateSecrets, name: (s) => s.name, children: () => [] }),
  kind({
    typeUrl: TypeUrl.Cluster,
    type: Cluster,
    generate: generateClusters,
    name: (c) => c.name,
    // An EDS cluster's assignment is named by the cluster (eds service_name unset).
    children: (_s, c) => (c.clusterDiscoveryType?.$case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS ? [c.name] : []),
  }),
  kind({ typeUrl: TypeUrl.Endpoint, type: ClusterLoadAssignment, generate: generateEndpoints, name: (e) => e.clusterName, children: () => [] }),
  kind({ typeUrl: TypeUrl.Listener, type: Listener, generate: generateListeners, name: (l) => l.name, children: (s, l) => listenerRouteNames(s, l.name) }),
  kind({ typeUrl: TypeUrl.Route, type: RouteConfiguration, generate: generateRoutes, name: (r) => r.name, children: () => [] }),
];

/** Whether two snapshots of a proxy differ in nothing but their upstreams' endpoints. */
export function onlyEndpointsDiffer(a: ConnectProxySnapshot, b: ConnectProxySnapshot): boolean {
  const withoutEndpoints = (s: ConnectProxySnapshot) => ({ ...s, upstreams: s.upstreams.map(({ endpoints: _, ...u }) => u) });
  return a.upstreams.length === b.upstreams.length && isDeepStrictEqual(withoutEndpoints(a), withoutEndpoints(b));
}

/** The ClusterLoadAssignments, each built and encoded once per (endpoints result, cluster name). */
function endpointResources(snap: ConnectProxySnapshot, interner: ResourceInterner): Map<string, EncodedResource> {
  const named = snap.upstreams.map((u) => [upstreamCluster(snap, u), u] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const byName = new Map<string, EncodedResource>();
  for (const [name, u] of named) {
    byName.set(name, interner.memo(u.endpoints, name, () => interner.intern(TypeUrl.Endpoint, name, encode(ClusterLoadAssignment, loadAssignment(snap, u)))));
  }
  return byName;
}

export type GenerateResult = { readonly ok: true; readonly resources: ResourceSet } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** Generates, or names every problem of the snapshot that prevents it. Never throws for bad input. */
export function tryGenerateResources(snap: ConnectProxySnapshot, ctx: GenerateContext = {}): GenerateResult {
  if (snap.issues.length > 0) return { ok: false, issues: snap.issues };
  const interner = ctx.interner ?? sharedInterner;
  const reuse = ctx.previous && onlyEndpointsDiffer(ctx.previous.snapshot, snap) ? ctx.previous.resources : undefined;
  const set = new Map<XdsTypeUrl, ReadonlyMap<string, EncodedResource>>();
  for (const k of CONNECT_PROXY_KINDS) {
    const kept = k.typeUrl === TypeUrl.Endpoint ? undefined : reuse?.get(k.typeUrl);
    if (kept) {
      set.set(k.typeUrl, kept);
      continue;
    }
    if (k.typeUrl === TypeUrl.Endpoint) {
      set.set(k.typeUrl, endpointResources(snap, interner));
      continue;
    }
    const byName = new Map<string, EncodedResource>();
    for (const message of k.generate(snap)) {
      const name = k.name(message);
      byName.set(name, interner.intern(k.typeUrl, name, encode(k.type, message), k.children(snap, message)));
    }
    set.set(k.typeUrl, byName);
  }
  return { ok: true, resources: set };
}

/**
 * A proxy's complete desired resources. Throws a ValidationError naming every problem when the
 * snapshot carries configuration issues (the server answers Unavailable and keeps the last good set).
 */
export function generateResources(snap: ConnectProxySnapshot, ctx: GenerateContext = {}): ResourceSet {
  const result = tryGenerateResources(snap, ctx);
  if (!result.ok) throw new ValidationError(result.issues, `proxy ${snap.proxy.ID}`);
  return result.resources;
}
