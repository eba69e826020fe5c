// Every xDS type URL Switchyard speaks, in one place.
const PREFIX = 'type.googleapis.com/';

export const TypeUrl = {
  Cluster: `${PREFIX}envoy.config.cluster.v3.Cluster`,
  Endpoint: `${PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  Listener: `${PREFIX}envoy.config.listener.v3.Listener`,
  Route: `${PREFIX}envoy.config.route.v3.RouteConfiguration`,
  Secret: `${PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
} as const;

export type XdsTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

export const XDS_TYPE_URLS: readonly XdsTypeUrl[] = Object.values(TypeUrl);

export function isXdsTypeUrl(url: string): url is XdsTypeUrl {
  return (XDS_TYPE_URLS as readonly string[]).includes(url);
}

/** `type.googleapis.com/a.b.C` -> `a.b.C`. */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash < 0 ? typeUrl : typeUrl.slice(slash + 1);
}

export function typeUrlOf(typeName: string): string {
  return PREFIX + typeName;
}
