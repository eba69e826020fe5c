// The agent's configuration: a JSON file (Consul's snake_case keys), validated strictly, with
// command-line flags taking precedence.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES, SMALL_BODY_BYTES } from '../api/route.js';
import { nodeMeta } from '../catalog/meta.js';
import { parseDuration } from '../core/duration.js';
import { ValidationError, errorMessage } from '../core/errors.js';
import { parseInput } from '../core/validate.js';
import { DEFAULT_EXPOSED_CHECK_PORTS, type PortRange } from '../proxycfg/exposed-checks.js';
import { DEFAULT_XDS_LIMITS } from '../server/index.js';

/** A port, or -1 for none (Consul's way of turning a listener off). */
const exposePort = z.number().int('must be an integer').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');
const optionalPort = z.number().int('must be an integer').min(-1, 'must be -1 (off) or between 0 and 65535').max(65535, 'must be -1 (off) or between 0 and 65535');
/** Consul 1.14's `tls { defaults | https | grpc { ... } }`: the files a TLS listener serves with. */
const tlsSection = z.strictObject({
  ca_file: z.string().min(1, 'must not be empty').optional(),
  cert_file: z.string().min(1, 'must not be empty').optional(),
  key_file: z.string().min(1, 'must not be empty').optional(),
  verify_incoming: z.boolean().optional(),
});
/** The configured limit on request bodies: from 64 KiB (the small routes' own) to 64 MiB. */
export const MAX_BODY_BYTES_RANGE = { min: SMALL_BODY_BYTES, max: 64 * 1024 * 1024 } as const;
const maxBodyBytes = z.number().int('must be an integer').min(MAX_BODY_BYTES_RANGE.min, `must be at least ${MAX_BODY_BYTES_RANGE.min}`).max(MAX_BODY_BYTES_RANGE.max, `must be at most ${MAX_BODY_BYTES_RANGE.max}`);
/** The configured limit on xDS streams in all: from 1 to a million (default 10,000). */
export const XDS_MAX_STREAMS_RANGE = { min: 1, max: 1_000_000 } as const;
const xdsMaxStreams = z.number().int('must be an integer').min(XDS_MAX_STREAMS_RANGE.min, `must be at least ${XDS_MAX_STREAMS_RANGE.min}`).max(XDS_MAX_STREAMS_RANGE.max, `must be at most ${XDS_MAX_STREAMS_RANGE.max}`);
const name = z
  .string()
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/, 'must be letters, digits, ".", "-" or "_"');

/**
 * A WAN join address: the primary's HTTP API as `host:port` (`[::1]:8500` for IPv6). Switchyard
 * has no serf gossip, so the link is plain HTTP to that address (see src/api/federation).
 */
