// The body of PUT /v1/agent/service/register (Consul's AgentServiceRegistration), checked
// strictly: the fields Switchyard acts on are modelled here, the other fields of Consul's structs
// are taken as consul-fields.ts lists them (ignored, or refused when set), and any other field is
// an error naming it.
import { isIP } from 'node:net';
import { z } from 'zod';
import { gatewayConfigSchema, proxyConfigSchema, upstreamConfigSchema } from './proxy-config.js';
import { ANSWERED_SERVICE_FIELDS, CHECK_FIELDS, PROXY_FIELDS, SERVICE_FIELDS, UPSTREAM_FIELDS, isZero, refusedGiven, shapeOf } from './consul-fields.js';
import { taggedAddresses } from './tagged-addresses.js';
import { META_MAX_VALUE_BYTES, META_WAN_FEDERATION_KEY, serviceMeta } from '../meta.js';
import { IDENTIFIER_MAX_CHARS, canonicalIp, duplicates, duration, identifier, ipAddressOrEmpty, issue, label, namespace, port, portOrZero, proxyMode, serviceName, exposeConfig, meshGatewayConfig } from '../config/common.js';

/** RFC 9110 token: what Node (and Go) accept as a method or header name. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const httpHeaders = z.record(z.string(), z.array(z.string())).superRefine((h, ctx) => {
  for (const name of Object.keys(h)) if (!HTTP_TOKEN.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be an HTTP header name' });
});

/** Whether the port of a `host:port` is at most 65535 (net.connect throws above); other shapes are the regex's to report. */
const portInRange = (hostPort: string): boolean => {
  const m = /:(\d{1,5})$/.exec(hostPort);
  return !m || Number(m[1]) <= 65535;
};

export const checkDefinition = z
  .strictObject({
    CheckID: identifier.optional(),
    ID: identifier.optional(),
    Name: label(IDENTIFIER_MAX_CHARS).optional(),
    Notes: z.string().optional(),
    Status: z.enum(['passing', 'warning', 'critical']).optional(),
    TTL: duration.optional(),
    // z.url() alone takes any scheme (ftp:, file:), which the probe cannot send.
    HTTP: z
      .url({ error: 'must be an http(s) URL' })
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
      .optional(),
    Method: z.string().regex(HTTP_TOKEN, 'must be an HTTP method token (such as GET or POST)').optional(),
    Header: httpHeaders.optional(),
    Body: z.string().optional(),
    TLSSkipVerify: z.boolean().optional(),
    TCP: z.string().regex(/^.+:\d{1,5}$/, 'must be host:port').refine(portInRange, 'must be host:port with a port up to 65535').optional(),
    GRPC: z
      .string()
      .regex(/^[^/]+:\d{1,5}(\/.*)?$/, 'must be host:port or host:port/service')
      .refine((v) => portInRange(v.split('/')[0] as string), 'must be host:port or host:port/service with a port up to 65535')
      .optional(),
    GRPCUseTLS: z.boolean().optional(),
    Interval: duration.optional(),
    Timeout: duration.optional(),
    DeregisterCriticalServiceAfter: duration.optional(),
    ServiceID: identifier.optional(),
    ...shapeOf(CHECK_FIELDS),
  })
  .superRefine((c, ctx) => {
    // A kind of check not built is refused by its own field, saying so.
    if (refusedGiven(CHECK_FIELDS, c).length > 0) return;
    const kinds = (['TTL', 'HTTP', 'TCP', 'GRPC'] as const).filter((k) => c[k] !== undefined);
    if (kinds.length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'must set one of TTL, HTTP, TCP or GRPC' });
    if (kinds.length > 1) ctx.addIssue({ code: 'custom', path: [kinds[1] as string], message: `cannot be set together with ${kinds[0]}` });
    if ((c.HTTP || c.TCP || c.GRPC) && !c.Interval) ctx.addIssue({ code: 'custom', path: ['Interval'], message: `must be set for an ${kinds[0]} check` });
  });

export type CheckDefinition = z.output<typeof checkDefinition>;

/**
 * A service's single `Check`: one that sets nothing (Consul's CLI sends `"Check": {}` for a
 * sidecar defined without one) is no check, as Consul skips a CheckType that is empty.
 */
const serviceCheck = z.preprocess((v) => (isZero(v) ? undefined : v), checkDefinition.optional());

const upstream = z.strictObject({
  DestinationType: z.enum(['service', 'prepared_query']).optional(),
  DestinationName: serviceName,
  DestinationNamespace: namespace.optional(),
  DestinationPartition: z.string().optional(),
  Datacenter: z.string().optional(),
  LocalBindAddress: ipAddressOrEmpty.optional(),
  LocalBindPort: port,
  Config: upstreamConfigSchema.optional(),
  MeshGateway: meshGatewayConfig.optional(),
  ...shapeOf(UPSTREAM_FIELDS),
});

