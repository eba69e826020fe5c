// A synthetic mesh for the ADS benchmark: realistic-size resources built from canonical proto JSON
// (TLS contexts with SDS, HTTP connection managers, PEM-sized secrets), shared between proxies
// where a generator would share them (one Cluster and ClusterLoadAssignment per service).
import { createHash } from 'node:crypto';
import { lookupType } from '../src/core/proto.js';
import { resourceSetOf, type EncodedResource, type ResourceSet } from '../src/core/resources.js';
import { TypeUrl, type XdsTypeUrl } from '../src/core/type-urls.js';

const ADS = { ads: {}, resourceApiVersion: 'V3' };
const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul';

export function encoded(typeUrl: XdsTypeUrl, name: string, json: unknown, children?: string[]): EncodedResource {
  const type = lookupType(typeUrl);
  const value = type.encode(type.fromJSON(json)).finish();
  const version = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return children ? { typeUrl, name, version, value, children } : { typeUrl, name, version, value };
}

function pem(kind: string, seed: string, bytes: number): string {
  const body = createHash('sha512').update(seed).digest('base64').repeat(Math.ceil(bytes / 88)).slice(0, bytes);
  return `-----BEGIN ${kind}-----\n${body.replace(/(.{64})/g, '$1\n')}\n-----END ${kind}-----\n`;
}

export const sni = (svc: string) => `${svc}.default.dc1.internal.${TRUST_DOMAIN}`;

export function cluster(svc: string): EncodedResource {
  const name = sni(svc);
  return encoded(TypeUrl.Cluster, name, {
    name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: ADS },
    connectTimeout: '5s',
    circuitBreakers: { thresholds: [{ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 }] },
    outlierDetection: { consecutive5xx: 5, interval: '10s', baseEjectionTime: '30s' },
    transportSocket: {
      name: 'tls',
      typedConfig: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: name,
        commonTlsContext: {
          tlsParams: {},
          tlsCertificateSdsSecretConfigs: [{ name: 'leaf', sdsConfig: ADS }],
          combinedValidationContext: {
            defaultValidationContext: { matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/${svc}` } }] },
            validationContextSdsSecretConfig: { name: 'roots', sdsConfig: ADS },
          },
        },
      },
    },
  }, [name]);
}

export function endpoints(svc: string, generation = 0, count = 3): EncodedResource {
  const name = sni(svc);
  return encoded(TypeUrl.Endpoint, name, {
    clusterName: name,
    endpoints: [
      {
        loadBalancingWeight: 1,
        lbEndpoints: Array.from({ length: count }, (_, i) => ({
          endpoint: { address: { socketAddress: { address: `10.${generation % 250}.${i}.${svc.length}`, portValue: 21000 + i } } },
          healthStatus: 'HEALTHY',
          loadBalancingWeight: 1,
        })),
      },
    ],
  });
}

function hcm(statPrefix: string, route: string, extraFilters: unknown[] = []): unknown {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    statPrefix,
    rds: { routeConfigName: route, configSource: ADS },
    httpFilters: [...extraFilters, { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    tracing: { randomSampling: { value: 1 } },
    forwardClientCertDetails: 'APPEND_FORWARD',
    setCurrentClientCertDetails: { subject: true, cert: true, chain: true, dns: true, uri: true },
    accessLog: [
      {
        name: 'envoy.access_loggers.file',
        typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
          path: '/dev/stdout',
          logFormat: { jsonFormat: { start_time: '%START_TIME%', method: '%REQ(:METHOD)%', path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', response_code: '%RESPONSE_CODE%', upstream_host: '%UPSTREAM_HOST%', duration: '%DURATION%' } },
        },
      },
    ],
  };
}

/** RBAC allowing `sources` (by SPIFFE ID), as intentions become on the public listener. */
function rbac(sources: readonly string[]): unknown {
  return {
    name: 'envoy.filters.http.rbac',
    typedConfig: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      rules: {
        policies: {
          'consul-intentions-layer4': {
            permissions: [{ any: true }],
            principals: sources.map((svc) => ({ authenticated: { principalName: { safeRegex: { regex: `^spiffe://[^/]+/ns/default/dc/[^/]+/svc/${svc}$` } } } })),
          },
        },
      },
    },
  };
}

