// TLS for the mesh: certificates and trust bundle by SDS (names from core/names.ts), peer
// identity checked by SPIFFE URI SAN on the way out, client certificates required on the way in.
import type { Protocol } from '../catalog/types.js';
import { leafSecretName, OWN_LEAF_SECRET, rootsSecretName } from '../core/names.js';
import { pack } from '../core/proto.js';
import type { TransportSocket } from '../gen/envoy/config/core/v3/base.js';
import { SubjectAltNameMatcher_SanType, TlsParameters, TlsParameters_TlsProtocol } from '../gen/envoy/extensions/transport_sockets/tls/v3/common.js';
import { SdsSecretConfig } from '../gen/envoy/extensions/transport_sockets/tls/v3/secret.js';
import { CommonTlsContext, DownstreamTlsContext, UpstreamTlsContext } from '../gen/envoy/extensions/transport_sockets/tls/v3/tls.js';
import type { ConnectProxySnapshot, IngressListenerTls, MeshTlsSettings, OriginationTls, TlsSettings } from '../proxycfg/snapshot.js';
import { ApiConfigSource_ApiType, ApiVersion } from '../gen/envoy/config/core/v3/config_source.js';
import { millis } from './address.js';
import { adsConfigSource } from './config-source.js';

const TLS_TRANSPORT_SOCKET = 'tls';

function sds(name: string): SdsSecretConfig {
  return SdsSecretConfig.fromPartial({ name, sdsConfig: adsConfigSource() });
}

/**
 * What a proxy's TLS contexts are built from: the trust domain (its roots' SDS name) and the mesh
 * entry's TLS. Not the service: the leaf is the proxy's own (names.OWN_LEAF_SECRET), so upstream
 * clusters of proxies of different services are the same bytes.
 */
export type TlsIdentity = Pick<ConnectProxySnapshot, 'trustDomain'> & { readonly meshTls?: MeshTlsSettings };

/** The proxy's own leaf certificate and key. */
export function leafSds(): SdsSecretConfig {
  return sds(OWN_LEAF_SECRET);
}

/** A named service identity's leaf, for a proxy that holds several (a terminating gateway presents each linked service's). */
export function namedLeafSds(service: string, namespace: string): SdsSecretConfig {
  return sds(leafSecretName(service, namespace));
}

export function rootsSds(snap: Pick<TlsIdentity, 'trustDomain'>): SdsSecretConfig {
  return sds(rootsSecretName(snap.trustDomain));
}

/**
 * TLS parameters of every mesh connection, both sides (the mesh entry's TLS Incoming or Outgoing
 * versions and cipher suites over these defaults). Leaf keys follow the CA's key type, so
 * after a rotation to EC P-384 (or RSA) the peers must still agree: Envoy's client defaults to
 * TLS 1.2 offering only X25519 and P-256, and a TLS 1.2 server refuses to use a P-384
 * certificate with such a client (BoringSSL WRONG_CURVE). Both sides speak TLS 1.2 to 1.3 and
 * offer P-384 as well.
 */
export function meshTlsParams(side?: TlsSettings): TlsParameters {
  const max = tlsProtocol(side?.maxVersion) ?? TlsParameters_TlsProtocol.TLSv1_3;
  // A maximum below our default minimum (TLSv1_0, TLSv1_1) brings the minimum down with it.
  const lowMax = max === TlsParameters_TlsProtocol.TLSv1_0 || max === TlsParameters_TlsProtocol.TLSv1_1;
  return TlsParameters.fromPartial({
    tlsMinimumProtocolVersion: tlsProtocol(side?.minVersion) ?? (lowMax ? max : TlsParameters_TlsProtocol.TLSv1_2),
    tlsMaximumProtocolVersion: max,
    ...(side?.cipherSuites?.length ? { cipherSuites: [...side.cipherSuites] } : {}),
    ecdhCurves: ['X25519', 'P-256', 'P-384'],
  });
}

/** The mesh entry's version names (TLSv1_0 ... TLSv1_3, TLS_AUTO: Envoy's default) as Envoy's. */
function tlsProtocol(v: string | undefined): TlsParameters_TlsProtocol | undefined {
  switch (v) {
    case 'TLS_AUTO':
      return TlsParameters_TlsProtocol.TLS_AUTO;
    case 'TLSv1_0':
      return TlsParameters_TlsProtocol.TLSv1_0;
    case 'TLSv1_1':
      return TlsParameters_TlsProtocol.TLSv1_1;
    case 'TLSv1_2':
      return TlsParameters_TlsProtocol.TLSv1_2;
    case 'TLSv1_3':
      return TlsParameters_TlsProtocol.TLSv1_3;
    default:
      return undefined;
  }
}

/** ALPN to offer for a protocol: h2 where HTTP/2 is spoken, nothing for plain TCP. */
export function alpnFor(protocol: Protocol): string[] {
  switch (protocol) {
    case 'http2':
    case 'grpc':
      return ['h2', 'http/1.1'];
    case 'http':
      return ['http/1.1'];
    case 'tcp':
      return [];
  }
}

