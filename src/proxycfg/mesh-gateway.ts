// The mesh-gateway kind: a registration -> a stream of immutable snapshots.
//
//   combineLatest(roots (trust domain), proxy-defaults,
//                 this datacenter's mesh gateways (the gateway's own node address),
//                 every local service: combineLatest(its sidecars' health)   shared per service
//                 federation states (every other datacenter's gateways))
//
// A mesh gateway forwards TLS by SNI without terminating it: a local service's SNI goes to that
// service's sidecars (a subset's SNI, `<subset>.<svc>...`, to the sidecars its resolver's filter
// selects), `*.<dc>.internal.<td>` of another datacenter to that datacenter's gateways
// (their WAN addresses). The kinds table (kinds.ts) coalesces the inputs and builds the snapshot.
import { isIP } from 'node:net';
import { combineLatest, map, of, switchMap, type Observable } from 'rxjs';
import type { CARoots } from '../ca/types.js';
import { gatewayAddresses } from '../catalog/services/gateway-address.js';
import { gatewayConfigSchema, proxyConfigSchema } from '../catalog/services/proxy-config.js';
import { TAGGED_ADDRESS_LAN, TAGGED_ADDRESS_WAN } from '../catalog/services/tagged-addresses.js';
import type { CheckServiceNode, FederationState, ServiceInstance } from '../catalog/types.js';
import { DEFAULT_NAMESPACE } from '../core/names.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, gatewayIdentity, Issues, sharedBy, type ProxyDeps } from './resolve.js';
import { remoteGatewayEndpoints } from './gateways.js';
import type { GatewayListenerAddress, GatewayRemoteDatacenter, MeshGatewaySnapshot } from './snapshot.js';
import { endpointsOf } from './upstreams.js';
import { subsetNodes } from './chain.js';

export interface MeshGatewayInputs {
  /** The gateway's registration. */
  readonly gateway: ServiceInstance;
  readonly roots: CARoots;
  /** This datacenter's mesh gateways (the gateway's own node address is read from its entry). */
  readonly localGateways: readonly CheckServiceNode[];
  /** Each local service with its sidecars, then each subset its resolver defines with the subset's, sorted by name. */
  readonly services: readonly { readonly name: string; readonly subset: string; readonly nodes: readonly CheckServiceNode[] }[];
  readonly federationStates: readonly FederationState[];
}

/**
 * A local service's sidecars, and those of every subset its service-resolver defines: callers in
 * other datacenters reach a subset by its own SNI, as Consul's mesh gateways serve them.
 */
function localService(deps: ProxyDeps, name: string): Observable<MeshGatewayInputs['services']> {
  return combineLatest([deps.catalog.watchConnectHealth(name), deps.catalog.watchConfigEntry('service-resolver', name)]).pipe(
    map(([nodes, resolver]) => [
      { name, subset: '', nodes },
      ...Object.entries(resolver?.Subsets ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([subset, def]) => ({ name, subset, nodes: subsetNodes(nodes, { filter: def.Filter ?? '', onlyPassing: def.OnlyPassing ?? false }) })),
    ]),
  );
}

/** Every local service's sidecars, one shared watch per service, re-combined when the list changes. */
function localServices(deps: ProxyDeps): Observable<MeshGatewayInputs['services']> {
  return sharedBy(deps, 'mesh-gateway/local-services', () =>
    deps.catalog.watchServiceNames().pipe(
      switchMap((names) => (names.length === 0 ? of([]) : combineLatest(names.map((name) => localService(deps, name))).pipe(map((lists) => lists.flat())))),
    ),
  );
}

/** Everything a mesh-gateway registration's snapshot is built from. */
export function meshGatewayInputs(gateway: ServiceInstance, deps: ProxyDeps): Observable<MeshGatewayInputs> {
  return combineLatest({
    roots: deps.ca.watchRoots(),
    localGateways: deps.catalog.watchMeshGateways(),
    services: localServices(deps),
    federationStates: deps.catalog.watchFederationStates(),
  }).pipe(map((inputs) => ({ ...inputs, gateway })));
}

