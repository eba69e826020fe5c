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
  portOrZero,
  protocol,
  directProxyMode,
  isZero,
  serviceName,
  TRANSPARENT_PROXY_NOT_BUILT,
  tlsParams,
  transparentProxyConfig,
  upstreamLimits,
  duplicates,
} from './common.js';

/** TransparentProxy settings: type-checked, refused when set (transparent proxying is not built). */
const transparentProxy = transparentProxyConfig.refine(isZero, `is not supported yet (${TRANSPARENT_PROXY_NOT_BUILT})`);
const extensions = envoyExtensions.refine(isZero, 'is not supported yet (Envoy extensions: Lua, Wasm, ext_authz, ... are not built)');

const failoverPolicy = notSupportedYet('failover policies; failover follows a service-resolver\'s Targets or Datacenters');
const prioritizeByLocality = notSupportedYet('locality-aware routing');

export const proxyDefaultsSchema = z.strictObject({
  ...entryBase('proxy-defaults'),
  Name: z.literal('global', { error: 'must be "global" for proxy-defaults' }),
  // Opaque, but for the key every proxy's configuration is built from: a protocol no listener
  // can speak would leave every proxy of the mesh without configuration.
  Config: boundedOpaque(z.looseObject({ protocol: z.union([z.literal(''), protocol], { error: 'must be one of "tcp", "http", "http2" or "grpc"' }).optional() })).optional(),
  Mode: directProxyMode.optional(),
  TransparentProxy: transparentProxy.optional(),
  MutualTLSMode: mutualTLSMode.optional(),
  MeshGateway: meshGatewayConfig.optional(),
  Expose: exposeConfig.optional(),
  AccessLogs: accessLogsConfig.optional(),
  EnvoyExtensions: extensions.optional(),
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
    Mode: directProxyMode.optional(),
    TransparentProxy: transparentProxy.optional(),
    MutualTLSMode: mutualTLSMode.optional(),
    MeshGateway: meshGatewayConfig.optional(),
    Expose: exposeConfig.optional(),
    ExternalSNI: notSupportedYet('an external SNI for the service is not built: its clusters are named and verified by its own SNI').optional(),
    UpstreamConfig: z
      .strictObject({
        Overrides: z
          .array(z.strictObject({ Name: serviceName, Namespace: namespace.optional(), Peer: z.string().optional(), ...upstreamFields }))
          .optional(),
        Defaults: z.strictObject(upstreamFields).optional(),
      })
      .optional(),
    // Destinations are reached by transparent proxies only, which are not built.
    Destination: z
      .strictObject({ Addresses: z.array(z.string().min(1, 'must not be empty')).optional(), Port: portOrZero.optional() })
      .refine(isZero, `is not supported yet (destinations outside the mesh are reached by transparent proxies: ${TRANSPARENT_PROXY_NOT_BUILT})`)
      .optional(),
    MaxInboundConnections: nonNegativeInt.optional(),
    LocalConnectTimeoutMs: nonNegativeInt.optional(),
    LocalRequestTimeoutMs: nonNegativeInt.optional(),
    BalanceInboundConnections: z.enum(['', 'exact_balance']).optional(),
    RateLimits: rateLimits.refine(isZero, 'is not supported yet (local rate limits are not built)').optional(),
    EnvoyExtensions: extensions.optional(),
  })
  .superRefine((v, ctx) => {
    for (const i of duplicates(v.UpstreamConfig?.Overrides ?? [], (o) => o.Name)) {
      ctx.addIssue({ code: 'custom', path: ['UpstreamConfig', 'Overrides', i, 'Name'], message: 'is overridden more than once' });
    }
  });

export const meshSchema = z.strictObject({
  ...entryBase('mesh'),
  // Consul's Go client sends the mesh entry without a Name: there is one, named "mesh".
  Name: z.literal('mesh', { error: 'must be "mesh" for the mesh entry' }).default('mesh'),
  // Only transparent proxies could reach a destination outside the mesh; Switchyard's proxies reach
  // their explicit upstreams only, so true is what holds already, and false changes nothing either.
  TransparentProxy: z.strictObject({ MeshDestinationsOnly: z.boolean().optional() }).optional(),
  // A gate, not a behaviour: it allows MutualTLSMode "permissive", which is refused anyway (not
  // built), so either value leaves every inbound connection on mTLS. Consul's api suite sets it.
  AllowEnablingPermissiveMutualTLS: z.boolean().optional(),
  TLS: z.strictObject({ Incoming: tlsParams.optional(), Outgoing: tlsParams.optional() }).optional(),
  HTTP: z.strictObject({ SanitizeXForwardedClientCert: z.boolean().optional() }).optional(),
  Peering: z.strictObject({ PeerThroughMeshGateways: z.boolean().optional() }).refine(isZero, 'is not supported yet (cluster peering is not built)').optional(),
  ValidateClusters: notSupportedYet("route validation of clusters is not built: Envoy's routes are sent with validate_clusters off").optional(),
});

