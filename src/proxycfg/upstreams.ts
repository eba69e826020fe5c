// Upstreams, for every proxy kind that has them: the watches of a destination (its discovery
// chain, the instances of every target of the chain, and its service-defaults, combined once per
// destination and shared by every proxy upstream of it) and the resolution of one registered
// upstream into its snapshot.
//
// A chain target in another datacenter (an upstream's `Datacenter`, a redirect or a failover
// there) is reached, by the upstream's mesh
// gateway mode (the upstream's MeshGateway, else the proxy's, else its service's
// service-defaults, else proxy-defaults; Consul's precedence), through this datacenter's mesh
// gateways (`local`, their LAN addresses), through the remote datacenter's gateways (`remote`,
// their WAN addresses from its federation state), or at the remote sidecars directly (`none`,
// the default). Its cluster is named by its SNI whichever way: the gateways route by it. A local
// target that a terminating gateway links is reached through that gateway (terminating-links.ts).
import { combineLatest, map, of, switchMap, type Observable } from 'rxjs';
import { defaultChain, type ChainTarget, type CompileResult } from '../catalog/config/chain.js';
import { upstreamConfigSchema } from '../catalog/services/proxy-config.js';
import { DEFAULT_UPSTREAM_BIND_ADDRESS } from '../catalog/services/register.js';
import { aggregateStatus, type CheckServiceNode, type ConfigEntryOf, type FederationState, type MeshGatewayMode, type Protocol, type Upstream } from '../catalog/types.js';
import { resolveProtocol } from '../catalog/config/protocol.js';
import { DEFAULT_NAMESPACE, upstreamId } from '../core/names.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, entryProtocol, SERVICE_DEFAULTS, sharedBy, type Issues, type ProxyDeps } from './resolve.js';
import { localGatewayEndpoints, remoteGatewayEndpoints } from './gateways.js';
import { subsetNodes, watchChain } from './chain.js';
import { gatewayLinks, withGateways } from './terminating-links.js';
import type { PassiveHealthCheck, TargetEndpoints, UpstreamEndpoint, UpstreamLimits, UpstreamSnapshot } from './snapshot.js';
import { parseDuration } from '../core/duration.js';

/** What an upstream in another datacenter may be reached through; which one, its mode decides. */
export interface CrossDatacenterInputs {
  readonly localGateways: readonly CheckServiceNode[];
  readonly federationStates: readonly FederationState[];
  /** The destination's sidecars in its datacenter, as that datacenter answers. */
  readonly remoteNodes: readonly CheckServiceNode[];
}

/** What one upstream is resolved from. */
export interface UpstreamInputs {
  readonly upstream: Upstream;
  /** Its position in the registration (for issue paths). */
  readonly index: number;
  readonly serviceDefaults: ConfigEntryOf<'service-defaults'> | undefined;
  /** The destination's compiled discovery chain (the default chain for an upstream in another datacenter). */
  readonly chain: CompileResult;
  /** What each target of the chain is reached through, by target id. */
  readonly targets: ReadonlyMap<string, TargetInstances>;
}

/**
 * A target's instances: in this datacenter its sidecars (its subset applied); in another, every
 * way it may be reached (which one, the mesh gateway mode decides when the snapshot is built).
 */
export type TargetInstances = { readonly local: readonly CheckServiceNode[] } | { readonly remote: CrossDatacenterInputs };

/** What one chain target is reached through, seen from `localDatacenter`. */
function targetInstances(deps: ProxyDeps, t: ChainTarget, localDatacenter: string): Observable<TargetInstances> {
  if (t.datacenter === localDatacenter) {
    return combineLatest([deps.catalog.watchConnectHealth(t.service), gatewayLinks(deps, t.service)]).pipe(map(([nodes, links]) => ({ local: withGateways(subsetNodes(nodes, t), nodes.length > 0, links) })));
  }
  return crossDatacenterInputs(deps, t.datacenter, t.service).pipe(map((remote) => ({ remote: { ...remote, remoteNodes: subsetNodes(remote.remoteNodes, t) } })));
}

/**
 * An upstream destination's discovery chain (compiled as seen from `chainDatacenter`: the
 * upstream's own Datacenter, else the proxy's), what every target of it is reached through, and
 * its service-defaults, combined once per (destination, datacenter, protocol override).
 */
function destinationInputs(deps: ProxyDeps, destination: string, chainDatacenter: string, localDatacenter: string, overrideProtocol: Protocol | undefined) {
  const key = `destination-inputs/${destination}${chainDatacenter === localDatacenter ? '' : `?dc=${chainDatacenter}`}${overrideProtocol ? `${chainDatacenter === localDatacenter ? '?' : '&'}protocol=${overrideProtocol}` : ''}`;
  return sharedBy(deps, key, () =>
    combineLatest([
      watchChain(deps, destination, chainDatacenter, overrideProtocol).pipe(
        switchMap((chain) => {
          const targets = chain.ok ? Object.values(chain.chain.targets).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : [];
          if (targets.length === 0) return of({ chain, targets: new Map<string, TargetInstances>() });
          return combineLatest(targets.map((t) => targetInstances(deps, t, localDatacenter).pipe(map((i) => [t.id, i] as const)))).pipe(map((pairs) => ({ chain, targets: new Map(pairs) })));
        }),
      ),
      deps.catalog.watchConfigEntry(SERVICE_DEFAULTS, destination),
    ]),
  );
}

