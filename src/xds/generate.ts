// A connect-proxy snapshot -> its complete ResourceSet (the contract with the ADS server).
// Resource types are described as data: one row per type, either built per proxy (message type,
// generator, name and children) or from shared inputs; generation is one loop over the table.
//
// Most changes in a mesh are endpoint changes (an instance comes, goes or fails a check) and
// certificate changes (a leaf renewed, the roots rotated); one such change reaches every proxy
// upstream of that service, or every proxy of it, or all of them. So the types built from those
// inputs alone (ClusterLoadAssignments, Secrets) are built once per shared input object (one
// health result, one leaf, one set of roots) and name, for all proxies. The other types
// (Clusters, Listeners, Routes) are built once per snapshot shape: everything they are built
// from, which leaves out the registration, the endpoints and the certificates. Proxies of one
// shape (typically the instances of one service) share them, and a proxy whose new snapshot
// differs only in endpoints or certificates keeps them; such a change costs a proxy lookups.
import type { FieldIssue } from '../core/errors.js';
import { ValidationError } from '../core/errors.js';
import { leafSecretName, rootsSecretName } from '../core/names.js';
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
import { loadAssignment } from './endpoints.js';
import { generateListeners, listenerRouteNames } from './listeners.js';
import { generateRoutes, upstreamCluster } from './routes.js';
import { leafSecret, rootsSecret } from './secrets.js';

export interface GenerateContext {
  /** Where identical resources are shared; defaults to the process-wide interner. */
  readonly interner?: ResourceInterner;
}

/** A type built per proxy from its snapshot. */
interface ProxyKind<T> {
  readonly typeUrl: XdsTypeUrl;
  readonly type: ProtoType<T>;
  generate(snap: ConnectProxySnapshot): T[];
  name(message: T): string;
  children(snap: ConnectProxySnapshot, message: T): readonly string[];
}

/** A type built from inputs shared between proxies, once per input object; rebuilt (looked up) on every snapshot. */
interface SharedKind {
  readonly typeUrl: XdsTypeUrl;
  shared(snap: ConnectProxySnapshot, interner: ResourceInterner): Map<string, EncodedResource>;
}

type ResourceKind = ProxyKind<unknown> | SharedKind;

function kind<T>(k: ProxyKind<T>): ResourceKind {
  return k as ProxyKind<unknown>;
}

/** Every type a sidecar receives, in xDS send order (Secrets, Clusters, Endpoints, Listeners, Routes). */
export const CONNECT_PROXY_KINDS: readonly ResourceKind[] = [
  { typeUrl: TypeUrl.Secret, shared: secretResources },
  kind({
    typeUrl: TypeUrl.Cluster,
    type: Cluster,
    generate: generateClusters,
    name: (c) => c.name,
    // An EDS cluster's assignment is named by the cluster (eds service_name unset).
    children: (_s, c) => (c.clusterDiscoveryType?.$case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS ? [c.name] : []),
  }),
  { typeUrl: TypeUrl.Endpoint, shared: endpointResources },
  kind({ typeUrl: TypeUrl.Listener, type: Listener, generate: generateListeners, name: (l) => l.name, children: (s, l) => listenerRouteNames(s, l.name) }),
  kind({ typeUrl: TypeUrl.Route, type: RouteConfiguration, generate: generateRoutes, name: (r) => r.name, children: () => [] }),
];

const byKey = <T>(entries: (readonly [string, T])[]) => entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The ClusterLoadAssignments, each built once per (health result's endpoints, cluster name). */
function endpointResources(snap: ConnectProxySnapshot, interner: ResourceInterner): Map<string, EncodedResource> {
  const byName = new Map<string, EncodedResource>();
  for (const [name, u] of byKey(snap.upstreams.map((u) => [upstreamCluster(snap, u), u] as const))) {
    byName.set(name, interner.memo(u.endpoints, name, () => interner.intern(TypeUrl.Endpoint, name, encode(ClusterLoadAssignment, loadAssignment(snap, u)))));
  }
  return byName;
}

/** The leaf Secret once per (leaf, name) and the roots Secret once per (roots, name). */
function secretResources(snap: ConnectProxySnapshot, interner: ResourceInterner): Map<string, EncodedResource> {
  const secret = (input: object, name: string, build: (snap: ConnectProxySnapshot) => Secret) =>
    [name, interner.memo(input, name, () => interner.intern(TypeUrl.Secret, name, encode(Secret, build(snap))))] as const;
  return new Map(byKey([secret(snap.leaf, leafSecretName(snap.service, snap.namespace), leafSecret), secret(snap.roots, rootsSecretName(snap.trustDomain), rootsSecret)]));
}

/** Snapshot fields rebuilt with every snapshot, so compared by value in a shape. */
const SHAPE_BY_VALUE = new Set(['publicListener', 'localApp', 'issues', 'upstreams']);
/** Fields the per-proxy types are not built from: the registration (resolved into publicListener and localApp) and the shared inputs. */
const SHAPE_IGNORES = new Set(['proxy', 'leaf', 'roots']);
const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;

/** Any other object (shared and immutable: intentions, the mesh entry) by identity, which is always safe. */
function identity(o: object): string {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = ++lastObjectId));
  return `#${id}`;
}

/** What a snapshot's per-proxy types are built from, as a string key. */
function snapshotShape(s: ConnectProxySnapshot): string {
  const fields = s as unknown as Record<string, unknown>;
  return JSON.stringify(
    Object.keys(fields)
      .filter((k) => !SHAPE_IGNORES.has(k))
      .sort()
      .map((k) => {
        const v = k === 'upstreams' ? s.upstreams.map(({ endpoints: _, ...u }) => u) : fields[k];
        return [k, v === null || typeof v !== 'object' || SHAPE_BY_VALUE.has(k) ? (v ?? null) : identity(v)];
      }),
  );
}

function buildKind(k: ProxyKind<unknown>, snap: ConnectProxySnapshot, interner: ResourceInterner): ReadonlyMap<string, EncodedResource> {
  const byName = new Map<string, EncodedResource>();
  for (const message of k.generate(snap)) {
    const name = k.name(message);
    byName.set(name, interner.intern(k.typeUrl, name, encode(k.type, message), k.children(snap, message)));
  }
  return byName;
}

export type GenerateResult = { readonly ok: true; readonly resources: ResourceSet } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** Generates, or names every problem of the snapshot that prevents it. Never throws for bad input. */
export function tryGenerateResources(snap: ConnectProxySnapshot, ctx: GenerateContext = {}): GenerateResult {
  if (snap.issues.length > 0) return { ok: false, issues: snap.issues };
  const interner = ctx.interner ?? sharedInterner;
  const shape = snapshotShape(snap);
  const set = new Map<XdsTypeUrl, ReadonlyMap<string, EncodedResource>>();
  for (const k of CONNECT_PROXY_KINDS) {
    set.set(k.typeUrl, 'shared' in k ? k.shared(snap, interner) : interner.shaped(`${k.typeUrl} ${shape}`, () => buildKind(k, snap, interner)));
  }
  return { ok: true, resources: set };
}

/**
 * A proxy's complete desired resources. Throws a ValidationError naming every problem when the
 * snapshot carries configuration issues (the server keeps the stream and its last good set, and
 * shows the error in the proxy's xDS status).
 */
export function generateResources(snap: ConnectProxySnapshot, ctx: GenerateContext = {}): ResourceSet {
  const result = tryGenerateResources(snap, ctx);
  if (!result.ok) throw new ValidationError(result.issues, `proxy ${snap.proxy.ID}`);
  return result.resources;
}
