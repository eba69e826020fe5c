// The keys of a proxy registration's opaque `Config` maps that Switchyard reads (Consul's
// `protocol`, `bind_address`, ...). Checked when the registration is written, so a value Envoy
// cannot take is a 400 naming the field, not a proxy left without configuration; proxycfg reads
// the stored maps with the same schemas. Other keys are kept as given (for Envoy extensions).
import { z } from 'zod';
import { boundedOpaque, ipAddressOrEmpty, port, protocol } from '../config/common.js';

/** Connect timeouts in milliseconds: at least 1 (Envoy requires > 0) and at most one day. */
export const MAX_CONNECT_TIMEOUT_MS = 86_400_000;
const timeoutMs = z.number().int('must be an integer').min(1, 'must be at least 1').max(MAX_CONNECT_TIMEOUT_MS, `must be at most ${MAX_CONNECT_TIMEOUT_MS} (one day)`);

/** Timeouts Envoy takes 0 for as "none": 0 to one day. */
const localTimeoutMs = z.number().int('must be an integer').min(0, 'must not be negative').max(MAX_CONNECT_TIMEOUT_MS, `must be at most ${MAX_CONNECT_TIMEOUT_MS} (one day)`);

/** Consul's connection balance setting: "exact_balance", or empty for Envoy's default. */
export const connectionBalance = z.enum(['', 'exact_balance'], { error: 'must be "exact_balance" or empty' });
function staticClustersJson(v: string): boolean {
  try {
    const list: unknown = JSON.parse(`[${v}]`);
    return Array.isArray(list) && list.every((c) => typeof c === 'object' && c !== null && typeof (c as { name?: unknown }).name === 'string');
  } catch {
    return false;
  }
}

/** `Proxy.Config` */
export const proxyConfigSchema = boundedOpaque(
  z.looseObject({
    protocol: protocol.optional(),
    bind_address: ipAddressOrEmpty.refine((v) => v !== '', 'must not be empty').optional(),
    bind_port: port.optional(),
    local_connect_timeout_ms: timeoutMs.optional(),
    // The public listener's route to the app: request and idle timeouts (0 turns one off).
    local_request_timeout_ms: localTimeoutMs.optional(),
    local_idle_timeout_ms: localTimeoutMs.optional(),
    // At most this many connections to the app at once (local_app's circuit breaker); 0: Envoy's default.
    max_inbound_connections: z.number().int('must be an integer').min(0, 'must not be negative').max(4_294_967_295, 'must fit in 32 bits').optional(),
    // Exact connection balance across Envoy's worker threads on the public listener.
    balance_inbound_connections: connectionBalance.optional(),
    // Consul's: cluster definitions (Envoy JSON, comma-separated) the bootstrap adds to its static clusters.
    envoy_extra_static_clusters_json: z.string().refine(staticClustersJson, 'must be one or more JSON objects (Envoy cluster definitions, each with a "name"), comma-separated').optional(),
  }),
);

/** `Proxy.Upstreams[].Config` */
export const upstreamConfigSchema = boundedOpaque(
  z.looseObject({
    protocol: protocol.optional(),
    connect_timeout_ms: timeoutMs.optional(),
    balance_outbound_connections: connectionBalance.optional(),
  }),
);

/** An address Envoy binds a listener on: an IP literal (not a host name) and a port. */
const bindAddress = z.strictObject({
  Address: ipAddressOrEmpty.refine((v) => v !== '', 'must not be empty'),
  Port: port,
});

/**
 * `Proxy.Config` of a gateway: Consul's gateway keys (extra listeners on the tagged addresses or
 * on named bind addresses, none on the service address, the connect timeout to what it routes
 * to, how host names are resolved), checked in addition to proxyConfigSchema, which already bounds the map and checks that
 * it is an object.
 */
export const gatewayConfigSchema = z.looseObject({
  connect_timeout_ms: timeoutMs.optional(),
  envoy_gateway_no_default_bind: z.boolean().optional(),
  envoy_gateway_bind_tagged_addresses: z.boolean().optional(),
  envoy_gateway_bind_addresses: z.record(z.string().min(1, 'must not be empty'), bindAddress).optional(),
  // How a terminating gateway's Envoy resolves a host-name instance (Consul's key, any case).
  envoy_dns_discovery_type: z
    .string()
    .refine((v) => ['logical_dns', 'strict_dns'].includes(v.toLowerCase()), 'must be LOGICAL_DNS or STRICT_DNS')
    .optional(),
});
