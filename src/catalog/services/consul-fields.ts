// The fields of Consul's registration structs that Switchyard takes without acting on them, in
// one place, each with the reason. A registration is checked strictly: a field Consul's structs
// do not have is an error naming it (`Proxy.Foo: unknown field`), while every field they do have
// is accepted. Those Switchyard acts on are modelled in schema.ts and catalog-register.ts; the
// rest are here, of two kinds:
//   - ignored: taken (type-checked) and dropped, because not acting on them changes nothing a
//     caller relies on (a token Consul keeps for its anti-entropy sync, DNS weights, a field only
//     Consul's own answers carry);
//   - refused when set: a feature Switchyard has not built, whose field given and then ignored
//     would register something that does not work as asked (a unix socket, a script check). The
//     zero value Consul's clients send for an unset field (`""`, `0`, `false`, `null`, `[]`, `{}`)
//     passes.
// The structs, from hashicorp/consul: api.AgentServiceRegistration (and agent/structs
// ServiceDefinition), api.AgentServiceCheck and AgentCheckRegistration (structs CheckType and
// CheckDefinition), api.AgentServiceConnectProxyConfig (structs ConnectProxyConfig), api.Upstream,
// api.ExposePath, api.CatalogRegistration with api.AgentService, api.AgentCheck and
// api.HealthCheck (structs RegisterRequest), api.CatalogDeregistration.
import { z } from 'zod';
import { isZero, label, partition, TRANSPARENT_PROXY_NOT_BUILT } from '../config/common.js';

export { isZero };

interface FieldRule {
  readonly schema: z.ZodType;
  /** Why Switchyard takes it without acting on it, or why it refuses it when set. */
  readonly why: string;
  readonly refusedWhenSet?: true;
}

const ignored = (schema: z.ZodType, why: string): FieldRule => ({ schema: schema.optional(), why });
const refused = (why: string): FieldRule => ({
  schema: z
    .unknown()
    .optional()
    .refine(isZero, `is not supported: ${why}`),
  why,
  refusedWhenSet: true,
});

const text = label(4096);
const count = z.number().int('must be a whole number').min(0, 'must not be negative');
const flag = z.boolean();
const index = z.number().int('must be a whole number').min(0, 'must not be negative');

const PEERING = 'cluster peering is not built';
const MULTI_PORT = 'multi-port services (Consul 1.22) are not built';
const SOCKETS = 'services and upstreams on unix sockets are not built';
const TOKEN = "the request's own token (X-Consul-Token) is the one checked; Consul keeps this one for its anti-entropy sync, which Switchyard has no use for";

/** Enterprise tenancy (namespaces, admin partitions) and the write's own token, in several structs. */
const TENANCY = {
  Namespace: ignored(partition, 'only the default namespace exists'),
  Partition: ignored(partition, 'admin partitions are not built: only the default partition exists'),
} satisfies Record<string, FieldRule>;
const WRITE_TOKEN = { Token: ignored(z.string(), TOKEN) } satisfies Record<string, FieldRule>;

/** AgentServiceRegistration / ServiceDefinition (a service, and a sidecar's SidecarService). */
export const SERVICE_FIELDS = {
  Weights: ignored(z.strictObject({ Passing: count.optional(), Warning: count.optional() }), 'DNS SRV weights: Switchyard serves no DNS, Envoy weighs every endpoint alike, and reads answer Consul\'s default (1, 1)'),
  Token: ignored(z.string(), TOKEN),
  Partition: ignored(partition, 'admin partitions are not built: only the default partition exists'),
  AI: ignored(z.record(z.string(), z.unknown()), "AI service metadata (Consul 1.22's catalog and UI): nothing in the mesh reads it"),
  SocketPath: refused(SOCKETS),
  Ports: refused(MULTI_PORT),
} satisfies Record<string, FieldRule>;

/**
 * AgentService fields only Consul's answers carry, which a client may send back (the Go client's
 * catalog registration sends an AgentService): ignored, as Consul ignores them.
 */
export const ANSWERED_SERVICE_FIELDS = {
  CreateIndex: ignored(index, 'the store sets it'),
  ModifyIndex: ignored(index, 'the store sets it'),
  ContentHash: ignored(z.string(), 'an answer of the agent API, not an input'),
  Datacenter: ignored(z.string(), 'the agent\'s own datacenter is used, as in Consul ("only ever returned and ignored if presented")'),
  PeerName: refused(PEERING),
} satisfies Record<string, FieldRule>;

