// service-router, service-splitter and service-resolver: L7 traffic management, with the
// cross-field rules Consul enforces.
import { z } from 'zod';
import { filterProblem } from './filter.js';
import { notSupportedYet, duplicates, duration, durationNanos, entryBase, issue, headerModifiers, namespace, nonNegativeInt, partition, serviceName } from './common.js';

type Ctx = z.RefinementCtx;
export const onlyOne = (ctx: Ctx, v: Record<string, unknown>, fields: readonly string[], what: string) => {
  const set = fields.filter((f) => v[f] !== undefined && v[f] !== '' && v[f] !== false);
  if (set.length > 1) issue(ctx, [set[1] as string], `cannot be set together with ${set[0]} (${what})`);
};

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

export const headerMatch = z
  .strictObject({
    Name: z.string().min(1, 'must not be empty'),
    Present: z.boolean().optional(),
    Exact: z.string().optional(),
    Prefix: z.string().optional(),
    Suffix: z.string().optional(),
    Regex: z.string().optional(),
    Invert: z.boolean().optional(),
  })
  .superRefine((v, ctx) => onlyOne(ctx, v, ['Present', 'Exact', 'Prefix', 'Suffix', 'Regex'], 'one kind of match per header'));

const queryMatch = z
  .strictObject({
    Name: z.string().min(1, 'must not be empty'),
    Present: z.boolean().optional(),
    Exact: z.string().optional(),
    Regex: z.string().optional(),
  })
  .superRefine((v, ctx) => onlyOne(ctx, v, ['Present', 'Exact', 'Regex'], 'one kind of match per query parameter'));

const httpMatch = z
  .strictObject({
    PathExact: z.string().startsWith('/', 'must begin with "/"').optional(),
    PathPrefix: z.string().startsWith('/', 'must begin with "/"').optional(),
    PathRegex: z.string().optional(),
    CaseInsensitive: z.boolean().optional(),
    Header: z.array(headerMatch).optional(),
    QueryParam: z.array(queryMatch).optional(),
    Methods: z.array(z.enum(HTTP_METHODS)).optional(),
  })
  .superRefine((v, ctx) => {
    onlyOne(ctx, v, ['PathExact', 'PathPrefix', 'PathRegex'], 'one path match per route');
    for (const i of duplicates(v.Methods ?? [], (m) => m)) issue(ctx, ['Methods', i], 'is listed more than once');
  });

const routeDestination = z.strictObject({
  Service: serviceName.optional(),
  ServiceSubset: z.string().optional(),
  Namespace: namespace.optional(),
  Partition: partition.optional(),
  PrefixRewrite: z.string().optional(),
  RequestTimeout: duration.optional(),
  IdleTimeout: duration.optional(),
  NumRetries: nonNegativeInt.optional(),
  RetryOnConnectFailure: z.boolean().optional(),
  RetryOn: z
    .array(z.enum(['5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']))
    .optional(),
  RetryOnStatusCodes: z.array(z.number().int().min(100, 'must be an HTTP status code').max(599, 'must be an HTTP status code')).optional(),
  RequestHeaders: headerModifiers.optional(),
  ResponseHeaders: headerModifiers.optional(),
});

export const serviceRouterSchema = z
  .strictObject({
    ...entryBase('service-router'),
    Routes: z.array(z.strictObject({ Match: z.strictObject({ HTTP: httpMatch.optional() }).optional(), Destination: routeDestination.optional() })).optional(),
  })
  .superRefine((v, ctx) => {
    (v.Routes ?? []).forEach((r, i) => {
      const http = r.Match?.HTTP;
      if (r.Destination?.PrefixRewrite && !http?.PathPrefix && !http?.PathExact) {
        issue(ctx, ['Routes', i, 'Destination', 'PrefixRewrite'], 'requires Match.HTTP.PathPrefix or Match.HTTP.PathExact');
      }
    });
  });

