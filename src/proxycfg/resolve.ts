// Turns a proxy registration plus the config entries that apply into the resolved, validated
// parts of a snapshot. The opaque `Config` maps are parsed here with the schemas registration
// checks them with (catalog/services/proxy-config.ts), so anything stored before that check
// becomes a named issue instead of a silently ignored setting; the generators never see raw config.
import type { z } from 'zod';
import type { CheckServiceNode, ConfigEntry, Protocol, ServiceInstance, Upstream } from '../catalog/types.js';
import { aggregateStatus } from '../catalog/types.js';
import { protocol } from '../catalog/config/common.js';
import { proxyConfigSchema, upstreamConfigSchema } from '../catalog/services/proxy-config.js';
import { DEFAULT_PUBLIC_BIND_ADDRESS, DEFAULT_UPSTREAM_BIND_ADDRESS } from '../catalog/services/register.js';
import { DEFAULT_NAMESPACE, upstreamId } from '../core/names.js';
import type { FieldIssue } from '../core/errors.js';
import type { ConnectProxySnapshot, UpstreamEndpoint, UpstreamSnapshot } from './snapshot.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_LOCAL_ADDRESS = '127.0.0.1';

/** Collects issues while reading; every read returns a usable value so resolution continues. */
class Issues {
  readonly list: FieldIssue[] = [];

