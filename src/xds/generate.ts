// A proxy's snapshot -> its complete ResourceSet (the contract with the ADS server): one resource
// table per proxy kind (rows described in resource-table.ts), and generation one loop over the
// table of the snapshot's kind.
import type { FieldIssue } from '../core/errors.js';
import { ValidationError } from '../core/errors.js';
import type { EncodedResource, ResourceSet } from '../core/resources.js';
import { TypeUrl, type XdsTypeUrl } from '../core/type-urls.js';
import { Cluster } from '../gen/envoy/config/cluster/v3/cluster.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { ConnectProxySnapshot, ProxyKind, ProxySnapshot, SnapshotOf } from '../proxycfg/snapshot.js';
import { clusterChildren, localAppCluster } from './clusters.js';
import { sharedInterner, type ResourceInterner } from './encode.js';
import { chainClusters, CLUSTER_UPSTREAM_FIELDS } from './chain-clusters.js';
import { ROUTE_UPSTREAM_FIELDS, upstreamRouteConfiguration } from './chain-routes.js';
import { exposedPathClusters } from './exposed-paths.js';
import { isHttp } from './filters.js';
import { INGRESS_GATEWAY_RESOURCES } from './ingress-gateway.js';
import { MESH_GATEWAY_RESOURCES } from './mesh-gateway.js';
import { endpointResources, secretResources } from './shared-rows.js';
import { TERMINATING_GATEWAY_RESOURCES } from './terminating-gateway.js';
import { exposedPathListeners, publicListenerHead, publicListenerRest, publicListenerRoutes, UPSTREAM_LISTENER_HEAD_FIELDS, UPSTREAM_LISTENER_REST_FIELDS, upstreamListenerHead, upstreamListenerRest, upstreamListenerRoutes } from './listeners.js';
import { eachPart, partedRow, sharedRow, splicedPart, wholePart, type ResourceTable } from './resource-table.js';
import { publicListenerRoute } from './routes.js';

export interface GenerateContext {
  /** Where identical resources are shared; defaults to the process-wide interner. */
  readonly interner?: ResourceInterner;
}

/** Every type a sidecar receives, in xDS send order (Secrets, Clusters, Endpoints, Listeners, Routes). */
export const CONNECT_PROXY_RESOURCES: ResourceTable<ConnectProxySnapshot> = [
  sharedRow({ typeUrl: TypeUrl.Secret, shared: secretResources }),
  // local_app is the proxy's own; an upstream's clusters are the same for every proxy with that upstream.
  partedRow({
    typeUrl: TypeUrl.Cluster,
    type: Cluster,
    parts: [
      wholePart({ fields: ['localApp', 'publicListener'], generate: (i: Pick<ConnectProxySnapshot, 'localApp' | 'publicListener'>) => [localAppCluster(i), ...exposedPathClusters(i)] }),
      eachPart({
        fields: ['trustDomain', 'meshTls'],
        elements: (snap: ConnectProxySnapshot) => snap.upstreams,
        elementFields: CLUSTER_UPSTREAM_FIELDS,
        generate: (i, u) => chainClusters(i, u),
      }),
    ],
    name: (c) => c.name,
    children: clusterChildren,
  }),
  sharedRow({ typeUrl: TypeUrl.Endpoint, shared: endpointResources }),
  // Listeners differ between proxies in their name and address: the rest of each is encoded once
  // per service (the public listener) or per upstream (an upstream's), and spliced after them.
  partedRow({
    typeUrl: TypeUrl.Listener,
    type: Listener,
    parts: [
      splicedPart({
        fields: ['trustDomain', 'intentions', 'defaultIntentionPolicy', 'accessLogs', 'meshTls'],
        elements: (snap: ConnectProxySnapshot) => [snap.publicListener],
        headFields: ['bindAddress', 'bindPort'],
        restFields: ['protocol', 'sanitizeXForwardedClientCert', 'balanceConnections'],
        head: publicListenerHead,
        rest: (i, publicListener) => publicListenerRest({ ...i, publicListener }),
        children: (_i, publicListener) => publicListenerRoutes(publicListener),
      }),
      splicedPart({
        fields: ['trustDomain', 'accessLogs'],
        elements: (snap: ConnectProxySnapshot) => snap.upstreams,
        headFields: UPSTREAM_LISTENER_HEAD_FIELDS,
        restFields: UPSTREAM_LISTENER_REST_FIELDS,
        head: upstreamListenerHead,
        rest: upstreamListenerRest,
        children: (_i, u) => upstreamListenerRoutes(u),
      }),
      // Exposed paths: plain HTTP on the proxy's own address, routes inline.
      wholePart({ fields: ['publicListener'], generate: (i: Pick<ConnectProxySnapshot, 'publicListener'>) => exposedPathListeners(i.publicListener) }),
    ],
    name: (l) => l.name,
    children: () => [],
  }),
  // The public listener's route is the service's (its intentions); an upstream's is the same for every proxy with that upstream.
  partedRow({
    typeUrl: TypeUrl.Route,
    type: RouteConfiguration,
    parts: [
      eachPart({
        fields: ['trustDomain', 'intentions', 'defaultIntentionPolicy'],
        elements: (snap: ConnectProxySnapshot) => [snap.publicListener],
        elementFields: ['protocol', 'requestTimeoutMs', 'idleTimeoutMs'],
        generate: (i, publicListener) => (isHttp(publicListener.protocol) ? [publicListenerRoute({ ...i, publicListener })] : []),
      }),
      eachPart({
        fields: ['trustDomain'],
        elements: (snap: ConnectProxySnapshot) => snap.upstreams,
        elementFields: ROUTE_UPSTREAM_FIELDS,
        generate: (i, u) => (isHttp(u.protocol) ? [upstreamRouteConfiguration(i.trustDomain, u)] : []),
      }),
    ],
    name: (r) => r.name,
    children: () => [],
  }),
];

/** The resource table of every served proxy kind. */
export const RESOURCE_TABLES: { readonly [K in ProxyKind]: ResourceTable<SnapshotOf<K>> } = {
  'connect-proxy': CONNECT_PROXY_RESOURCES,
  'mesh-gateway': MESH_GATEWAY_RESOURCES,
  'terminating-gateway': TERMINATING_GATEWAY_RESOURCES,
  'ingress-gateway': INGRESS_GATEWAY_RESOURCES,
};

export type GenerateResult = { readonly ok: true; readonly resources: ResourceSet } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** Generates, or names every problem of the snapshot that prevents it. Never throws for bad input. */
export function tryGenerateResources(snap: ProxySnapshot, ctx: GenerateContext = {}): GenerateResult {
  if (snap.issues.length > 0) return { ok: false, issues: snap.issues };
  const interner = ctx.interner ?? sharedInterner;
  const table: ResourceTable<ProxySnapshot> = RESOURCE_TABLES[snap.kind];
  const set = new Map<XdsTypeUrl, ReadonlyMap<string, EncodedResource>>();
  for (const row of table) set.set(row.typeUrl, row.resources(snap, interner));
  return { ok: true, resources: set };
}

/**
 * A proxy's complete desired resources. Throws a ValidationError naming every problem when the
 * snapshot carries configuration issues (the server keeps the stream and its last good set, and
 * shows the error in the proxy's xDS status).
 */
export function generateResources(snap: ProxySnapshot, ctx: GenerateContext = {}): ResourceSet {
  const result = tryGenerateResources(snap, ctx);
  if (!result.ok) throw new ValidationError(result.issues, `proxy ${snap.proxyId}`);
  return result.resources;
}