type UpstreamConfiguration = NonNullable<ConfigEntryOf<'service-defaults'>['UpstreamConfig']>;
type UpstreamFields = NonNullable<UpstreamConfiguration['Defaults']>;

/** What the proxy's service-defaults UpstreamConfig sets for `destination`: its override, then the Defaults (field by field, as Consul merges). */
function upstreamConfigFor(cfg: UpstreamConfiguration | undefined, destination: string): readonly UpstreamFields[] {
  const override = cfg?.Overrides?.find((o) => o.Name === destination);
  return [override, cfg?.Defaults].filter((x): x is UpstreamFields => x !== undefined);
}

/** The first value of `key` set (not Go's zero value) in an upstream's UpstreamConfig layers. */
function firstSet<K extends keyof UpstreamFields>(layers: readonly UpstreamFields[], key: K): UpstreamFields[K] | undefined {
  return layers.map((l) => l[key]).find((v) => v !== undefined && v !== '' && v !== 0);
}

/**
 * The protocol an upstream's chain is compiled with (as Consul's OverrideProtocol): its own
 * `Config.protocol`, else the proxy's service-defaults UpstreamConfig Protocol for it.
 */
export function overrideProtocolOf(u: Upstream, cfg: UpstreamConfiguration | undefined): Protocol | undefined {
  const r = upstreamConfigSchema.safeParse(u.Config ?? {});
  return (r.success ? r.data.protocol : undefined) ?? firstSet(upstreamConfigFor(cfg, u.DestinationName), 'Protocol');
}

/** A service in another datacenter: every way it may be reached. */
function crossDatacenterInputs(deps: ProxyDeps, datacenter: string, service: string): Observable<CrossDatacenterInputs> {
  const { catalog } = deps;
  return sharedBy(deps, `cross-dc-inputs/${datacenter}/${service}`, () =>
    combineLatest({ localGateways: catalog.watchMeshGateways(), federationStates: catalog.watchFederationStates(), remoteNodes: catalog.watchRemoteConnectHealth(datacenter, service) }),
  );
}