/** The inbound listener: mTLS, intentions as RBAC, to local_app. */
export function publicListener(proxy: string, port: number, sources: readonly string[]): EncodedResource {
  const name = `public_listener:0.0.0.0:${port}`;
  const route = `public-${proxy}`;
  return encoded(TypeUrl.Listener, name, {
    name,
    address: { socketAddress: { address: '0.0.0.0', portValue: port } },
    filterChains: [
      {
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm(`public_listener_${proxy}`, route, [rbac(sources)]) }],
        transportSocket: {
          name: 'tls',
          typedConfig: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
            requireClientCertificate: true,
            commonTlsContext: {
              tlsCertificateSdsSecretConfigs: [{ name: 'leaf', sdsConfig: ADS }],
              validationContextSdsSecretConfig: { name: 'roots', sdsConfig: ADS },
            },
          },
        },
      },
    ],
  }, [route]);
}

/** One outbound listener per upstream, named `<upstream>:<ip>:<port>` as Consul does; its route is shared. */
export function upstreamListener(svc: string, port: number): EncodedResource {
  const name = `${svc}:127.0.0.1:${port}`;
  return encoded(TypeUrl.Listener, name, {
    name,
    address: { socketAddress: { address: '127.0.0.1', portValue: port } },
    filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm(`upstream.${svc}`, `upstream-${svc}`) }] }],
  }, [`upstream-${svc}`]);
}

/** The local application, a static cluster. */
export function localApp(port: number): EncodedResource {
  return encoded(TypeUrl.Cluster, 'local_app', {
    name: 'local_app',
    type: 'STATIC',
    connectTimeout: '5s',
    loadAssignment: { clusterName: 'local_app', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: port } } } }] }] },
  });
}

export function publicRoute(proxy: string): EncodedResource {
  const name = `public-${proxy}`;
  return encoded(TypeUrl.Route, name, { name, virtualHosts: [{ name: 'local_app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'local_app' } }] }] });
}

export function upstreamRoute(svc: string): EncodedResource {
  const name = `upstream-${svc}`;
  return encoded(TypeUrl.Route, name, {
    name,
    virtualHosts: [{ name: svc, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: sni(svc), timeout: '15s', retryPolicy: { retryOn: 'connect-failure,refused-stream', numRetries: 2 } } }] }],
  });
}

export function leafSecret(proxy: string): EncodedResource {
  return encoded(TypeUrl.Secret, 'leaf', {
    name: 'leaf',
    tlsCertificate: { certificateChain: { inlineString: pem('CERTIFICATE', proxy, 1100) }, privateKey: { inlineString: pem('EC PRIVATE KEY', `${proxy}-key`, 300) } },
  });
}

export function rootsSecret(generation = 0): EncodedResource {
  return encoded(TypeUrl.Secret, 'roots', {
    name: 'roots',
    validationContext: { trustedCa: { inlineString: pem('CERTIFICATE', `root-${generation}`, 1100) + pem('CERTIFICATE', `root-old-${generation}`, 1100) } },
  });
}

export function resourceSet(resources: readonly EncodedResource[]): ResourceSet {
  return resourceSetOf(resources);
}

/** A copy of `set` with some resources replaced (same names), sharing everything else. */
export function withReplaced(set: ResourceSet, replacements: readonly EncodedResource[]): ResourceSet {
  const out = new Map(set);
  for (const r of replacements) {
    const byName = new Map(out.get(r.typeUrl));
    if (!byName.has(r.name)) continue;
    byName.set(r.name, r);
    out.set(r.typeUrl, byName);
  }
  return out;
}
