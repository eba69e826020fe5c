// Upstreams, for every proxy kind that has them: the watches of a destination (its sidecars'
// health and its service-defaults, combined once per destination and shared by every proxy
// upstream of it) and the resolution of one registered upstream into its snapshot.
import { combineLatest, map, of, type Observable } from 'rxjs';
import { upstreamConfigSchema } from '../catalog/services/proxy-config.js';
import { DEFAULT_UPSTREAM_BIND_ADDRESS } from '../catalog/services/register.js';
import { aggregateStatus, type CheckServiceNode, type ConfigEntry, type Protocol, type Upstream } from '../catalog/types.js';
import { resolveProtocol } from '../catalog/config/protocol.js';
import { DEFAULT_NAMESPACE, upstreamId } from '../core/names.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, entryProtocol, SERVICE_DEFAULTS, sharedBy, type Issues, type ProxyDeps } from './resolve.js';
import type { UpstreamEndpoint, UpstreamSnapshot } from './snapshot.js';

/** What one upstream is resolved from. */
export interface UpstreamInputs {
  readonly upstream: Upstream;
  /** Its position in the registration (for issue paths). */
  readonly index: number;
  readonly serviceDefaults: ConfigEntry | undefined;
  readonly nodes: readonly CheckServiceNode[];
}

/** An upstream destination's sidecars and service-defaults, combined once per destination. */
function destinationInputs(deps: ProxyDeps, destination: string) {
  return sharedBy(deps, `destination-inputs/${destination}`, () =>
    combineLatest([deps.catalog.watchConnectHealth(destination), deps.catalog.watchConfigEntry(SERVICE_DEFAULTS, destination)]),
  );
}

/** Upstream inputs, in the registration's order; `of([])` when there are none, since combineLatest([]) never emits. */
export function watchUpstreams(deps: ProxyDeps, upstreams: readonly Upstream[]): Observable<readonly UpstreamInputs[]> {
  if (upstreams.length === 0) return of([]);
  return combineLatest(upstreams.map((u) => destinationInputs(deps, u.DestinationName))).pipe(
    map((inputs) => upstreams.map((upstream, index): UpstreamInputs => ({ upstream, index, nodes: inputs[index]![0], serviceDefaults: inputs[index]![1] }))),
  );
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

export function endpointsOf(nodes: readonly CheckServiceNode[]): readonly UpstreamEndpoint[] {
  let endpoints = endpointsByResult.get(nodes);
  if (!endpoints) endpointsByResult.set(nodes, (endpoints = Object.freeze(nodes.map(endpointOf).sort(compareEndpoints))));
  return endpoints;
}

/** Where the upstream's proxy is, for the rules that depend on it. */
export interface UpstreamOwner {
  readonly datacenter: string;
  /** The protocol proxy-defaults sets, if any (already read, so its issue is reported once). */
  readonly defaultsProtocol: Protocol | undefined;
}

export function resolveUpstream(issues: Issues, owner: UpstreamOwner, input: UpstreamInputs): UpstreamSnapshot {
  const { upstream: u, index } = input;
  const config = issues.parse(upstreamConfigSchema, u.Config, ['Proxy', 'Upstreams', index, 'Config'], {});
  const namespace = u.DestinationNamespace || DEFAULT_NAMESPACE;
  return {
    id: upstreamId(u.DestinationName, namespace),
    destinationName: u.DestinationName,
    namespace,
    datacenter: owner.datacenter,
    bindAddress: u.LocalBindAddress || DEFAULT_UPSTREAM_BIND_ADDRESS,
    bindPort: u.LocalBindPort,
    protocol: resolveProtocol(config.protocol, entryProtocol(issues, input.serviceDefaults), owner.defaultsProtocol),
    connectTimeoutMs: config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
    endpoints: endpointsOf(input.nodes),
  };
}

/** Resolves every upstream, sorted by id. */
export function resolveUpstreams(issues: Issues, owner: UpstreamOwner, inputs: readonly UpstreamInputs[]): readonly UpstreamSnapshot[] {
  return inputs.map((u) => resolveUpstream(issues, owner, u)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