export const proxySchema = z
  .strictObject({
    DestinationServiceName: serviceName.optional(),
    DestinationServiceID: identifier.optional(),
    LocalServiceAddress: ipAddressOrEmpty.optional(),
    LocalServicePort: portOrZero.optional(),
    Mode: proxyMode.optional(),
    Config: proxyConfigSchema.optional(),
    Upstreams: z.array(upstream).optional(),
    MeshGateway: meshGatewayConfig.optional(),
    Expose: exposeConfig.optional(),
    ...shapeOf(PROXY_FIELDS),
  })
  .superRefine((p, ctx) => {
    const ups = p.Upstreams ?? [];
    for (const i of duplicates(ups, (u) => `${u.DestinationType ?? 'service'}/${u.Datacenter ?? ''}/${u.DestinationName}`)) {
      issue(ctx, ['Upstreams', i, 'DestinationName'], `"${ups[i]?.DestinationName}" is already an upstream of this proxy`);
    }
    for (const i of duplicates(ups, (u) => `${canonicalIp(u.LocalBindAddress || '127.0.0.1')}:${u.LocalBindPort}`)) {
      issue(ctx, ['Upstreams', i, 'LocalBindPort'], `${ups[i]?.LocalBindPort} is already bound by another upstream`);
    }
  });

/** Consul's Locality: where a node or service runs. */
export const locality = z.strictObject({ Region: label(IDENTIFIER_MAX_CHARS).optional(), Zone: label(IDENTIFIER_MAX_CHARS).optional() });

const SERVICE_KINDS = ['', 'connect-proxy', 'mesh-gateway', 'ingress-gateway', 'terminating-gateway'] as const;

const serviceFields = {
  ID: identifier.regex(/^[^/]+$/, 'must not contain "/"').optional(),
  Name: serviceName,
  Kind: z.enum(SERVICE_KINDS).optional(),
  Tags: z.array(label(META_MAX_VALUE_BYTES)).optional(),
  Meta: serviceMeta.optional(),
  Address: label(IDENTIFIER_MAX_CHARS).optional(),
  TaggedAddresses: taggedAddresses.optional(),
  Port: portOrZero.optional(),
  Namespace: namespace.optional(),
  Proxy: proxySchema.optional(),
  Check: serviceCheck,
  Checks: z.array(checkDefinition).optional(),
  EnableTagOverride: z.boolean().optional(),
  Locality: locality.optional(),
  ...shapeOf(SERVICE_FIELDS),
};

type KindFields = Pick<z.output<z.ZodObject<typeof serviceFields>>, 'Kind' | 'Port' | 'Address' | 'TaggedAddresses' | 'Proxy' | 'Meta'>;

/** Consul's rules for a proxy-kind registration. */
function kindRules(v: KindFields, ctx: z.RefinementCtx): void {
  if (v.Kind === 'connect-proxy' && !v.Proxy?.DestinationServiceName) {
    ctx.addIssue({ code: 'custom', path: ['Proxy', 'DestinationServiceName'], message: 'must be set for a connect-proxy' });
  }
  if (v.Kind && !v.Port) ctx.addIssue({ code: 'custom', path: ['Port'], message: `must be set for a ${v.Kind}` });
  if (!v.Kind && v.Proxy) ctx.addIssue({ code: 'custom', path: ['Proxy'], message: 'is only valid for Kind "connect-proxy" or a gateway' });
  if (v.Kind === 'connect-proxy') proxyAddressRule(v, ctx);
  if (v.Kind && GATEWAY_KINDS.has(v.Kind)) gatewayRules(v, ctx);
  wanFederationRule(v, ctx);
}

const GATEWAY_KINDS: ReadonlySet<string> = new Set(['mesh-gateway', 'ingress-gateway', 'terminating-gateway']);
/** Proxy fields Consul refuses on a gateway when set (empty values pass, as in Consul). */
const SIDECAR_ONLY_PROXY_FIELDS = ['DestinationServiceName', 'DestinationServiceID', 'LocalServiceAddress', 'LocalServicePort'] as const;

/**
 * A gateway fronts no local service and has no upstreams of its own (Consul refuses both), its
 * Envoy binds its Address (so an IP, as for a connect-proxy), and its Proxy.Config carries
 * Consul's gateway keys, checked as a sidecar's keys are.
 */
function gatewayRules(v: KindFields, ctx: z.RefinementCtx): void {
  for (const field of SIDECAR_ONLY_PROXY_FIELDS) {
    if (v.Proxy?.[field]) issue(ctx, ['Proxy', field], `is not valid for a ${v.Kind}: a gateway fronts no local service`);
  }
  if (v.Proxy?.Upstreams?.length) issue(ctx, ['Proxy', 'Upstreams'], `are not valid for a ${v.Kind}: a gateway routes by SNI, not through upstreams`);
  proxyAddressRule(v, ctx);
  const raw = v.Proxy?.Config ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return; // proxyConfigSchema says so
  const config = gatewayConfigSchema.safeParse(raw);
  if (!config.success) for (const i of config.error.issues) ctx.addIssue({ ...i, path: ['Proxy', 'Config', ...i.path] });
  else if (config.data.envoy_gateway_bind_tagged_addresses) {
    // Envoy binds a listener on every tagged address: a host name there is refused with the whole listener set.
    for (const [tag, a] of Object.entries(v.TaggedAddresses ?? {})) {
      if (typeof a?.Address === 'string' && isIP(a.Address) === 0) issue(ctx, ['TaggedAddresses', tag, 'Address'], 'must be an IPv4 or IPv6 address when Proxy.Config.envoy_gateway_bind_tagged_addresses is set (Envoy binds it)');
    }
  }
}