export const serviceSplitterSchema = z
  .strictObject({
    ...entryBase('service-splitter'),
    Splits: z
      .array(
        z.strictObject({
          Weight: z.number().min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100'),
          Service: serviceName.optional(),
          ServiceSubset: z.string().optional(),
          Namespace: namespace.optional(),
          Partition: partition.optional(),
          RequestHeaders: headerModifiers.optional(),
          ResponseHeaders: headerModifiers.optional(),
        }),
      )
      .min(1, 'must have at least one split'),
  })
  .superRefine((v, ctx) => {
    // Consul compares weights at 0.01 precision (basis points of 10000).
    const total = v.Splits.reduce((sum, s) => sum + Math.round(s.Weight * 100), 0);
    if (total !== 10000) issue(ctx, ['Splits'], `weights must sum to 100, got ${total / 100}`);
    for (const i of duplicates(v.Splits, (s) => `${s.Service ?? v.Name}/${s.ServiceSubset ?? ''}`)) {
      issue(ctx, ['Splits', i], 'splits to the same service and subset more than once');
    }
  });

const SUBSET_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Where a resolver sends traffic (a redirect or a failover target). */
const targetFields = {
  Service: serviceName.optional(),
  ServiceSubset: z.string().optional(),
  Namespace: namespace.optional(),
  Partition: partition.optional(),
  Datacenter: z.string().optional(),
  Peer: notSupportedYet('cluster peering').optional(),
};

const resolverTarget = z
  .strictObject(targetFields)
  .superRefine((v, ctx) => onlyOne(ctx, v, ['Datacenter', 'Peer'], 'a target is in a datacenter or a peer'));

const redirect = z
  .strictObject({ ...targetFields, SamenessGroup: notSupportedYet('sameness groups').optional() })
  .superRefine((v, ctx) => {
    if (Object.values(v).every((x) => x === undefined || x === '')) issue(ctx, [], 'must name at least one of Service, ServiceSubset, Namespace, Partition, Datacenter, Peer');
    onlyOne(ctx, v, ['Datacenter', 'Peer', 'SamenessGroup'], 'one redirect destination');
  });

const failover = z
  .strictObject({
    Service: serviceName.optional(),
    ServiceSubset: z.string().optional(),
    Namespace: namespace.optional(),
    Datacenters: z.array(z.string().min(1, 'must not be empty')).optional(),
    Targets: z.array(resolverTarget).optional(),
    Policy: notSupportedYet('failover policies; failover follows the order of Targets or Datacenters').optional(),
    SamenessGroup: notSupportedYet('sameness groups').optional(),
  })
  .superRefine((v, ctx) => {
    const legacy = v.Service || v.ServiceSubset || v.Namespace || v.Datacenters?.length;
    if (!legacy && !v.Targets?.length) {
      issue(ctx, [], 'must set one of Service, ServiceSubset, Namespace, Datacenters or Targets');
    }
    if (legacy && v.Targets?.length) issue(ctx, ['Targets'], 'cannot be set together with Service, ServiceSubset, Namespace or Datacenters');
  });

const hashPolicy = z
  .strictObject({
    Field: z.enum(['', 'header', 'cookie', 'query_parameter']).optional(),
    FieldValue: z.string().optional(),
    CookieConfig: z.strictObject({ Session: z.boolean().optional(), TTL: durationNanos.optional(), Path: z.string().optional() }).optional(),
    SourceIP: z.boolean().optional(),
    Terminal: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.Field && !v.FieldValue) issue(ctx, ['FieldValue'], `must be set when Field is "${v.Field}"`);
    if (!v.Field && v.FieldValue) issue(ctx, ['Field'], 'must be set when FieldValue is set');
    if (v.Field && v.SourceIP) issue(ctx, ['SourceIP'], 'cannot be set together with Field');
    if (v.CookieConfig && v.Field !== 'cookie') issue(ctx, ['CookieConfig'], 'is only valid when Field is "cookie"');
    if (v.CookieConfig?.Session && v.CookieConfig.TTL) issue(ctx, ['CookieConfig', 'TTL'], 'cannot be set for a session cookie');
  });

