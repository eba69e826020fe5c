// Every identity and resource name, built in one place, following Consul's conventions so that
// dashboards and Envoy stats tags carry over.

export const DEFAULT_NAMESPACE = 'default';

/** `<cluster-id>.consul`; the cluster id is a UUID generated once and persisted. */
export function trustDomainFor(clusterId: string): string {
  return `${clusterId}.consul`;
}

export function spiffeRootUri(trustDomain: string): string {
  return `spiffe://${trustDomain}`;
}

export interface ServiceIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly service: string;
}

/** `spiffe://<td>/ns/<ns>/dc/<dc>/svc/<svc>` */
export function spiffeServiceUri(id: ServiceIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/dc/${id.datacenter}/svc/${id.service}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A regex for the SPIFFE IDs of a service in any datacenter of the trust domain; an undefined
 * namespace or service matches any.
 */
export function spiffeServicePattern(trustDomain: string, namespace: string | undefined, service: string | undefined): string {
  const part = (p: string | undefined) => (p === undefined ? '[^/]+' : escapeRegex(p));
  return `^spiffe://${escapeRegex(trustDomain)}/ns/${part(namespace)}/dc/[^/]+/svc/${part(service)}$`;
}

const SERVICE_URI = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;

export function parseSpiffeServiceUri(uri: string): ServiceIdentity | undefined {
  const m = SERVICE_URI.exec(uri);
  if (!m) return undefined;
  const [, trustDomain, namespace, datacenter, service] = m as unknown as [string, string, string, string, string];
  return { trustDomain, namespace, datacenter, service };
}

/** The SNI (and cluster and endpoints name) of a service: `<svc>.<ns>.<dc>.internal.<td>`. */
export function serviceSni(service: string, namespace: string, datacenter: string, trustDomain: string): string {
  return `${service}.${namespace}.${datacenter}.internal.${trustDomain}`;
}

/** The cluster a mesh gateway sends a datacenter's traffic to: `<dc>.internal.<td>`. */
export function datacenterSni(datacenter: string, trustDomain: string): string {
  return `${datacenter}.internal.${trustDomain}`;
}

/** Every service SNI of a datacenter, as a mesh gateway's filter chain matches it: `*.<dc>.internal.<td>`. */
export function datacenterWildcardSni(datacenter: string, trustDomain: string): string {
  return `*.${datacenterSni(datacenter, trustDomain)}`;
}

/** A mesh gateway's listener: `<default|lan|wan|custom name>:<address>:<port>`, as Consul names it. */
export function gatewayListenerName(name: string, address: string, port: number): string {
  return `${name}:${address}:${port}`;
}

/** Stats of a mesh gateway's traffic to a local service. */
export function meshGatewayLocalStatPrefix(service: string, namespace: string, datacenter: string): string {
  return `mesh_gateway_local.${service}.${namespace}.${datacenter}`;
}

/** Stats of a mesh gateway's traffic to another datacenter. */
export function meshGatewayRemoteStatPrefix(namespace: string, datacenter: string): string {
  return `mesh_gateway_remote.${namespace}.${datacenter}`;
}

/** Stats of a mesh gateway's last filter chain (any other SNI, routed by the SNI itself). */
export const MESH_GATEWAY_DEFAULT_STAT_PREFIX = 'mesh_gateway_local.default';

/** Stats of a terminating gateway's last filter chain (any other SNI, routed by the SNI itself). */
export const TERMINATING_GATEWAY_DEFAULT_STAT_PREFIX = 'terminating_gateway.default';
/** An ingress gateway's HTTP listener: `<protocol>:<address>:<port>` (a tcp one is named as an upstream's, `<svc>:<address>:<port>`). */
export function ingressListenerName(protocol: string, address: string, port: number): string {
  return `${protocol}:${address}:${port}`;
}

/** RDS name of an ingress gateway's HTTP listener's routes: its port, as Consul names them. */
export function ingressRouteName(port: number): string {
  return String(port);
}

/** RDS name of the routes of a service with its own certificate on an ingress listener: `<port>_<svc>`. */
export function ingressServiceRouteName(port: number, service: string): string {
  return `${port}_${service}`;
}

/** Stat prefix of an ingress gateway's HTTP listener. */
export function ingressStatPrefix(port: number): string {
  return `ingress_upstream_${port}`;
}

export const LOCAL_APP_CLUSTER = 'local_app';

export function publicListenerName(address: string, port: number): string {
  return `public_listener:${address}:${port}`;
}

/** `<upstream-id>:<bind-address>:<port>` */
export function upstreamListenerName(upstreamId: string, address: string, port: number): string {
  return `${upstreamId}:${address}:${port}`;
}

/** An exposed path's name part: the path without anything but letters and digits (Consul's). */
function exposedPathPart(path: string): string {
  return path.replace(/[^a-zA-Z0-9]+/g, '');
}

/** An exposed path's listener: `exposed_path_<path>:<address>:<port>`. */
export function exposedPathListenerName(path: string, address: string, port: number): string {
  return `exposed_path_${exposedPathPart(path)}:${address}:${port}`;
}

/** An exposed path's HTTP connection manager stat prefix (and its route's name): `exposed_path_filter_<path>_<port>`. */
export function exposedPathStatPrefix(path: string, port: number): string {
  return `exposed_path_filter_${exposedPathPart(path)}_${port}`;
}

/** The cluster of an exposed path on another port of the app than its service port. */
export function exposedClusterName(port: number): string {
  return `exposed_cluster_${port}`;
}

/**
 * SDS name of a proxy's own leaf certificate and private key: one name for every sidecar. A
 * stream only ever receives its own identity's leaf, so the name need not say whose it is; and
 * because it does not, the resources that refer to it (every upstream Cluster's client
 * certificate) are identical across services and are built and encoded once for the whole mesh.
 * The `leaf:` prefix stays, so tools that tell leaves from the trust bundle by name still do.
 */
export const OWN_LEAF_SECRET = 'leaf:self';

/** SDS name of a named service identity's leaf (a proxy that holds several identities' leaves). */
export function leafSecretName(service: string, namespace = DEFAULT_NAMESPACE): string {
  return `leaf:${namespace}/${service}`;
}

/** SDS name of the trust bundle (all active CA roots) as a validation context. */
export function rootsSecretName(trustDomain: string): string {
  return `roots:${trustDomain}`;
}

export function sidecarServiceName(service: string): string {
  return `${service}-sidecar-proxy`;
}

/**
 * The id of an explicit upstream, which prefixes its listener name and names its route: the
 * destination name, qualified by namespace and datacenter only when they differ from the
 * proxy's own (Consul's `UpstreamID`).
 */
export function upstreamId(destination: string, namespace = DEFAULT_NAMESPACE, datacenter?: string): string {
  let id = destination;
  if (namespace !== DEFAULT_NAMESPACE) id = `${namespace}/${id}`;
  if (datacenter) id = `${id}?dc=${datacenter}`;
  return id;
}

/** RDS name of an HTTP upstream's RouteConfiguration: its upstream id, as Consul names it. */
export function upstreamRouteName(upstream: string): string {
  return upstream;
}

/** Name of the RouteConfiguration inlined in an HTTP public listener. */
export const PUBLIC_LISTENER_ROUTE = 'public_listener';

/** Stat prefix of the public listener's filters (`public_listener` in Consul's stats). */
export const PUBLIC_LISTENER_STAT_PREFIX = 'public_listener';

/** The one admin partition that exists; Consul's names carry it (`default`). */
export const DEFAULT_PARTITION = 'default';

/**
 * Stat prefix of an upstream listener's filters: `upstream.<svc>.<ns>.<partition>.<dc>`, as
 * Consul's, so its `consul.upstream.*` stats tags (stats-tags.ts) decode it.
 */
export function upstreamStatPrefix(service: string, namespace: string, datacenter: string): string {
  return `upstream.${service}.${namespace}.${DEFAULT_PARTITION}.${datacenter}`;
}

/** The bootstrap's static cluster that reaches Switchyard's gRPC (xDS) port. */
export const XDS_CLUSTER = 'switchyard_xds';

/** Name of the network RBAC filter's stat prefix on the public listener. */
export const CONNECT_AUTHZ_STAT_PREFIX = 'connect_authz';
