// Building blocks shared by the config entry schemas.
import { isIP } from 'node:net';
import { z } from 'zod';
import { nanosToDuration, parseDuration } from '../../core/duration.js';
import { meta } from '../meta.js';

export const NAME_RE = /^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$/;

/** A service name as Consul accepts for Connect (DNS-friendly, at most 128 characters). */
export const serviceName = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(NAME_RE, 'must contain only letters, digits, "-" and "_", and start and end with a letter or digit');

/** Control characters (C0 with NUL and newline, DEL, C1): never part of an identifier or a label. */
const CONTROL = /\p{Cc}/u;
const noControl = (s: string) => !CONTROL.test(s);
const NO_CONTROL_MESSAGE = 'must not contain control characters (NUL, newline, tab, ...)';
export const IDENTIFIER_MAX_CHARS = 256;

/**
 * An ID that is not a DNS name (a service ID, a check ID): free text as in Consul, but never
 * empty, at most 256 characters and without control characters, so that it can be logged,
 * used in a path and shown in a UI as it was given.
 */
export const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(IDENTIFIER_MAX_CHARS, `must be at most ${IDENTIFIER_MAX_CHARS} characters`)
  .refine(noControl, NO_CONTROL_MESSAGE);

/** A short free-text label (a check's name, a tag, an address): may be empty, otherwise as an identifier. */
export const label = (maxChars: number) => z.string().max(maxChars, `must be at most ${maxChars} characters`).refine(noControl, NO_CONTROL_MESSAGE);

/** A service name or the wildcard `*`. */
export const serviceNameOrWildcard = z.union([z.literal('*'), serviceName], { error: 'must be a service name or "*"' });

export const namespace = z.string().refine((v) => v === '' || v === 'default', 'only the "default" namespace exists');
export const partition = z.string().refine((v) => v === '' || v === 'default', 'only the "default" partition exists');
/**
 * Opaque maps (`Proxy.Config`, `proxy-defaults` `Config`, extension `Arguments`, `JWT`) are kept
 * as given, copied into snapshots and served back whole: at most 128 Ki characters of JSON, far
 * above Consul's documented keys with several escape-hatch listeners in them.
 */
export const OPAQUE_MAX_JSON_CHARS = 128 * 1024;
export function boundedOpaque<S extends z.ZodType>(schema: S): S {
  return schema.refine((v) => JSON.stringify(v).length <= OPAQUE_MAX_JSON_CHARS, `is larger than ${OPAQUE_MAX_JSON_CHARS} characters of JSON`);
}
export const opaque = boundedOpaque(z.record(z.string(), z.unknown()));
export const port = z.number().int('must be an integer').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');
export const portOrZero = z.number().int('must be an integer').min(0, 'must be between 0 and 65535').max(65535, 'must be between 0 and 65535');
/**
 * An IPv4 or IPv6 address literal, or empty (the default). Envoy binds listeners and reaches
 * STATIC and EDS endpoints by IP only: a host name there makes it reject the whole resource.
 */
export const ipAddressOrEmpty = z.string().refine((v) => v === '' || isIP(v) !== 0, 'must be an IPv4 or IPv6 address, not a host name');
/** One spelling per address (`0:0:0:0:0:0:0:1` is `::1`), to compare what Envoy would bind. */
export function canonicalIp(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}
export const nonNegativeInt = z.number().int('must be an integer').min(0, 'must not be negative');
export const protocol = z.enum(['tcp', 'http', 'http2', 'grpc']);

const DURATION_RE = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^0$/;
/**
 * A Go duration: a string (`5s`, `1m30s`), or a whole number of nanoseconds, which is how Go's
 * JSON encodes a time.Duration (Consul's Go client sends config entries so); kept as a string.
 */
export const duration = z.union(
  [
    z.string().regex(DURATION_RE, 'invalid duration: must be a duration such as "5s" or "1m30s"'),
    z.number().int('must be a whole number of nanoseconds').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER, 'is too large').transform(nanosToDuration),
  ],
  { error: 'invalid duration: must be a duration such as "5s" or "1m30s" (or a whole number of nanoseconds)' },
);

/**
 * A Go duration kept as whole nanoseconds: for the fields Consul answers as numbers (a plain
 * time.Duration in its JSON, such as a hash policy's CookieConfig.TTL), which Consul's Go client
 * can only read back as one. Taken as a string (`10s`) or as nanoseconds.
 */
export const durationNanos = duration.transform((d) => Math.round(parseDuration('', d) * 1_000_000));

/** Transparent proxying: refused wherever a mode or its settings can ask for it. */
export const TRANSPARENT_PROXY_NOT_BUILT = 'transparent proxying is not built: use explicit upstreams';
export const proxyMode = z.enum(['', 'direct', 'transparent']);
/** A config entry's Mode: "transparent" is refused as not supported yet. */
export const directProxyMode = proxyMode.refine((m) => m !== 'transparent', `is not supported yet (${TRANSPARENT_PROXY_NOT_BUILT})`);
export const meshGatewayConfig = z.strictObject({ Mode: z.enum(['', 'none', 'local', 'remote']).optional() });
export const transparentProxyConfig = z.strictObject({
  OutboundListenerPort: portOrZero.optional(),
  DialedDirectly: z.boolean().optional(),
});
export const mutualTLSMode = z.enum(['', 'strict', 'permissive']).refine((m) => m !== 'permissive', 'is not supported yet (permissive mutual TLS is not built: every inbound connection needs mTLS, as "strict" asks)');