/** Consul lets a mesh gateway alone set the reserved Meta key that marks it for WAN federation. */
function wanFederationRule(v: { Kind?: string; Meta?: Record<string, string> }, ctx: z.RefinementCtx): void {
  if (v.Kind !== 'mesh-gateway' && v.Meta && Object.hasOwn(v.Meta, META_WAN_FEDERATION_KEY)) {
    issue(ctx, ['Meta', META_WAN_FEDERATION_KEY], 'key prefix "consul-" is reserved for internal use (this key is for mesh gateways)');
  }
}

/** A connect-proxy's Address is where its peers' Envoys connect (an EDS endpoint), so it must be an IP. */
function proxyAddressRule(v: { Address?: string }, ctx: z.RefinementCtx): void {
  if (v.Address && isIP(v.Address) === 0) issue(ctx, ['Address'], "must be an IPv4 or IPv6 address, not a host name (other proxies' Envoys connect to it)");
}

export const sidecarSchema = z
  .strictObject({ ...serviceFields, Name: serviceName.optional(), Kind: z.enum(['', 'connect-proxy']).optional() })
  .superRefine((v, ctx) => {
    if (v.Check && v.Checks?.length) ctx.addIssue({ code: 'custom', path: ['Check'], message: 'cannot be set together with Checks' });
    proxyAddressRule(v, ctx);
    wanFederationRule(v, ctx);
  });

/** Checks given with an ID (`CheckID`, else `ID`), each with the path of that field. */
function namedChecks(reg: { Check?: CheckDefinition; Checks?: CheckDefinition[] }, at: PropertyKey[]): { id: string; path: PropertyKey[] }[] {
  const defs: [CheckDefinition, PropertyKey[]][] = reg.Checks?.length ? reg.Checks.map((c, i) => [c, [...at, 'Checks', i]]) : reg.Check ? [[reg.Check, [...at, 'Check']]] : [];
  return defs.flatMap(([c, path]) => {
    const id = c.CheckID ?? c.ID;
    return id === undefined ? [] : [{ id, path: [...path, c.CheckID !== undefined ? 'CheckID' : 'ID'] }];
  });
}

const connectFields = { Connect: z.strictObject({ Native: z.boolean().optional(), SidecarService: sidecarSchema.optional() }).optional() };

/** Consul's rules for a service registration (the agent's, and the service of a catalog registration). */
function registrationRules(v: z.output<z.ZodObject<typeof serviceFields & typeof connectFields>>, ctx: z.RefinementCtx): void {
    kindRules(v, ctx);
    if (v.Check && v.Checks?.length) ctx.addIssue({ code: 'custom', path: ['Check'], message: 'cannot be set together with Checks' });
    const sidecarId = v.Connect?.SidecarService?.ID;
    if (sidecarId !== undefined && sidecarId === (v.ID ?? v.Name)) {
      ctx.addIssue({ code: 'custom', path: ['Connect', 'SidecarService', 'ID'], message: `"${sidecarId}" is the ID of the service itself; the sidecar would replace it` });
    }
    const named = [...namedChecks(v, []), ...(v.Connect?.SidecarService ? namedChecks(v.Connect.SidecarService, ['Connect', 'SidecarService']) : [])];
    for (const i of duplicates(named, (c) => c.id)) {
      const c = named[i] as { id: string; path: PropertyKey[] };
      ctx.addIssue({ code: 'custom', path: c.path, message: `"${c.id}" is already the ID of another check in this registration` });
    }
    if (v.Kind && v.Connect?.SidecarService) ctx.addIssue({ code: 'custom', path: ['Connect', 'SidecarService'], message: `is only valid for a typical service, not a ${v.Kind}` });
    if (v.Connect?.Native && v.Kind) ctx.addIssue({ code: 'custom', path: ['Connect', 'Native'], message: 'is only valid for a typical service' });
}

export const registrationSchema = z.strictObject({ ...serviceFields, ...connectFields }).superRefine(registrationRules);

/**
 * The `Service` of a catalog registration (Consul's AgentService, `Service` read as its name):
 * a registration that may also carry the fields only Consul's answers have.
 */
export const catalogServiceSchema = z.strictObject({ ...serviceFields, ...connectFields, ...shapeOf(ANSWERED_SERVICE_FIELDS) }).superRefine(registrationRules);

export type Registration = z.output<typeof registrationSchema>;
export type SidecarRegistration = z.output<typeof sidecarSchema>;