/** Client side of a connection to an upstream: our leaf, the roots, and the peer's exact SPIFFE ID. */
export function upstreamTransportSocket(snap: TlsIdentity, sni: string, peerSpiffeId: string, protocol: Protocol): TransportSocket {
  const common = CommonTlsContext.fromPartial({
    tlsParams: meshTlsParams(snap.meshTls?.outgoing),
    alpnProtocols: alpnFor(protocol),
    tlsCertificateSdsSecretConfigs: [leafSds()],
    validationContextType: {
      $case: 'combinedValidationContext',
      value: {
        defaultValidationContext: {
          matchTypedSubjectAltNames: [{ sanType: SubjectAltNameMatcher_SanType.URI, matcher: { matchPattern: { $case: 'exact', value: peerSpiffeId } } }],
        },
        validationContextSdsSecretConfig: rootsSds(snap),
      },
    },
  });
  const ctx = UpstreamTlsContext.fromPartial({ commonTlsContext: common, sni });
  return { name: TLS_TRANSPORT_SOCKET, configType: { $case: 'typedConfig', value: pack(UpstreamTlsContext, ctx) } };
}

/** Server side of mesh mTLS presenting `leaf` (the proxy's own unless given), client certificates required and chained to the roots. */
export function serverTransportSocket(identity: TlsIdentity, protocol: Protocol, leaf: SdsSecretConfig = leafSds()): TransportSocket {
  const ctx = DownstreamTlsContext.fromPartial({
    commonTlsContext: {
      tlsParams: meshTlsParams(identity.meshTls?.incoming),
      alpnProtocols: alpnFor(protocol),
      tlsCertificateSdsSecretConfigs: [leaf],
      validationContextType: { $case: 'validationContextSdsSecretConfig', value: rootsSds(identity) },
    },
    requireClientCertificate: true,
  });
  return { name: TLS_TRANSPORT_SOCKET, configType: { $case: 'typedConfig', value: pack(DownstreamTlsContext, ctx) } };
}

/** Server side of the public listener: our leaf, client certificates required and chained to the roots. */
export function downstreamTransportSocket(snap: TlsIdentity & { readonly publicListener: Pick<ConnectProxySnapshot['publicListener'], 'protocol'> }): TransportSocket {
  return serverTransportSocket(snap, snap.publicListener.protocol);
}

/**
 * TLS a gateway originates to a service outside the mesh, from files on the gateway's host (Envoy
 * reads them): the CA that signs the service's certificate, optionally a client certificate and
 * key, and the SNI to send, which the service's certificate must also carry as a DNS SAN.
 */
export function originationTransportSocket(tls: OriginationTls): TransportSocket {
  const file = (filename: string) => ({ specifier: { $case: 'filename' as const, value: filename } });
  const common = CommonTlsContext.fromPartial({
    tlsCertificates: tls.certFile ? [{ certificateChain: file(tls.certFile), privateKey: file(tls.keyFile ?? '') }] : [],
    validationContextType: {
      $case: 'validationContext',
      value: {
        trustedCa: file(tls.caFile),
        ...(tls.sni ? { matchTypedSubjectAltNames: [{ sanType: SubjectAltNameMatcher_SanType.DNS, matcher: { matchPattern: { $case: 'exact', value: tls.sni } } }] } : {}),
      },
    },
  });
  const ctx = UpstreamTlsContext.fromPartial({ commonTlsContext: common, ...(tls.sni ? { sni: tls.sni } : {}) });
  return { name: TLS_TRANSPORT_SOCKET, configType: { $case: 'typedConfig', value: pack(UpstreamTlsContext, ctx) } };
}

/** A certificate the operator serves by SDS from a cluster of the bootstrap (Consul's ingress TLS.SDS). */
function operatorSds(clusterName: string, certResource: string): SdsSecretConfig {
  return SdsSecretConfig.fromPartial({
    name: certResource,
    sdsConfig: {
      configSourceSpecifier: {
        $case: 'apiConfigSource',
        value: { apiType: ApiConfigSource_ApiType.GRPC, transportApiVersion: ApiVersion.V3, grpcServices: [{ targetSpecifier: { $case: 'envoyGrpc', value: { clusterName } }, timeout: millis(5000) }] },
      },
      resourceApiVersion: ApiVersion.V3,
    },
  });
}

/**
 * Server side of an ingress listener with TLS: the gateway's own leaf (the roots offered to
 * validate a client certificate, none required, as Consul's), or the operator's SDS certificate;
 * clients are outside the mesh, so no client certificate is asked for.
 */
export function ingressTransportSocket(snap: Pick<TlsIdentity, 'trustDomain'>, tls: IngressListenerTls, protocol: Protocol): TransportSocket {
  const certificate = tls.source === 'sds' ? operatorSds(tls.clusterName, tls.certResource) : leafSds();
  const ctx = DownstreamTlsContext.fromPartial({
    commonTlsContext: {
      tlsParams: meshTlsParams(tls.params),
      alpnProtocols: alpnFor(protocol),
      tlsCertificateSdsSecretConfigs: [certificate],
      ...(tls.source === 'leaf' ? { validationContextType: { $case: 'validationContextSdsSecretConfig', value: rootsSds(snap) } } : {}),
    },
    requireClientCertificate: false,
  });
  return { name: TLS_TRANSPORT_SOCKET, configType: { $case: 'typedConfig', value: pack(DownstreamTlsContext, ctx) } };
}