export const exposeConfig = z.strictObject({
  // Every HTTP and gRPC check of the proxy's service gets an exposed path (proxycfg/exposed-checks.ts).
  Checks: z.boolean().optional(),
  Paths: z
    .array(
      z.strictObject({
        ListenerPort: port,
        Path: z.string().startsWith('/', 'must begin with "/"'),
        LocalPathPort: port,
        Protocol: z.enum(['', 'http', 'http2']).optional(),
        // Set by Consul itself for paths taken from checks; its Go client always sends it (false).
        ParsedFromCheck: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const accessLogsConfig = z
  .strictObject({
    Enabled: z.boolean().optional(),
    DisableListenerLogs: z.boolean().optional(),
    Type: z.enum(['', 'stdout', 'stderr', 'file']).optional(),
    Path: z.string().optional(),
    JSONFormat: z.string().optional(),
    TextFormat: z.string().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.Type === 'file' && !v.Path) ctx.addIssue({ code: 'custom', path: ['Path'], message: 'must be set when Type is "file"' });
    if (v.Type !== 'file' && v.Path) ctx.addIssue({ code: 'custom', path: ['Path'], message: 'is only valid when Type is "file"' });
    if (v.JSONFormat && v.TextFormat) ctx.addIssue({ code: 'custom', path: ['TextFormat'], message: 'cannot be set together with JSONFormat' });
    if (v.JSONFormat) {
      try {
        JSON.parse(v.JSONFormat);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['JSONFormat'], message: 'must be a JSON object' });
      }
    }
  });

export const envoyExtensions = z.array(
  z.strictObject({
    Name: z.string().min(1, 'must not be empty'),
    Required: z.boolean().optional(),
    Arguments: opaque.optional(),
    ConsulVersion: z.string().optional(),
    EnvoyVersion: z.string().optional(),
  }),
);

export const headerModifiers = z.strictObject({
  Add: z.record(z.string(), z.string()).optional(),
  Set: z.record(z.string(), z.string()).optional(),
  Remove: z.array(z.string()).optional(),
});

export const passiveHealthCheck = z.strictObject({
  Interval: duration.optional(),
  MaxFailures: nonNegativeInt.optional(),
  EnforcingConsecutive5xx: z.number().int().min(0).max(100, 'must be a percentage between 0 and 100').optional(),
  MaxEjectionPercent: z.number().int().min(0).max(100, 'must be a percentage between 0 and 100').optional(),
  BaseEjectionTime: duration.optional(),
});

export const upstreamLimits = z.strictObject({
  MaxConnections: nonNegativeInt.optional(),
  MaxPendingRequests: nonNegativeInt.optional(),
  MaxConcurrentRequests: nonNegativeInt.optional(),
});

const TLS_VERSIONS = ['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] as const;
export const tlsVersion = z.enum(TLS_VERSIONS);

/** TLSMinVersion <= TLSMaxVersion, and cipher suites only where TLS 1.3 cannot be negotiated. */
export function tlsVersionRules(v: { TLSMinVersion?: string; TLSMaxVersion?: string; CipherSuites?: readonly string[] }, ctx: z.RefinementCtx): void {
  const rank = (x?: string) => (x && x !== 'TLS_AUTO' ? TLS_VERSIONS.indexOf(x as (typeof TLS_VERSIONS)[number]) : undefined);
  const min = rank(v.TLSMinVersion);
  const max = rank(v.TLSMaxVersion);
  if (min !== undefined && max !== undefined && min > max) {
    ctx.addIssue({ code: 'custom', path: ['TLSMinVersion'], message: `must not be above TLSMaxVersion (${v.TLSMaxVersion})` });
  }
  if (v.CipherSuites?.length && v.TLSMinVersion === 'TLSv1_3') {
    ctx.addIssue({ code: 'custom', path: ['CipherSuites'], message: 'cannot be configured when TLSMinVersion is TLSv1_3 (TLS 1.3 suites are not configurable)' });
  }
}

export const tlsParams = z
  .strictObject({
    TLSMinVersion: tlsVersion.optional(),
    TLSMaxVersion: tlsVersion.optional(),
    CipherSuites: z.array(z.string()).optional(),
  })
  .superRefine(tlsVersionRules);

/** Fields every entry carries. */
export function entryBase<K extends string>(kind: K) {
  return {
    Kind: z.literal(kind),
    Name: serviceName,
    Namespace: namespace.optional(),
    Partition: partition.optional(),
    Meta: meta.optional(),
    // Read-only fields a client may echo back from a GET; ignored on write.
    CreateIndex: z.number().optional(),
    ModifyIndex: z.number().optional(),
  };
}

/** Whether a JSON value is Go's zero value for its field ("", 0, false, null, an empty list or object). */
export const isZero = (v: unknown): boolean =>
  v === null || v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.values(v).every(isZero));

/**
 * A field Consul has and Switchyard does not act on yet: refused at write when set, with a
 * message saying so, rather than accepted and silently ignored. Go's zero value for the field
 * (what Consul's clients send for an unset one: "", 0, false, null, [], {}) passes.
 */
export const notSupportedYet = (what: string) => z.any().refine(isZero, `is not supported yet (${what})`);

export function issue(ctx: z.RefinementCtx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

export function duplicates<T>(items: readonly T[], key: (t: T) => string): number[] {
  const seen = new Set<string>();
  const dups: number[] = [];
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) dups.push(i);
    seen.add(k);
  });
  return dups;
}