/** One entry per federation state object, so snapshots share it while the state is unchanged. */
const remoteByState = new WeakMap<FederationState, GatewayRemoteDatacenter>();

function remoteDatacenter(state: FederationState): GatewayRemoteDatacenter {
  let dc = remoteByState.get(state);
  if (!dc) remoteByState.set(state, (dc = { datacenter: state.Datacenter, endpoints: remoteGatewayEndpoints(state) }));
  return dc;
}

/**
 * Where the gateway listens, as Consul decides it: its service address (`default`) unless
 * `envoy_gateway_no_default_bind`; its `lan` and `wan` tagged addresses with
 * `envoy_gateway_bind_tagged_addresses`; and every `envoy_gateway_bind_addresses` entry. One
 * listener per distinct address and port (the first name wins).
 */
function listenerAddresses(inputs: MeshGatewayInputs, config: { envoy_gateway_no_default_bind?: boolean; envoy_gateway_bind_tagged_addresses?: boolean; envoy_gateway_bind_addresses?: Record<string, { Address: string; Port: number }> }): GatewayListenerAddress[] {
  const { gateway } = inputs;
  const nodeAddress = inputs.localGateways.find((g) => g.Service.ID === gateway.ID)?.Node.Address ?? '';
  const candidates: GatewayListenerAddress[] = [];
  if (!config.envoy_gateway_no_default_bind) candidates.push({ name: 'default', address: gateway.Address || nodeAddress, port: gateway.Port });
  if (config.envoy_gateway_bind_tagged_addresses) {
    const { lan, wan } = gatewayAddresses(gateway, nodeAddress);
    candidates.push({ name: TAGGED_ADDRESS_LAN, address: lan.Address, port: lan.Port }, { name: TAGGED_ADDRESS_WAN, address: wan.Address, port: wan.Port });
  }
  for (const [name, a] of Object.entries(config.envoy_gateway_bind_addresses ?? {}).sort(([x], [y]) => (x < y ? -1 : 1))) candidates.push({ name, address: a.Address, port: a.Port });
  const seen = new Set<string>();
  return candidates.filter((l) => {
    const key = `${l.address}:${l.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A complete snapshot from its inputs; configuration problems are listed in `issues`. */
export function buildMeshGatewaySnapshot(inputs: MeshGatewayInputs): MeshGatewaySnapshot {
  const { gateway } = inputs;
  const issues = new Issues();
  issues.parse(proxyConfigSchema, gateway.Proxy?.Config, ['Proxy', 'Config'], {});
  const config = issues.parse(gatewayConfigSchema, gateway.Proxy?.Config, ['Proxy', 'Config'], {});
  const listeners = listenerAddresses(inputs, config);
  if (listeners.length === 0) issues.add('Proxy.Config.envoy_gateway_no_default_bind', 'the gateway would listen nowhere: set envoy_gateway_bind_tagged_addresses or envoy_gateway_bind_addresses too');
  for (const l of listeners) {
    if (isIP(l.address) === 0) issues.add(l.name === 'default' ? 'Address' : `TaggedAddresses.${l.name}.Address`, `"${l.address}" is not an IP address, so Envoy cannot listen on it`);
  }
  return {
    kind: 'mesh-gateway',
    ...gatewayIdentity(gateway, inputs.roots.TrustDomain),
    listeners,
    services: inputs.services.map(({ name, subset, nodes }) => ({ name, subset, namespace: DEFAULT_NAMESPACE, endpoints: endpointsOf(nodes) })),
    datacenters: inputs.federationStates
      .filter((s) => s.Datacenter !== gateway.Datacenter)
      .map(remoteDatacenter)
      .sort((a, b) => (a.datacenter < b.datacenter ? -1 : 1)),
    connectTimeoutMs: config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
    issues: issues.list,
  };
}
