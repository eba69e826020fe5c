// The bootstrap a sidecar Envoy starts from (`switchyard connect envoy`): who it is, where its
// admin API listens, and how to reach Switchyard's ADS (delta by default) with its token, over
// TLS when the agent's gRPC port is its TLS one.
// Everything else (clusters, listeners, secrets) arrives over ADS.
import { DEFAULT_NAMESPACE, XDS_CLUSTER } from '../core/names.js';
import { pack } from '../core/proto.js';
import { Bootstrap } from '../gen/envoy/config/bootstrap/v3/bootstrap.js';
import { Cluster, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster.js';
import { ValidationError } from '../core/errors.js';
import { ApiConfigSource_ApiType, ApiVersion } from '../gen/envoy/config/core/v3/config_source.js';
import type { TransportSocket } from '../gen/envoy/config/core/v3/base.js';
import { UpstreamTlsContext } from '../gen/envoy/extensions/transport_sockets/tls/v3/tls.js';
import { HttpProtocolOptions } from '../gen/envoy/extensions/upstreams/http/v3/http_protocol_options.js';
import { millis, socketAddress } from './address.js';
import { adsConfigSource } from './config-source.js';
import { statsTags } from './stats-tags.js';

export interface BootstrapOptions {
  /** The proxy's service id: Envoy's node id, and how Switchyard finds its snapshot. */
  readonly proxyId: string;
  /**
   * The service the proxy fronts (a sidecar's Proxy.DestinationServiceName): Envoy's node
   * cluster, as Consul sets it, and the stats tags `local_cluster` and `consul.source.service`.
   */
  readonly service: string;
  readonly namespace?: string;
  readonly datacenter: string;
  /** Switchyard's gRPC (xDS) endpoint: an IP or a DNS name. */
  readonly xdsAddress: string;
  readonly xdsPort: number;
  /** Envoy's admin listener; default 127.0.0.1:19000. */
  readonly adminAddress?: string;
  readonly adminPort?: number;
  /** `delta` (incremental, default) or `sotw` (state of the world). */
  readonly adsMode?: 'delta' | 'sotw';
  /** ACL token sent as gRPC initial metadata `x-consul-token`. */
  readonly token?: string;
  /**
   * Reach the xDS port over TLS (the agent's ports.grpc_tls), trusting `caPem` (the agent's CA, as
   * `consul connect envoy` inlines -grpc-ca-file); `sni` is sent as the server name when set.
   */
  readonly xdsTls?: { readonly caPem: string; readonly sni?: string };
  /** Connect timeout to Switchyard, default 1000 ms. */
  readonly xdsConnectTimeoutMs?: number;
  /**
   * Consul's `envoy_extra_static_clusters_json` (the registration's Proxy.Config): cluster
   * definitions in Envoy's JSON, comma-separated, added to the static clusters (for example the
   * SDS server an ingress listener's TLS.SDS names).
   */
  readonly extraStaticClustersJson?: string;
}

/** The clusters of `envoy_extra_static_clusters_json`; throws naming the key when it is not JSON objects. */
export function extraStaticClusters(json: string | undefined): Cluster[] {
  if (json === undefined || json.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(`[${json}]`);
  } catch (err) {
    throw ValidationError.of('Proxy.Config.envoy_extra_static_clusters_json', `must be one or more JSON cluster definitions, comma-separated: ${(err as Error).message}`);
  }
  const list = parsed as unknown[];
  list.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || typeof (c as { name?: unknown }).name !== 'string') throw ValidationError.of('Proxy.Config.envoy_extra_static_clusters_json', `cluster ${i + 1} must be a JSON object with a "name"`);
  });
  return list.map((c) => Cluster.fromJSON(c));
}

export const TOKEN_METADATA_KEY = 'x-consul-token';

/**
 * RE2's program size limit, raised as Consul's bootstrap does: Envoy's default (100) refuses the
 * SPIFFE ID regex of an intention whose source name has 89 or more characters.
 */
export const RE2_MAX_PROGRAM_SIZE = 1_048_576;

const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

function xdsClusterTypedOptions() {
  const http2 = HttpProtocolOptions.fromPartial({
    upstreamProtocolOptions: { $case: 'explicitHttpConfig', value: { protocolConfig: { $case: 'http2ProtocolOptions', value: {} } } },
  });
  return { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': pack(HttpProtocolOptions, http2) };
}

/** The xds cluster's client TLS: the agent's certificate checked against the given CA; h2 offered by ALPN, which gRPC servers require. */
function xdsTransportSocket(tls: NonNullable<BootstrapOptions['xdsTls']>): TransportSocket {
  const ctx = UpstreamTlsContext.fromPartial({
    commonTlsContext: { alpnProtocols: ['h2'], validationContextType: { $case: 'validationContext', value: { trustedCa: { specifier: { $case: 'inlineString', value: tls.caPem } } } } },
    ...(tls.sni && { sni: tls.sni }),
  });
  return { name: 'tls', configType: { $case: 'typedConfig', value: pack(UpstreamTlsContext, ctx) } };
}

export function generateBootstrap(opts: BootstrapOptions): Bootstrap {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  return Bootstrap.fromPartial({
    node: { id: opts.proxyId, cluster: opts.service },
    admin: { address: socketAddress(opts.adminAddress ?? '127.0.0.1', opts.adminPort ?? 19000) },
    staticResources: {
      clusters: [
        {
          name: XDS_CLUSTER,
          clusterDiscoveryType: { $case: 'type', value: IP_LITERAL.test(opts.xdsAddress) ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.STRICT_DNS },
          connectTimeout: millis(opts.xdsConnectTimeoutMs ?? 1000),
          typedExtensionProtocolOptions: xdsClusterTypedOptions(),
          ...(opts.xdsTls && { transportSocket: xdsTransportSocket(opts.xdsTls) }),
          loadAssignment: {
            clusterName: XDS_CLUSTER,
            endpoints: [{ lbEndpoints: [{ hostIdentifier: { $case: 'endpoint', value: { address: socketAddress(opts.xdsAddress, opts.xdsPort) } } }] }],
          },
        },
        ...extraStaticClusters(opts.extraStaticClustersJson),
      ],
    },
    dynamicResources: {
      adsConfig: {
        apiType: opts.adsMode === 'sotw' ? ApiConfigSource_ApiType.GRPC : ApiConfigSource_ApiType.DELTA_GRPC,
        transportApiVersion: ApiVersion.V3,
        grpcServices: [
          {
            targetSpecifier: { $case: 'envoyGrpc', value: { clusterName: XDS_CLUSTER } },
            initialMetadata: opts.token ? [{ key: TOKEN_METADATA_KEY, value: opts.token }] : [],
          },
        ],
      },
      cdsConfig: adsConfigSource(),
      ldsConfig: adsConfigSource(),
    },
    statsConfig: { statsTags: statsTags({ service: opts.service, namespace, datacenter: opts.datacenter }) },
    layeredRuntime: { layers: [{ name: 'base', layerSpecifier: { $case: 'staticLayer', value: { 're2.max_program_size.error_level': RE2_MAX_PROGRAM_SIZE } } }] },
  });
}