/** Upstream inputs, in the registration's order; `of([])` when there are none, since combineLatest([]) never emits. */
export function watchUpstreams(deps: ProxyDeps, upstreams: readonly Upstream[], datacenter: string, protocols: readonly (Protocol | undefined)[] = []): Observable<readonly UpstreamInputs[]> {
  if (upstreams.length === 0) return of([]);
  return combineLatest(
    upstreams.map((u, index) =>
      destinationInputs(deps, u.DestinationName, u.Datacenter || datacenter, datacenter, protocols[index]).pipe(
        map(([{ chain, targets }, serviceDefaults]): UpstreamInputs => ({ upstream: u, index, chain, targets, serviceDefaults })),
      ),
    ),
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
  /** The proxy's mesh gateway mode for upstreams that set none (its registration, service-defaults, proxy-defaults). */
  readonly meshGatewayMode: MeshGatewayMode;
  /** The proxy's service-defaults UpstreamConfig (Protocol, ConnectTimeoutMs, Limits, PassiveHealthCheck, MeshGateway, BalanceOutboundConnections for its upstreams). */
  readonly upstreamConfig?: UpstreamConfiguration;
}

function resolvedLimits(l: UpstreamFields['Limits']): UpstreamLimits | undefined {
  if (!l) return undefined;
  const out = { maxConnections: l.MaxConnections, maxPendingRequests: l.MaxPendingRequests, maxConcurrentRequests: l.MaxConcurrentRequests };
  return dropUndefined(out);
}

export function resolvedPassiveHealthCheck(p: UpstreamFields['PassiveHealthCheck']): PassiveHealthCheck | undefined {
  if (!p) return undefined;
  return dropUndefined({
    intervalMs: p.Interval !== undefined ? parseDuration('Interval', p.Interval) : undefined,
    maxFailures: p.MaxFailures,
    enforcingConsecutive5xx: p.EnforcingConsecutive5xx,
    maxEjectionPercent: p.MaxEjectionPercent,
    baseEjectionTimeMs: p.BaseEjectionTime !== undefined ? parseDuration('BaseEjectionTime', p.BaseEjectionTime) : undefined,
  });
}

function dropUndefined<T extends object>(o: T): T | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

/** An upstream's Limits and PassiveHealthCheck: its override in UpstreamConfig, else the Defaults (each field as a whole, as Consul merges). */
function upstreamPolicies(layers: readonly UpstreamFields[]): Pick<UpstreamSnapshot, 'limits' | 'passiveHealthCheck'> {
  const limits = resolvedLimits(layers.map((l) => l.Limits).find((v) => v !== undefined));
  const passiveHealthCheck = resolvedPassiveHealthCheck(layers.map((l) => l.PassiveHealthCheck).find((v) => v !== undefined));
  return { ...(limits ? { limits } : {}), ...(passiveHealthCheck ? { passiveHealthCheck } : {}) };
}

/** The first mode set, most specific first; `none` (straight to the remote sidecars) when none is. */
export function meshGatewayMode(...modes: readonly (MeshGatewayMode | undefined)[]): MeshGatewayMode {
  return modes.find((m) => m !== undefined && m !== '') ?? '';
}

/** Where an upstream in another datacenter is reached, by its mode. */
function crossDatacenterEndpoints(datacenter: string, mode: MeshGatewayMode, inputs: CrossDatacenterInputs): readonly UpstreamEndpoint[] {
  switch (mode) {
    case 'local':
      return localGatewayEndpoints(inputs.localGateways);
    case 'remote': {
      const state = inputs.federationStates.find((s) => s.Datacenter === datacenter);
      return state ? remoteGatewayEndpoints(state) : NO_ENDPOINTS;
    }
    case 'none':
    case '':
      return endpointsOf(inputs.remoteNodes);
  }
}

const NO_ENDPOINTS: readonly UpstreamEndpoint[] = Object.freeze([]);

export function resolveUpstream(issues: Issues, owner: UpstreamOwner, input: UpstreamInputs): UpstreamSnapshot {
  const { upstream: u, index } = input;
  const config = issues.parse(upstreamConfigSchema, u.Config, ['Proxy', 'Upstreams', index, 'Config'], {});
  const namespace = u.DestinationNamespace || DEFAULT_NAMESPACE;
  const remote = u.Datacenter && u.Datacenter !== owner.datacenter ? u.Datacenter : undefined;
  const layers = upstreamConfigFor(owner.upstreamConfig, u.DestinationName);
  const protocol = resolveProtocol(config.protocol ?? firstSet(layers, 'Protocol'), entryProtocol(issues, input.serviceDefaults), owner.defaultsProtocol);
  const datacenter = remote ?? owner.datacenter;
  const mode = meshGatewayMode(u.MeshGateway?.Mode, ...layers.map((l) => l.MeshGateway?.Mode), owner.meshGatewayMode);
  const balance = (config.balance_outbound_connections || firstSet(layers, 'BalanceOutboundConnections')) === 'exact_balance';
  if (!input.chain.ok) {
    for (const p of input.chain.problems) issues.add(`${p.entry}${p.path ? `.${p.path}` : ''}`, `${p.message} (the discovery chain of upstream "${u.DestinationName}")`);
  }
  const chain = input.chain.ok ? input.chain.chain : defaultChain(u.DestinationName, datacenter, protocol);
  const endpoints: TargetEndpoints[] = [...input.targets].map(([targetId, t]) => ({
    targetId,
    endpoints: 'local' in t ? endpointsOf(t.local) : crossDatacenterEndpoints(chain.targets[targetId]?.datacenter ?? datacenter, mode, t.remote),
  }));
  return {
    id: upstreamId(u.DestinationName, namespace, remote),
    destinationName: u.DestinationName,
    namespace,
    datacenter,
    bindAddress: u.LocalBindAddress || DEFAULT_UPSTREAM_BIND_ADDRESS,
    bindPort: u.LocalBindPort,
    protocol,
    connectTimeoutMs: config.connect_timeout_ms ?? firstSet(layers, 'ConnectTimeoutMs') ?? DEFAULT_CONNECT_TIMEOUT_MS,
    connectTimeoutFromUpstream: config.connect_timeout_ms !== undefined,
    chain,
    ...upstreamPolicies(layers),
    ...(balance ? { balanceConnections: true } : {}),
    endpoints,
  };
}

/** The chain inputs of a destination no entry touches, with its instances (for tests and tools that build inputs by hand). */
export function defaultTargetInputs(service: string, datacenter: string, nodes: readonly CheckServiceNode[]): Pick<UpstreamInputs, 'chain' | 'targets'> {
  const chain = defaultChain(service, datacenter, 'tcp');
  return { chain: { ok: true, chain }, targets: new Map([[Object.keys(chain.targets)[0] as string, { local: nodes }]]) };
}

/** Resolves every upstream, sorted by id. */
export function resolveUpstreams(issues: Issues, owner: UpstreamOwner, inputs: readonly UpstreamInputs[]): readonly UpstreamSnapshot[] {
  return inputs.map((u) => resolveUpstream(issues, owner, u)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