/** AgentServiceCheck / AgentCheckRegistration / CheckType / CheckDefinition. */
export const CHECK_FIELDS = {
  TLSServerName: ignored(text, 'the HTTP probe verifies the URL\'s own host name'),
  TCPUseTLS: ignored(flag, 'a TCP check connects without a TLS handshake, which a TLS port accepts too'),
  H2PingUseTLS: ignored(flag, 'only meaningful with H2PING, which is refused'),
  DisableRedirects: ignored(flag, 'the HTTP probe does not follow redirects: a 3xx is its own result'),
  SuccessBeforePassing: ignored(count, "a check's status follows each result at once"),
  FailuresBeforeWarning: ignored(count, "a check's status follows each result at once"),
  FailuresBeforeCritical: ignored(count, "a check's status follows each result at once"),
  OutputMaxSize: ignored(count, 'the output kept is bounded by the probe (4 KiB)'),
  ProxyHTTP: ignored(text, 'set by Consul itself when a check is exposed through a proxy'),
  ProxyGRPC: ignored(text, 'set by Consul itself when a check is exposed through a proxy'),
  ...WRITE_TOKEN,
  ...TENANCY,
  ScriptArgs: refused('script checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  Args: refused('script checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  DockerContainerID: refused('Docker checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  Shell: refused('Docker checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  UDP: refused('UDP checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  H2PING: refused('H2PING checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  OSService: refused('OS service checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  AliasNode: refused('alias checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
  AliasService: refused('alias checks are not built (Switchyard runs TTL, HTTP, TCP and gRPC checks)'),
} satisfies Record<string, FieldRule>;

/** AgentServiceConnectProxyConfig / ConnectProxyConfig. */
export const PROXY_FIELDS = {
  EnvoyExtensions: refused('Envoy extensions (Lua, Wasm, ext_authz, ...) are not built'),
  AccessLogs: refused("a proxy's own access-log settings are not built"),
  LocalServiceSocketPath: refused(SOCKETS),
  LocalServicePorts: refused(MULTI_PORT),
  // "strict" is what Switchyard does anyway; "permissive" would let plain-text connections in.
  // Only meaningful with Mode "transparent", which is refused (register.ts unservableIssues).
  TransparentProxy: refused(TRANSPARENT_PROXY_NOT_BUILT),
  MutualTLSMode: ignored(z.enum(['', 'strict'], { error: 'is not supported unless "strict": permissive mutual TLS is not built (every inbound connection needs mTLS)' }), 'every inbound connection needs mTLS, as "strict" asks'),
} satisfies Record<string, FieldRule>;

/** api.Upstream / structs.Upstream. */
export const UPSTREAM_FIELDS = {
  CentrallyConfigured: ignored(flag, 'set by Consul itself for upstreams that come from config entries'),
  DestinationPeer: refused(PEERING),
  DestinationPort: refused(MULTI_PORT),
  LocalBindSocketPath: refused(SOCKETS),
  LocalBindSocketMode: refused(SOCKETS),
} satisfies Record<string, FieldRule>;

/** api.CatalogRegistration / structs.RegisterRequest, beyond what catalog-register.ts models. */
export const CATALOG_REGISTRATION_FIELDS = {
  ...WRITE_TOKEN,
  ...TENANCY,
  PeerName: refused(PEERING),
} satisfies Record<string, FieldRule>;

/** api.AgentCheck / api.HealthCheck as a catalog registration sends them: what the store derives or Consul's answers carry. */
export const CATALOG_CHECK_FIELDS = {
  ServiceName: ignored(z.string(), "taken from the check's service"),
  ServiceTags: ignored(z.array(z.string()).nullable(), "taken from the check's service"),
  Type: ignored(z.string(), 'a catalog check is a record with a status: no agent runs it'),
  ExposedPort: ignored(index, 'set by Consul itself when a check is exposed through a proxy'),
  Interval: ignored(z.string(), "kept in the check's Definition when given there"),
  Timeout: ignored(z.string(), "kept in the check's Definition when given there"),
  CreateIndex: ignored(index, 'the store sets it'),
  ModifyIndex: ignored(index, 'the store sets it'),
  ...TENANCY,
  PeerName: refused(PEERING),
} satisfies Record<string, FieldRule>;

/** api.CatalogDeregistration / structs.DeregisterRequest. */
export const CATALOG_DEREGISTRATION_FIELDS = {
  Address: ignored(z.string(), 'obsolete in Consul too'),
  ...WRITE_TOKEN,
  ...TENANCY,
} satisfies Record<string, FieldRule>;

/** The zod shape of a table: each field's schema, to spread into a strict object. */
export function shapeOf<T extends Record<string, FieldRule>>(table: T): { [K in keyof T]: z.ZodType } {
  return Object.fromEntries(Object.entries(table).map(([k, r]) => [k, r.schema])) as { [K in keyof T]: z.ZodType };
}

/** The fields of a table refused when set, given a non-zero value in `value`. */
export function refusedGiven(table: Record<string, FieldRule>, value: Record<string, unknown>): string[] {
  return Object.entries(table)
    .filter(([k, r]) => r.refusedWhenSet && !isZero(value[k]))
    .map(([k]) => k);
}
