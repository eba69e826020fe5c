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
import { clusterChildren, generateClusters } from './clusters.js';
import { sharedInterner, type ResourceInterner } from './encode.js';
import { MESH_GATEWAY_RESOURCES } from './mesh-gateway.js';
import { TERMINATING_GATEWAY_RESOURCES } from './terminating-gateway.js';
import { INGRESS_GATEWAY_RESOURCES } from './ingress-gateway.js';
import { endpointResources, secretResources } from './shared-rows.js';
import { generateListeners, listenerRouteNames } from './listeners.js';
import { builtRow, sharedRow, type ResourceTable } from './resource-table.js';
import { generateRoutes } from './routes.js';

export interface GenerateContext {
  /** Where identical resources are shared; defaults to the process-wide interner. */
  readonly interner?: ResourceInterner;
}

/** Every type a sidecar receives, in xDS send order (Secrets, Clusters, Endpoints, Listeners, Routes). */
export const CONNECT_PROXY_RESOURCES: ResourceTable<ConnectProxySnapshot> = [
  sharedRow({ typeUrl: TypeUrl.Secret, shared: secretResources }),
  builtRow({
    typeUrl: TypeUrl.Cluster,
    type: Cluster,
    fields: ['service', 'namespace', 'trustDomain', 'localApp', 'publicListener', 'upstreams', 'meshTls'],
    generate: generateClusters,
    name: (c) => c.name,
    children: (_i, c) => clusterChildren(c),
  }),
  sharedRow({ typeUrl: TypeUrl.Endpoint, shared: endpointResources }),
  builtRow({
    typeUrl: TypeUrl.Listener,
    type: Listener,
    fields: ['service', 'namespace', 'trustDomain', 'publicListener', 'intentions', 'defaultIntentionPolicy', 'upstreams', 'accessLogs', 'meshTls'],
    generate: generateListeners,
    name: (l) => l.name,
    children: (i, l) => listenerRouteNames(i, l.name),
  }),
  builtRow({
    typeUrl: TypeUrl.Route,
    type: RouteConfiguration,
    fields: ['trustDomain', 'publicListener', 'intentions', 'defaultIntentionPolicy', 'upstreams'],
    generate: generateRoutes,
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