const wanAddress = z
  .string()
  .max(256, 'must be at most 256 characters')
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/, 'must be the primary agent\'s HTTP address as host:port, such as "10.0.0.1:8500"')
  .refine((v) => {
    const port = Number(v.slice(v.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'its port must be between 1 and 65535');

const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID, such as "adf4238a-882b-9ddc-4a9d-5b6758e4159e"');

export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;
const MAX_SHUTDOWN_GRACE_MS = 10 * 60_000;

/** A grace period from a flag or the config file: a Go duration from 0s to 10m. */
function graceMs(field: string, raw: string): number {
  const ms = parseDuration(field, raw);
  if (ms > MAX_SHUTDOWN_GRACE_MS) throw ValidationError.of(field, `must be at most 10m, got ${raw}`);
  return ms;
}

function isGrace(raw: string): boolean {
  try {
    graceMs('', raw);
    return true;
  } catch {
    return false;
  }
}

/** The shortest window leaves are re-issued over after the active root changes: 0s to 10m (default 30s). */
const MAX_REISSUE_JITTER_MS = 10 * 60_000;

function isReissueJitter(raw: string): boolean {
  try {
    return parseDuration('', raw) <= MAX_REISSUE_JITTER_MS;
  } catch {
    return false;
  }
}

export const DEFAULTS = { datacenter: 'dc1', bind: '127.0.0.1', httpPort: 8500, grpcPort: 8502 } as const;

export const LOG_LEVEL = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']);

export const configFileSchema = z.strictObject({
  datacenter: name.optional(),
  primary_datacenter: name.optional(),
  retry_join_wan: z.array(wanAddress).max(64, 'must list at most 64 addresses').optional(),
  node_name: name.optional(),
  // Consul's node_id: the node's UUID in the catalog (default: one made at the node's first start).
  node_id: uuid.optional(),
  // Consul's connect.ca_config.cluster_id: the CA's cluster id, hence the trust domain
  // `<cluster_id>.consul`, used when the CA is first initialised (default: a random UUID).
  connect: z.strictObject({ ca_config: z.strictObject({ cluster_id: uuid.optional() }).optional() }).optional(),
  data_dir: z.string().min(1, 'must not be empty').optional(),
  bind_addr: z.string().min(1, 'must not be empty').optional(),
  // Consul's names; -1 turns a port off (ports.http = -1 with ports.https serves HTTPS only).
  ports: z
    .strictObject({
      http: optionalPort.optional(),
      https: optionalPort.optional(),
      grpc: optionalPort.optional(),
      grpc_tls: optionalPort.optional(),
      // The listener ports a sidecar's Expose.Checks paths take (Consul's, 21500-21755 by default).
      expose_min_port: exposePort.optional(),
      expose_max_port: exposePort.optional(),
    })
    .superRefine((p, ctx) => {
      const [min, max] = [p.expose_min_port ?? DEFAULT_EXPOSED_CHECK_PORTS.min, p.expose_max_port ?? DEFAULT_EXPOSED_CHECK_PORTS.max];
      if (min > max) ctx.addIssue({ code: 'custom', path: ['expose_max_port'], message: `must not be below expose_min_port (${min})` });
    })
    .optional(),
  tls: z.strictObject({ defaults: tlsSection.optional(), https: tlsSection.optional(), grpc: tlsSection.optional() }).optional(),
  default_intention_policy: z.enum(['allow', 'deny']).optional(),
  node_meta: nodeMeta.optional(),
  log_level: LOG_LEVEL.optional(),
  shutdown_grace: z
    .string()
    .refine((v) => isGrace(v), 'must be a duration from 0s to 10m, such as "5s"')
    .optional(),
  acl: z
    .strictObject({
      enabled: z.boolean().optional(),
      default_policy: z.enum(['allow', 'deny']).optional(),
      tokens: z.strictObject({ agent: z.string().min(1).optional(), default: z.string().min(1).optional() }).optional(),
    })
    .optional(),
  limits: z.strictObject({ http_max_body_bytes: maxBodyBytes.optional(), xds_max_streams: xdsMaxStreams.optional() }).optional(),
  // For tests (a rotation in seconds, not half a minute); Consul has no such setting.
  leaf_reissue_jitter: z
    .string()
    .refine((v) => isReissueJitter(v), 'must be a duration from 0s to 10m, such as "30s"')
    .optional(),
});

export type ConfigFile = z.output<typeof configFileSchema>;

export interface AgentConfig {
  readonly datacenter: string;
  /** The datacenter whose agent holds the config entries, intentions and CA (default: this one, which is then the primary). */
  readonly primaryDatacenter: string;
  /** How a secondary reaches the primary: its agents' HTTP addresses, `host:port`, tried in turn (required on a secondary). */
  readonly retryJoinWan: readonly string[];
  readonly node: string;
  /** The node's ID in the catalog when it is first registered (node_id). */
  readonly nodeId?: string;
  /** The CA's cluster id when it is first initialised (connect.ca_config.cluster_id). */
  readonly caClusterId?: string;
  readonly bind: string;
  /** -1: no plain HTTP (only HTTPS). */
  readonly httpPort: number;
  /** -1: no plaintext gRPC (only TLS gRPC). */
  readonly grpcPort: number;
  /** HTTPS (Consul's ports.https); -1 (the default) for none. */
  readonly httpsPort?: number;
  /** xDS over TLS (Consul's ports.grpc_tls); -1 (the default) for none. */
  readonly grpcTlsPort?: number;
  /** Expose.Checks listener ports (Consul's ports.expose_min_port / expose_max_port). */
  readonly exposeCheckPorts?: PortRange;
  /** Where each TLS port's certificate comes from (files, or issued by the agent's CA when none are given). */
  readonly tls?: { readonly https: TlsFiles; readonly grpc: TlsFiles };
  /** Undefined: an in-memory store (-dev). */
  readonly dataDir?: string;
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly logLevel: NonNullable<ConfigFile['log_level']>;
  /** How long writes in flight may take to finish after SIGTERM/SIGINT (default 5 s). */
  readonly shutdownGraceMs?: number;
  /** The largest request body the HTTP API takes (config entries; default 1 MiB); smaller records have smaller limits. */
  readonly httpMaxBodyBytes?: number;
  /** Start from what is left of a damaged data dir instead of refusing it (`-accept-store-loss`). */
  readonly acceptStoreLoss?: boolean;
  /** The most xDS streams the gRPC port holds at once (default 10,000); beyond it a stream is refused with RESOURCE_EXHAUSTED. */
  readonly xdsMaxStreams?: number;
  /**
   * The shortest window over which leaves are re-issued after the active root changes (default
   * 30 s; the CSR rate limit may widen it). Config file only (`leaf_reissue_jitter`), for tests.
   */
  readonly leafReissueJitterMs?: number;
  /**
   * Consul's `acl { enabled, default_policy, tokens { agent, default } }` (default: disabled;
   * default_policy allow). `tokens.agent`: the token of the agent's own calls (to the primary, to
   * another datacenter, to its own API); `tokens.default`: the token of a request that carries none.
   */
  readonly acl?: { readonly enabled: boolean; readonly defaultPolicy: 'allow' | 'deny'; readonly tokens?: { readonly agent?: string; readonly default?: string } };
}

/** One TLS listener's files as configured, each with the config key it came from (for errors). */
export interface TlsFiles {
  readonly certFile?: { readonly path: string; readonly key: string };
  readonly keyFile?: { readonly path: string; readonly key: string };
  readonly caFile?: { readonly path: string; readonly key: string };
  readonly verifyIncoming: boolean;
}

type TlsSectionConfig = z.output<typeof tlsSection>;

/** A listener's TLS settings: its own section (`tls.https`, `tls.grpc`) over `tls.defaults`, checked for what belongs together. */
function tlsFiles(file: ConfigFile, section: 'https' | 'grpc'): TlsFiles {
  const own: TlsSectionConfig = file.tls?.[section] ?? {};
  const defaults: TlsSectionConfig = file.tls?.defaults ?? {};
  const pick = (k: 'ca_file' | 'cert_file' | 'key_file') =>
    own[k] !== undefined ? { path: own[k], key: `tls.${section}.${k}` } : defaults[k] !== undefined ? { path: defaults[k], key: `tls.defaults.${k}` } : undefined;
  const out = { certFile: pick('cert_file'), keyFile: pick('key_file'), caFile: pick('ca_file'), verifyIncoming: own.verify_incoming ?? defaults.verify_incoming ?? false };
  if (out.certFile && !out.keyFile) throw ValidationError.of(out.certFile.key.replace(/cert_file$/, 'key_file'), `is required with ${out.certFile.key}`);
  if (out.keyFile && !out.certFile) throw ValidationError.of(out.keyFile.key.replace(/key_file$/, 'cert_file'), `is required with ${out.keyFile.key}`);
  // With its own certificate the agent cannot tell which CA signs its clients; auto-issued, it is the agent's CA.
  if (out.verifyIncoming && out.certFile && !out.caFile) throw ValidationError.of(`tls.${own.verify_incoming !== undefined ? section : 'defaults'}.ca_file`, 'is required with verify_incoming when cert_file is given: the CA that client certificates must be signed by');
  return out;
}

export function readConfigFile(path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw ValidationError.of('-config-file', `cannot read ${path} as JSON: ${errorMessage(err)}`);
  }
  return parseInput(configFileSchema, raw, `invalid config file ${path}`);
}

export interface AgentFlags {
  dev?: boolean;
  'data-dir'?: string;
  'http-port'?: number;
  'grpc-port'?: number;
  'https-port'?: number;
  'grpc-tls-port'?: number;
  bind?: string;
  datacenter?: string;
  'primary-datacenter'?: string;
  'retry-join-wan'?: string[];
  node?: string;
  'config-file'?: string;
  'shutdown-grace'?: string;
  'http-max-body-bytes'?: number;
  'accept-store-loss'?: boolean;
  'xds-max-streams'?: number;
  'log-level'?: string;
  'acl-enabled'?: boolean;
  'acl-default-policy'?: string;
}

/** Flags over the config file over the defaults. Either -dev or a data dir is required. */
export function resolveConfig(flags: AgentFlags): AgentConfig {
  const file = flags['config-file'] ? readConfigFile(flags['config-file']) : {};
  const dataDir = flags['data-dir'] ?? file.data_dir;
  if (!flags.dev && !dataDir) throw ValidationError.of('-data-dir', 'is required unless -dev is set (or data_dir is in the config file)');
  if (flags.dev && flags['data-dir']) throw ValidationError.of('-dev', 'keeps state in memory; do not combine it with -data-dir');
  const datacenter = flags.datacenter ?? file.datacenter ?? DEFAULTS.datacenter;
  const cfg = {
    datacenter,
    primaryDatacenter: flags['primary-datacenter'] ?? file.primary_datacenter ?? datacenter,
    retryJoinWan: flags['retry-join-wan'] ?? file.retry_join_wan ?? [],
    node: flags.node ?? file.node_name ?? hostname().split('.')[0] ?? 'switchyard',
    nodeId: file.node_id?.toLowerCase(),
    caClusterId: file.connect?.ca_config?.cluster_id?.toLowerCase(),
    bind: flags.bind ?? file.bind_addr ?? DEFAULTS.bind,
    httpPort: flags['http-port'] ?? file.ports?.http ?? DEFAULTS.httpPort,
    grpcPort: flags['grpc-port'] ?? file.ports?.grpc ?? DEFAULTS.grpcPort,
    httpsPort: flags['https-port'] ?? file.ports?.https ?? -1,
    grpcTlsPort: flags['grpc-tls-port'] ?? file.ports?.grpc_tls ?? -1,
    exposeCheckPorts: { min: file.ports?.expose_min_port ?? DEFAULT_EXPOSED_CHECK_PORTS.min, max: file.ports?.expose_max_port ?? DEFAULT_EXPOSED_CHECK_PORTS.max },
    tls: { https: tlsFiles(file, 'https'), grpc: tlsFiles(file, 'grpc') },
    dataDir: flags.dev ? undefined : dataDir,
    defaultIntentionPolicy: file.default_intention_policy ?? 'allow',
    nodeMeta: file.node_meta ?? {},
    logLevel: flags['log-level'] !== undefined ? parseInput(LOG_LEVEL, flags['log-level'], '-log-level') : (file.log_level ?? 'info'),
    shutdownGraceMs:
      flags['shutdown-grace'] !== undefined
        ? graceMs('-shutdown-grace', flags['shutdown-grace'])
        : file.shutdown_grace !== undefined
          ? graceMs('shutdown_grace', file.shutdown_grace)
          : DEFAULT_SHUTDOWN_GRACE_MS,
    httpMaxBodyBytes: flags['http-max-body-bytes'] ?? file.limits?.http_max_body_bytes ?? DEFAULT_MAX_BODY_BYTES,
    // A flag only, never the config file: it is a decision for one start, not a setting.
    acceptStoreLoss: flags['accept-store-loss'] ?? false,
    xdsMaxStreams: flags['xds-max-streams'] ?? file.limits?.xds_max_streams ?? DEFAULT_XDS_LIMITS.maxStreams,
    leafReissueJitterMs: file.leaf_reissue_jitter === undefined ? undefined : parseDuration('leaf_reissue_jitter', file.leaf_reissue_jitter),
    acl: {
      enabled: flags['acl-enabled'] ?? file.acl?.enabled ?? false,
      defaultPolicy: flags['acl-default-policy'] !== undefined ? parseInput(z.enum(['allow', 'deny']), flags['acl-default-policy'], '-acl-default-policy') : (file.acl?.default_policy ?? 'allow'),
      ...(file.acl?.tokens ? { tokens: file.acl.tokens } : {}),
    },
  };
  parseInput(name, cfg.datacenter, '-datacenter');
  parseInput(name, cfg.primaryDatacenter, '-primary-datacenter');
  flags['retry-join-wan']?.forEach((a, i) => parseInput(wanAddress, a, `-retry-join-wan[${i}]`));
  parseInput(name, cfg.node, '-node');
  checkFederation(cfg);
  return cfg;
}

/**
 * The rule between the federation settings: a secondary (primary_datacenter names another
 * datacenter) must be told how to reach the primary. A primary may list retry_join_wan (as every
 * Consul server of a WAN pool does): it is accepted and unused, since the primary learns each
 * secondary's address from the secondary itself.
 */
export function checkFederation(cfg: Pick<AgentConfig, 'datacenter' | 'primaryDatacenter' | 'retryJoinWan'>): void {
  if (cfg.primaryDatacenter !== cfg.datacenter && cfg.retryJoinWan.length === 0) {
    throw ValidationError.of(
      'retry_join_wan',
      `is required in a secondary datacenter: primary_datacenter is "${cfg.primaryDatacenter}" but this agent's datacenter is "${cfg.datacenter}", so it must reach the primary through retry_join_wan (-retry-join-wan HOST:PORT, the primary agent's HTTP address); or set primary_datacenter to "${cfg.datacenter}" to make this datacenter the primary`,
    );
  }
}