  parse<T>(schema: z.ZodType<T>, value: unknown, path: string, fallback: T): T {
    const r = schema.safeParse(value ?? {});
    if (r.success) return r.data;
    for (const issue of r.error.issues) this.list.push({ path: [path, ...issue.path.map(String)].join('.'), message: issue.message });
    return fallback;
  }

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

/** `protocol` from a proxy-defaults entry's Config or a service-defaults entry's Protocol. */
function entryProtocol(issues: Issues, entry: ConfigEntry | undefined, field: 'Config.protocol' | 'Protocol'): Protocol | undefined {
  if (!entry) return undefined;
  const raw = field === 'Protocol' ? entry.Protocol : (entry.Config as Record<string, unknown> | undefined)?.protocol;
  if (raw === undefined || raw === '') return undefined;
  return issues.parse(protocol.optional(), raw, `${entry.Kind}/${entry.Name}.${field}`, undefined);
}

export interface ConfigEntries {
  readonly proxyDefaults: ConfigEntry | undefined;
  readonly serviceDefaults: ConfigEntry | undefined;
  readonly mesh: ConfigEntry | undefined;
}

export interface UpstreamInputs {
  readonly upstream: Upstream;
  readonly index: number;
  readonly serviceDefaults: ConfigEntry | undefined;
  readonly nodes: readonly CheckServiceNode[];
}

export interface SnapshotInputs {
  readonly proxy: ServiceInstance;
  readonly roots: ConnectProxySnapshot['roots'];
  readonly leaf: ConnectProxySnapshot['leaf'];
  readonly intentions: ConnectProxySnapshot['intentions'];
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly entries: ConfigEntries;
  readonly upstreams: readonly UpstreamInputs[];
}

function endpointOf(n: CheckServiceNode): UpstreamEndpoint {
  return { node: n.Node.Node, address: n.Service.Address || n.Node.Address, port: n.Service.Port, health: aggregateStatus(n.Checks) };
}

function compareEndpoints(a: UpstreamEndpoint, b: UpstreamEndpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

/**
 * One endpoints array per health result: the shared watch hands every proxy the same result
 * object, so every snapshot of every proxy upstream of that service holds the same (frozen)
 * array, and the generators can reuse what they built from it.
 */
const endpointsByResult = new WeakMap<readonly CheckServiceNode[], readonly UpstreamEndpoint[]>();

function endpointsOf(nodes: readonly CheckServiceNode[]): readonly UpstreamEndpoint[] {
  let endpoints = endpointsByResult.get(nodes);
  if (!endpoints) endpointsByResult.set(nodes, (endpoints = Object.freeze(nodes.map(endpointOf).sort(compareEndpoints))));
  return endpoints;
}

function resolveUpstream(issues: Issues, proxy: ServiceInstance, defaultsProtocol: Protocol | undefined, input: UpstreamInputs): UpstreamSnapshot {
  const { upstream: u, index } = input;
  const path = `Proxy.Upstreams[${index}]`;
  const config = issues.parse(upstreamConfigSchema, u.Config, `${path}.Config`, {});
  if (u.DestinationType === 'prepared_query') issues.add(`${path}.DestinationType`, 'prepared_query upstreams are not supported');
  if (u.Datacenter && u.Datacenter !== proxy.Datacenter) issues.add(`${path}.Datacenter`, `cross-datacenter upstreams are not supported (proxy is in ${proxy.Datacenter})`);
  const namespace = u.DestinationNamespace || DEFAULT_NAMESPACE;
  return {
    id: upstreamId(u.DestinationName, namespace),
    destinationName: u.DestinationName,
    namespace,
    datacenter: proxy.Datacenter,
    bindAddress: u.LocalBindAddress || DEFAULT_UPSTREAM_BIND_ADDRESS,
    bindPort: u.LocalBindPort,
    protocol: config.protocol ?? entryProtocol(issues, input.serviceDefaults, 'Protocol') ?? defaultsProtocol ?? 'tcp',
    connectTimeoutMs: config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
    endpoints: endpointsOf(input.nodes),
  };
}

/** A complete snapshot from its inputs; configuration problems are listed in `issues`. */
export function buildConnectProxySnapshot(inputs: SnapshotInputs): ConnectProxySnapshot {
  const { proxy } = inputs;
  const issues = new Issues();
  const p = proxy.Proxy;
  if (!p) issues.add('Proxy', 'a connect-proxy registration needs a Proxy block');
  const config = issues.parse(proxyConfigSchema, p?.Config, 'Proxy.Config', {});
  if (p?.Mode === 'transparent') issues.add('Proxy.Mode', 'transparent proxying is not supported; use explicit upstreams (Mode "direct")');
  const defaultsProtocol = entryProtocol(issues, inputs.entries.proxyDefaults, 'Config.protocol');
  const localPort = p?.LocalServicePort;
  if (localPort === undefined) issues.add('Proxy.LocalServicePort', 'required: the port of the service this proxy fronts');
  const upstreams = inputs.upstreams.map((u) => resolveUpstream(issues, proxy, defaultsProtocol, u)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const seen = new Map<string, string>();
  for (const u of upstreams) {
    const bind = `${u.bindAddress}:${u.bindPort}`;
    const other = seen.get(bind);
    if (other) issues.add('Proxy.Upstreams', `upstreams ${other} and ${u.id} both bind ${bind}`);
    seen.set(bind, u.id);
  }
  return {
    kind: 'connect-proxy',
    proxy,
    service: p?.DestinationServiceName ?? proxy.Service,
    namespace: proxy.Namespace || DEFAULT_NAMESPACE,
    datacenter: proxy.Datacenter,
    trustDomain: inputs.roots.TrustDomain,
    roots: inputs.roots,
    leaf: inputs.leaf,
    intentions: inputs.intentions,
    defaultIntentionPolicy: inputs.defaultIntentionPolicy,
    publicListener: {
      bindAddress: config.bind_address ?? DEFAULT_PUBLIC_BIND_ADDRESS,
      bindPort: config.bind_port ?? proxy.Port,
      protocol: config.protocol ?? entryProtocol(issues, inputs.entries.serviceDefaults, 'Protocol') ?? defaultsProtocol ?? 'tcp',
    },
    localApp: {
      address: p?.LocalServiceAddress || DEFAULT_LOCAL_ADDRESS,
      port: localPort ?? 0,
      connectTimeoutMs: config.local_connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
    },
    upstreams,
    mesh: inputs.entries.mesh,
    issues: issues.list,
  };
}
