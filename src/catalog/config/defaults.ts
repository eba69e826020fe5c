// proxy-defaults, service-defaults and mesh: the entries that set defaults for proxies.
import { z } from 'zod';
import {
  accessLogsConfig,
  boundedOpaque,
  entryBase,
  envoyExtensions,
  exposeConfig,
  meshGatewayConfig,
  notSupportedYet,
  mutualTLSMode,
  namespace,
  nonNegativeInt,
  passiveHealthCheck,
  port,
  protocol,
  proxyMode,
  serviceName,
  tlsParams,
  transparentProxyConfig,
  upstreamLimits,
  duplicates,
} from './common.js';

const failoverPolicy = notSupportedYet('failover policies; failover follows a service-resolver\'s Targets or Datacenters');
const prioritizeByLocality = notSupportedYet('locality-aware routing');

export const proxyDefaultsSchema = z.strictObject({
  ...entryBase('proxy-defaults'),
  Name: z.literal('global', { error: 'must be "global" for proxy-defaults' }),
  // Opaque, but for the key every proxy's configuration is built from: a protocol no listener
  // can speak would leave every proxy of the mesh without configuration.
  Config: boundedOpaque(z.looseObject({ protocol: z.union([z.literal(''), protocol], { error: 'must be one of "tcp", "http", "http2" or "grpc"' }).optional() })).optional(),
  Mode: proxyMode.optional(),
  TransparentProxy: transparentProxyConfig.optional(),
  MutualTLSMode: mutualTLSMode.optional(),
  MeshGateway: meshGatewayConfig.optional(),
  Expose: exposeConfig.optional(),
  AccessLogs: accessLogsConfig.optional(),
  EnvoyExtensions: envoyExtensions.optional(),
  FailoverPolicy: failoverPolicy.optional(),
  PrioritizeByLocality: prioritizeByLocality.optional(),
});

const upstreamFields = {
  Protocol: protocol.optional(),
  ConnectTimeoutMs: nonNegativeInt.optional(),
  Limits: upstreamLimits.optional(),
  PassiveHealthCheck: passiveHealthCheck.optional(),
  MeshGateway: meshGatewayConfig.optional(),
  BalanceOutboundConnections: z.enum(['', 'exact_balance']).optional(),
};

const rateLimits = z.strictObject({
  InstanceLevel: z
    .strictObject({
      RequestsPerSecond: nonNegativeInt.optional(),
      RequestsMaxBurst: nonNegativeInt.optional(),
      Routes: z
        .array(
          z.strictObject({
            PathExact: z.string().optional(),
            PathPrefix: z.string().optional(),
            PathRegex: z.string().optional(),
            RequestsPerSecond: nonNegativeInt,
            RequestsMaxBurst: nonNegativeInt.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export const serviceDefaultsSchema = z
  .strictObject({
    ...entryBase('service-defaults'),
    Protocol: protocol.optional(),
    Mode: proxyMode.optional(),
    TransparentProxy: transparentProxyConfig.optional(),
    MutualTLSMode: mutualTLSMode.optional(),
    MeshGateway: meshGatewayConfig.optional(),
    Expose: exposeConfig.optional(),
    ExternalSNI: z.string().optional(),
    UpstreamConfig: z
      .strictObject({
        Overrides: z
          .array(z.strictObject({ Name: serviceName, Namespace: namespace.optional(), Peer: z.string().optional(), ...upstreamFields }))
          .optional(),
        Defaults: z.strictObject(upstreamFields).optional(),
      })
      .optional(),
    Destination: z.strictObject({ Addresses: z.array(z.string().min(1, 'must not be empty')).min(1, 'must list at least one address'), Port: port }).optional(),
    MaxInboundConnections: nonNegativeInt.optional(),
    LocalConnectTimeoutMs: nonNegativeInt.optional(),
    LocalRequestTimeoutMs: nonNegativeInt.optional(),
    BalanceInboundConnections: z.enum(['', 'exact_balance']).optional(),
    RateLimits: rateLimits.optional(),
    EnvoyExtensions: envoyExtensions.optional(),
  })
  .superRefine((v, ctx) => {
    for (const i of duplicates(v.UpstreamConfig?.Overrides ?? [], (o) => o.Name)) {
      ctx.addIssue({ code: 'custom', path: ['UpstreamConfig', 'Overrides', i, 'Name'], message: 'is overridden more than once' });
    }
    if (v.Destination && v.Mode !== undefined && v.Mode !== 'transparent' && v.Mode !== '') {
      ctx.addIssue({ code: 'custom', path: ['Destination'], message: 'is only valid for services in transparent mode' });
    }
  });

export const meshSchema = z.strictObject({
  ...entryBase('mesh'),
  // Consul's Go client sends the mesh entry without a Name: there is one, named "mesh".
  Name: z.literal('mesh', { error: 'must be "mesh" for the mesh entry' }).default('mesh'),
  TransparentProxy: z.strictObject({ MeshDestinationsOnly: z.boolean().optional() }).optional(),
  AllowEnablingPermissiveMutualTLS: z.boolean().optional(),
  TLS: z.strictObject({ Incoming: tlsParams.optional(), Outgoing: tlsParams.optional() }).optional(),
  HTTP: z.strictObject({ SanitizeXForwardedClientCert: z.boolean().optional() }).optional(),
  Peering: z.strictObject({ PeerThroughMeshGateways: z.boolean().optional() }).optional(),
  ValidateClusters: z.boolean().optional(),
});