const loadBalancer = z
  .strictObject({
    Policy: z.enum(['', 'random', 'round_robin', 'least_request', 'ring_hash', 'maglev']).optional(),
    RingHashConfig: z.strictObject({ MinimumRingSize: nonNegativeInt.optional(), MaximumRingSize: nonNegativeInt.optional() }).optional(),
    LeastRequestConfig: z.strictObject({ ChoiceCount: nonNegativeInt.optional() }).optional(),
    HashPolicies: z.array(hashPolicy).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.RingHashConfig && v.Policy !== 'ring_hash') issue(ctx, ['RingHashConfig'], 'is only valid with Policy "ring_hash"');
    if (v.LeastRequestConfig && v.Policy !== 'least_request') issue(ctx, ['LeastRequestConfig'], 'is only valid with Policy "least_request"');
    if (v.HashPolicies?.length && v.Policy !== 'ring_hash' && v.Policy !== 'maglev') issue(ctx, ['HashPolicies'], 'are only valid with Policy "ring_hash" or "maglev"');
    const ring = v.RingHashConfig;
    if (ring?.MinimumRingSize && ring.MaximumRingSize && ring.MinimumRingSize > ring.MaximumRingSize) {
      issue(ctx, ['RingHashConfig', 'MinimumRingSize'], 'must not be above MaximumRingSize');
    }
  });

export const serviceResolverSchema = z
  .strictObject({
    ...entryBase('service-resolver'),
    DefaultSubset: z.string().optional(),
    Subsets: z
      .record(
        z.string().regex(SUBSET_RE, 'subset names must be lowercase letters, digits and "-"'),
        z.strictObject({ Filter: z.string().refine((f) => filterProblem(f) === undefined, { error: (i) => filterProblem(String(i.input)) ?? 'is not a valid filter' }).optional(), OnlyPassing: z.boolean().optional() }),
      )
      .optional(),
    Redirect: redirect.optional(),
    Failover: z.record(z.string(), failover).optional(),
    ConnectTimeout: duration.optional(),
    RequestTimeout: duration.optional(),
    LoadBalancer: loadBalancer.optional(),
    PrioritizeByLocality: notSupportedYet('locality-aware routing').optional(),
  })
  .superRefine((v, ctx) => {
    const subsets = Object.keys(v.Subsets ?? {});
    if (v.DefaultSubset && !subsets.includes(v.DefaultSubset)) issue(ctx, ['DefaultSubset'], `"${v.DefaultSubset}" is not a defined subset`);
    if (v.Redirect) {
      if (subsets.length) issue(ctx, ['Subsets'], 'cannot be set together with Redirect');
      if (v.DefaultSubset) issue(ctx, ['DefaultSubset'], 'cannot be set together with Redirect');
      if (v.Failover && Object.keys(v.Failover).length) issue(ctx, ['Failover'], 'cannot be set together with Redirect');
      const r = v.Redirect;
      const elsewhere = (r.Service && r.Service !== v.Name) || r.ServiceSubset || r.Namespace || r.Partition || r.Datacenter || r.Peer || r.SamenessGroup;
      if (!elsewhere) issue(ctx, ['Redirect'], 'redirects the service to itself');
      if (r.ServiceSubset && !r.Service) issue(ctx, ['Redirect', 'ServiceSubset'], 'requires Redirect.Service');
    }
    for (const [key, f] of Object.entries(v.Failover ?? {})) {
      if (key !== '*' && !subsets.includes(key)) issue(ctx, ['Failover', key], `"${key}" is neither "*" nor a defined subset`);
      if (f.ServiceSubset && !f.Service && !subsets.includes(f.ServiceSubset)) {
        issue(ctx, ['Failover', key, 'ServiceSubset'], `"${f.ServiceSubset}" is not a subset of this service; set Failover.${key}.Service`);
      }
    }
  });
