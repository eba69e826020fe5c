// What gateway kinds share: where a gateway listens and its identity (mesh and terminating
// gateways alike), and mesh gateways as endpoints, for every kind that sends traffic through
// them: a sidecar's upstream in another datacenter (through the local gateways' LAN addresses,
// or the remote datacenter's gateways' WAN addresses) and a mesh gateway's route to another
// datacenter. One frozen list per input object, so snapshots built from the same input share it.
import { isIP } from 'node:net';
import { gatewayAddresses, type GatewayAddresses } from '../catalog/services/gateway-address.js';
import { gatewayConfigSchema, proxyConfigSchema } from '../catalog/services/proxy-config.js';
import { TAGGED_ADDRESS_LAN, TAGGED_ADDRESS_WAN } from '../catalog/services/tagged-addresses.js';
import { aggregateStatus, type CheckServiceNode, type FederationState, type ServiceInstance } from '../catalog/types.js';
import type { z } from 'zod';
import { gatewayIdentity, type Issues } from './resolve.js';
import type { GatewayListenerAddress, UpstreamEndpoint } from './snapshot.js';

type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

function compare(a: UpstreamEndpoint, b: UpstreamEndpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/** Gateways at their LAN or WAN address; one Envoy cannot dial (a host name) is left out. */
function gatewayEndpoints(gateways: readonly CheckServiceNode[], which: keyof GatewayAddresses): readonly UpstreamEndpoint[] {
  const out: UpstreamEndpoint[] = [];
  for (const n of gateways) {
    const a = gatewayAddresses(n.Service, n.Node.Address)[which];
    if (isIP(a.Address) !== 0) out.push({ node: n.Node.Node, address: a.Address, port: a.Port, health: aggregateStatus(n.Checks) });
  }
  return Object.freeze(out.sort(compare));
}

function memo<K extends object>(cache: WeakMap<K, readonly UpstreamEndpoint[]>, key: K, make: () => readonly UpstreamEndpoint[]): readonly UpstreamEndpoint[] {
  let v = cache.get(key);
  if (!v) cache.set(key, (v = make()));
  return v;
}

const lanByResult = new WeakMap<readonly CheckServiceNode[], readonly UpstreamEndpoint[]>();
const wanByState = new WeakMap<FederationState, readonly UpstreamEndpoint[]>();

/** This datacenter's gateways, at their LAN addresses (where its own proxies reach them). */
export function localGatewayEndpoints(gateways: readonly CheckServiceNode[]): readonly UpstreamEndpoint[] {
  return memo(lanByResult, gateways, () => gatewayEndpoints(gateways, 'lan'));
}

/** A datacenter's gateways as its federation state lists them, at their WAN addresses. */
export function remoteGatewayEndpoints(state: FederationState): readonly UpstreamEndpoint[] {
  return memo(wanByState, state, () => gatewayEndpoints(state.MeshGateways, 'wan'));
}

/**
 * Where the gateway listens, as Consul decides it: its service address (`default`) unless
 * `envoy_gateway_no_default_bind`; its `lan` and `wan` tagged addresses with
 * `envoy_gateway_bind_tagged_addresses`; and every `envoy_gateway_bind_addresses` entry. One
 * listener per distinct address and port (the first name wins).
 */
function listenerAddresses(gateway: ServiceInstance, nodeAddress: string, config: GatewayConfig): GatewayListenerAddress[] {
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

/** Where a gateway listens (mesh and terminating alike); an address Envoy cannot bind is an issue naming its field. */
export function gatewayListeners(issues: Issues, gateway: ServiceInstance, nodeAddress: string, config: GatewayConfig): GatewayListenerAddress[] {
  const listeners = listenerAddresses(gateway, nodeAddress, config);
  if (listeners.length === 0) issues.add('Proxy.Config.envoy_gateway_no_default_bind', 'the gateway would listen nowhere: set envoy_gateway_bind_tagged_addresses or envoy_gateway_bind_addresses too');
  for (const l of listeners) {
    if (isIP(l.address) === 0) issues.add(l.name === 'default' ? 'Address' : `TaggedAddresses.${l.name}.Address`, `"${l.address}" is not an IP address, so Envoy cannot listen on it`);
  }
  return listeners;
}

/** A gateway registration's identity in its snapshot, and its Proxy.Config read with the gateway keys (problems into `issues`). */
export function gatewayBasics(issues: Issues, gateway: ServiceInstance, trustDomain: string) {
  issues.parse(proxyConfigSchema, gateway.Proxy?.Config, ['Proxy', 'Config'], {});
  const config = issues.parse(gatewayConfigSchema, gateway.Proxy?.Config, ['Proxy', 'Config'], {});
  return { identity: gatewayIdentity(gateway, trustDomain), config };
}
