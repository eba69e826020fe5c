// Mesh gateways as endpoints, for every kind that sends traffic through them: a sidecar's
// upstream in another datacenter (through the local gateways' LAN addresses, or the remote
// datacenter's gateways' WAN addresses) and a mesh gateway's route to another datacenter. One
// frozen list per input object, so snapshots built from the same input share it.
import { isIP } from 'node:net';
import { gatewayAddresses, type GatewayAddresses } from '../catalog/services/gateway-address.js';
import { aggregateStatus, type CheckServiceNode, type FederationState } from '../catalog/types.js';
import type { UpstreamEndpoint } from './snapshot.js';

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
